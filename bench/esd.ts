/**
 * `deno task bench:esd [--json] [--quick] [--no-llm] [--llm-blocks N] [--llm-dir DIR]`: the spectral
 * analyzer against its peers on this machine. Every side is timed the same way: inputs are generated
 * before the clock starts, and the time is the median of `runs` runs (3; `--quick`: 1) after a
 * warm-up.
 * - `resnet18-esd`: ESD + median fit of every layer of a CIFAR ResNet-18 (real shapes, random
 *   weights): our `analyze()` vs numpy float64 (Gram + eigvalsh; `bench/numpy_esd.py`, run with
 *   OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset). Seconds; ratio = numpy / ours (> 1: faster).
 *   Then the median run's split on both sides: `read` (decoding and slicing the weights), `gram`,
 *   `eigen`, `fit`.
 * - `eigvalsh-cpu` / `eigvalsh-1core` (9 Gram matrices n×n, like for like): our CPU eigen path
 *   (WebAssembly, a pool of one worker per core / one worker) against numpy's `eigvalsh` (its
 *   default threads / OPENBLAS_NUM_THREADS=1) on the same float64 matrices, written to a .npy; the
 *   eigenvalues must agree within 1e-10·λmax or the row says DIFFER and gets no ratio.
 * - `llm-esd`: a synthetic sharded checkpoint with the shapes of a 1.1 B-parameter Llama-style model
 *   (TinyLlama: 22 blocks of q/k/v/o, gate/up/down, plus embeddings and lm_head; BF16, 2.2 GB written
 *   to a temp dir, or to `--llm-dir` where it is kept and reused; `--quick`: 2 blocks), analysed
 *   whole by `deno task analyze`'s `analyze()` in a child process (time, split, peak RSS) and by
 *   numpy float64 reading the same files (`bench/numpy_llm.py`). `--no-llm` skips it.
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
import { python } from "./_python.ts";
import { analyze } from "../esd/analyze.ts";
import { EigPool } from "../esd/eig_pool.ts";
import type { EsdTimings } from "../esd/eigs.ts";
import { writeNpy } from "../io/npy.ts";
import { OptionError } from "../util/errors.ts";
import { llamaShapes, writeLlama } from "./_llm.ts";
import { fitAt } from "../esd/plfit.ts";
import { fitPowerLawsGpu } from "../esd/plfit_gpu.ts";
import type { WeightTensor } from "../io/tensor.ts";
import { eigvalshRef, matmulRef, ref } from "../tests/reference/kernels.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { jacobiSvd } from "../kernels/linalg/svd_jacobi.ts";
import { upload } from "../kernels/runtime/tensor.ts";
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

/** The run whose total is the median, and its total. */
function medianRun<T>(totals: number[], parts: T[]): { seconds: number; parts: T } {
  const order = totals.map((_, i) => i).sort((a, b) => totals[a] - totals[b]);
  const k = order[Math.floor((order.length - 1) / 2)];
  return { seconds: totals[k], parts: parts[k] };
}

const PARTS = ["read", "gram", "eigen", "fit"] as const;

await runMain(async () => {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean" },
      quick: { type: "boolean" },
      "no-llm": { type: "boolean" },
      "llm-blocks": { type: "string" },
      "llm-dir": { type: "string" },
    },
  });
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
  await analyze(tensors); // warm-up: shaders compiled, workers' code loaded
  const oursRuns: { seconds: number; timings: EsdTimings }[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const { timings } = await analyze(tensors);
    oursRuns.push({ seconds: (performance.now() - t0) / 1000, timings });
  }
  const ours = medianRun(oursRuns.map((r) => r.seconds), oursRuns.map((r) => r.timings));
  log("resnet18-esd: numpy …");
  const np = await python<{ times: number[]; splits: EsdTimings[] }>("./numpy_esd.py", [
    JSON.stringify(shapes),
    String(runs),
  ]);
  const peer = np ? medianRun(np.times, np.splits) : null;
  rows.push({
    op: "resnet18-esd",
    shape: `${shapes.length} layers`,
    ours: ours.seconds,
    peer: peer?.seconds ?? null,
    unit: "s (median of both)",
    ratio: peer === null ? null : peer.seconds / ours.seconds,
  });
  // The median run's time split, both sides (ours: analyze()'s timings; numpy: the same parts).
  // Where our workers formed the Gram matrices with the solves, that time is in `eigen`: compare
  // gram + eigen.
  const inWorkers = ours.parts.gram < 0.01 * ours.parts.eigen;
  for (const part of PARTS) {
    const skip = inWorkers && part === "gram";
    rows.push({
      op: `resnet18-esd ${part}`,
      shape: `${shapes.length} layers`,
      ours: ours.parts[part],
      peer: peer?.parts[part] ?? null,
      unit: skip ? "s (ours: formed in the workers, counted in eigen)" : "s (the median run's split)",
      ratio: peer === null || skip ? null : peer.parts[part] / ours.parts[part],
    });
  }
  rows.push({
    op: "resnet18-esd gram+eigen",
    shape: `${shapes.length} layers`,
    ours: ours.parts.gram + ours.parts.eigen,
    peer: peer === null ? null : peer.parts.gram + peer.parts.eigen,
    unit: "s (the median run's split)",
    ratio: peer === null ? null : (peer.parts.gram + peer.parts.eigen) / (ours.parts.gram + ours.parts.eigen),
  });

  // Like for like: the eigenvalues of the same Gram matrices (float64 .npy for numpy), our CPU
  // path (WebAssembly, a pool of workers / one thread) against numpy's eigvalsh (its own threads /
  // one thread).
  for (const n of values.quick ? [256] : [128, 512, 1024]) {
    log(`eigvalsh-cpu 9x${n}x${n} …`);
    const grams = Array.from({ length: 9 }, (_, z) => {
      const m = randn(n * n, 300 + z);
      return matmulRef(ref(m, [n, n]), ref(m, [n, n]), { transB: true }).data;
    });
    const file = await Deno.makeTempFile({ suffix: ".npy" });
    const all = new Float64Array(9 * n * n);
    grams.forEach((g, z) => all.set(g, z * n * n));
    await Deno.writeFile(file, writeNpy(all, [9, n, n], "<f8"));
    const jobs = grams.map((g) => ({ data: g, n }));
    for (
      const [label, workers, threads] of [["eigvalsh-cpu", undefined, undefined], [
        "eigvalsh-1core",
        1,
        "1",
      ]] as const
    ) {
      const pool = new EigPool(workers);
      try {
        const mine = await timed(runs, () => pool.solve(jobs));
        const peerRun = await python<{ times: number[]; evals: number[][] }>(
          "./numpy_eigvalsh.py",
          [file, String(runs)],
          threads ? { OPENBLAS_NUM_THREADS: threads } : {},
        );
        let err = 0;
        peerRun?.evals.forEach((e, z) => {
          for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(e[i] - mine.result[z][i]) / e[n - 1]);
        });
        const wrong = err > 1e-10;
        rows.push({
          op: label,
          shape: `9x${n}x${n}`,
          ours: mine.seconds,
          peer: peerRun ? median(peerRun.times) : null,
          unit: `s (ours: ${pool.size} worker${pool.size > 1 ? "s" : ""}; numpy ${
            threads ? "1 thread" : "default threads"
          }${wrong ? `; DIFFER: ${err.toExponential(1)}·λmax` : ""})`,
          ratio: peerRun && !wrong ? median(peerRun.times) / mine.seconds : null,
        });
      } finally {
        pool.close();
      }
    }
    await Deno.remove(file);
  }

  if (!values["no-llm"]) rows.push(...await llmEsd(values, log));

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

interface LlmChild {
  seconds: number;
  timings?: EsdTimings;
  split?: EsdTimings;
  layers: number;
  peakRssBytes: number | null;
}

/**
 * `llm-esd`: a synthetic sharded BF16 checkpoint with TinyLlama-1.1B's shapes written to a temp
 * directory (or `--llm-dir`, kept and reused), analysed whole by `analyze()` in a child process
 * (time, split, peak RSS) and by numpy float64 reading the same files.
 */
async function llmEsd(
  values: { quick?: boolean; "llm-blocks"?: string; "llm-dir"?: string },
  log: (s: string) => void,
): Promise<Row[]> {
  const blocks = values["llm-blocks"] !== undefined ? Number(values["llm-blocks"]) : values.quick ? 2 : 22;
  if (!(Number.isInteger(blocks) && blocks >= 1)) {
    throw new OptionError(`Invalid --llm-blocks "${values["llm-blocks"]}": expected an integer ≥ 1`);
  }
  const shapes = llamaShapes(blocks);
  const keep = values["llm-dir"] !== undefined;
  const dir = keep ? values["llm-dir"]! : await Deno.makeTempDir({ prefix: "llm-esd-" });
  const index = `${dir}/model.safetensors.index.json`;
  let reuse = false;
  if (keep) {
    await Deno.mkdir(dir, { recursive: true });
    try {
      const names = Object.keys(JSON.parse(await Deno.readTextFile(index)).weight_map ?? {}).sort();
      reuse = JSON.stringify(names) === JSON.stringify(shapes.map(([n]) => n).sort());
    } catch { /* not written yet */ }
  }
  const params = shapes.reduce((s, [, sh]) => s + sh.reduce((p, d) => p * d, 1), 0);
  const label = `${blocks} blocks, ${(params / 1e9).toFixed(2)}B params BF16`;
  try {
    if (!reuse) {
      log(`llm-esd: writing ${(2 * params / 1e9).toFixed(2)} GB to ${dir} …`);
      await writeLlama(dir, shapes);
    }
    log("llm-esd: ours …");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./_llm_analyze.ts", import.meta.url).pathname, index],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error("llm-esd: our analysis failed");
    const ours = JSON.parse(new TextDecoder().decode(out.stdout)) as LlmChild;
    log("llm-esd: numpy …");
    const np = await python<LlmChild>("./numpy_llm.py", [index]);
    const rows: Row[] = [{
      op: "llm-esd",
      shape: label,
      ours: ours.seconds,
      peer: np?.seconds ?? null,
      unit: `s (whole analysis, ${ours.layers} layers; peer: numpy float64)`,
      ratio: np ? np.seconds / ours.seconds : null,
    }];
    for (const part of PARTS) {
      rows.push({
        op: `llm-esd ${part}`,
        shape: label,
        ours: ours.timings![part],
        peer: np?.split?.[part] ?? null,
        unit: "s",
        ratio: np?.split ? np.split[part] / ours.timings![part] : null,
      });
    }
    if (ours.peakRssBytes !== null) {
      rows.push({
        op: "llm-esd peak-rss",
        shape: label,
        ours: ours.peakRssBytes / 1e9,
        peer: np?.peakRssBytes ? np.peakRssBytes / 1e9 : null,
        unit: "GB (VmHWM / ru_maxrss; ratio > 1: ours smaller)",
        ratio: np?.peakRssBytes ? np.peakRssBytes / ours.peakRssBytes : null,
      });
    }
    return rows;
  } finally {
    if (!keep) await Deno.remove(dir, { recursive: true });
  }
}
