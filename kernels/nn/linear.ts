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
import { padEnd, slice, transpose } from "../ops/gather.ts";
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
  const p = padding(rec, x, weight);
  const y4 = matmul(rec, p.x, p.w, { transB: true });
  const y = p.out ? slice(rec, y4, [{}, { end: weight.shape[0] }]) : y4;
  if (p.out) rec.after(() => y4.release());
  p.release();
  if (bias) addBias(rec, y, bias, -1, y);
  return y;
}

/** Rows from which a layer whose sizes are not multiples of 4 is padded to them. */
const PAD_ROWS = 256;

/**
 * The vec4 matmul kernels need the contraction and output sizes to be multiples of 4; the others are
 * several times slower. For many rows (the FNO's fc0 on 3 features, fc2 to 1 output) the weight — and,
 * for the contraction, the input — are zero-padded up to them (a copy far cheaper than the slow kernel).
 */
function padding(rec: Recorder, x: Tensor, w: Tensor) {
  const [O, I] = w.shape;
  const out = x.shape[0] >= PAD_ROWS ? (4 - (O % 4)) % 4 : 0,
    inp = x.shape[0] >= PAD_ROWS ? (4 - (I % 4)) % 4 : 0;
  const pw = out || inp ? padEnd(rec, w, [out, inp]) : w;
  const px = inp ? padEnd(rec, x, [0, inp]) : x;
  return {
    out,
    inp,
    w: pw,
    x: px,
    release: () => {
      rec.after(() => {
        if (pw !== w) pw.release();
        if (px !== x) px.release();
      });
    },
  };
}

/** Rows per partial product of {@link weightGrad}'s split. */
const SPLIT_ROWS = 1024;

/**
 * dW = dyᵀ·x. With many rows and a small weight (a 1×1 convolution over every grid point of a batch:
 * 50·34² rows, 20×20 weights) one matmul would run a handful of invocations down a contraction of
 * ~10⁵: the rows are split into S slices whose products run in parallel, then summed.
 */
function weightGrad(rec: Recorder, x: Tensor, dy: Tensor): Tensor {
  const [N, inF] = x.shape, outF = dy.shape[1];
  const S = Math.floor(N / SPLIT_ROWS);
  if (S < 4) return matmul(rec, dy, x, { transA: true });
  const rows = S * SPLIT_ROWS;
  const part = matmul(
    rec,
    dy.view(0, [S, SPLIT_ROWS, outF]),
    x.view(0, [S, SPLIT_ROWS, inF]),
    { transA: true },
  ); // (S, out, in)
  const dw = sum(rec, part, { axis: 0 });
  rec.after(() => part.release());
  if (rows < N) {
    // The remaining rows, accumulated into the sum.
    const dyRest = slice(rec, dy, [{ start: rows }]), xRest = slice(rec, x, [{ start: rows }]);
    matmul(rec, dyRest, xRest, { transA: true, beta: 1, out: dw });
    rec.after(() => {
      dyRest.release();
      xRest.release();
    });
  }
  return dw;
}

/**
 * Records the backward of {@link linear}.
 * @param rec The recorder.
 * @param x The forward input (N, in).
 * @param weight (out, in).
 * @param dy Gradient of the output (N, out).
 * @param withBias Also return db.
 * @param op The layer's name for errors.
 * @param inputGrad Compute dx (false: the layer reads the network's input; dx is null).
 * @returns dx (N, in) or null, dW (out, in), db (out) or null.
 */
export function linearBackward(
  rec: Recorder,
  x: Tensor,
  weight: Tensor,
  dy: Tensor,
  withBias: boolean,
  op = "linear",
  inputGrad = true,
): { dx: Tensor | null; dw: Tensor; db: Tensor | null } {
  check(`${op} backward`, x, weight);
  requireShape(`${op} backward`, "dy", dy, [x.shape[0], weight.shape[0]]);
  const [O, I] = weight.shape;
  const p = padding(rec, x, weight);
  const dyp = p.out ? padEnd(rec, dy, [0, p.out]) : dy;
  let dx: Tensor | null = null;
  if (inputGrad) {
    // Few input features and many outputs (the FNO's fc1: 20 → 128): dx has few columns, which the
    // vec4 matmul tiles poorly; dxᵀ = Wᵀ·dyᵀ has few rows and many columns, 2–3× faster even with
    // the transpose back (measured on lavapipe at 51200 rows).
    const narrow = x.shape[0] >= PAD_ROWS && I + p.inp <= 32 && O + p.out >= 64;
    let dxp: Tensor;
    if (narrow) {
      const dxt = matmul(rec, p.w, dyp, { transA: true, transB: true });
      dxp = transpose(rec, dxt);
      rec.after(() => dxt.release());
    } else dxp = matmul(rec, dyp, p.w);
    dx = p.inp ? slice(rec, dxp, [{}, { end: I }]) : dxp;
    if (p.inp) rec.after(() => dxp.release());
  }
  const dwp = weightGrad(rec, p.x, dyp);
  const dw = p.out || p.inp ? slice(rec, dwp, [{ end: O }, { end: I }]) : dwp;
  rec.after(() => {
    if (dwp !== dw) dwp.release();
    if (dyp !== dy) dyp.release();
  });
  p.release();
  const db = withBias ? sum(rec, dy, { axis: 0 }) : null;
  return { dx, dw, db };
}
