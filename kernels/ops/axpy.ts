/**
 * `axpy` (y ← α·x + y, in place) and `scale` (α·x).
 * @module
 */
import { requireDtype, requireShape } from "../runtime/checks.ts";
import { recordMap } from "./map.ts";
import { fmtShape } from "../../util/errors.ts";
import type { Recorder } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

/**
 * Records `y ← alpha·x + y` in place (BLAS axpy).
 * @param rec The recorder.
 * @param alpha The scale of x.
 * @param x Input, same shape as y.
 * @param y Updated in place.
 * @returns `y`.
 */
export function axpy(rec: Recorder, alpha: number, x: Tensor, y: Tensor): Tensor {
  const op = `axpy x=${fmtShape(x.shape)} y=${fmtShape(y.shape)}`;
  requireDtype(op, "x", x);
  requireDtype(op, "y", y);
  requireShape(op, "y", y, x.shape);
  if (x.buffer === y.buffer) {
    recordMap(rec, {
      op,
      kernel: "axpy_self",
      expr: "(p.s0 + 1.0) * out[i]",
      inputs: [],
      out: y,
      scalars: [alpha],
    });
  } else {
    recordMap(rec, {
      op,
      kernel: "axpy",
      expr: "fma(T(p.s0), x0[i], out[i])",
      inputs: [x],
      out: y,
      scalars: [alpha],
    });
  }
  return y;
}

/**
 * Records `alpha·x`.
 * @param rec The recorder.
 * @param alpha The scale.
 * @param x Input.
 * @param out Optional output (may be `x` for in-place).
 * @returns The scaled tensor.
 */
export function scale(rec: Recorder, alpha: number, x: Tensor, out?: Tensor): Tensor {
  const op = `scale x=${fmtShape(x.shape)}`;
  requireDtype(op, "x", x);
  if (out) {
    requireDtype(op, "out", out);
    requireShape(op, "out", out, x.shape);
  }
  const o = out ?? new Tensor(rec.gpu, x.shape, "f32", "scale.out");
  const self = o.buffer === x.buffer;
  recordMap(rec, {
    op,
    kernel: self ? "scale_self" : "scale",
    expr: self ? "p.s0 * out[i]" : "p.s0 * x0[i]",
    inputs: self ? [] : [x],
    out: o,
    scalars: [alpha],
  });
  return o;
}
