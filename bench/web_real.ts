/**
 * `deno task bench:web [--dir DIR]`: the analyzer page against `deno task analyze` on the same
 * real trained weights — the ResNet-34-style face-recognition network of
 * `@vladmandic/face-api@1.7.15` (tfjs manifest + shard files, fetched with `npm pack`, as
 * `bench:real` does). The page runs in Debian's chromium-headless-shell (its WebGPU adapter here
 * is SwiftShader) driven by puppeteer-core, the files chosen through its file input; the CLI runs
 * as a child process. Prints the wall time of each (CLI: the whole process; page: click to table,
 * and the worker's own time), cold (first run: shaders and WebAssembly compiled) and warm, and
 * the worst differences between the two sides' alpha and spectral norm.
 * @module
 */
import { parseArgs } from "node:util";
import { runMain } from "../cli/main.ts";
import { analyze } from "../esd/analyze.ts";
import { analyzeIn, BROWSER, open } from "../tests/web/_browser.ts";

const PKG = "@vladmandic/face-api@1.7.15";
const MANIFEST = "package/model/face_recognition_model-weights_manifest.json";

await runMain(async () => {
  const { values } = parseArgs({ options: { dir: { type: "string" } } });
  if (!BROWSER) throw new Error("no chromium-headless-shell (apt install chromium-headless-shell)");
  const dir = values.dir ?? await Deno.makeTempDir();
  try {
    await Deno.stat(`${dir}/${MANIFEST}`);
  } catch {
    const pack = await new Deno.Command("npm", {
      args: ["pack", PKG, "--pack-destination", dir],
      stdout: "piped",
    })
      .output();
    if (!pack.success) throw new Error(`npm pack ${PKG} failed`);
    const name = new TextDecoder().decode(pack.stdout).trim().split("\n").pop()!;
    const untar = await new Deno.Command("tar", { args: ["xzf", `${dir}/${name}`, "-C", dir] }).output();
    if (!untar.success) throw new Error("tar failed");
  }
  const manifest = `${dir}/${MANIFEST}`;
  const shards = (JSON.parse(await Deno.readTextFile(manifest)) as { paths: string[] }[])
    .flatMap((g) => g.paths.map((p) => `${manifest.slice(0, manifest.lastIndexOf("/") + 1)}${p}`));
  const files = [manifest, ...shards];
  const mb = files.reduce((s, f) => s + Deno.statSync(f).size, 0) / 1e6;

  const cli: number[] = [];
  let cliRows: { name: string; alpha: number | null; spectral_norm: number | null }[] = [];
  for (let r = 0; r < 2; r++) {
    const t0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../tasks/analyze.ts", import.meta.url).pathname, manifest, "--json"],
      stdout: "piped",
      stderr: "null",
    }).output();
    cli.push((performance.now() - t0) / 1000);
    if (!out.success) throw new Error("deno task analyze failed");
    cliRows = JSON.parse(new TextDecoder().decode(out.stdout)).layers;
  }

  // The same analysis in this process (GPU and shaders warm after the first call).
  await analyze(manifest);
  const t0 = performance.now();
  const inProcess = await analyze(manifest);
  const warmDeno = (performance.now() - t0) / 1000;
  const denoSplit = Object.entries(inProcess.timings).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");

  const session = await open();
  const page: number[] = [], worker: number[] = [];
  let split = "";
  let pageRows = cliRows;
  let adapter = "";
  try {
    const p = await session.browser.newPage();
    await p.goto(session.url);
    for (let r = 0; r < 2; r++) {
      const t0 = performance.now();
      const state = await analyzeIn(p, files);
      page.push((performance.now() - t0) / 1000);
      if (state.error) throw new Error(state.error);
      worker.push(state.result!.seconds);
      const t = state.result!.timings;
      split = Object.entries(t).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
      pageRows = state.result!.layers;
    }
    adapter = await p.evaluate(() =>
      (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } })
        .document.getElementById("adapter").textContent
    );
  } finally {
    await session.close();
  }
  let dAlpha = 0, dNorm = 0;
  cliRows.forEach((c, i) => {
    const w = pageRows[i];
    if (c.alpha !== null && w.alpha !== null) dAlpha = Math.max(dAlpha, Math.abs(c.alpha - w.alpha));
    dNorm = Math.max(dNorm, Math.abs(c.spectral_norm! - w.spectral_norm!) / c.spectral_norm!);
  });
  console.log(
    `${PKG} face_recognition_model: ${cliRows.length} layers, ${files.length} files, ${mb.toFixed(1)} MB`,
  );
  console.log(`page (${adapter}, ${BROWSER}):`);
  console.log(
    `  click to table: cold ${page[0].toFixed(2)} s, warm ${page[1].toFixed(2)} s (worker: ${
      worker.map((s) => s.toFixed(2)).join(" / ")
    } s; last run: ${split} s)`,
  );
  console.log(`deno task analyze (whole process): cold ${cli[0].toFixed(2)} s, warm ${cli[1].toFixed(2)} s`);
  console.log(`analyze() in Deno, warm: ${warmDeno.toFixed(2)} s (${denoSplit} s)`);
  console.log(
    `worst |alpha(page) − alpha(cli)| = ${dAlpha.toExponential(2)}; worst relative spectral-norm difference ${
      dNorm.toExponential(2)
    }`,
  );
  if (!values.dir) await Deno.remove(dir, { recursive: true });
});
