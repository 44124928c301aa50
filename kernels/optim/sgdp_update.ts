/**
 * The fused SGDP update (AdamP's `SGDP`: SGD whose step is projected off the weight's radial
 * direction where the weight looks scale-invariant), in three kernels per step:
 * 1. `sgdpMomentum` (per group): v ← μ·v + (1 − dampening)·g (v starts at 0);
 * 2. row sums (Σw², Σg², Σwg, Σw·v per output channel, `segment_stats.ts`), then `sgdpDecide`
 *    (per tensor with more than one dimension): with d = v (or g + μv, nesterov) and
 *    cos = |x·y| / max(‖x‖‖y‖, eps), project by channel if max over channels of cos(g, w) <
 *    δ/√(row length); else by layer if cos(g, w) over the whole tensor < δ/√numel; else not;
 * 3. `sgdpApply` (per group): projected d ← d − ŵ·(ŵ·d), ŵ = w/(‖w‖ + eps) per channel or layer;
 *    w ← w·(1 − lr·wd·r/(1 − μ)) − lr·d, with r = wd_ratio where projected, else 1.
 * Ref: Heo et al., "AdamP: Slowing Down the Slowdown for Momentum Optimizers on Scale-invariant
 * Weights", ICLR 2021 (https://github.com/clovaai/AdamP).
 * @module
 */
import { params } from "../runtime/params.ts";
import { chunkedKernel } from "./_chunked.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import type { Tensor } from "../runtime/tensor.ts";

const MOMENTUM = chunkedKernel({
  fields: "momentum: f32, dampening: f32",
  bindings: ["g: read array<f32>", "v: read_write array<f32>"],
  body: `v[i] = p.momentum * v[i] + (1.0 - p.dampening) * g[i];`,
});

// tensors[k] = (rowLen, firstRow, numRows, 0); decision[k] = (mode, ‖w‖ + eps, Σwg, Σwv) — the
// layer sums are used by mode 2 (by layer); mode 1 (by channel) reads the row sums.
const DECIDE = `struct P { groups: u32, count: u32, delta: f32, eps: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> tensors: array<vec4u>;
@group(0) @binding(2) var<storage, read> rows: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> decision: array<vec4f>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let k = wid * 64u + t;
  if (k >= p.count) { return; }
  let info = tensors[k];
  if (info.z == 0u) { decision[k] = vec4f(0.0); return; }
  var maxCos = 0.0;
  var tot = vec4f(0.0);
  for (var r = 0u; r < info.z; r++) {
    let s = rows[info.y + r];
    tot += s;
    maxCos = max(maxCos, abs(s.z) / max(sqrt(s.x) * sqrt(s.y), p.eps));
  }
  if (maxCos < p.delta / sqrt(f32(info.x))) { decision[k] = vec4f(1.0, 0.0, 0.0, 0.0); return; }
  let cosL = abs(tot.z) / max(sqrt(tot.x) * sqrt(tot.y), p.eps);
  if (cosL < p.delta / sqrt(f32(info.x * info.z))) {
    decision[k] = vec4f(2.0, sqrt(tot.x) + p.eps, tot.z, tot.w);
    return;
  }
  decision[k] = vec4f(0.0);
}`;

const APPLY = chunkedKernel({
  fields: "lr: f32, momentum: f32, wd: f32, wdRatio: f32, eps: f32, nesterov: u32",
  bindings: [
    "w: read_write array<f32>",
    "g: read array<f32>",
    "v: read array<f32>",
    "tensors: read array<vec4u>",
    "offsets: read array<u32>",
    "rows: read array<vec4f>",
    "decision: read array<vec4f>",
  ],
  prelude: `let info = tensors[ch.z];
  let dec = decision[ch.z];
  let mode = u32(dec.x + 0.5);
  let nest = p.nesterov == 1u;
  let ratio = select(1.0, p.wdRatio, mode != 0u);
  let shrink = select(1.0, 1.0 - p.lr * p.wd * ratio / (1.0 - p.momentum), p.wd > 0.0);
  let base = offsets[ch.z];`,
  body: `let wi = w[i];
    var d = select(v[i], g[i] + p.momentum * v[i], nest);
    if (mode == 1u) {
      let s = rows[info.y + (i - base) / info.x];
      let nrm = sqrt(s.x) + p.eps;
      let dot = select(s.w, s.z + p.momentum * s.w, nest); // Σ w·d over the channel
      d = d - wi / nrm * (dot / nrm);
    } else if (mode == 2u) {
      let dot = select(dec.w, dec.z + p.momentum * dec.w, nest);
      d = d - wi / dec.y * (dot / dec.y);
    }
    w[i] = wi * shrink - p.lr * d;`,
});

/**
 * Records SGDP's momentum pass for one group.
 * @param rec The recorder.
 * @param grads Gradient arena.
 * @param momentum Momentum arena.
 * @param chunks The group's chunk table.
 * @param h The group's momentum and dampening.
 */
export function sgdpMomentum(
  rec: Recorder,
  grads: Tensor,
  momentum: Tensor,
  chunks: Tensor,
  h: { momentum: number; dampening: number },
): void {
  rec.dispatch({
    op: `sgdp momentum (${chunks.size / 4} chunks)`,
    kernel: "sgdp_momentum",
    code: MOMENTUM,
    groups: chunks.size / 4,
    params: params({ f: h.momentum }, { f: h.dampening }),
    tensors: [grads, momentum, chunks],
  });
}

/**
 * Records the per-tensor projection decision.
 * @param rec The recorder.
 * @param tensors Per tensor (rowLen, firstRow, numRows, 0) u32; numRows 0 for 1-D tensors.
 * @param count Tensors.
 * @param rows Per-row (Σw², Σg², Σwg, Σwv).
 * @param decision Output: per tensor (mode, ‖w‖ + eps, Σwg, Σwv) over the whole tensor.
 * @param h δ and eps.
 */
export function sgdpDecide(
  rec: Recorder,
  tensors: Tensor,
  count: number,
  rows: Tensor,
  decision: Tensor,
  h: { delta: number; eps: number },
): void {
  rec.dispatch({
    op: `sgdp decide (${count} tensors)`,
    kernel: "sgdp_decide",
    code: DECIDE,
    groups: Math.ceil(count / 64),
    params: params(count, { f: h.delta }, { f: h.eps }),
    tensors: [tensors, rows, decision],
  });
}

/**
 * Records the projected, decayed step of one group.
 * @param rec The recorder.
 * @param arena Values, gradients, momentum.
 * @param tables The group's chunks, the tensor table, tensor arena offsets, row sums, decisions.
 * @param h The group's hyper-parameters.
 */
export function sgdpApply(
  rec: Recorder,
  arena: { values: Tensor; grads: Tensor; momentum: Tensor },
  tables: { chunks: Tensor; tensors: Tensor; offsets: Tensor; rows: Tensor; decision: Tensor },
  h: { lr: number; momentum: number; weightDecay: number; wdRatio: number; eps: number; nesterov: boolean },
): void {
  if (h.weightDecay > 0 && h.momentum >= 1) {
    throw new RangeError(`sgdp: momentum ${h.momentum} with weight decay divides by 1 − momentum ≤ 0`);
  }
  rec.dispatch({
    op: `sgdp apply (${tables.chunks.size / 4} chunks)`,
    kernel: "sgdp_apply",
    code: APPLY,
    groups: tables.chunks.size / 4,
    params: params(
      { f: h.lr },
      { f: h.momentum },
      { f: h.weightDecay },
      { f: h.wdRatio },
      { f: h.eps },
      h.nesterov ? 1 : 0,
    ),
    tensors: [
      arena.values,
      arena.grads,
      arena.momentum,
      tables.tensors,
      tables.offsets,
      tables.rows,
      tables.decision,
      tables.chunks,
    ],
  });
}

/** Rows a tensor may have for {@link sgdpDecide}'s loop. */
export const SGDP_MAX_ROWS: number = LOOP_CAP;
