/**
 * The GPU side of layer pruning: Wanda's calibration statistic (‖X_j‖², summed over calibration
 * tokens, per input feature j), its score |W_ij|·‖X_j‖₂, and the selection of each row's k smallest
 * scores (the entries to zero) from the rows sorted by {@link sortRows}.
 * Ref: Sun et al., "A Simple and Effective Pruning Approach for Large Language Models" (Wanda),
 * ICLR 2024.
 * @module
 */
import { requireDtype, requireRank, requireShape } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

const COLUMN_SQUARES = `struct P { groups: u32, first: u32, rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> acc: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let j = wid * 256u + t;
  if (j >= p.cols) { return; }
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) { let v = x[(p.first + r) * p.cols + j]; s = fma(v, v, s); }
  acc[j] = acc[j] + s;
}`;

/**
 * Records `acc_j += Σ_r x_rj²`: one calibration batch's contribution to each input feature's
 * squared norm (consecutive threads read consecutive columns, so the loads coalesce). Rows go in
 * passes of at most `LOOP_CAP` (each thread loops over its column's rows, and lavapipe stops a loop
 * silently past 65535 iterations).
 * @param rec The recorder.
 * @param x A layer's input (rows, cols): rows are tokens.
 * @param acc (cols), accumulated in place.
 */
export function accumulateColumnSquares(rec: Recorder, x: Tensor, acc: Tensor): void {
  const op = `accumulateColumnSquares x=${fmtShape(x.shape)}`;
  requireDtype(op, "x", x);
  requireRank(op, "x", x, 2);
  requireShape(op, "acc", acc, [x.shape[1]]);
  const [rows, cols] = x.shape;
  for (let first = 0; first < rows; first += LOOP_CAP) {
    rec.dispatch({
      op,
      kernel: "column_squares",
      code: COLUMN_SQUARES,
      groups: Math.ceil(cols / 256),
      params: params(first, Math.min(LOOP_CAP, rows - first), cols),
      tensors: [x, acc],
    });
  }
}

const SCORES = `struct P { groups: u32, n: u32, cols: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> norms: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let i = wid * 256u + t;
  if (i >= p.n) { return; }
  out[i] = abs(w[i]) * sqrt(norms[i % p.cols]);
}`;

/**
 * Records Wanda's scores `|W_ij|·sqrt(norms_j)`.
 * @param rec The recorder.
 * @param w Weights (out, in).
 * @param norms (in): each input feature's summed squares over the calibration tokens.
 * @returns Scores (out, in).
 */
export function wandaScores(rec: Recorder, w: Tensor, norms: Tensor): Tensor {
  const op = `wandaScores w=${fmtShape(w.shape)}`;
  requireDtype(op, "w", w);
  requireRank(op, "w", w, 2);
  requireShape(op, "norms", norms, [w.shape[1]]);
  const out = new Tensor(rec.gpu, w.shape, "f32", "wanda.scores");
  rec.dispatch({
    op,
    kernel: "wanda_scores",
    code: SCORES,
    groups: Math.ceil(w.size / 256),
    params: params(w.size, w.shape[1]),
    tensors: [w, norms, out],
  });
  return out;
}

const SELECT = `struct P { groups: u32, rows: u32, cols: u32, P: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read> sorted: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<u32>;
@group(0) @binding(4) var<storage, read_write> mask: array<u32>;
var<workgroup> lt: array<u32, 256>;
var<workgroup> eq: array<u32, 256>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let row = wid;
  if (row >= p.rows) { return; }
  let kr = k[row];
  let seg = (p.cols + 255u) / 256u;
  let a = min(p.cols, t * seg);
  let b = min(p.cols, a + seg);
  let base = row * p.cols;
  var thr = 0.0;
  if (kr > 0u) { thr = sorted[row * p.P + kr - 1u]; }
  var nl = 0u; var ne = 0u;
  if (kr > 0u) {
    for (var j = a; j < b; j++) {
      let v = s[base + j];
      if (v < thr) { nl++; } else if (v == thr) { ne++; }
    }
  }
  lt[t] = nl; eq[t] = ne;
  workgroupBarrier();
  // Thread 0 turns the counts into the row's total below the threshold and, per thread, the ties
  // that come before its segment (index order decides which tied entries are taken).
  if (t == 0u) {
    var below = 0u; var ties = 0u;
    for (var i = 0u; i < 256u; i++) { below += lt[i]; let e = eq[i]; eq[i] = ties; ties += e; }
    lt[0] = below;
  }
  workgroupBarrier();
  let need = kr - min(kr, lt[0]);
  var tie = eq[t];
  for (var j = a; j < b; j++) {
    let v = s[base + j];
    var m = 0u;
    if (kr > 0u) {
      if (v < thr) { m = 1u; } else if (v == thr) { if (tie < need) { m = 1u; } tie++; }
    }
    mask[base + j] = m;
  }
}`;

/**
 * Records the selection of each row's `k_r` smallest scores: mask 1 marks an entry to prune.
 * Exactly `k_r` entries per row are marked: those below the row's k-th smallest score, then ties
 * at it in index order. One workgroup per row.
 * @param rec The recorder.
 * @param scores (rows, cols), no NaN.
 * @param sorted {@link sortRows} of `scores`: (rows, P), P ≥ cols.
 * @param k (rows) u32: how many to mark per row, each ≤ cols.
 * @returns The mask (rows, cols), u32 0/1.
 */
export function selectSmallest(rec: Recorder, scores: Tensor, sorted: Tensor, k: Tensor): Tensor {
  const op = `selectSmallest scores=${fmtShape(scores.shape)}`;
  requireDtype(op, "scores", scores);
  requireRank(op, "scores", scores, 2);
  const [rows, cols] = scores.shape;
  requireDtype(op, "sorted", sorted);
  if (sorted.shape.length !== 2 || sorted.shape[0] !== rows || sorted.shape[1] < cols) {
    throw new RangeError(`${op}: sorted must be (${rows}, P ≥ ${cols}), got ${fmtShape(sorted.shape)}`);
  }
  requireDtype(op, "k", k, "u32");
  requireShape(op, "k", k, [rows]);
  const mask = new Tensor(rec.gpu, [rows, cols], "u32", "prune.mask");
  rec.dispatch({
    op,
    kernel: "select_smallest",
    code: SELECT,
    groups: rows,
    params: params(rows, cols, sorted.shape[1]),
    tensors: [scores, sorted, k, mask],
  });
  return mask;
}
