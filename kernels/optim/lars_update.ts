/**
 * The fused LARS update (the TempBalance reference's `lars_optim.LARS`), per parameter tensor with
 * its norms ‖w‖, ‖g‖ from `segment_stats.ts`:
 *   trust = eeta·‖w‖/(‖g‖ + wd·‖w‖ + eps) if ‖w‖ > 0 and ‖g‖ > 0, else 1; clamped to [0, 50];
 *   d = clamp(g + wd·w, −10, 10); with momentum μ: v ← d (first step) or μ·v + d, d = v;
 *   w ← w − lr·trust·d.
 * Ref: You, Gitman & Ginsburg, "Large Batch Training of Convolutional Networks", 2017.
 * @module
 */
import { params } from "../runtime/params.ts";
import { chunkedKernel } from "./_chunked.ts";
import type { Recorder } from "../runtime/recorder.ts";
import type { Tensor } from "../runtime/tensor.ts";

const CODE = chunkedKernel({
  fields: "lr: f32, momentum: f32, wd: f32, eeta: f32, eps: f32, first: u32",
  bindings: [
    "w: read_write array<f32>",
    "g: read array<f32>",
    "v: read_write array<f32>",
    "stats: read array<vec4f>",
  ],
  prelude: `let st = stats[ch.z];
  let wn = sqrt(st.x); let gn = sqrt(st.y);
  let trust = clamp(select(1.0, p.eeta * wn / (gn + p.wd * wn + p.eps), wn > 0.0 && gn > 0.0), 0.0, 50.0);`,
  body: `var d = clamp(g[i] + p.wd * w[i], -10.0, 10.0);
    if (p.momentum != 0.0) {
      var buf = d;
      if (p.first == 0u) { buf = p.momentum * v[i] + d; }
      v[i] = buf;
      d = buf;
    }
    w[i] = w[i] - p.lr * trust * d;`,
});

/** Hyper-parameters of one LARS update. */
export interface LarsHyper {
  /** Learning rate. */
  lr: number;
  /** Momentum (the reference constructs LARS without: 0). */
  momentum: number;
  /** Weight decay. */
  weightDecay: number;
  /** Trust coefficient eeta (default 1e-3). */
  eeta: number;
  /** epsilon of the trust ratio (default 1e-5). */
  eps: number;
  /** First step: the momentum buffer starts as the update. */
  first: boolean;
}

/**
 * Records one LARS update of a group.
 * @param rec The recorder.
 * @param values Parameter arena.
 * @param grads Gradient arena.
 * @param momentum Momentum arena.
 * @param chunks The group's chunk table (offset, length, tensor, 0).
 * @param stats Per-tensor (Σw², Σg², ·, ·).
 * @param h Hyper-parameters.
 */
export function larsUpdate(
  rec: Recorder,
  values: Tensor,
  grads: Tensor,
  momentum: Tensor,
  chunks: Tensor,
  stats: Tensor,
  h: LarsHyper,
): void {
  rec.dispatch({
    op: `lars (${chunks.size / 4} chunks)`,
    kernel: "lars_update",
    code: CODE,
    groups: chunks.size / 4,
    params: params(
      { f: h.lr },
      { f: h.momentum },
      { f: h.weightDecay },
      { f: h.eeta },
      { f: h.eps },
      h.first ? 1 : 0,
    ),
    tensors: [values, grads, momentum, stats, chunks],
  });
}
