/**
 * Softmax cross-entropy for language models, where rows are tokens and the vocabulary is wide
 * (GPT-2's 50,257): one workgroup of 64 lanes per row reduces max, Σexp and the target's logit in
 * parallel, so the vocabulary is bounded by memory, not by the loop cap. It writes each row's
 * negative log-likelihood (nats) and, when asked, the gradient of `scale · Σ nll`
 * (`scale · (softmax − onehot)`) over the logits in place. A target < 0 is ignored (nll 0, gradient
 * 0), as PyTorch's `ignore_index`.
 * @module
 */
import { requireDtype, requireRank, requireShape } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

const CODE = (grad: boolean) =>
  `struct P { groups: u32, N: u32, V: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> z: array<f32>;
@group(0) @binding(2) var<storage, read> tgt: array<i32>;
@group(0) @binding(3) var<storage, read_write> nll: array<f32>;
var<workgroup> red: array<f32, 64>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let r = wid;
  if (r >= p.N) { return; }
  let o = r * p.V;
  var mx = -3.4e38;
  for (var c = t; c < p.V; c += 64u) { mx = max(mx, z[o + c]); }
  red[t] = mx;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (t < s) { red[t] = max(red[t], red[t + s]); }
    workgroupBarrier();
  }
  let m = red[0];
  workgroupBarrier();
  var se = 0.0;
  for (var c = t; c < p.V; c += 64u) { se += exp(z[o + c] - m); }
  red[t] = se;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (t < s) { red[t] = red[t] + red[t + s]; }
    workgroupBarrier();
  }
  let lse = m + log(red[0]);
  let y = tgt[r];
  if (t == 0u) {
    // A NaN logit makes the row's nll NaN (never hidden).
    nll[r] = select(lse - z[o + u32(max(y, 0))], 0.0, y < 0);
  }
  ${
    grad
      ? `workgroupBarrier();
  for (var c = t; c < p.V; c += 64u) {
    let g = exp(z[o + c] - lse) - select(0.0, 1.0, i32(c) == y);
    z[o + c] = select(g * p.scale, 0.0, y < 0);
  }`
      : ""
  }
}`;

/**
 * Records per-token negative log-likelihoods, and optionally the gradient in place of the logits.
 * @param rec The recorder.
 * @param logits (N, V); overwritten by the gradient when `gradScale` is given.
 * @param targets (N) i32 in [0, V), or −1 to ignore a row.
 * @param gradScale Write `gradScale · (softmax − onehot)` over the logits (e.g. 1/N for a mean).
 * @param op The layer's name for errors.
 * @returns nll (N), in nats.
 */
export function tokenNll(
  rec: Recorder,
  logits: Tensor,
  targets: Tensor,
  gradScale: number | null = null,
  op = "lm_loss",
): Tensor {
  requireDtype(op, "logits", logits);
  requireDtype(op, "targets", targets, "i32");
  requireRank(op, "logits", logits, 2);
  const [N, V] = logits.shape;
  requireShape(op, "targets", targets, [N]);
  if (3 * Math.ceil(V / 64) > LOOP_CAP) {
    throw new RangeError(
      `${op}: a vocabulary of ${V} is larger than the supported ${64 * Math.floor(LOOP_CAP / 3)}`,
    );
  }
  const nll = new Tensor(rec.gpu, [N], "f32", `${op}.nll`);
  rec.dispatch({
    op: `${op} logits=${fmtShape(logits.shape)}`,
    kernel: gradScale === null ? "lm_nll" : "lm_nll_grad",
    code: CODE(gradScale !== null),
    groups: N,
    params: params(N, V, { f: gradScale ?? 0 }),
    tensors: [logits, targets, nll],
    work: { kind: "lm loss", shape: `${N}×${V}`, bytes: 4 * (gradScale === null ? 1 : 2) * N * V },
  });
  return nll;
}
