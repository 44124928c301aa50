/**
 * The fused AdamW update of one group (PyTorch's `torch.optim.AdamW`, decoupled weight decay, bias
 * correction), with the global gradient-norm clip of `torch.nn.utils.clip_grad_norm_` folded in:
 *   c = min(1, maxNorm / (‖g‖_all + 1e-6)) (c = 1 without clipping), g ← c·g;
 *   w ← w·(1 − lr·wd);  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
 *   w ← w − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + eps).
 * ‖g‖_all comes from the per-tensor Σg² of a statistics pass over every parameter, so clipping
 * costs no readback: the whole step stays one submit.
 * Ref: Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
 * @module
 */
import { params } from "../runtime/params.ts";
import { chunkedKernel } from "./_chunked.ts";
import { LOOP_CAP, type Recorder } from "../runtime/recorder.ts";
import type { Tensor } from "../runtime/tensor.ts";

const CODE = chunkedKernel({
  fields:
    "tensors: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, wd: f32, bc1: f32, bc2: f32, maxNorm: f32, l2: f32",
  bindings: [
    "w: read_write array<f32>",
    "g: read array<f32>",
    "m: read_write array<f32>",
    "v: read_write array<f32>",
    "stats: read array<vec4f>",
  ],
  prelude: `var total = 0.0;
  for (var k = 0u; k < p.tensors; k++) { total += stats[k].x; }
  let c = select(1.0, min(1.0, p.maxNorm / (sqrt(total) + 1e-6)), p.maxNorm > 0.0);`,
  // l2 = 1: torch.optim.Adam's weight decay (added to the gradient); l2 = 0: AdamW's (decoupled).
  body: `let gi = c * g[i] + p.l2 * p.wd * w[i];
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * gi;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    let wi = w[i] * (1.0 - (1.0 - p.l2) * p.lr * p.wd);
    w[i] = wi - (p.lr / p.bc1) * mi / (sqrt(vi) / sqrt(p.bc2) + p.eps);`,
  // A complex parameter: the pair shares v = |g|² (Adam on complex tensors with g·conj(g)).
  pairBody: `let j = i + 1u;
    let ga = c * g[i] + p.l2 * p.wd * w[i];
    let gb = c * g[j] + p.l2 * p.wd * w[j];
    let ma = p.beta1 * m[i] + (1.0 - p.beta1) * ga;
    let mb = p.beta1 * m[j] + (1.0 - p.beta1) * gb;
    let vs = p.beta2 * v[i] + (1.0 - p.beta2) * (ga * ga + gb * gb);
    m[i] = ma;
    m[j] = mb;
    v[i] = vs;
    v[j] = vs;
    let den = sqrt(vs) / sqrt(p.bc2) + p.eps;
    let sh = 1.0 - (1.0 - p.l2) * p.lr * p.wd;
    w[i] = w[i] * sh - (p.lr / p.bc1) * ma / den;
    w[j] = w[j] * sh - (p.lr / p.bc1) * mb / den;`,
});

/** Hyper-parameters of one AdamW update. */
export interface AdamWHyper {
  /** The group's rate. */
  lr: number;
  /** β₁. */
  beta1: number;
  /** β₂. */
  beta2: number;
  /** eps. */
  eps: number;
  /** The group's weight decay. */
  weightDecay: number;
  /** Decoupled decay, AdamW's (default); false: added to the gradient, torch.optim.Adam's L2. */
  decoupled?: boolean;
  /** The step number t ≥ 1 (for the bias corrections). */
  step: number;
  /** Global gradient-norm clip; 0 for none. */
  maxNorm: number;
}

/**
 * Records one AdamW update of a group.
 * @param rec The recorder.
 * @param values Parameter arena.
 * @param grads Gradient arena.
 * @param m First moments (arena-sized).
 * @param v Second moments (arena-sized).
 * @param chunks The group's chunk table.
 * @param stats Per-tensor (Σg², …) of every parameter.
 * @param tensors How many tensors `stats` holds.
 * @param h Hyper-parameters.
 */
export function adamwUpdate(
  rec: Recorder,
  values: Tensor,
  grads: Tensor,
  m: Tensor,
  v: Tensor,
  chunks: Tensor,
  stats: Tensor,
  tensors: number,
  h: AdamWHyper,
): void {
  if (tensors > LOOP_CAP) throw new RangeError(`adamwUpdate: ${tensors} tensors, more than ${LOOP_CAP}`);
  rec.dispatch({
    op: `adamw (${chunks.size / 4} chunks)`,
    kernel: "adamw_update",
    code: CODE,
    groups: chunks.size / 4,
    params: params(
      tensors,
      { f: h.lr },
      { f: h.beta1 },
      { f: h.beta2 },
      { f: h.eps },
      { f: h.weightDecay },
      { f: 1 - Math.pow(h.beta1, h.step) },
      { f: 1 - Math.pow(h.beta2, h.step) },
      { f: h.maxNorm },
      { f: h.decoupled === false ? 1 : 0 },
    ),
    tensors: [values, grads, m, v, stats, chunks],
  });
}
