/**
 * 2-D convolution (NCHW, OIHW weights, any stride and padding), PyTorch's `F.conv2d`, forward and
 * backward: the dispatcher. It checks the shapes ({@link convGeometry}) and sends each direction to
 * one algorithm of this folder — `implicit.ts` (implicit GEMM), `im2col.ts` (patches + matmul),
 * `direct.ts` (sliding windows), `pointwise.ts` (1×1 as GEMMs) — by the option or, by default,
 * by the adapter and the layer's width (see {@link Conv2dOptions}).
 * @module
 */
import { requireDtype, requireShape } from "../../runtime/checks.ts";
import type { Recorder } from "../../runtime/recorder.ts";
import { sum } from "../../ops/reduce.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { type Conv2dOptions, type ConvAlgorithm, type ConvGeometry, convGeometry } from "./geometry.ts";
import { implicitData, implicitFilter, implicitForward } from "./implicit.ts";
import { im2colBackward, im2colFits, im2colForward } from "./im2col.ts";
import {
  isPointwise,
  pointwiseBackward,
  pointwiseData,
  pointwiseFits,
  pointwiseForward,
} from "./pointwise.ts";
import {
  slideData,
  slideDataFits,
  slideFilter,
  slideFilterFits,
  slideForward,
  slideStridedData,
  slideStridedDataFits,
} from "./direct.ts";

export type { Conv2dOptions, ConvAlgorithm, ConvGeometry };
export { convGeometry };

/**
 * Records a 2-D convolution, PyTorch's `F.conv2d` (cross-correlation).
 * @param rec The recorder.
 * @param x Input (N, C_in, H, W).
 * @param weight Weights (C_out, C_in, KH, KW).
 * @param bias Optional bias (C_out).
 * @param options Stride and padding.
 * @param op The layer's name for error messages (default `conv2d`).
 * @returns Output (N, C_out, OH, OW).
 */
export function conv2d(
  rec: Recorder,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  options: Conv2dOptions = {},
  op = "conv2d",
): Tensor {
  const g = convGeometry(op, x, weight, options);
  if (bias) {
    requireDtype(op, "bias", bias);
    requireShape(op, "bias", bias, [g.OC]);
  }
  const y = new Tensor(rec.gpu, [g.B, g.OC, g.OH, g.OW], "f32", `${op}.out`);
  if (isPointwise(g) && !bias) {
    pointwiseForward(rec, g, weight, x, y);
    return y;
  }
  const algorithm = chooseAlgorithm(g, options, rec.gpu.isSoftware);
  if (algorithm === "im2col") im2colForward(rec, op, g, weight, x, bias, y);
  else if (algorithm === "direct") slideForward(rec, op, g, weight, x, bias, y);
  else implicitForward(rec, op, g, weight, x, bias, y);
  return y;
}

/** The gradients {@link conv2dBackward} returns (null where not asked for). */
export interface Conv2dGrads {
  /** dL/dx, (N, C_in, H, W). */
  dx: Tensor | null;
  /** dL/dweight, (C_out, C_in, KH, KW). */
  dw: Tensor;
  /** dL/dbias, (C_out). */
  db: Tensor | null;
}

/**
 * Records the backward pass of {@link conv2d}.
 * @param rec The recorder.
 * @param x The forward input.
 * @param weight The weights.
 * @param dy Gradient of the output (N, C_out, OH, OW).
 * @param options The forward's stride and padding.
 * @param want Which gradients: `dx` (default true), `db` (default false).
 * @param op The layer's name for error messages.
 * @returns The gradients.
 */
export function conv2dBackward(
  rec: Recorder,
  x: Tensor,
  weight: Tensor,
  dy: Tensor,
  options: Conv2dOptions = {},
  want: { dx?: boolean; db?: boolean } = {},
  op = "conv2d",
): Conv2dGrads {
  const g = convGeometry(`${op} backward`, x, weight, options);
  requireDtype(`${op} backward`, "dy", dy);
  requireShape(`${op} backward`, "dy", dy, [g.B, g.OC, g.OH, g.OW]);
  let dx: Tensor | null = null;
  const algorithm = chooseAlgorithm(g, options, rec.gpu.isSoftware);
  if (algorithm === "im2col") {
    dx = want.dx ?? true ? new Tensor(rec.gpu, x.shape, "f32", `${op}.dx`) : null;
    const dw = new Tensor(rec.gpu, weight.shape, "f32", `${op}.dw`);
    im2colBackward(rec, `${op} backward`, g, weight, x, dy, dx, dw);
    return { dx, dw, db: want.db ? biasGrad(rec, g, dy) : null };
  }
  if (algorithm === "direct" && pointwiseFits(g)) {
    dx = want.dx ?? true ? new Tensor(rec.gpu, x.shape, "f32", `${op}.dx`) : null;
    const dw = new Tensor(rec.gpu, weight.shape, "f32", `${op}.dw`);
    pointwiseBackward(rec, `${op} backward`, g, weight, x, dy, dx, dw);
    return { dx, dw, db: want.db ? biasGrad(rec, g, dy) : null };
  }
  if (want.dx ?? true) {
    dx = new Tensor(rec.gpu, x.shape, "f32", `${op}.dx`);
    if (isPointwise(g)) pointwiseData(rec, g, weight, dy, dx);
    else if (algorithm === "direct" && slideDataFits(g)) {
      slideData(rec, `${op} backward`, g, weight, dy, dx);
    } else if (algorithm === "direct" && slideStridedDataFits(g)) {
      slideStridedData(rec, `${op} backward`, g, weight, dy, dx);
    } else implicitData(rec, `${op} backward`, g, weight, dy, dx);
  }
  const dw = new Tensor(rec.gpu, weight.shape, "f32", `${op}.dw`);
  if (algorithm === "direct" && slideFilterFits(g)) slideFilter(rec, `${op} backward`, g, dy, x, dw);
  else implicitFilter(rec, `${op} backward`, g, dy, x, dw);
  return { dx, dw, db: want.db ? biasGrad(rec, g, dy) : null };
}

/** dL/dbias = Σ over batch and pixels of dy. */
function biasGrad(rec: Recorder, g: ConvGeometry, dy: Tensor): Tensor {
  const perImage = sum(rec, dy.reshape([g.B, g.OC, g.OH * g.OW]), { axis: 2 });
  const db = sum(rec, perImage, { axis: 0 });
  rec.after(() => perImage.release());
  return db;
}

/**
 * The algorithm of a convolution: the option; else on software adapters im2col for wide layers and
 * direct for the rest (see Conv2dOptions); on hardware GPUs im2col wherever one image's patches
 * fit, so that every convolution runs on the matmul's tiled (workgroup-memory) kernel — the direct
 * and implicit kernels are 8-lane, register-unrolled designs tuned for software rasterisers.
 */
function chooseAlgorithm(g: ConvGeometry, o: Conv2dOptions, software: boolean): ConvAlgorithm {
  if (o.algorithm) return o.algorithm;
  if (!software) return im2colFits(g) ? "im2col" : "implicit";
  const K = g.IC * g.KH * g.KW;
  const wide = g.OC >= 64 && (K >= 576 || (g.KH * g.KW === 1 && K >= 64));
  return wide && im2colFits(g) ? "im2col" : "direct";
}
