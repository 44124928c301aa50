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
 * {@link selectSmallest}; a row longer than a binding allows (a whole 45 M-weight layer for
 * magnitude) is selected on the CPU instead, with the same result.
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
  // Magnitude compares across the whole layer: one row of n.
  const [R, C] = score === "magnitude" ? [1, n] : [rows, cols];
  const k = rowCounts(R, C, sparsity);
  const limit = options.bindingLimit ?? gpu.device.limits.maxStorageBufferBindingSize;
  const P = 2 ** Math.ceil(Math.log2(Math.max(2, C)));
  const perChunk = Math.floor(limit / (P * 4));
  if (perChunk < 1) return selectSmallestCpu(scoresCpu(w, C, score, options.norms), R, C, k);
  const mask = new Uint8Array(n);
  const norms = score === "wanda" ? upload(gpu, options.norms!, [C], "f32", "prune.norms") : null;
  try {
    for (let r0 = 0; r0 < R; r0 += perChunk) {
      const m = Math.min(perChunk, R - r0);
      const wt = upload(gpu, w.subarray(r0 * C, (r0 + m) * C), [m, C], "f32", "prune.w");
      const kt = upload(gpu, k.subarray(r0, r0 + m), [m], "u32", "prune.k");
      const rec = new Recorder(gpu);
      let scores: Tensor;
      if (norms) scores = wandaScores(rec, wt, norms);
      else {
        scores = new Tensor(gpu, [m, C], "f32", "prune.scores");
        recordMap(rec, { op: "prune |w|", kernel: "abs", expr: "abs(x0[i])", inputs: [wt], out: scores });
      }
      const sorted = sortRows(rec, scores);
      const mt = selectSmallest(rec, scores, sorted, kt);
      await rec.submit();
      const [v] = await readback(gpu, mt);
      mask.set(v as Uint32Array, r0 * C);
      for (const t of [wt, kt, scores, sorted, mt]) t.release();
    }
  } finally {
    norms?.release();
  }
  return mask;
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
