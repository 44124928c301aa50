/**
 * Eigenvalues of every layer's slices (the squared singular values of each slice).
 *
 * - `gpu`: blocked one-sided Jacobi (`kernels/linalg/svd_jacobi.ts`) on the slices themselves, batched
 *   over all slices of the same shape, across layers.
 * - `cpu`: Gram matrices on the GPU (batched matmul), eigenvalues in float64 on the CPU
 *   (`eig_cpu.ts`: Householder + QL in WebAssembly), spread over a pool of workers (`eig_pool.ts`).
 * - `auto`: the GPU on hardware adapters, the CPU on software ones, where the CPU solver is the
 *   faster: Jacobi spends ~6n³ flops a sweep for ~12 sweeps, where Householder + QL spends ~(4/3)n³
 *   in all (figures: docs/performance.md).
 *
 * A slice too large for one storage binding (its data, its padded copy or its Gram matrix) is not
 * refused: its Gram matrix is formed in tiles under the limit and solved on the CPU.
 * @module
 */
import { matmul } from "../kernels/linalg/matmul.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { jacobiSvdMany, paddedRows } from "../kernels/linalg/svd_jacobi.ts";
import { readback, type Tensor, upload } from "../kernels/runtime/tensor.ts";
import type { LayerMatrices } from "./matrices.ts";
import { type EigJob, EigPool } from "./eig_pool.ts";
import { EIG_CPU_MAX_N } from "./eig_cpu.ts";

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
// the GPU solver, or the slices and their Gram matrices for the CPU one). Slices too large for one
// binding go to `big`: their Gram matrices are formed in tiles and solved on the CPU.
function groupByShape(layers: LayerMatrices[], limit: number): { groups: Group[]; big: [number, number][] } {
  const groups: Group[] = [];
  const big: [number, number][] = [];
  const open = new Map<string, Group>();
  layers.forEach((l, i) => {
    if (l.nonFinite || l.allZero) return;
    const c = Math.min(l.rows, l.cols), r = Math.max(l.rows, l.cols);
    const bytes = 4 * Math.max(paddedRows(c) * Math.ceil(r / 4) * 4, l.rows * l.cols, c * c);
    if (bytes > limit) {
      for (let s = 0; s < l.slices.length; s++) big.push([i, s]);
      return;
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
  return { groups, big };
}

/**
 * The Gram matrix of the smaller side of a rows×cols slice (WᵀW if rows ≥ cols, else WWᵀ), for a
 * slice too large for one storage binding: output tiles of at most `limit` bytes, each summed over
 * blocks of the long side that fit in `limit` (a float32 product on the GPU per block), accumulated
 * in float64 on the CPU.
 */
async function tiledGram(
  gpu: Gpu,
  w: Float32Array,
  rows: number,
  cols: number,
  limit: number,
): Promise<Float64Array> {
  const tall = rows >= cols, n = Math.min(rows, cols), K = Math.max(rows, cols);
  const floats = Math.floor(limit / 4);
  const T = Math.max(1, Math.min(n, Math.floor(Math.sqrt(floats))));
  const B = Math.max(1, Math.min(K, Math.floor(floats / T)));
  const g = new Float64Array(n * n);
  // Columns c0..c0+t of the tall orientation, rows k0..k0+kb, as a kb×t float32 block.
  const block = (k0: number, kb: number, c0: number, t: number) => {
    // Whole rows of a tall slice are already a block: no copy.
    if (tall && c0 === 0 && t === cols) return w.subarray(k0 * cols, (k0 + kb) * cols);
    const out = new Float32Array(kb * t);
    for (let k = 0; k < kb; k++) {
      for (let c = 0; c < t; c++) {
        out[k * t + c] = tall ? w[(k0 + k) * cols + c0 + c] : w[(c0 + c) * cols + k0 + k];
      }
    }
    return out;
  };
  for (let i0 = 0; i0 < n; i0 += T) {
    for (let j0 = i0; j0 < n; j0 += T) {
      const ti = Math.min(T, n - i0), tj = Math.min(T, n - j0);
      for (let k0 = 0; k0 < K; k0 += B) {
        const kb = Math.min(B, K - k0);
        const a = upload(gpu, block(k0, kb, i0, ti), [kb, ti], "f32", "Gram tile rows");
        const b = j0 === i0 ? a : upload(gpu, block(k0, kb, j0, tj), [kb, tj], "f32", "Gram tile columns");
        const rec = new Recorder(gpu);
        // A diagonal tile is symmetric: only its lower triangle is formed and read.
        const p = matmul(rec, a, b, { transA: true, lower: j0 === i0 });
        await rec.submit();
        const [v] = await readback(gpu, p);
        for (const t of new Set([a, b, p])) t.release();
        gpu.pool.trim(); // Blocks this large are not worth keeping for reuse.
        for (let r = 0; r < ti; r++) {
          for (let c = 0; c < (j0 === i0 ? r + 1 : tj); c++) {
            const x = v[r * tj + c];
            g[(i0 + r) * n + j0 + c] += x;
            if (j0 !== i0) g[(j0 + c) * n + i0 + r] += x;
          }
        }
      }
    }
  }
  return g;
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
    // One slice is uploaded as it is; several are packed into one batch.
    const data = batch === 1
      ? layers[g.items[0][0]].slices[g.items[0][1]]
      : new Float32Array(batch * g.rows * g.cols);
    if (batch > 1) g.items.forEach(([i, si], z) => data.set(layers[i].slices[si], z * g.rows * g.cols));
    const w = upload(gpu, data, [batch, g.rows, g.cols], "f32", `slices ${g.rows}x${g.cols}`);
    temps.push(w);
    // The solver reads the lower triangle only: the tiles above it are not formed.
    const gram = matmul(
      rec,
      w,
      w,
      g.rows >= g.cols ? { transA: true, lower: true } : { transB: true, lower: true },
    );
    temps.push(gram);
    return gram;
  });
  await rec.submit();
  const values = await readback(gpu, ...grams);
  for (const t of temps) t.release();
  return values as Float32Array[];
}

/** Options of {@link layerEigenvalues}. */
export interface LayerEigenOptions {
  /** Workers for the CPU solves (default: a pool of one worker per core for this call). */
  pool?: EigPool;
  /** Adds the seconds spent forming Gram matrices and solving to `gram` and `eigen`. */
  timings?: EsdTimings;
  /**
   * Bytes a storage binding may hold (default, and at most, the device's
   * `maxStorageBufferBindingSize`): a slice whose data, padded copy or Gram matrix is larger has its
   * Gram matrix formed in tiles under it and solved on the CPU, whatever the solver.
   */
  bindingLimit?: number;
  /**
   * Where the CPU path forms Gram matrices: `gpu` (float32 matmul, lower tiles), `cpu` (the
   * workers, float64 sums, with each solve; their time then counts as `eigen`), or `auto` (default):
   * on SwiftShader, whose compute is far slower than lavapipe's for these products, every Gram in
   * the workers; on other software adapters, the slices up to `CPU_GRAM_WORK` multiply-adds in the
   * workers (a large Gram is faster on the matmul over every core than on one worker) and larger
   * ones on the GPU; on hardware adapters, the GPU (figures: docs/performance.md).
   */
  gram?: "auto" | "gpu" | "cpu";
}

/**
 * On other software adapters (lavapipe), `auto` forms a slice's Gram in the workers up to this many
 * multiply-adds (max(rows, cols)·min(rows, cols)², ~0.1 s of one core): small and middling slices
 * run in parallel across the workers with their solves and skip the GPU round trip, while a large
 * one on one worker would take longer than lavapipe's matmul over every core (docs/performance.md).
 */
const CPU_GRAM_WORK = 2 ** 30;

/** Adapters whose compute is far slower than WebAssembly on the same CPU (SwiftShader). */
function slowGramAdapter(gpu: Gpu): boolean {
  const i = gpu.adapter.info;
  return /swiftshader/i.test(`${i.vendor} ${i.architecture} ${i.description} ${i.device}`);
}

/**
 * Computes the eigenvalues of WᵀW (or WWᵀ, the smaller) for every slice of every layer.
 * @param gpu The GPU.
 * @param layers Layer matrices (layers with non-finite or all-zero weights get null).
 * @param solver Where the eigenvalues are solved (default `auto`).
 * @param options Workers, timings, the binding limit, where Gram matrices are formed
 *   ({@link LayerEigenOptions}).
 * @returns One entry per layer, null for skipped layers.
 */
export async function layerEigenvalues(
  gpu: Gpu,
  layers: LayerMatrices[],
  solver: EigSolver = "auto",
  options: LayerEigenOptions = {},
): Promise<(LayerEigs | null)[]> {
  const { pool, timings } = options;
  const bindingLimit = options.bindingLimit ?? gpu.device.limits.maxStorageBufferBindingSize;
  const mode = options.gram ?? "auto", slow = slowGramAdapter(gpu);
  // Where a slice's Gram is formed: see LayerEigenOptions.gram.
  const gramOnCpu = (rows: number, cols: number) =>
    mode === "cpu" ||
    (mode === "auto" &&
      (slow || (gpu.isSoftware && Math.max(rows, cols) * Math.min(rows, cols) ** 2 <= CPU_GRAM_WORK)));
  const limit = Math.min(bindingLimit, gpu.device.limits.maxStorageBufferBindingSize);
  const { groups, big } = groupByShape(layers, limit);
  const gpuSolve = solver === "gpu" || (solver === "auto" && !gpu.isSoftware);
  const result: (LayerEigs | null)[] = layers.map(() => null);
  const put = (i: number, s: number, e: ArrayLike<number>, n: number, ok: boolean) => {
    const l = layers[i];
    const r = result[i] ?? { evals: new Float64Array(l.slices.length * n), converged: true };
    for (let k = 0; k < n; k++) r.evals[s * n + k] = e[k] / (l.scale * l.scale);
    r.converged &&= ok;
    result[i] = r;
  };
  const onGpuGroups = gpuSolve ? groups : [];
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
  const cpu = gpuSolve ? [] : groups;
  let t1 = performance.now();
  if (timings) timings.eigen += (t1 - t0) / 1000;
  const what = (i: number, s: number) => `the Gram matrix of "${layers[i].name}" slice ${s}`;
  // On the CPU path the workers can form the Gram matrices too (float64 sums): each job is a slice.
  const sliceJob = ([i, s]: [number, number]): EigJob => {
    const l = layers[i];
    return { data: l.slices[s], n: Math.min(l.rows, l.cols), rows: l.rows, cols: l.cols, what: what(i, s) };
  };
  const fits = ([i]: [number, number]) => {
    const l = layers[i], n = Math.min(l.rows, l.cols);
    return n <= EIG_CPU_MAX_N && 8 * n * n + 4 * l.rows * l.cols <= 2 ** 31;
  };
  const onGpuGram = cpu.filter((g) => !gramOnCpu(g.rows, g.cols));
  const grams = await cpuGroups(gpu, layers, onGpuGram);
  const jobs: EigJob[] = cpu.flatMap((g) => {
    const gi = onGpuGram.indexOf(g);
    if (gi < 0) return g.items.map(sliceJob);
    const n = Math.min(g.rows, g.cols);
    return g.items.map(([i, s], z) => ({
      data: grams[gi].subarray(z * n * n, (z + 1) * n * n),
      n,
      what: what(i, s),
    }));
  });
  for (const [i, s] of big) {
    if (gramOnCpu(layers[i].rows, layers[i].cols) && fits([i, s])) {
      jobs.push(sliceJob([i, s]));
      continue;
    }
    const l = layers[i];
    jobs.push({
      data: await tiledGram(gpu, l.slices[s], l.rows, l.cols, limit),
      n: Math.min(l.rows, l.cols),
      what: what(i, s),
    });
  }
  t0 = performance.now();
  if (timings) timings.gram += (t0 - t1) / 1000;
  const own = pool ? null : new EigPool();
  try {
    const values = await (pool ?? own!).solve(jobs);
    let k = 0;
    cpu.forEach((g) => g.items.forEach(([i, s]) => put(i, s, values[k], values[k++].length, true)));
    for (const [i, s] of big) put(i, s, values[k], values[k++].length, true);
  } finally {
    own?.close();
  }
  t1 = performance.now();
  if (timings) timings.eigen += (t1 - t0) / 1000;
  return result;
}
