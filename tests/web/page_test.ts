import { equal, ok } from "node:assert/strict";
import { analyze } from "../../esd/analyze.ts";
import { writeSafetensors } from "../../io/safetensors.ts";
import { Model } from "../../models/model.ts";
import { ResNet } from "../../models/resnet.ts";
import { assertNear, gpu, HAS_GPU, randArray } from "../_helpers.ts";
import { analyzeIn, BROWSER, open, type PageState, type Session } from "./_browser.ts";

// The page's DOM as the callbacks given to page.evaluate see it (they run in the browser, not here).
// deno-lint-ignore no-explicit-any
declare const document: any;

const ignore = !BROWSER || !HAS_GPU;
// One browser for the file's tests; resources span them, so the sanitizers are off.
const opts = { ignore, sanitizeOps: false, sanitizeResources: false };
let session: Session | null = null;
const page = async () => {
  session ??= await open();
  const p = await session.browser.newPage();
  await p.setViewport({ width: 1200, height: 900 });
  await p.goto(session.url);
  return p;
};

/** The page's rows against analyze() in Deno: alpha within 1e-3, spectral norm within 1e-4 relative. */
async function sameAsDeno(state: PageState, source: string, options: Parameters<typeof analyze>[1] = {}) {
  equal(state.error, "");
  const want = await analyze(source, options);
  const got = state.result!.layers;
  equal(got.map((l) => l.name).join(), want.layers.map((l) => l.name).join());
  for (const [i, w] of want.layers.entries()) {
    if (w.alpha === null) equal(got[i].alpha, null, w.name);
    else assertNear(`${w.name} alpha`, [got[i].alpha!], [w.alpha], 1e-3, 0);
    assertNear(`${w.name} spectral_norm`, [got[i].spectral_norm!], [w.spectral_norm!], 0, 1e-4);
  }
}

Deno.test({
  name:
    "web page: a ResNet's safetensors chosen in the file input gives analyze()'s alpha and spectral norm per layer (median/tb, gof/ww, FARMS)",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const model = new Model(gpu, new ResNet([2, 2], [32, 64], { classes: 10 }), 11);
    const file = `${dir}/resnet.safetensors`;
    await Deno.writeFile(file, writeSafetensors(await model.stateDict()));
    const p = await page();
    let state = await analyzeIn(p, [file]);
    await sameAsDeno(state, file);
    // The table has a row per layer in the CLI's columns; the downloads are the CLI's JSON and CSV.
    const dom = await p.evaluate(async () => {
      const head = [...document.querySelectorAll("#table th")].map((th) => th.textContent);
      const rows = document.querySelectorAll("#table tbody tr").length;
      const json = await (await fetch(document.getElementById("json").href)).json();
      const csv = await (await fetch(document.getElementById("csv").href)).text();
      const svg = document.querySelectorAll("#plots svg").length;
      return {
        head,
        rows,
        keys: Object.keys(json),
        nLayers: json.layers.length,
        csvHead: csv.split("\n")[0],
        svg,
      };
    });
    equal(
      dom.head.join(),
      "name,shape,num_evals,alpha,alpha_weighted,spectral_norm,log_norm,stable_rank,D,xmin,warning",
    );
    equal(dom.rows, state.result!.layers.length);
    equal(dom.keys.join(), "layers,summary");
    equal(dom.nLayers, state.result!.layers.length);
    const { formatCsv } = await import("../../report/table.ts");
    equal(dom.csvHead, formatCsv({ layers: [] }).split("\n")[0]);
    equal(dom.svg, 2, "the alpha chart and the first layer's ESD");
    // Sorting by alpha (click the header) orders the rows by alpha.
    await p.click("#table th:nth-child(4)");
    const sorted = await p.evaluate(() =>
      [...document.querySelectorAll("#table tbody tr td:nth-child(4)")].map((td) => Number(td.textContent))
    );
    ok(sorted.every((v, i) => i === 0 || v >= sorted[i - 1]), `${sorted}`);
    const { takeScreenshot } = await import("./_screenshot.ts");
    await takeScreenshot(p);
    // Other options, as deno task analyze takes them.
    state = await analyzeIn(p, [file], { fit: "gof", convention: "ww" });
    await sameAsDeno(state, file, { fit: "gof", convention: "ww" });
    state = await analyzeIn(p, [file], { fit: "median", convention: "tb", farms: true });
    await sameAsDeno(state, file, { farms: { q: 1 } });
    await p.close();
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name:
    "web page: a tfjs model.json chosen with its two shard files reads as deno task analyze reads it; without them, the shard is named",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const conv = Float32Array.from(randArray(3 * 3 * 16 * 24, 5)),
      dense = Float32Array.from(randArray(96 * 40, 6));
    const manifest = {
      weightsManifest: [{
        paths: ["group1-shard1of2.bin", "group1-shard2of2.bin"],
        weights: [
          { name: "conv/kernel", shape: [3, 3, 16, 24], dtype: "float32" },
          { name: "dense/kernel", shape: [96, 40], dtype: "float32" },
        ],
      }],
    };
    const all = new Uint8Array(conv.byteLength + dense.byteLength);
    all.set(new Uint8Array(conv.buffer), 0);
    all.set(new Uint8Array(dense.buffer), conv.byteLength);
    const cut = 5000;
    await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(manifest));
    await Deno.writeFile(`${dir}/group1-shard1of2.bin`, all.subarray(0, cut));
    await Deno.writeFile(`${dir}/group1-shard2of2.bin`, all.subarray(cut));
    const p = await page();
    const state = await analyzeIn(p, [
      `${dir}/model.json`,
      `${dir}/group1-shard1of2.bin`,
      `${dir}/group1-shard2of2.bin`,
    ]);
    await sameAsDeno(state, `${dir}/model.json`);
    const bad = await analyzeIn(p, [`${dir}/model.json`]);
    equal(
      bad.error,
      'error: Invalid tfjs file "model.json": shard "group1-shard1of2.bin" of group 0 is missing (choose it together with model.json)',
    );
    await p.close();
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name:
    "web page: a cut file shows the CLI's error text, a file type we do not read is named, and the page stays usable",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const bytes = writeSafetensors([{ name: "fc.weight", shape: [64, 32], data: randArray(2048, 7) }]);
    await Deno.writeFile(`${dir}/cut.safetensors`, bytes.subarray(0, bytes.length - 100));
    await Deno.writeFile(`${dir}/good.safetensors`, bytes);
    await Deno.writeFile(`${dir}/model.bin`, new Uint8Array(64).fill(7));
    // The CLI, run where the file is (so that it names the file as the page does).
    const cli = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../tasks/analyze.ts", import.meta.url).pathname, "cut.safetensors"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const cliError = new TextDecoder().decode(cli.stderr).trim().split("\n").pop()!;
    ok(cliError.startsWith('error: Invalid safetensors file "cut.safetensors"'), cliError);
    const p = await page();
    const cut = await analyzeIn(p, [`${dir}/cut.safetensors`]);
    equal(cut.error, cliError);
    equal(cut.result, null);
    const bin = await analyzeIn(p, [`${dir}/model.bin`]);
    ok(/Invalid weight file "model\.bin": not a file type we read/.test(bin.error), bin.error);
    const good = await analyzeIn(p, [`${dir}/good.safetensors`]);
    await sameAsDeno(good, `${dir}/good.safetensors`);
    // A NumPy array file reads as the CLI reads it (one layer named after the file).
    const { writeNpy } = await import("../../io/npy.ts");
    await Deno.writeFile(`${dir}/proj.npy`, writeNpy(randArray(48 * 40, 8), [48, 40], "<f8"));
    const npy = await analyzeIn(p, [`${dir}/proj.npy`]);
    await sameAsDeno(npy, `${dir}/proj.npy`);
    equal(npy.result!.layers[0].name, "proj");
    await p.close();
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "web page: Cancel stops the analysis (no result, Cancelled), and the next analysis runs",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    // Many layers (40 × 512², seconds of work), so that the analysis is still running when Cancel is
    // pressed just after the first progress report.
    const tensors = Array.from({ length: 40 }, (_, i) => ({
      name: `layers.${i}.weight`,
      shape: [512, 512],
      data: randArray(512 * 512, 100 + i),
    }));
    await Deno.writeFile(`${dir}/big.safetensors`, writeSafetensors(tensors));
    const p = await page();
    await (await p.$("input#files"))!.uploadFile(`${dir}/big.safetensors`);
    await p.click("#run");
    await p.waitForFunction(
      () => /\d+\/40 layers/.test(document.getElementById("ptext")!.textContent ?? ""),
      {
        timeout: 120_000,
      },
    );
    await p.click("#cancel");
    const after = await p.evaluate(() => {
      const a = (globalThis as unknown as { analyzer: PageState }).analyzer;
      return { busy: a.busy, result: a.result, status: document.getElementById("status")!.textContent };
    });
    equal(after.busy, false);
    equal(after.result, null);
    equal(after.status, "Cancelled.");
    const again = await analyzeIn(p, [`${dir}/big.safetensors`], { layers: "layers\\.(0|1)\\." });
    equal(again.result!.layers.length, 2);
    await p.close();
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "web page: without WebGPU the page says so and what to enable",
  ignore: !BROWSER,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const bare = await open(false);
    try {
      const p = await bare.browser.newPage();
      await p.goto(bare.url);
      await p.waitForFunction(() => document.getElementById("error").textContent !== "", { timeout: 30_000 });
      const text = await p.evaluate(() => document.getElementById("error").textContent as string);
      ok(/This browser gives no WebGPU adapter \(navigator\.gpu/.test(text), text);
      ok(/--enable-unsafe-webgpu/.test(text) && /dom\.webgpu\.enabled/.test(text), text);
    } finally {
      await bare.close();
    }
  },
});

Deno.test({ name: "web page: close the browser", ...opts, fn: async () => await session?.close() });
