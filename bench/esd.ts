/**
 * `deno task bench:esd [--json]`: the spectral analyzer against its peers on this machine.
 * - `resnet18-esd`: ESD + median fit of every layer of a CIFAR ResNet-18 (real shapes, random
 *   weights): our `analyze()` vs numpy float64 (Gram + eigvalsh; `bench/numpy_esd.py`, run with
 *   OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset). Seconds; ratio = numpy / ours (> 1: faster).
 * - `eigh`: the batched GPU eigenvalue kernel alone (blocked one-sided Jacobi, 9 matrices n×n)
 *   vs float64 TypeScript (Householder + QL), and vs jax-js's WebGPU eigvalsh (npm
 *   `@jax-js/jax`) on the same adapter — its eigenvalues are checked, and a wrong result gets no
 *   ratio. Seconds.
 * - `plfit`: the gof fit alone (alpha and KS distance for every xmin candidate) on the GPU vs a
 *   plain TypeScript loop, for 10^3 … 10^5 eigenvalues.
 * - `eigh-throughput` (9x512x512): sustained GFLOPS counting 6n³ per sweep × sweeps run, against
 *   this adapter's FMA peak; ratio = ours / peak.
 * @module
 */
import { parseArgs } from "node:util";
import { analyze } from "../esd/analyze.ts";
import { fitAt } from "../esd/plfit.ts";
import { fitPowerLawsGpu } from "../esd/plfit_gpu.ts";
import type { WeightTensor } from "../io/tensor.ts";
import { eigvalshRef, matmulRef, ref } from "../kernels/reference.ts";
import { getGpu } from "../kernels/runtime.ts";
import { jacobiSvd } from "../kernels/svd_jacobi.ts";
import { upload } from "../kernels/tensor.ts";
import { runMain } from "../cli/main.ts";
import { median } from "./_measure.ts";
import { jaxEigvalsh } from "./_jaxjs.ts";
import { fmaPeak } from "./_ours.ts";
import { resnet18Shapes } from "./_resnet18.ts";
import { printRows, type Row } from "./_rows.ts";

function randn(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const u = () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 4294967296;
  return Float64Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

async function numpyEsd(shapes: [string, number[]][]): Promise<number | null> {
  const env = Deno.env.toObject();
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  try {
    const out = await new Deno.Command("python3", {
      args: [new URL("./numpy_esd.py", import.meta.url).pathname, JSON.stringify(shapes)],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      console.error(`numpy peer failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").pop()}`);
      return null;
    }
    return JSON.parse(new TextDecoder().decode(out.stdout)).seconds;
  } catch (e) {
    console.error(`numpy peer unavailable: ${(e as Error).message}`);
    return null;
  }
}

await runMain(async () => {
  const { values } = parseArgs({ options: { json: { type: "boolean" }, quick: { type: "boolean" } } });
  const gpu = await getGpu();
  const log = values.json ? () => {} : (s: string) => console.error(s);
  const rows: Row[] = [];

  const shapes = resnet18Shapes();
  const tensors: WeightTensor[] = shapes.map(([name, shape], i) => ({
    name,
    dtype: "F32",
    shape,
    isFloat: true,
    values: () => randn(shape.reduce((p, d) => p * d), i + 1).map((v) => Math.fround(v * 0.05)),
  }));
  log("resnet18-esd: ours …");
  await analyze(tensors.slice(0, 2)); // compile kernels outside the timing
  const times: number[] = [];
  for (let t = 0; t < (values.quick ? 1 : 2); t++) {
    const t0 = performance.now();
    await analyze(tensors);
    times.push((performance.now() - t0) / 1000);
  }
  const ours = median(times);
  log("resnet18-esd: numpy …");
  const peer = await numpyEsd(shapes);
  rows.push({
    op: "resnet18-esd",
    shape: `${shapes.length} layers`,
    ours,
    peer,
    unit: "s",
    ratio: peer === null ? null : peer / ours,
  });

  const sizes = values.quick ? [128] : [64, 128, 256, 512];
  let throughput: { gflops: number } | null = null;
  for (const n of sizes) {
    log(`eigh 9x${n}x${n} …`);
    const mats = Array.from({ length: 9 }, (_, z) => randn(n * n, 100 + z).map(Math.fround));
    const data = new Float32Array(9 * n * n);
    mats.forEach((m, z) => data.set(m, z * n * n));
    await jacobiSvd(gpu, upload(gpu, data.subarray(0, 8 * n), [1, 8, n])); // compile
    const x = upload(gpu, data, [9, n, n]);
    const t0 = performance.now();
    const res = await jacobiSvd(gpu, x);
    const sec = (performance.now() - t0) / 1000;
    x.release();
    // Peers: float64 TypeScript (Householder + QL) and jax-js's WebGPU eigvalsh on the Gram matrices.
    const grams = mats.map((m) => matmulRef(ref(m, [n, n]), ref(m, [n, n]), { transB: true }).data);
    const t1 = performance.now();
    const exact = grams.map((g) => eigvalshRef(g, n));
    const cpu = (performance.now() - t1) / 1000;
    rows.push({
      op: "eigh",
      shape: `9x${n}x${n}`,
      ours: sec,
      peer: cpu,
      unit: "s (peer: float64 TS)",
      ratio: cpu / sec,
    });
    try {
      const gdata = new Float32Array(9 * n * n);
      grams.forEach((g, z) => gdata.set(g, z * n * n));
      const jx = await jaxEigvalsh(gdata, 9, n);
      let err = 0;
      exact.forEach((e, z) => {
        const got = Float64Array.from(jx.values.subarray(z * n, (z + 1) * n)).sort();
        for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(got[i] - e[i]) / e[n - 1]);
      });
      const right = err < 1e-3;
      rows.push({
        op: "eigh",
        shape: `9x${n}x${n}`,
        ours: sec,
        peer: jx.seconds,
        unit: right
          ? "s (peer: jax-js webgpu)"
          : `s (peer: jax-js webgpu, WRONG: err ${err.toExponential(1)}·λmax)`,
        ratio: right ? jx.seconds / sec : null,
      });
    } catch (e) {
      log(`jax-js peer failed: ${(e as Error).message}`);
    }
    if (n === sizes[sizes.length - 1]) {
      const sweeps = res.sweeps.reduce((s, v) => s + Math.abs(v), 0);
      throughput = { gflops: (6 * n ** 3 * sweeps) / sec / 1e9 };
    }
  }
  for (const N of values.quick ? [1000] : [1000, 10000, 100000]) {
    log(`plfit gof N=${N} …`);
    const esd = Float64Array.from({ length: N }, (_, i) => Math.pow(1 - (i + 0.5) / N, -1 / 1.5));
    await fitPowerLawsGpu(gpu, [esd.slice(0, 100)], { method: "gof" }); // compile
    const t0 = performance.now();
    await fitPowerLawsGpu(gpu, [esd], { method: "gof" });
    const ours = (performance.now() - t0) / 1000;
    // The TypeScript loop: every candidate below 10^4, else an evenly spaced sample of 200
    // candidates timed and scaled by the tail lengths (each candidate costs ∝ its tail).
    const sorted = esd.slice().sort();
    const all = N <= 10000;
    const cands = all
      ? [...Array(N - 1).keys()]
      : Array.from({ length: 200 }, (_, k) => Math.floor((k * (N - 1)) / 200));
    const t1 = performance.now();
    const suffix = new Float64Array(N + 1);
    for (let i = N - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + Math.log(sorted[i]);
    for (const i of cands) fitAt(sorted, i, suffix);
    let ts = (performance.now() - t1) / 1000;
    if (!all) ts *= (N * (N - 1)) / 2 / cands.reduce((s, i) => s + (N - i), 0);
    rows.push({
      op: "plfit",
      shape: `gof N=${N}${all ? "" : " (TS extrapolated)"}`,
      ours,
      peer: ts,
      unit: "s (peer: TS loop)",
      ratio: ts / ours,
    });
  }
  const peak = await fmaPeak(gpu);
  const n = sizes[sizes.length - 1];
  rows.push({
    op: "eigh-throughput",
    shape: `9x${n}x${n}`,
    ours: throughput!.gflops,
    peer: peak,
    unit: "GFLOPS",
    ratio: throughput!.gflops / peak,
  });
  printRows(rows, values.json === true, gpu.description);
});
