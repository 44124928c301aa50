/**
 * `nn.ConvTranspose2d` with kernel = stride (PyTorch's UNet upsampling, 2×2 stride 2): windows do
 * not overlap, so it is one batched matmul per image, Wᵀ (C_out·k², C_in) · x (C_in, H·W), and a
 * permutation that places each output's k×k block (depth to space), plus the bias.
 * @module
 */
import { requireDtype, requireRank, requireShape } from "../runtime/checks.ts";
import { fmtShape } from "../../util/errors.ts";
import { matmul } from "../linalg/matmul.ts";
import { addBias } from "../ops/bias.ts";
import { transpose } from "../ops/gather.ts";
import { sum } from "../ops/reduce.ts";
import type { Recorder } from "../runtime/recorder.ts";
import type { Tensor } from "../runtime/tensor.ts";

function dims(op: string, x: Tensor, w: Tensor) {
  requireDtype(op, "x", x);
  requireRank(op, "x", x, 4);
  requireRank(op, "weight", w, 4);
  const [B, C, H, W] = x.shape;
  const [Ci, O, k, k2] = w.shape;
  if (Ci !== C || k !== k2) {
    throw new TypeError(
      `${op}: weight ${fmtShape(w.shape)} does not fit (C_in=${C}, C_out, k, k) for x ${fmtShape(x.shape)}`,
    );
  }
  return { B, C, H, W, O, k };
}

/**
 * Records y = ConvTranspose2d(x) with stride = kernel size.
 * @param rec The recorder.
 * @param x (B, C_in, H, W).
 * @param w (C_in, C_out, k, k), PyTorch's layout.
 * @param bias (C_out) or null.
 * @param op The layer's name for errors.
 * @returns (B, C_out, k·H, k·W).
 */
export function convTranspose2d(
  rec: Recorder,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  op = "convTranspose2d",
): Tensor {
  const { B, C, H, W, O, k } = dims(op, x, w);
  if (bias) requireShape(op, "bias", bias, [O]);
  const cols = matmul(rec, w.reshape([C, O * k * k]), x.reshape([B, C, H * W]), { transA: true }); // (B, O·k·k, H·W)
  const y = transpose(rec, cols.reshape([B, O, k, k, H, W]), [0, 1, 4, 2, 5, 3]).reshape([
    B,
    O,
    k * H,
    k * W,
  ]);
  rec.after(() => cols.release());
  if (bias) addBias(rec, y, bias, 1, y);
  return y;
}

/**
 * Records the backward of {@link convTranspose2d}.
 * @param rec The recorder.
 * @param x The forward input.
 * @param w The weight.
 * @param dy dL/dy (B, C_out, k·H, k·W).
 * @param withBias Also return db.
 * @param op The layer's name for errors.
 * @returns dx, dw (C_in, C_out, k, k) and db (C_out) or null.
 */
export function convTranspose2dBackward(
  rec: Recorder,
  x: Tensor,
  w: Tensor,
  dy: Tensor,
  withBias: boolean,
  op = "convTranspose2d",
): { dx: Tensor; dw: Tensor; db: Tensor | null } {
  const { B, C, H, W, O, k } = dims(`${op} backward`, x, w);
  requireShape(`${op} backward`, "dy", dy, [B, O, k * H, k * W]);
  const dcols = transpose(rec, dy.reshape([B, O, H, k, W, k]), [0, 1, 3, 5, 2, 4]).reshape([
    B,
    O * k * k,
    H * W,
  ]);
  const dx = matmul(rec, w.reshape([C, O * k * k]), dcols).reshape([B, C, H, W]);
  const perImage = matmul(rec, x.reshape([B, C, H * W]), dcols, { transB: true }); // (B, C, O·k·k)
  const dw = sum(rec, perImage, { axis: 0 }).reshape([C, O, k, k]);
  let db: Tensor | null = null;
  if (withBias) {
    const perChannel = sum(rec, dy.reshape([B, O, k * k * H * W]), { axis: 2 });
    db = sum(rec, perChannel, { axis: 0 });
    rec.after(() => perChannel.release());
  }
  rec.after(() => {
    dcols.release();
    perImage.release();
  });
  return { dx, dw, db };
}
