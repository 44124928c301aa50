/**
 * `deno task bench:real [--solver auto|gpu|cpu]`: `analyze()` on real trained weights that an npm
 * package ships in its tarball — the ResNet-34-style face-recognition network of
 * `@vladmandic/face-api@1.7.15` (`model/face_recognition_model-weights_manifest.json` + `.bin`,
 * MIT, uint8-quantized tfjs weights) — beside an independent float64 computation (numpy SVD,
 * its own shard decoding; `bench/verify_tfjs.py`). Prints each layer's alpha and spectral norm
 * from both and the worst differences.
 * @module
 */
import { parseArgs } from "node:util";
import { analyze } from "../esd/analyze.ts";
import { runMain } from "../cli/main.ts";

const PKG = "@vladmandic/face-api@1.7.15";
const MANIFEST = "package/model/face_recognition_model-weights_manifest.json";

await runMain(async () => {
  const { values } = parseArgs({ options: { solver: { type: "string" }, dir: { type: "string" } } });
  const dir = values.dir ?? await Deno.makeTempDir();
  const tgz = `${dir}/face-api.tgz`;
  const pack = await new Deno.Command("npm", {
    args: ["pack", PKG, "--pack-destination", dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!pack.success) throw new Error(`npm pack ${PKG} failed: ${new TextDecoder().decode(pack.stderr)}`);
  const name = new TextDecoder().decode(pack.stdout).trim().split("\n").pop()!;
  await Deno.rename(`${dir}/${name}`, tgz);
  const untar = await new Deno.Command("tar", { args: ["xzf", tgz, "-C", dir] }).output();
  if (!untar.success) throw new Error(`tar xzf ${tgz} failed`);
  const manifest = `${dir}/${MANIFEST}`;
  const t0 = performance.now();
  const ours = await analyze(manifest, { solver: (values.solver ?? "auto") as "auto" | "gpu" | "cpu" });
  const sec = (performance.now() - t0) / 1000;
  const env = Deno.env.toObject();
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const py = await new Deno.Command("python3", {
    args: [new URL("./verify_tfjs.py", import.meta.url).pathname, manifest],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!py.success) throw new Error(`verify_tfjs.py failed: ${new TextDecoder().decode(py.stderr)}`);
  const ref = JSON.parse(new TextDecoder().decode(py.stdout));
  let worstAlpha = 0, worstNorm = 0;
  console.log(`${PKG} face_recognition_model: ${ours.layers.length} layers analysed in ${sec.toFixed(2)} s`);
  console.log("layer".padEnd(38) + "alpha(ours)  alpha(f64)  spectral_norm(ours)  spectral_norm(f64)");
  for (const row of ours.layers) {
    const r = ref[row.name];
    if (!r) throw new Error(`numpy found no layer "${row.name}"`);
    if (row.alpha !== null && r.alpha !== null) {
      worstAlpha = Math.max(worstAlpha, Math.abs(row.alpha - r.alpha));
    }
    worstNorm = Math.max(worstNorm, Math.abs(row.spectral_norm! - r.spectral_norm) / r.spectral_norm);
    const f = (v: number | null) => (v === null ? "-" : v.toPrecision(6)).padStart(11);
    console.log(
      `${row.name.padEnd(38)}${f(row.alpha)} ${f(r.alpha)}  ${f(row.spectral_norm).padStart(19)} ${
        f(r.spectral_norm).padStart(19)
      }`,
    );
  }
  console.log(
    `worst |alpha − alpha_f64| = ${worstAlpha.toExponential(2)}; worst relative spectral-norm difference = ${
      worstNorm.toExponential(2)
    }`,
  );
  if (!values.dir) await Deno.remove(dir, { recursive: true });
});
