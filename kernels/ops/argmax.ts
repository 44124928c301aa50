/**
 * Index of the maximum along the last axis, per row. Ties give the first index; a NaN counts
 * as the maximum (the first NaN wins), as in NumPy and PyTorch.
 * @module
 */
import { requireDtype } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { IS_NAN, LOOP_CAP, type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

const WG = 256;

const CODE = `struct P { groups: u32, L: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;
var<workgroup> pv: array<f32, ${WG}>;
var<workgroup> pi: array<u32, ${WG}>;
${IS_NAN}
// True when (va, ia) should win over (vb, ib).
fn better(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
  let na = is_nan(va); let nb = is_nan(vb);
  if (na || nb) { return na && (!nb || ia < ib); }
  return va > vb || (va == vb && ia < ib);
}
@compute @workgroup_size(${WG})
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let base = wid * p.L;
  var bv = x[base]; var bi = 0u;
  for (var l = t; l < p.L; l += ${WG}u) {
    let v = x[base + l];
    if (better(v, l, bv, bi)) { bv = v; bi = l; }
  }
  pv[t] = bv; pi[t] = bi;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (t < s && better(pv[t + s], pi[t + s], pv[t], pi[t])) { pv[t] = pv[t + s]; pi[t] = pi[t + s]; }
    workgroupBarrier();
  }
  if (t == 0u) { y[wid] = i32(pi[0]); }
}`;

/**
 * Records the argmax along the last axis.
 * @param rec The recorder.
 * @param x Input of shape (..., L).
 * @returns i32 indices of shape (...) — [1] for a 1-D input.
 */
export function argmax(rec: Recorder, x: Tensor): Tensor {
  const op = `argmax x=${fmtShape(x.shape)}`;
  requireDtype(op, "x", x);
  const L = x.shape[x.shape.length - 1];
  if (L > WG * LOOP_CAP) {
    throw new RangeError(`${op}: rows of ${L} elements are longer than the supported ${WG * LOOP_CAP}`);
  }
  const outShape = x.shape.length > 1 ? x.shape.slice(0, -1) : [1];
  const y = new Tensor(rec.gpu, outShape, "i32", "argmax.out");
  rec.dispatch({ op, kernel: "argmax", code: CODE, groups: x.size / L, params: params(L), tensors: [x, y] });
  return y;
}
