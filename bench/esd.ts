/**
 * `deno task bench:esd [--json] [--quick]`: the spectral analyzer against its peers on this
 * machine. Every side is timed the same way: inputs are generated before the clock starts, and the
 * time is the median of `runs` runs (3; `--quick`: 1) after a warm-up.
 * - `resnet18-esd`: ESD + median fit of every layer of a CIFAR ResNet-18 (real shapes, random
 *   weights): our `analyze()` vs numpy float64 (Gram + eigvalsh; `bench/numpy_esd.py`, run with
 *   OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset). Seconds; ratio = numpy / ours (> 1: faster).
 * - `esd-of-W` (9 matrices n×n): the eigenvalues of W·Wᵀ from W, as the analyzer needs them: ours
 *   is the one-sided Jacobi SVD of W (squared singular values); the peers form the Gram matrix and
 *   call eigvalsh on it, and both steps are timed — float64 TypeScript (Gram + Householder/QL), and
 *   jax-js on WebGPU (npm `@jax-js/jax`: `matmul` + `eigvalsh` on the same adapter; its
 *   eigenvalues are checked, and a wrong result gets no ratio).
 * - `eigvalsh` (9 symmetric n×n, like for like): the peers' `eigvalsh` on a given Gram matrix G
 *   against ours on the same G (the Jacobi SVD of G; G is PSD, so its singular values are its
 *   eigenvalues).
 * - `plfit`: the gof fit alone (alpha and KS distance for every xmin candidate) on the GPU vs a
 *   plain TypeScript loop, for 10^3 … 10^5 eigenvalues.
 * - `svd-throughput` (9x512x512): sustained GFLOPS of the Jacobi SVD counting 6n³ per sweep ×
 *   sweeps run, against this adapter's FMA peak; ratio = ours / peak.
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
import { jaxEigvalsh, jaxEsd } from "./_jaxjs.ts";
import { fmaPeak } from "./_ours.ts";
import { resnet18Shapes } from "./_resnet18.ts";
import { printRows, type Row } from "./_rows.ts";

function randn(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const u = () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 4294967296;
  return Float64Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

/** Runs `fn` `runs` times after one warm-up; the median seconds and the last result. */
async function timed<T>(runs: number, fn: () => Promise<T> | T): Promise<{ seconds: number; result: T }> {
  await fn();
  const times: number[] = [];
  let result!: T;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    result = await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return { seconds: median(times), result };
}

async function numpyEsd(shapes: [string, number[]][], runs: number): Promise<number | null> {
  const env = Deno.env.toObject();
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  try {
    const out = await new Deno.Command("python3", {
      args: [new URL("./numpy_esd.py", import.meta.url).pathname, JSON.stringify(shapes), String(runs)],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      console.error(`numpy peer failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").pop()}`);
      return null;
    }
    return median(JSON.parse(new TextDecoder().decode(out.stdout)).times);
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

  const runs = values.quick ? 1 : 3;
  const shapes = resnet18Shapes();
  // Weights generated once, before any timing (numpy's side does the same).
  const weights = shapes.map(([, shape], i) =>
    randn(shape.reduce((p, d) => p * d), i + 1).map((v) => Math.fround(v * 0.05))
  );
  const tensors: WeightTensor[] = shapes.map(([name, shape], i) => ({
    name,
    dtype: "F32",
    shape,
    isFloat: true,
    values: () => weights[i],
  }));
  log("resnet18-esd: ours …");
  const ours = (await timed(runs, () => analyze(tensors))).seconds;
  log("resnet18-esd: numpy …");
  const peer = await numpyEsd(shapes, runs);
  rows.push({
    op: "resnet18-esd",
    shape: `${shapes.length} layers`,
    ours,
    peer,
    unit: "s (median of both)",
    ratio: peer === null ? null : peer / ours,
  });

  const sizes = values.quick ? [128] : [64, 128, 256, 512];
  let throughput: { gflops: number } | null = null;
  for (const n of sizes) {
    log(`esd-of-W and eigvalsh 9x${n}x${n} …`);
    const mats = Array.from({ length: 9 }, (_, z) => randn(n * n, 100 + z).map(Math.fround));
    const data = new Float32Array(9 * n * n);
    mats.forEach((m, z) => data.set(m, z * n * n));
    const grams = mats.map((m) => matmulRef(ref(m, [n, n]), ref(m, [n, n]), { transB: true }).data);
    const gdata = new Float32Array(9 * n * n);
    grams.forEach((g, z) => gdata.set(g, z * n * n));
    const exact = grams.map((g) => eigvalshRef(g, n));
    // Ours: the Jacobi SVD overwrites its input, so each run uploads a fresh copy (inside the clock,
    // as the peers also start from host arrays).
    const svd = (src: Float32Array) => async () => {
      const x = upload(gpu, src, [9, n, n]);
      const res = await jacobiSvd(gpu, x);
      x.release();
      return res;
    };
    const ofW = await timed(runs, svd(data));
    const ofG = await timed(runs, svd(gdata));
    const tsEsd = await timed(
      runs,
      () => mats.map((m) => eigvalshRef(matmulRef(ref(m, [n, n]), ref(m, [n, n]), { transB: true }).data, n)),
    );
    const tsEig = await timed(runs, () => grams.map((g) => eigvalshRef(g, n)));
    rows.push({
      op: "esd-of-W",
      shape: `9x${n}x${n}`,
      ours: ofW.seconds,
      peer: tsEsd.seconds,
      unit: "s (ours: SVD of W; peer: float64 TS Gram + eigvalsh)",
      ratio: tsEsd.seconds / ofW.seconds,
    });
    rows.push({
      op: "eigvalsh",
      shape: `9x${n}x${n}`,
      ours: ofG.seconds,
      peer: tsEig.seconds,
      unit: "s (both on the Gram; peer: float64 TS)",
      ratio: tsEig.seconds / ofG.seconds,
    });
    const wrong = (vals: Float32Array) => {
      let err = 0;
      exact.forEach((e, z) => {
        const got = Float64Array.from(vals.subarray(z * n, (z + 1) * n)).sort();
        for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(got[i] - e[i]) / e[n - 1]);
      });
      return err < 1e-3 ? null : err;
    };
    for (
      const [op, ours, peerRun] of [
        ["esd-of-W", ofW.seconds, () => jaxEsd(data, 9, n)],
        ["eigvalsh", ofG.seconds, () => jaxEigvalsh(gdata, 9, n)],
      ] as const
    ) {
      try {
        // jaxEsd/jaxEigvalsh compile on their own first call and time only the run after it.
        const calls = [];
        for (let r = 0; r < runs; r++) calls.push(await peerRun());
        const jx = { seconds: median(calls.map((c) => c.seconds)), result: calls[calls.length - 1] };
        const err = wrong(jx.result.values);
        rows.push({
          op,
          shape: `9x${n}x${n}`,
          ours,
          peer: jx.seconds,
          unit: err === null
            ? `s (peer: jax-js webgpu${op === "esd-of-W" ? " matmul + eigvalsh" : " eigvalsh"})`
            : `s (peer: jax-js webgpu, WRONG: err ${err.toExponential(1)}·λmax)`,
          ratio: err === null ? jx.seconds / ours : null,
        });
      } catch (e) {
        log(`jax-js peer failed: ${(e as Error).message}`);
      }
    }
    if (n === sizes[sizes.length - 1]) {
      const sweeps = ofW.result.sweeps.reduce((s, v) => s + Math.abs(v), 0);
      throughput = { gflops: (6 * n ** 3 * sweeps) / ofW.seconds / 1e9 };
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
    op: "svd-throughput",
    shape: `9x${n}x${n}`,
    ours: throughput!.gflops,
    peer: peak,
    unit: "GFLOPS",
    ratio: throughput!.gflops / peak,
  });
  printRows(rows, values.json === true, gpu.description);
});
