/**
 * The fused SGD update of one parameter group, PyTorch's `torch.optim.SGD` semantics:
 *   g ← g + wd·p;  v ← g on the first step, else v ← μ·v + (1 − dampening)·g;
 *   g ← g + μ·v (nesterov) or g ← v (momentum > 0);  p ← p − lr·g.
 * One dispatch covers every parameter of the group: a chunk table (`chunk_table.ts`) into the
 * parameter, gradient and momentum arenas, one workgroup per chunk. The hyper-parameters
 * travel in the dispatch's uniforms, so a scheduler changes the rate every step for free.
 * @module
 */
import { requireDtype } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import type { Tensor } from "../runtime/tensor.ts";
import { CHUNK } from "./chunk_table.ts";

const CODE =
  `struct P { groups: u32, lr: f32, momentum: f32, dampening: f32, wd: f32, nesterov: u32, first: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> chunks: array<vec4u>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let ch = chunks[wid];
  for (var k = t; k < ch.y; k += 256u) {
    let i = ch.x + k;
    var d = g[i] + p.wd * w[i];
    if (p.momentum != 0.0) {
      var buf = d;
      if (p.first == 0u) { buf = p.momentum * v[i] + (1.0 - p.dampening) * d; }
      v[i] = buf;
      d = select(buf, d + p.momentum * buf, p.nesterov == 1u);
    }
    w[i] = w[i] - p.lr * d;
  }
}`;

/** Hyper-parameters of one update. */
export interface SgdHyper {
  /** Learning rate. */
  lr: number;
  /** Momentum μ (0: plain SGD). */
  momentum: number;
  /** Dampening of the momentum (PyTorch default 0). */
  dampening: number;
  /** Weight decay (L2, added to the gradient). */
  weightDecay: number;
  /** Nesterov momentum. */
  nesterov: boolean;
  /** First step: the momentum buffer starts as the gradient. */
  first: boolean;
}

/**
 * Records one fused SGD update over a chunk table.
 * @param rec The recorder.
 * @param values Parameter arena.
 * @param grads Gradient arena (same layout).
 * @param momentum Momentum arena (same layout; unused when momentum is 0).
 * @param chunks The group's chunk table (`chunkRows`), uploaded once.
 * @param h Hyper-parameters.
 */
export function sgdUpdate(
  rec: Recorder,
  values: Tensor,
  grads: Tensor,
  momentum: Tensor,
  chunks: Tensor,
  h: SgdHyper,
): void {
  const op = `sgd (${chunks.size / 4} chunks)`;
  requireDtype(op, "chunks", chunks, "u32");
  rec.dispatch({
    op,
    kernel: "sgd_update",
    code: CODE,
    // Each chunk is ≤ CHUNK elements: value, grad and momentum read, value and momentum written.
    work: {
      kind: "sgd update",
      shape: `≤${(chunks.size / 4) * CHUNK}`,
      bytes: 20 * (chunks.size / 4) * CHUNK,
    },
    groups: chunks.size / 4,
    params: params(
      { f: h.lr },
      { f: h.momentum },
      { f: h.dampening },
      { f: h.weightDecay },
      h.nesterov ? 1 : 0,
      h.first ? 1 : 0,
    ),
    tensors: [values, grads, momentum, chunks],
  });
}
