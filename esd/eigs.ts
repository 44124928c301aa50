/**
 * Eigenvalues of every layer's slices (the squared singular values of each slice).
 *
 * - `gpu`: blocked one-sided Jacobi (`kernels/svd_jacobi.ts`) on the slices themselves, batched
 *   over all slices of the same shape, across layers.
 * - `cpu`: Gram matrices on the GPU (batched matmul), eigenvalues in float64 on the CPU
 *   (`eig_cpu.ts`: Householder + QL in WebAssembly), spread over a pool of workers (`eig_pool.ts`).
 * - `auto`: the GPU on hardware adapters, the CPU on software ones — measured on lavapipe
 *   (2 cores, 2026-11, `deno task bench:esd`): 9 slices of n×n take 0.12/0.28/1.3/7.1 s on the GPU
 *   for n = 64/128/256/512 against 0.03/0.05/0.32/2.4 s in float64 TypeScript. Jacobi spends
 *   ~6n³ flops a sweep for ~12 sweeps, where Householder + QL spends ~(4/3)n³ in all.
 * @module
 */
import { OptionError } from "../kernels/errors.ts";
import { matmul } from "../kernels/matmul.ts";
import { Recorder } from "../kernels/recorder.ts";
import type { Gpu } from "../kernels/runtime.ts";
import { jacobiSvdMany, paddedRows } from "../kernels/svd_jacobi.ts";
import { readback, type Tensor, upload } from "../kernels/tensor.ts";
import type { LayerMatrices } from "./matrices.ts";
import { EigPool } from "./eig_pool.ts";

/** Where the eigenvalues are computed. */
export type EigSolver = "auto" | "gpu" | "cpu";

/**
 * Seconds spent in each part of an analysis, summed over its chunks: reading and decoding the
 * weights, forming Gram matrices (GPU, with their upload and read-back), solving for eigenvalues
 * (the Jacobi SVD on the GPU, or the CPU workers), and the power-law fits and metrics.
 */
export interface EsdTimings {
  /** Reading and decoding weights into layer matrices. */
  read: number;
  /** Gram matrices on the GPU (CPU eigen path only). */
  gram: number;
  /** Eigenvalue solves. */
  eigen: number;
  /** Power-law fits and the metrics built on them. */
  fit: number;
}

/** Per-layer result: the pooled eigenvalues (float64, unsorted) and whether all slices converged. */
export interface LayerEigs {
  /** Pooled eigenvalues, min(rows, cols) per slice, in the weights' own scale. */
  evals: Float64Array;
  /** False if the GPU solver hit its sweep limit. */
  converged: boolean;
}

interface Group {
  rows: number;
  cols: number;
  /** [layer index, slice index] of each member. */
  items: [number, number][];
}

// Groups slices by shape, each group small enough for one storage binding (the padded slices for
// the GPU solver, or the slices and their Gram matrices for the CPU one).
function groupByShape(gpu: Gpu, layers: LayerMatrices[]): Group[] {
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  const groups: Group[] = [];
  const open = new Map<string, Group>();
  layers.forEach((l, i) => {
    if (l.nonFinite || l.allZero) return;
    const c = Math.min(l.rows, l.cols), r = Math.max(l.rows, l.cols);
    const bytes = 4 * Math.max(paddedRows(c) * Math.ceil(r / 4) * 4, l.rows * l.cols, c * c);
    if (bytes > limit) {
      throw new OptionError(
        `Layer "${l.name}": a ${l.rows}×${l.cols} slice needs ${bytes} bytes on the GPU, more than this ` +
          `device's maxStorageBufferBindingSize (${limit})`,
      );
    }
    const key = `${l.rows}x${l.cols}`;
    for (let s = 0; s < l.slices.length; s++) {
      let g = open.get(key);
      if (!g || (g.items.length + 1) * bytes > limit) {
        g = { rows: l.rows, cols: l.cols, items: [] };
        open.set(key, g);
        groups.push(g);
      }
      g.items.push([i, s]);
    }
  });
  return groups;
}

// Slices as rows-to-orthogonalise: c = min(rows, cols) vectors of length r = max, padded.
function packVectors(
  layers: LayerMatrices[],
  g: Group,
): { data: Float32Array; batch: number; c: number; cPad: number; rPad: number } {
  const tall = g.rows >= g.cols;
  const c = Math.min(g.rows, g.cols), r = Math.max(g.rows, g.cols);
  const cPad = paddedRows(c), rPad = Math.ceil(r / 4) * 4;
  const batch = g.items.length;
  const data = new Float32Array(batch * cPad * rPad);
  g.items.forEach(([i, si], z) => {
    const s = layers[i].slices[si];
    const base = z * cPad * rPad;
    for (let a = 0; a < g.rows; a++) {
      for (let b = 0; b < g.cols; b++) {
        // Tall slices: vectors are columns (x[b][a]); wide slices: vectors are rows (x[a][b]).
        data[base + (tall ? b * rPad + a : a * rPad + b)] = s[a * g.cols + b];
      }
    }
  });
  return { data, batch, c, cPad, rPad };
}

async function gpuGroups(
  gpu: Gpu,
  layers: LayerMatrices[],
  groups: Group[],
): Promise<{ values: Float32Array; stride: number; c: number; sweeps: number[] }[]> {
  const packed = groups.map((g) => packVectors(layers, g));
  const xs = packed.map((p, k) =>
    upload(gpu, p.data, [p.batch, p.cPad, p.rPad], "f32", `slices ${groups[k].rows}x${groups[k].cols}`)
  );
  const res = await jacobiSvdMany(gpu, xs);
  for (const x of xs) x.release();
  return res.map((r, k) => ({ values: r.values, stride: packed[k].cPad, c: packed[k].c, sweeps: r.sweeps }));
}

async function cpuGroups(gpu: Gpu, layers: LayerMatrices[], groups: Group[]): Promise<Float32Array[]> {
  if (!groups.length) return [];
  const rec = new Recorder(gpu);
  const temps: Tensor[] = [];
  const grams = groups.map((g) => {
    const batch = g.items.length;
    const data = new Float32Array(batch * g.rows * g.cols);
    g.items.forEach(([i, si], z) => data.set(layers[i].slices[si], z * g.rows * g.cols));
    const w = upload(gpu, data, [batch, g.rows, g.cols], "f32", `slices ${g.rows}x${g.cols}`);
    temps.push(w);
    const gram = matmul(rec, w, w, g.rows >= g.cols ? { transA: true } : { transB: true });
    temps.push(gram);
    return gram;
  });
  await rec.submit();
  const values = await readback(gpu, ...grams);
  for (const t of temps) t.release();
  return values as Float32Array[];
}

/**
 * Computes the eigenvalues of WᵀW (or WWᵀ, the smaller) for every slice of every layer.
 * @param gpu The GPU.
 * @param layers Layer matrices (layers with non-finite or all-zero weights get null).
 * @param solver Where the eigenvalues are solved (default `auto`).
 * @param pool Workers for the CPU solves (default: a pool of one worker per core for this call).
 * @param timings Adds the seconds spent forming Gram matrices and solving to `gram` and `eigen`.
 * @returns One entry per layer, null for skipped layers.
 */
export async function layerEigenvalues(
  gpu: Gpu,
  layers: LayerMatrices[],
  solver: EigSolver = "auto",
  pool?: EigPool,
  timings?: EsdTimings,
): Promise<(LayerEigs | null)[]> {
  const groups = groupByShape(gpu, layers);
  const gpuSolve = solver === "gpu" || (solver === "auto" && !gpu.isSoftware);
  const onGpu = (_g: Group) => gpuSolve;
  const result: (LayerEigs | null)[] = layers.map(() => null);
  const put = (i: number, s: number, e: ArrayLike<number>, n: number, ok: boolean) => {
    const l = layers[i];
    const r = result[i] ?? { evals: new Float64Array(l.slices.length * n), converged: true };
    for (let k = 0; k < n; k++) r.evals[s * n + k] = e[k] / (l.scale * l.scale);
    r.converged &&= ok;
    result[i] = r;
  };
  const onGpuGroups = groups.filter(onGpu);
  let t0 = performance.now();
  const solved = await gpuGroups(gpu, layers, onGpuGroups);
  onGpuGroups.forEach((g, k) => {
    const { values, stride, c, sweeps } = solved[k];
    g.items.forEach(([i, s], z) => {
      // Padding rows add exact zeros: drop the cPad − c smallest values.
      const v = Float64Array.from(values.subarray(z * stride, (z + 1) * stride)).sort().subarray(stride - c);
      put(i, s, v, c, sweeps[z] >= 0);
    });
  });
  const cpu = groups.filter((g) => !onGpu(g));
  let t1 = performance.now();
  if (timings) timings.eigen += (t1 - t0) / 1000;
  const grams = await cpuGroups(gpu, layers, cpu);
  t0 = performance.now();
  if (timings) timings.gram += (t0 - t1) / 1000;
  const jobs = cpu.flatMap((g, gi) => {
    const n = Math.min(g.rows, g.cols);
    return g.items.map(([i, s], z) => ({
      data: grams[gi].subarray(z * n * n, (z + 1) * n * n),
      n,
      what: `the Gram matrix of "${layers[i].name}" slice ${s}`,
    }));
  });
  const own = pool ? null : new EigPool();
  try {
    const values = await (pool ?? own!).solve(jobs);
    let k = 0;
    cpu.forEach((g) => g.items.forEach(([i, s]) => put(i, s, values[k], values[k++].length, true)));
  } finally {
    own?.close();
  }
  t1 = performance.now();
  if (timings) timings.eigen += (t1 - t0) / 1000;
  return result;
}
