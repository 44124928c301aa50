/**
 * Linear layer, PyTorch's `F.linear`: y = x·Wᵀ + b with W (out, in), on matmul.
 * @module
 */
import { requireDtype, requireRank, requireShape } from "../runtime/checks.ts";
import { addBias } from "../ops/bias.ts";
import { fmtShape } from "../../util/errors.ts";
import { matmul } from "../linalg/matmul.ts";
import type { Recorder } from "../runtime/recorder.ts";
import { sum } from "../ops/reduce.ts";
import type { Tensor } from "../runtime/tensor.ts";

function check(op: string, x: Tensor, w: Tensor): void {
  requireDtype(op, "x", x);
  requireDtype(op, "weight", w);
  requireRank(op, "x", x, 2);
  requireRank(op, "weight", w, 2);
  if (x.shape[1] !== w.shape[1]) {
    throw new TypeError(
      `${op}: expected input of shape [N, ${w.shape[1]}] for weight ${fmtShape(w.shape)}, got ${
        fmtShape(x.shape)
      }`,
    );
  }
}

/**
 * Records y = x·Wᵀ + b.
 * @param rec The recorder.
 * @param x Input (N, in).
 * @param weight (out, in).
 * @param bias Optional (out).
 * @param op The layer's name for errors.
 * @returns (N, out).
 */
export function linear(
  rec: Recorder,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  op = "linear",
): Tensor {
  check(op, x, weight);
  if (bias) requireShape(op, "bias", bias, [weight.shape[0]]);
  const y = matmul(rec, x, weight, { transB: true });
  if (bias) addBias(rec, y, bias, -1, y);
  return y;
}

/**
 * Records the backward of {@link linear}.
 * @param rec The recorder.
 * @param x The forward input (N, in).
 * @param weight (out, in).
 * @param dy Gradient of the output (N, out).
 * @param withBias Also return db.
 * @param op The layer's name for errors.
 * @returns dx (N, in), dW (out, in), db (out) or null.
 */
export function linearBackward(
  rec: Recorder,
  x: Tensor,
  weight: Tensor,
  dy: Tensor,
  withBias: boolean,
  op = "linear",
): { dx: Tensor; dw: Tensor; db: Tensor | null } {
  check(`${op} backward`, x, weight);
  requireShape(`${op} backward`, "dy", dy, [x.shape[0], weight.shape[0]]);
  const dx = matmul(rec, dy, weight);
  const dw = matmul(rec, dy, x, { transA: true });
  const db = withBias ? sum(rec, dy, { axis: 0 }) : null;
  return { dx, dw, db };
}
