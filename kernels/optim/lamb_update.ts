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
import { params } from "../runtime/params.ts";
import { chunkedKernel } from "./_chunked.ts";
import { LOOP_CAP, type Recorder } from "../runtime/recorder.ts";
import type { Tensor } from "../runtime/tensor.ts";

const MOMENTS = chunkedKernel({
  fields: "tensors: u32, beta1: f32, beta2: f32, eps: f32, wd: f32, maxNorm: f32",
  bindings: [
    "w: read array<f32>",
    "g: read_write array<f32>",
    "m: read_write array<f32>",
    "v: read_write array<f32>",
    "stats: read array<vec4f>",
  ],
  prelude: `var total = 0.0;
  for (var k = 0u; k < p.tensors; k++) { total += stats[k].x; }
  let c = min(1.0, p.maxNorm / (sqrt(total) + 1e-6));`,
  body: `let gi = c * g[i];
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * gi;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    g[i] = mi / (sqrt(vi) + p.eps) + p.wd * w[i];`,
});

const APPLY = chunkedKernel({
  fields: "lr: f32, wd: f32",
  bindings: ["w: read_write array<f32>", "u: read array<f32>", "stats: read array<vec4f>"],
  prelude: `let st = stats[ch.z];
  let wn = sqrt(st.x); let un = sqrt(st.y);
  let trust = select(1.0, wn / un, p.wd != 0.0 && wn > 0.0 && un > 0.0);`,
  body: `w[i] = w[i] - p.lr * trust * u[i];`,
});

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
    tensors: [values, grads, m, v, stats, chunks],
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
    tensors: [values, update, stats, chunks],
  });
}
