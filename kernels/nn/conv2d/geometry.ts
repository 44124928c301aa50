/**
 * The geometry of a 2-D convolution, shared by every algorithm in this folder: the options (stride,
 * padding, algorithm), the checked shapes and output size ({@link convGeometry}), and the shape
 * string the step profiles show.
 * @module
 */
import { requireDtype, requireRank } from "../../runtime/checks.ts";
import { fmtShape } from "../../../util/errors.ts";
import type { Tensor } from "../../runtime/tensor.ts";

/** Stride and padding of a convolution. */
export interface Conv2dOptions {
  /** Stride, one number or [sh, sw] (default 1). */
  stride?: number | [number, number];
  /** Zero padding, one number or [ph, pw] (default 0). */
  padding?: number | [number, number];
  /**
   * The algorithm, forward and backward ({@link ConvAlgorithm}): `implicit` (the implicit GEMM: no
   * extra memory), `im2col` (patches written out in ≤ 32 MiB batch chunks, then our matmul) or
   * `direct` (sliding windows). Default on software adapters: `im2col` for wide layers (≥ 64 output
   * channels and patches of ≥ 576 values, or 1×1 kernels on ≥ 64 channels), else `direct`; on
   * hardware GPUs `im2col` wherever one image's patches fit (the matmul's tiled kernel), else
   * `implicit` — a choice by design, not yet measured on a hardware GPU. On software adapters
   * im2col wins on wide layers and loses on narrow ones, whose GEMM is too thin for the matmul,
   * where the sliding kernels win (figures: docs/performance.md).
   */
  algorithm?: ConvAlgorithm;
}

/**
 * A convolution algorithm: `implicit` (implicit GEMM), `im2col` (patches + matmul) or `direct`
 * (sliding windows: a lane reuses each loaded input value across kernel columns, output rows and
 * channels; backward-data of strided convolutions and backward-filter of kernels over 3×3 fall
 * back to the implicit GEMM).
 */
export type ConvAlgorithm = "implicit" | "im2col" | "direct";

const ALGORITHMS: readonly ConvAlgorithm[] = ["implicit", "im2col", "direct"];

/** The geometry of a convolution. */
export interface ConvGeometry {
  /** Batch size. */
  B: number;
  /** Input channels. */
  IC: number;
  /** Input height. */
  H: number;
  /** Input width. */
  W: number;
  /** Output channels. */
  OC: number;
  /** Kernel height. */
  KH: number;
  /** Kernel width. */
  KW: number;
  /** Vertical stride. */
  sh: number;
  /** Horizontal stride. */
  sw: number;
  /** Vertical padding. */
  ph: number;
  /** Horizontal padding. */
  pw: number;
  /** Output height. */
  OH: number;
  /** Output width. */
  OW: number;
}

/**
 * Checks shapes and computes the output size; errors name the layer (`op`) and the argument.
 * @param op The layer's name.
 * @param x Input (N, C_in, H, W).
 * @param w Weight (C_out, C_in, KH, KW).
 * @param o Stride and padding.
 * @returns The geometry.
 */
export function convGeometry(op: string, x: Tensor, w: Tensor, o: Conv2dOptions = {}): ConvGeometry {
  requireDtype(op, "x", x);
  requireDtype(op, "weight", w);
  requireRank(op, "x", x, 4);
  requireRank(op, "weight", w, 4);
  const [B, IC, H, W] = x.shape, [OC, IC2, KH, KW] = w.shape;
  if (IC !== IC2) {
    throw new TypeError(
      `${op}: input has ${IC} channels but the weight ${
        fmtShape(w.shape)
      } expects ${IC2}: expected x of shape [N, ${IC2}, H, W], got ${fmtShape(x.shape)}`,
    );
  }
  const [sh, sw] = typeof o.stride === "number" || o.stride === undefined
    ? [o.stride ?? 1, o.stride ?? 1]
    : o.stride;
  const [ph, pw] = typeof o.padding === "number" || o.padding === undefined
    ? [o.padding ?? 0, o.padding ?? 0]
    : o.padding;
  if (
    ![sh, sw].every((s) => Number.isInteger(s) && s >= 1) ||
    ![ph, pw].every((p) => Number.isInteger(p) && p >= 0)
  ) {
    throw new RangeError(
      `${op}: stride must be integers ≥ 1 and padding integers ≥ 0, got stride ${sh},${sw} padding ${ph},${pw}`,
    );
  }
  if (o.algorithm !== undefined && !ALGORITHMS.includes(o.algorithm)) {
    throw new RangeError(
      `${op}: unknown algorithm ${JSON.stringify(o.algorithm)}: expected one of ${ALGORITHMS.join(", ")}`,
    );
  }
  const OH = Math.floor((H + 2 * ph - KH) / sh) + 1, OW = Math.floor((W + 2 * pw - KW) / sw) + 1;
  if (OH < 1 || OW < 1) {
    throw new TypeError(
      `${op}: input ${fmtShape(x.shape)} is smaller than the kernel ${KH}×${KW} with padding ${ph},${pw}`,
    );
  }
  return { B, IC, H, W, OC, KH, KW, sh, sw, ph, pw, OH, OW };
}

/** A convolution's shape as step profiles show it: `32×64×32×32 → 64 k3x3 s1 p1`. */
export function convShape(g: ConvGeometry): string {
  const k = `k${g.KH}x${g.KW}`, s = g.sh === g.sw ? `s${g.sh}` : `s${g.sh},${g.sw}`;
  const p = g.ph === g.pw ? `p${g.ph}` : `p${g.ph},${g.pw}`;
  return `${g.B}×${g.IC}×${g.H}×${g.W} → ${g.OC} ${k} ${s} ${p}`;
}
