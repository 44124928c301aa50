/**
 * ReLU and its backward pass. NaN in gives NaN out (never hidden as 0).
 * @module
 */
import { requireDtype, requireShape } from "../runtime/checks.ts";
import { recordMap } from "./map.ts";
import { fmtShape } from "../../util/errors.ts";
import type { Recorder } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

/**
 * Records `max(x, 0)`; NaN stays NaN.
 * @param rec The recorder.
 * @param x Input.
 * @param out Optional output (may be `x`).
 * @returns The activations.
 */
export function relu(rec: Recorder, x: Tensor, out?: Tensor): Tensor {
  const op = `relu x=${fmtShape(x.shape)}`;
  requireDtype(op, "x", x);
  if (out) {
    requireDtype(op, "out", out);
    requireShape(op, "out", out, x.shape);
  }
  const o = out ?? new Tensor(rec.gpu, x.shape, "f32", "relu.out");
  const v = o.buffer === x.buffer ? "out[i]" : "x0[i]";
  // NOTE: select(0, v, !(v <= 0)) keeps NaN (a NaN compares false); max(v, 0) may drop it.
  recordMap(rec, {
    op,
    kernel: o.buffer === x.buffer ? "relu_self" : "relu",
    expr: `select(T(0.0), ${v}, !(${v} <= T(0.0)))`,
    inputs: o.buffer === x.buffer ? [] : [x],
    out: o,
  });
  return o;
}

/**
 * Records `max(a + b, 0)` in one pass — a residual sum and the ReLU after it (ResNet blocks); NaN
 * stays NaN. Its output has the sign pattern of `a + b`, so {@link reluBackward} can take it as `x`.
 * @param rec The recorder.
 * @param a First summand.
 * @param b Second summand, same shape.
 * @returns The activations.
 */
export function addRelu(rec: Recorder, a: Tensor, b: Tensor): Tensor {
  const op = `addRelu a=${fmtShape(a.shape)} b=${fmtShape(b.shape)}`;
  requireDtype(op, "a", a);
  requireDtype(op, "b", b);
  requireShape(op, "b", b, a.shape);
  const o = new Tensor(rec.gpu, a.shape, "f32", "add_relu.out");
  recordMap(rec, {
    op,
    kernel: "add_relu",
    expr: "select(T(0.0), x0[i] + x1[i], !(x0[i] + x1[i] <= T(0.0)))",
    inputs: [a, b],
    out: o,
  });
  return o;
}

/**
 * Records ReLU's backward pass: `dx = x > 0 ? dy : 0`, as PyTorch's threshold_backward (a NaN
 * `x` passes `dy` through; a NaN `dy` stays NaN).
 * @param rec The recorder.
 * @param dy Gradient of the output.
 * @param x The forward input (or output: same sign pattern).
 * @param out Optional output (may be `dy`).
 * @returns The gradient of the input.
 */
export function reluBackward(rec: Recorder, dy: Tensor, x: Tensor, out?: Tensor): Tensor {
  const op = `reluBackward dy=${fmtShape(dy.shape)} x=${fmtShape(x.shape)}`;
  requireDtype(op, "dy", dy);
  requireDtype(op, "x", x);
  requireShape(op, "x", x, dy.shape);
  if (out) {
    requireDtype(op, "out", out);
    requireShape(op, "out", out, dy.shape);
  }
  const o = out ?? new Tensor(rec.gpu, dy.shape, "f32", "reluBackward.out");
  const self = o.buffer === dy.buffer;
  recordMap(rec, {
    op,
    kernel: self ? "relu_backward_self" : "relu_backward",
    expr: self ? "select(out[i], T(0.0), x0[i] <= T(0.0))" : "select(x0[i], T(0.0), x1[i] <= T(0.0))",
    inputs: self ? [x] : [dy, x],
    out: o,
  });
  return o;
}
