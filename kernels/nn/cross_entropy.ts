/**
 * Softmax cross-entropy, fused forward and backward (PyTorch's `F.cross_entropy`, mean
 * reduction): per row, loss = logsumexp(z) − z[label] with a max-shifted log-sum-exp, the
 * gradient (softmax(z) − onehot)/N, and whether argmax(z) == label. One invocation per row.
 * @module
 */
import { requireDtype, requireRank, requireShape } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { sum } from "../ops/reduce.ts";
import { Tensor } from "../runtime/tensor.ts";

/** The most classes {@link crossEntropy} takes: a row's three loops over C stay under LOOP_CAP. */
export const CE_MAX_CLASSES: number = Math.floor(LOOP_CAP / 3);

const CODE = `struct P { groups: u32, N: u32, C: u32, invN: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> label: array<i32>;
@group(0) @binding(3) var<storage, read_write> dz: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>; // (N, 2): loss, correct
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let r = wid * 64u + t;
  if (r >= p.N) { return; }
  let base = r * p.C;
  var mx = z[base]; var arg = 0u;
  for (var c = 1u; c < p.C; c++) { let v = z[base + c]; if (v > mx) { mx = v; arg = c; } }
  var s = 0.0;
  for (var c = 0u; c < p.C; c++) { s += exp(z[base + c] - mx); }
  let lse = mx + log(s);
  let y = u32(label[r]);
  for (var c = 0u; c < p.C; c++) {
    dz[base + c] = (exp(z[base + c] - lse) - select(0.0, 1.0, c == y)) * p.invN;
  }
  // A NaN logit makes the loss NaN (never hidden): lse propagates it.
  stats[2u * r] = lse - z[base + y];
  stats[2u * r + 1u] = select(0.0, 1.0, arg == y);
}`;

/** What {@link crossEntropy} returns. */
export interface CrossEntropyResult {
  /** Mean loss over the batch, shape [1]. */
  loss: Tensor;
  /** Correct predictions in the batch, shape [1] (f32). */
  correct: Tensor;
  /** dL/dz for the mean loss, (N, C). */
  grad: Tensor;
}

/**
 * Records fused softmax cross-entropy (mean over the batch) and its gradient.
 * @param rec The recorder.
 * @param logits (N, C).
 * @param labels (N) i32 class indices in [0, C) — checked on the CPU by the caller's data
 *   pipeline; an out-of-range label here reads a clamped logit.
 * @param op The layer's name for errors.
 * @returns Mean loss, correct count, gradient.
 */
export function crossEntropy(
  rec: Recorder,
  logits: Tensor,
  labels: Tensor,
  op = "cross_entropy",
): CrossEntropyResult {
  requireDtype(op, "logits", logits);
  requireDtype(op, "labels", labels, "i32");
  requireRank(op, "logits", logits, 2);
  const [N, C] = logits.shape;
  requireShape(op, "labels", labels, [N]);
  if (C > CE_MAX_CLASSES) {
    throw new RangeError(
      `${op}: ${C} classes are more than the supported ${CE_MAX_CLASSES} (a row's three passes stay under the software driver's loop cap)`,
    );
  }
  const grad = new Tensor(rec.gpu, [N, C], "f32", `${op}.grad`);
  const stats = new Tensor(rec.gpu, [N, 2], "f32", `${op}.rows`);
  rec.dispatch({
    op,
    kernel: "cross_entropy",
    code: CODE,
    work: { kind: "cross-entropy", shape: `${N}×${C}`, bytes: 4 * (2 * N * C + 3 * N) },
    groups: Math.ceil(N / 64),
    params: params(N, C, { f: 1 / N }),
    tensors: [logits, labels, grad, stats],
  });
  const totals = sum(rec, stats, { axis: 0 }); // [Σ loss, Σ correct]
  const loss = new Tensor(rec.gpu, [1], "f32", `${op}.loss`),
    correct = new Tensor(rec.gpu, [1], "f32", `${op}.correct`);
  rec.copyRange(totals, 0, loss, 0, 1);
  rec.copyRange(totals, 1, correct, 0, 1);
  // Mean: scale the summed loss in place.
  rec.dispatch({
    op,
    kernel: "scale_first",
    code: `struct P { groups: u32, s: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(1) fn main() { x[0] = x[0] * p.s; }`,
    groups: 1,
    params: params({ f: 1 / N }),
    tensors: [loss],
  });
  rec.after(() => {
    stats.release();
    totals.release();
  });
  return { loss, correct, grad };
}
