/**
 * Fills a tensor with one value.
 * @module
 */
import { recordMap } from "./map.ts";
import { requireLive } from "../runtime/checks.ts";
import { fmtShape } from "../../util/errors.ts";
import type { Recorder } from "../runtime/recorder.ts";
import type { Tensor } from "../runtime/tensor.ts";

/**
 * Records `t[i] = value` for every element (f32, i32 or u32 tensors).
 * @param rec The recorder.
 * @param t The tensor to fill.
 * @param value The value (converted to the tensor's dtype).
 * @returns `t`.
 */
export function fill(rec: Recorder, t: Tensor, value: number): Tensor {
  const op = `fill t=${fmtShape(t.shape)}`;
  requireLive(op, "t", t);
  const bits = new DataView(new ArrayBuffer(4));
  if (t.dtype === "f32") bits.setFloat32(0, value, true);
  else if (t.dtype === "i32") bits.setInt32(0, value, true);
  else bits.setUint32(0, value, true);
  recordMap(rec, {
    op,
    kernel: `fill_${t.dtype}`,
    expr: `T(bitcast<${t.dtype}>(p.u0))`,
    inputs: [],
    out: t,
    ints: [bits.getUint32(0, true)],
    elem: t.dtype,
  });
  return t;
}
