/**
 * Lookahead's synchronisation (torch_optimizer's `Lookahead._update`): every parameter element
 * `fast ← α·fast + (1 − α)·slow; slow ← fast`. The first call (after the first inner step)
 * starts the slow weights as a copy of the fast ones.
 * Ref: Zhang et al., "Lookahead Optimizer: k steps forward, 1 step back", NeurIPS 2019.
 * @module
 */
import { params } from "../runtime/params.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import type { Tensor } from "../runtime/tensor.ts";

const CODE = `struct P { groups: u32, n: u32, alpha: f32, first: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> fast: array<f32>;
@group(0) @binding(2) var<storage, read_write> slow: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let i = wid * 256u + t;
  if (i >= p.n) { return; }
  var s = slow[i];
  if (p.first == 1u) { s = fast[i]; }
  let f = p.alpha * fast[i] + (1.0 - p.alpha) * s;
  fast[i] = f;
  slow[i] = f;
}`;

/**
 * Records one synchronisation over whole arenas.
 * @param rec The recorder.
 * @param fast The parameter arena.
 * @param slow The slow weights (same layout).
 * @param alpha The interpolation factor α (1: the inner optimizer alone).
 * @param first Whether the slow weights start here (copied from fast).
 */
export function lookaheadSync(
  rec: Recorder,
  fast: Tensor,
  slow: Tensor,
  alpha: number,
  first: boolean,
): void {
  rec.dispatch({
    op: `lookahead (${fast.size} elements)`,
    kernel: "lookahead_sync",
    code: CODE,
    groups: Math.ceil(fast.size / 256),
    params: params(fast.size, { f: alpha }, first ? 1 : 0),
    tensors: [fast, slow],
  });
}
