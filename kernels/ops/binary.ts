/**
 * Element-wise add, sub and mul of two f32 tensors of the same shape.
 * @module
 */
import { requireDtype, requireShape } from "../runtime/checks.ts";
import { recordMap } from "./map.ts";
import { fmtShape } from "../../util/errors.ts";
import type { Recorder } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

const EXPR = {
  add: (x: string, y: string) => `${x} + ${y}`,
  sub: (x: string, y: string) => `${x} - ${y}`,
  mul: (x: string, y: string) => `${x} * ${y}`,
} as const;

function binary(kind: keyof typeof EXPR, rec: Recorder, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  const op = `${kind} a=${fmtShape(a.shape)} b=${fmtShape(b.shape)}`;
  requireDtype(op, "a", a);
  requireDtype(op, "b", b);
  requireShape(op, "b", b, a.shape);
  if (out) {
    requireDtype(op, "out", out);
    requireShape(op, "out", out, a.shape);
  }
  const o = out ?? new Tensor(rec.gpu, a.shape, "f32", `${kind}.out`);
  // An output aliasing an input is read through `out` (a buffer may not be bound twice writable).
  const aliasA = o.buffer === a.buffer, aliasB = o.buffer === b.buffer;
  const x0 = aliasA ? "out[i]" : "x0[i]";
  const inputs = [aliasA ? null : a, aliasB ? null : b].filter((t): t is Tensor => t !== null);
  const x1 = aliasB ? "out[i]" : aliasA ? "x0[i]" : "x1[i]";
  const expr = EXPR[kind](x0, x1);
  recordMap(rec, { op, kernel: `${kind}${aliasA ? "_a" : ""}${aliasB ? "_b" : ""}`, expr, inputs, out: o });
  return o;
}

/**
 * Records `a + b` element-wise.
 * @param rec The recorder.
 * @param a First operand.
 * @param b Second operand, same shape.
 * @param out Optional output (may be `a` or `b` for in-place).
 * @returns The sum.
 */
export function add(rec: Recorder, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  return binary("add", rec, a, b, out);
}

/**
 * Records `a − b` element-wise.
 * @param rec The recorder.
 * @param a First operand.
 * @param b Second operand, same shape.
 * @param out Optional output (may be `a` or `b` for in-place).
 * @returns The difference.
 */
export function sub(rec: Recorder, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  return binary("sub", rec, a, b, out);
}

/**
 * Records `a · b` element-wise.
 * @param rec The recorder.
 * @param a First operand.
 * @param b Second operand, same shape.
 * @param out Optional output (may be `a` or `b` for in-place).
 * @returns The product.
 */
export function mul(rec: Recorder, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  return binary("mul", rec, a, b, out);
}
