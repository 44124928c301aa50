/**
 * Bias broadcast: `x (outer, C, inner) + b (C)` — rows of a (rows, C) matrix (inner = 1) or the
 * channels of an NCHW tensor (axis 1).
 * @module
 */
import { normAxis, prod, requireDtype, requireShape } from "../runtime/checks.ts";
import { recordMap } from "./map.ts";
import { fmtShape } from "../../util/errors.ts";
import type { Recorder } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

/**
 * Records `x + b` with `b` broadcast along every axis but `axis`.
 * @param rec The recorder.
 * @param x Input of any rank.
 * @param b Bias of shape `(x.shape[axis])`.
 * @param axis The axis `b` runs along (default: the last).
 * @param out Optional output (may be `x`).
 * @returns The biased tensor.
 */
export function addBias(rec: Recorder, x: Tensor, b: Tensor, axis = -1, out?: Tensor): Tensor {
  const op = `addBias x=${fmtShape(x.shape)} b=${fmtShape(b.shape)}`;
  requireDtype(op, "x", x);
  requireDtype(op, "b", b);
  const ax = normAxis(op, axis, x.shape.length);
  requireShape(op, "b", b, [x.shape[ax]]);
  if (out) {
    requireDtype(op, "out", out);
    requireShape(op, "out", out, x.shape);
  }
  const o = out ?? new Tensor(rec.gpu, x.shape, "f32", "addBias.out");
  const self = o.buffer === x.buffer;
  const inner = prod(x.shape, ax + 1);
  recordMap(rec, {
    op,
    kernel: self ? "add_bias_self" : "add_bias",
    expr: self ? "out[i] + x0[(i / p.u0) % p.u1]" : "x0[i] + x1[(i / p.u0) % p.u1]",
    inputs: self ? [b] : [x, b],
    out: o,
    ints: [inner, x.shape[ax]],
    vec: false,
  });
  return o;
}
