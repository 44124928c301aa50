/**
 * Causal multi-head self-attention on head-major blocks (B·H, T, hd):
 * `S = Q·Kᵀ / √hd`, the causal mask (key j > query i gets probability 0), a row softmax, `O = P·V`.
 * The two products run on the batched matmul kernel (tiled over T, so the sequence length is
 * bounded by memory — P is (B·H, T, T) — not by a workgroup); the masked softmax and its backward
 * are one invocation per row. Backward: dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)),
 * dQ = dS·K/√hd, dK = dSᵀ·Q/√hd.
 * @module
 */
import { requireDtype, requireRank, requireShape } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { matmul } from "../linalg/matmul.ts";
import type { Tensor } from "../runtime/tensor.ts";

const SOFTMAX = `struct P { groups: u32, R: u32, T: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> s: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let r = wid * 64u + li;
  if (r >= p.R) { return; }
  let i = r % p.T; // the query's position: keys 0…i are visible
  let o = r * p.T;
  var mx = s[o];
  for (var j = 1u; j <= i; j++) { mx = max(mx, s[o + j]); }
  var z = 0.0;
  for (var j = 0u; j <= i; j++) { z += exp(s[o + j] - mx); }
  let inv = 1.0 / z;
  for (var j = 0u; j < p.T; j++) { s[o + j] = select(0.0, exp(s[o + j] - mx) * inv, j <= i); }
}`;

const SOFTMAX_BWD = `struct P { groups: u32, R: u32, T: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> pr: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<f32>; // dP in, dS·scale out
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let r = wid * 64u + li;
  if (r >= p.R) { return; }
  let i = r % p.T;
  let o = r * p.T;
  var dot = 0.0;
  for (var j = 0u; j <= i; j++) { dot += pr[o + j] * g[o + j]; }
  for (var j = 0u; j < p.T; j++) {
    g[o + j] = select(0.0, pr[o + j] * (g[o + j] - dot) * p.scale, j <= i);
  }
}`;

/**
 * The longest sequence the kernels take: the forward softmax of the last query loops T − 1 + T + T
 * times, which must stay within `LOOP_CAP` (the backward's 2T does too).
 */
export const ATTENTION_MAX_T: number = Math.floor((LOOP_CAP + 1) / 3);

function check(op: string, q: Tensor, k: Tensor, v: Tensor): [number, number, number] {
  for (const [n, t] of [["q", q], ["k", k], ["v", v]] as const) {
    requireDtype(op, n, t);
    requireRank(op, n, t, 3);
  }
  requireShape(op, "k", k, q.shape);
  requireShape(op, "v", v, q.shape);
  const [BH, T, hd] = q.shape;
  if (T > ATTENTION_MAX_T) {
    throw new RangeError(`${op}: a sequence of ${T} is longer than the supported ${ATTENTION_MAX_T}`);
  }
  return [BH, T, hd];
}

/**
 * Records causal attention.
 * @param rec The recorder.
 * @param q Queries (B·H, T, hd).
 * @param k Keys, same shape.
 * @param v Values, same shape.
 * @param op The layer's name for errors.
 * @returns The output (B·H, T, hd) and the probabilities P (B·H, T, T) that backward needs.
 */
export function causalAttention(
  rec: Recorder,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  op = "attention",
): { out: Tensor; probs: Tensor } {
  const name = `${op} q=${fmtShape(q.shape)}`;
  const [BH, T, hd] = check(name, q, k, v);
  const probs = matmul(rec, q, k, { transB: true, alpha: 1 / Math.sqrt(hd) });
  rec.dispatch({
    op: name,
    kernel: "causal_softmax",
    code: SOFTMAX,
    groups: Math.ceil((BH * T) / 64),
    params: params(BH * T, T),
    tensors: [probs],
    work: { kind: "causal softmax", shape: `${BH}×${T}×${T}`, bytes: 4 * 3 * BH * T * T },
  });
  const out = matmul(rec, probs, v);
  return { out, probs };
}

/**
 * Records the backward of {@link causalAttention}.
 * @param rec The recorder.
 * @param q The forward's queries.
 * @param k The forward's keys.
 * @param v The forward's values.
 * @param probs The forward's probabilities.
 * @param dout Gradient of the output (B·H, T, hd).
 * @param op The layer's name for errors.
 * @returns dq, dk, dv.
 */
export function causalAttentionBackward(
  rec: Recorder,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  probs: Tensor,
  dout: Tensor,
  op = "attention",
): { dq: Tensor; dk: Tensor; dv: Tensor } {
  const name = `${op} backward q=${fmtShape(q.shape)}`;
  const [BH, T, hd] = check(name, q, k, v);
  requireShape(name, "probs", probs, [BH, T, T]);
  requireShape(name, "dout", dout, q.shape);
  const dv = matmul(rec, probs, dout, { transA: true });
  const g = matmul(rec, dout, v, { transB: true });
  rec.dispatch({
    op: name,
    kernel: "causal_softmax_bwd",
    code: SOFTMAX_BWD,
    groups: Math.ceil((BH * T) / 64),
    params: params(BH * T, T, { f: 1 / Math.sqrt(hd) }),
    tensors: [probs, g],
    work: { kind: "causal softmax bwd", shape: `${BH}×${T}×${T}`, bytes: 4 * 3 * BH * T * T },
  });
  const dq = matmul(rec, g, k);
  const dk = matmul(rec, g, q, { transA: true });
  rec.after(() => g.release());
  return { dq, dk, dv };
}
