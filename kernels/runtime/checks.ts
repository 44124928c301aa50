/**
 * Argument checks shared by the ops: each failure names the op, the argument, and the expected
 * versus given shape or dtype.
 * @module
 */
import { fmtShape } from "../../util/errors.ts";
import type { DType, Tensor } from "./tensor.ts";

/** Throws unless `t` is live (not released). */
export function requireLive(op: string, arg: string, t: Tensor): void {
  if (t.released) {
    throw new Error(
      `${op}: argument "${arg}" (tensor "${t.name}" ${fmtShape(t.shape)}) was used after release()`,
    );
  }
}

/** Throws unless `t` is a live tensor of dtype `dtype`. */
export function requireDtype(op: string, arg: string, t: Tensor, dtype: DType = "f32"): void {
  if (t.released) {
    throw new Error(
      `${op}: argument "${arg}" (tensor "${t.name}" ${fmtShape(t.shape)}) was used after release()`,
    );
  }
  if (t.dtype !== dtype) {
    throw new TypeError(`${op}: argument "${arg}" must have dtype ${dtype}, got ${t.dtype}`);
  }
}

/** Throws unless `t` has exactly `shape`. */
export function requireShape(op: string, arg: string, t: Tensor, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new TypeError(
      `${op}: argument "${arg}" must have shape ${fmtShape(shape)}, got ${fmtShape(t.shape)}`,
    );
  }
}

/** Throws unless `t` has `rank` dims (or one of several ranks). */
export function requireRank(op: string, arg: string, t: Tensor, ...ranks: number[]): void {
  if (!ranks.includes(t.shape.length)) {
    throw new TypeError(
      `${op}: argument "${arg}" must have ${ranks.join(" or ")} dimensions, got ${fmtShape(t.shape)}`,
    );
  }
}

/** Normalises a possibly negative axis for a tensor of rank `rank`. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) {
    throw new RangeError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return a;
}

/** Product of dims `from` (inclusive) to `to` (exclusive). */
export function prod(shape: readonly number[], from = 0, to = shape.length): number {
  let p = 1;
  for (let i = from; i < to; i++) p *= shape[i];
  return p;
}
