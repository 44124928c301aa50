/**
 * The fused LAMB update (the TempBalance reference's `lars_optim.LAMB`, bias_correction off), in
 * two dispatches per group around a pass of per-tensor norms:
 * 1. `lambMoments`: c = min(1, maxNorm/(‖g‖_all + 1e-6)) (torch's `clip_grad_norm_` over every
 *    parameter, from the per-tensor Σg² of the previous pass); m ← β₁m + (1−β₁)·c·g;
 *    v ← β₂v + (1−β₂)·(c·g)²; u = m/(√v + eps) + wd·w, written over the gradient;
 * 2. `lambApply`: trust = ‖w‖/‖u‖ where wd ≠ 0 and both norms > 0, else 1; w ← w − lr·trust·u.
 * Ref: You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes", 2020.
 * @module
 */
import { params } from "./_params.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "./recorder.ts";
import type { Tensor } from "./tensor.ts";

const MOMENTS =
  `struct P { groups: u32, tensors: u32, beta1: f32, beta2: f32, eps: f32, wd: f32, maxNorm: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> chunks: array<vec4u>;
@group(0) @binding(6) var<storage, read> stats: array<vec4f>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  var total = 0.0;
  for (var k = 0u; k < p.tensors; k++) { total += stats[k].x; }
  let c = min(1.0, p.maxNorm / (sqrt(total) + 1e-6));
  let ch = chunks[wid];
  for (var k = t; k < ch.y; k += 256u) {
    let i = ch.x + k;
    let gi = c * g[i];
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * gi;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    g[i] = mi / (sqrt(vi) + p.eps) + p.wd * w[i];
  }
}`;

const APPLY = `struct P { groups: u32, lr: f32, wd: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read> chunks: array<vec4u>;
@group(0) @binding(4) var<storage, read> stats: array<vec4f>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let ch = chunks[wid];
  let st = stats[ch.z];
  let wn = sqrt(st.x); let un = sqrt(st.y);
  let trust = select(1.0, wn / un, p.wd != 0.0 && wn > 0.0 && un > 0.0);
  for (var k = t; k < ch.y; k += 256u) {
    let i = ch.x + k;
    w[i] = w[i] - p.lr * trust * u[i];
  }
}`;

/** Constants of LAMB's moment pass. */
export interface LambHyper {
  /** β₁ (default 0.9). */
  beta1: number;
  /** β₂ (default 0.999). */
  beta2: number;
  /** eps (default 1e-6). */
  eps: number;
  /** The group's weight decay. */
  weightDecay: number;
  /** The global gradient-norm clip (default 1). */
  maxNorm: number;
}

/**
 * Records the moment update of one group; the update vector u replaces the gradient.
 * @param rec The recorder.
 * @param values Parameter arena.
 * @param grads Gradient arena (overwritten with u).
 * @param m First moments.
 * @param v Second moments.
 * @param chunks The group's chunk table.
 * @param stats Per-tensor (Σg², …) of every parameter (for the global norm).
 * @param tensors How many tensors `stats` holds.
 * @param h Constants.
 */
export function lambMoments(
  rec: Recorder,
  values: Tensor,
  grads: Tensor,
  m: Tensor,
  v: Tensor,
  chunks: Tensor,
  stats: Tensor,
  tensors: number,
  h: LambHyper,
): void {
  if (tensors > LOOP_CAP) throw new RangeError(`lambMoments: ${tensors} tensors, more than ${LOOP_CAP}`);
  rec.dispatch({
    op: `lamb moments (${chunks.size / 4} chunks)`,
    kernel: "lamb_moments",
    code: MOMENTS,
    groups: chunks.size / 4,
    params: params(tensors, { f: h.beta1 }, { f: h.beta2 }, { f: h.eps }, { f: h.weightDecay }, {
      f: h.maxNorm,
    }),
    tensors: [values, grads, m, v, chunks, stats],
  });
}

/**
 * Records the trust-scaled step of one group.
 * @param rec The recorder.
 * @param values Parameter arena.
 * @param update The update vectors (in the gradient arena).
 * @param chunks The group's chunk table.
 * @param stats Per-tensor (Σw², Σu², …).
 * @param lr The group's rate.
 * @param weightDecay The group's weight decay (trust ratios only where it is ≠ 0).
 */
export function lambApply(
  rec: Recorder,
  values: Tensor,
  update: Tensor,
  chunks: Tensor,
  stats: Tensor,
  lr: number,
  weightDecay: number,
): void {
  rec.dispatch({
    op: `lamb apply (${chunks.size / 4} chunks)`,
    kernel: "lamb_apply",
    code: APPLY,
    groups: chunks.size / 4,
    params: params({ f: lr }, { f: weightDecay }),
    tensors: [values, update, chunks, stats],
  });
}
