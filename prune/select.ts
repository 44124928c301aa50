/**
 * Which weights of one layer to zero, given its (out, in) values, a score and a sparsity:
 * - `magnitude` (FARMS' `prune_magnitude`): |W| over the whole layer, one threshold per layer;
 * - `wanda` (FARMS' `prune_wanda`): |W_ij|·‖X_j‖₂ compared within each output row.
 * Exactly K = round(n·s) weights are zeroed (n the layer's size), so the achieved sparsity is the
 * assigned one within half a weight. Where we chose: the reference zeroes the `int(n·s)`-th score
 * and all that equal it for magnitude (`W_metric <= thresh`, one more than int(n·s), and every tie)
 * and `int(cols·s)` per row for Wanda (up to one weight per row short of n·s); we take the K
 * smallest scores, ties broken by index, and for Wanda spread K over the rows — the first
 * K mod rows rows take one more than the others — so each row is within one weight of cols·s and
 * the layer within one of n·s.
 * On the GPU: scores, {@link sortRows} per row (rows batched to fit one storage binding) and
 * {@link selectSmallest}; magnitude's layer-wide threshold is found from the sorted rows (so a
 * 45 M-weight layer never needs one 64 M-entry sort), and a row longer than a binding allows is
 * selected on the CPU instead, with the same result.
 * @module
 */
import { selectSmallest, wandaScores } from "../kernels/prune/wanda.ts";
import { sortRows } from "../kernels/ops/sort.ts";
import { recordMap } from "../kernels/ops/map.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { readback, Tensor, upload } from "../kernels/runtime/tensor.ts";
import { OptionError } from "../util/errors.ts";

/** How weights are scored. */
export type PruneScore = "magnitude" | "wanda";

/**
 * How many weights each row gives up: K = round(n·s) over the layer, spread over the rows.
 * @param rows Rows (1 for a layer-wide threshold).
 * @param cols Entries per row.
 * @param sparsity The layer's sparsity in [0, 1].
 * @returns k per row.
 */
export function rowCounts(rows: number, cols: number, sparsity: number): Uint32Array {
  const K = Math.round(rows * cols * sparsity);
  const base = Math.floor(K / rows), extra = K - base * rows;
  return Uint32Array.from({ length: rows }, (_, r) => base + (r < extra ? 1 : 0));
}

/**
 * The CPU selection: in each row, the k_r smallest scores (ties by index) get mask 1.
 * @param scores (rows, cols) row-major.
 * @param rows Rows.
 * @param cols Columns.
 * @param k Per row.
 * @returns The mask.
 */
export function selectSmallestCpu(
  scores: Float32Array,
  rows: number,
  cols: number,
  k: Uint32Array,
): Uint8Array {
  const mask = new Uint8Array(rows * cols);
  const idx = new Uint32Array(cols);
  for (let r = 0; r < rows; r++) {
    if (!k[r]) continue;
    const base = r * cols;
    for (let j = 0; j < cols; j++) idx[j] = j;
    idx.sort((a, b) => scores[base + a] - scores[base + b] || a - b);
    for (let j = 0; j < k[r]; j++) mask[base + idx[j]] = 1;
  }
  return mask;
}

/** Options of {@link pruneMask}. */
export interface PruneMaskOptions {
  /** The score (default `magnitude`). */
  score?: PruneScore;
  /** Wanda: each input feature's summed squares over the calibration tokens (length `cols`). */
  norms?: Float32Array;
  /** Bytes one storage binding may hold (default: the device's limit). */
  bindingLimit?: number;
  /** The layer's name, for errors. */
  name?: string;
}

/**
 * The weights of one layer to zero.
 * @param gpu The GPU.
 * @param w The layer as (rows = out, cols = in), row-major float32.
 * @param rows Output features.
 * @param cols Input features.
 * @param sparsity The fraction to zero, in [0, 1].
 * @param options Score, Wanda's norms.
 * @returns Mask (rows·cols): 1 = zero this weight; exactly round(rows·cols·sparsity) ones.
 * @throws {OptionError} On a NaN or infinite weight (naming the layer), or Wanda without norms.
 */
export async function pruneMask(
  gpu: Gpu,
  w: Float32Array,
  rows: number,
  cols: number,
  sparsity: number,
  options: PruneMaskOptions = {},
): Promise<Uint8Array> {
  const { score = "magnitude", name = "layer" } = options;
  const n = rows * cols;
  if (w.length !== n) throw new RangeError(`pruneMask: ${w.length} values for (${rows}, ${cols})`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(w[i])) {
      throw new OptionError(
        `${name}: weight ${Math.floor(i / cols)},${i % cols} is ${
          w[i]
        }: cannot prune a layer with NaN or infinite weights`,
      );
    }
  }
  if (score === "wanda" && options.norms?.length !== cols) {
    throw new OptionError(
      `${name}: Wanda needs ${cols} input norms from calibration, got ${options.norms?.length ?? 0}`,
    );
  }
  const limit = options.bindingLimit ?? gpu.device.limits.maxStorageBufferBindingSize;
  const P = 2 ** Math.ceil(Math.log2(Math.max(2, cols)));
  const perChunk = Math.floor(limit / (P * 4));
  const magnitude = score === "magnitude";
  if (perChunk < 1) {
    // Magnitude compares across the whole layer: one row of n.
    const [R, C] = magnitude ? [1, n] : [rows, cols];
    return selectSmallestCpu(scoresCpu(w, C, score, options.norms), R, C, rowCounts(R, C, sparsity));
  }
  const mask = new Uint8Array(n);
  const norms = magnitude ? null : upload(gpu, options.norms!, [cols], "f32", "prune.norms");
  // Scores and their sorted rows, chunk by chunk (rows batched to fit one binding).
  const chunks: { r0: number; m: number; sorted: Float32Array | null }[] = [];
  for (let r0 = 0; r0 < rows; r0 += perChunk) {
    chunks.push({ r0, m: Math.min(perChunk, rows - r0), sorted: null });
  }
  const scoresOf = (rec: Recorder, wt: Tensor, m: number): Tensor => {
    if (norms) return wandaScores(rec, wt, norms);
    const s = new Tensor(gpu, [m, cols], "f32", "prune.scores");
    recordMap(rec, { op: "prune |w|", kernel: "abs", expr: "abs(x0[i])", inputs: [wt], out: s });
    return s;
  };
  try {
    let k: Uint32Array;
    if (magnitude) {
      // Layer-wide: sort each row on the GPU, then find the K-th smallest |w| of the layer from the
      // sorted rows on the CPU (a bisection over values with binary searches per row), and give
      // each row its share: those below it, then ties in row-major order — the same K weights as
      // one sort of the whole layer by (|w|, index), at a row sort's cost.
      for (const c of chunks) {
        const wt = upload(gpu, w.subarray(c.r0 * cols, (c.r0 + c.m) * cols), [c.m, cols], "f32", "prune.w");
        const rec = new Recorder(gpu);
        const scores = scoresOf(rec, wt, c.m);
        const sorted = sortRows(rec, scores);
        await rec.submit();
        c.sorted = (await readback(gpu, sorted))[0] as Float32Array;
        for (const t of [wt, scores, sorted]) t.release();
      }
      k = layerCounts(chunks, rows, cols, P, Math.round(n * sparsity));
    } else k = rowCounts(rows, cols, sparsity);
    for (const c of chunks) {
      const wt = upload(gpu, w.subarray(c.r0 * cols, (c.r0 + c.m) * cols), [c.m, cols], "f32", "prune.w");
      const kt = upload(gpu, k.subarray(c.r0, c.r0 + c.m), [c.m], "u32", "prune.k");
      const rec = new Recorder(gpu);
      const scores = scoresOf(rec, wt, c.m);
      const sorted = c.sorted
        ? upload(gpu, c.sorted, [c.m, P], "f32", "prune.sorted")
        : sortRows(rec, scores);
      c.sorted = null;
      const mt = selectSmallest(rec, scores, sorted, kt);
      await rec.submit();
      const [v] = await readback(gpu, mt);
      mask.set(v as Uint32Array, c.r0 * cols);
      for (const t of [wt, kt, scores, sorted, mt]) t.release();
    }
  } finally {
    norms?.release();
  }
  return mask;
}

/**
 * Per-row counts that together select the layer's K smallest scores by (score, row-major index),
 * from each row's sorted scores.
 */
function layerCounts(
  chunks: { r0: number; m: number; sorted: Float32Array | null }[],
  rows: number,
  cols: number,
  P: number,
  K: number,
): Uint32Array {
  const row = (r: number) => {
    const c = chunks.find((c) => r >= c.r0 && r < c.r0 + c.m)!;
    return c.sorted!.subarray((r - c.r0) * P, (r - c.r0) * P + cols);
  };
  // Entries < t in a sorted row (t may be +Infinity: all of them).
  const below = (a: Float32Array, t: number) => {
    let lo = 0, hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const countBelow = (t: number) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += below(row(r), t);
    return s;
  };
  const k = new Uint32Array(rows);
  if (K <= 0) return k;
  // The K-th smallest value: the largest t among the layer's values with countBelow(t) < K. Scores
  // are ≥ 0, so their float32 bit patterns order as the values do: bisect over the bits.
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  let lo = 0, hi = 0x7f800000; // +0 … +Infinity
  while (lo < hi) {
    const mid = lo + Math.ceil((hi - lo) / 2);
    u[0] = mid;
    if (countBelow(f[0]) < K) lo = mid;
    else hi = mid - 1;
  }
  u[0] = lo;
  const thr = f[0];
  let ties = K - countBelow(thr);
  for (let r = 0; r < rows; r++) {
    const a = row(r), lt = below(a, thr);
    let eq = 0;
    while (lt + eq < cols && a[lt + eq] === thr) eq++;
    const take = Math.min(eq, ties);
    ties -= take;
    k[r] = lt + take;
  }
  return k;
}

/** The scores on the CPU (the fallback for rows too long for one binding). */
function scoresCpu(
  w: Float32Array,
  cols: number,
  score: PruneScore,
  norms?: Float32Array,
): Float32Array {
  const s = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) {
    s[i] = score === "wanda" ? Math.abs(w[i]) * Math.sqrt(norms![i % cols]) : Math.abs(w[i]);
  }
  return s;
}
