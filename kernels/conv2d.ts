/**
 * 2-D convolution (NCHW, OIHW weights, any stride and padding) forward and backward, as implicit
 * GEMMs — no im2col buffer. Each is C[m, n] = Σ_k A[m, k]·B[k, n] with B gathered on the fly:
 * - forward:         m = out channel,  n = (batch, oh, ow), k = (ic, kh, kw); A = W.
 * - backward-data:   m = in channel,   n = (batch, ih, iw), k = (oc, kh, kw); A = Wᵀ, B from dY.
 * - backward-filter: m = out channel,  n = (ic, kh, kw),    k = (batch, oh, ow); A = dY, B from X.
 * Each direction is a few index callbacks ({@link ImplicitGemmSpec}) from which `_implicit_gemm.ts`
 * emits the shared kernel (8-lane rows, A loads uniform across lanes, 16 columns per lane in named
 * registers). The K loop is split into passes under LOOP_CAP where it can be long, and
 * backward-filter's K (the batch) is split across workgroups. 1×1 convolutions with stride 1 and no
 * padding go through matmul.
 * @module
 */
import { requireDtype, requireRank, requireShape } from "./_check.ts";
import { fmtShape } from "./errors.ts";
import { matmul } from "./matmul.ts";
import { LOOP_CAP, type Recorder } from "./recorder.ts";
import { implicitGemmSource, type ImplicitGemmSpec, LANES, packUniform, TN } from "./_implicit_gemm.ts";
import { sum } from "./reduce.ts";
import { Tensor } from "./tensor.ts";
import { placeholder } from "./_placeholder.ts";
import { convShape, im2colBackward, im2colFits, im2colForward } from "./conv2d_im2col.ts";
import {
  pointwiseBackward,
  pointwiseFits,
  slideData,
  slideDataFits,
  slideFilter,
  slideFilterFits,
  slideForward,
  slideStridedData,
  slideStridedDataFits,
} from "./conv2d_direct.ts";

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
   * `implicit` — a choice by design, not yet measured on a hardware GPU.
   * Measured on lavapipe, interleaved: im2col's backward is 1.25× (64 channels) to 2.4× (512)
   * faster, its forward 1.0× (64) to 1.9× (512), and on ResNet-18's 1×1 stride-2 projections
   * 1.2–1.5× forward and 1.5–2.7× backward; on narrow layers (8–32 channels) im2col is 2–4× slower
   * (the GEMM is too thin for the matmul), and `direct` beats the implicit GEMM 1.2–6× in
   * backward-filter, 1.4–2× in backward-data and 1.1–1.7× in the forward (8–64 channels).
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

/** Rows (m) per workgroup: 4, 8 or 16 for layers with at most that many rows, else 32. */
function rowsFor(M: number): number {
  return M <= 4 ? 4 : M <= 8 ? 8 : M <= 16 ? 16 : 32;
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

/** The geometry's uniform fields, shared by the three directions. */
const GEOMETRY = ["B", "IC", "H", "W", "OC", "KH", "KW", "sh", "sw", "ph", "pw", "OH", "OW"] as const;

const IN_INPUT = "y >= 0 && y < i32(p.H) && x >= 0 && x < i32(p.W)";

/** Forward: m = out channel, n = (batch, oh, ow), k = (ic, kh, kw); A = W, B gathered from X. */
const FORWARD: ImplicitGemmSpec = {
  name: "conv2d_fwd",
  fields: GEOMETRY,
  column: (n, r) =>
    `let ow = ${n} % p.OW; let oh = (${n} / p.OW) % p.OH; let b = ${n} / (p.OW * p.OH);
      ${r.iy} = i32(oh * p.sh) - i32(p.ph); ${r.ix} = i32(ow * p.sw) - i32(p.pw); ${r.base} = b * p.IC * p.H * p.W;
      ${r.so} = (b * p.OC * p.OH + oh) * p.OW + ow;`,
  taps: (body) =>
    `    for (var ka = 0u; ka < p.KH; ka++) {
      for (var kb = 0u; kb < p.KW; kb++) {
${body}
      }
    }`,
  a: (row) => `A[((${row}) * p.IC + u) * p.KH * p.KW + ka * p.KW + kb]`,
  b: (r) => ({
    lets: `let y = ${r.iy} + i32(ka); let x = ${r.ix} + i32(kb);`,
    inBounds: IN_INPUT,
    index: `${r.base} + (u * p.H + u32(y)) * p.W + u32(x)`,
  }),
  rowStride: "p.OH * p.OW",
};

/**
 * Backward-data for one stride class (qh, qw): m = in channel, n = (batch, r, c) over the class's
 * input pixels (ihs + r·sh, iws + c·sw), k = (oc, taps); A = Wᵀ, B gathered from dY. The class's
 * taps are kh = qh + ta·sh, and tap ta reads output row oy = oyb + r − ta with
 * oyb = (ihs + ph − qh)/sh exact — so the gather needs no division.
 */
const BACKWARD_DATA: ImplicitGemmSpec = {
  name: "conv2d_data",
  fields: [...GEOMETRY, "qh", "qw", "ihs", "iws", "Hc", "Wc"],
  column: (n, r) =>
    `let b = ${n} / (p.Wc * p.Hc); let r = (${n} / p.Wc) % p.Hc; let cw = ${n} % p.Wc;
      ${r.iy} = i32((p.ihs + p.ph - p.qh) / p.sh + r); ${r.ix} = i32((p.iws + p.pw - p.qw) / p.sw + cw);
      ${r.base} = b * p.OC * p.OH * p.OW;
      ${r.so} = (b * p.IC * p.H + p.ihs + r * p.sh) * p.W + p.iws + cw * p.sw;`,
  taps: (body) =>
    `    for (var ta = 0u; p.qh + ta * p.sh < p.KH; ta++) {
      let ka = p.qh + ta * p.sh;
      for (var tb = 0u; p.qw + tb * p.sw < p.KW; tb++) {
        let kb = p.qw + tb * p.sw;
${body}
      }
    }`,
  a: (row) => `A[((u * p.IC + ${row}) * p.KH + ka) * p.KW + kb]`,
  b: (r) => ({
    lets: `let oy = ${r.iy} - i32(ta); let ox = ${r.ix} - i32(tb);`,
    inBounds: "oy >= 0 && oy < i32(p.OH) && ox >= 0 && ox < i32(p.OW)",
    index: `${r.base} + (u * p.OH + u32(oy)) * p.OW + u32(ox)`,
  }),
  rowStride: "p.H * p.W",
};

/** Backward-filter: m = out channel, n = (ic, kh, kw), k = (batch, oh, ow); A = dY, B gathered from X. */
const BACKWARD_FILTER: ImplicitGemmSpec = {
  name: "conv2d_filter",
  fields: GEOMETRY,
  column: (n, r) =>
    `let kw = ${n} % p.KW; let kh = (${n} / p.KW) % p.KH; let ic = ${n} / (p.KW * p.KH);
      ${r.iy} = i32(kh) - i32(p.ph); ${r.ix} = i32(kw) - i32(p.pw); ${r.base} = ic * p.H * p.W;
      ${r.so} = ${n};`,
  taps: (body) =>
    `    for (var ka = 0u; ka < p.OH; ka++) {
      for (var kb = 0u; kb < p.OW; kb++) {
${body}
      }
    }`,
  a: (row) => `A[((u * p.OC + ${row}) * p.OH + ka) * p.OW + kb]`,
  b: (r) => ({
    lets: `let y = ${r.iy} + i32(ka * p.sh); let x = ${r.ix} + i32(kb * p.sw);`,
    inBounds: IN_INPUT,
    index: `${r.base} + u * p.IC * p.H * p.W + u32(y) * p.W + u32(x)`,
  }),
  rowStride: "p.N",
};

const WORK_KIND: Record<string, string> = {
  conv2d_fwd: "conv2d fwd",
  conv2d_data: "conv2d bwd-data",
  conv2d_filter: "conv2d bwd-filter",
};

const SOURCES = new Map<string, string>();
function source(spec: ImplicitGemmSpec, TM: number): string {
  const key = `${spec.name}_${TM}`;
  let s = SOURCES.get(key);
  if (!s) SOURCES.set(key, s = implicitGemmSource(spec, TM));
  return s;
}

/** One implicit-GEMM launch: its tiling, K range and flags over the geometry. */
interface Launch {
  M: number;
  N: number;
  tilesN: number;
  tiles: number;
  k0: number;
  k1: number;
  kstep: number;
  acc: boolean;
  bias: boolean;
  extra?: Record<string, number>;
  /** Useful flops of the launch (for step profiles). */
  flops: number;
}

function launch(
  rec: Recorder,
  op: string,
  spec: ImplicitGemmSpec,
  TM: number,
  g: ConvGeometry,
  l: Launch,
  groups: number,
  tensors: Tensor[],
): void {
  const { extra, acc, bias, flops, ...rest } = l;
  rec.dispatch({
    op,
    kernel: `${spec.name}_${TM}`,
    code: source(spec, TM),
    work: { kind: WORK_KIND[spec.name], shape: convShape(g), flops },
    groups,
    params: packUniform(spec, { ...g, ...rest, acc: acc ? 1 : 0, bias: bias ? 1 : 0, ...extra }),
    tensors,
  });
}

/** K per pass within LOOP_CAP, given the inner (tap) loop's iterations per outer K step. */
function passK(perU: number): number {
  return Math.max(1, Math.floor((LOOP_CAP - 100) / (perU * (1 + TN))));
}

function tiling(M: number, N: number) {
  const TM = rowsFor(M);
  const tilesN = Math.ceil(N / (LANES * TN)), tiles = Math.ceil(M / TM) * tilesN;
  return { TM, tilesN, tiles };
}

/** Forward: K = input channels, in passes under the loop cap (the first adds the bias). */
function forwardGemm(
  rec: Recorder,
  op: string,
  g: ConvGeometry,
  w: Tensor,
  x: Tensor,
  bias: Tensor | null,
  y: Tensor,
) {
  const M = g.OC, N = g.B * g.OH * g.OW, { TM, tilesN, tiles } = tiling(M, N);
  const step = passK(g.KH * (g.KW + 1) + 1);
  const tensors = [w, x, bias ?? placeholder(rec.gpu), y];
  for (let k0 = 0; k0 < g.IC; k0 += step) {
    const k1 = Math.min(g.IC, k0 + step);
    const l = {
      M,
      N,
      tilesN,
      tiles,
      k0,
      k1,
      kstep: k1 - k0,
      acc: k0 > 0,
      bias: bias !== null && k0 === 0,
      flops: 2 * M * N * (k1 - k0) * g.KH * g.KW,
    };
    launch(rec, op, FORWARD, TM, g, l, tiles, tensors);
  }
}

/**
 * Backward-data by stride classes: input pixels whose (ih + ph) mod sh and (iw + pw) mod sw agree
 * take exactly the kernel taps kh ≡ (ih + ph), kw ≡ (iw + pw), so each class is its own implicit
 * GEMM with a uniform, strided tap loop — no wasted taps for strided convolutions.
 */
function dataGemm(rec: Recorder, op: string, g: ConvGeometry, w: Tensor, dy: Tensor, dx: Tensor) {
  const M = g.IC, TM = rowsFor(M), tilesM = Math.ceil(M / TM);
  const step = passK(g.KH * (g.KW + 1) + 1);
  const tensors = [w, dy, placeholder(rec.gpu), dx];
  for (let qh = 0; qh < g.sh; qh++) {
    for (let qw = 0; qw < g.sw; qw++) {
      const ihs = (((qh - g.ph) % g.sh) + g.sh) % g.sh, iws = (((qw - g.pw) % g.sw) + g.sw) % g.sw;
      const Hc = ihs < g.H ? Math.ceil((g.H - ihs) / g.sh) : 0,
        Wc = iws < g.W ? Math.ceil((g.W - iws) / g.sw) : 0;
      if (!Hc || !Wc) continue;
      const N = g.B * Hc * Wc, tilesN = Math.ceil(N / (LANES * TN)), tiles = tilesM * tilesN;
      for (let k0 = 0; k0 < g.OC; k0 += step) {
        const k1 = Math.min(g.OC, k0 + step);
        const taps = Math.ceil((g.KH - qh) / g.sh) * Math.ceil((g.KW - qw) / g.sw);
        const flops = 2 * M * N * (k1 - k0) * taps;
        const l = { M, N, tilesN, tiles, k0, k1, kstep: k1 - k0, acc: k0 > 0, bias: false, flops };
        launch(rec, op, BACKWARD_DATA, TM, g, { ...l, extra: { qh, qw, ihs, iws, Hc, Wc } }, tiles, tensors);
      }
    }
  }
}

/**
 * Backward-filter has few output tiles and a long K (the batch): K is split across workgroups
 * into partial results (at least ~64 workgroups, each within the loop cap), then summed.
 */
function filterGemm(rec: Recorder, op: string, g: ConvGeometry, dy: Tensor, x: Tensor, dw: Tensor) {
  const M = g.OC, N = g.IC * g.KH * g.KW, { TM, tilesN, tiles } = tiling(M, N);
  const step = passK(g.OH * (g.OW + 1) + 1);
  const kstep = Math.max(1, Math.min(step, Math.ceil(g.B / Math.ceil(64 / tiles))));
  const S = Math.ceil(g.B / kstep);
  const flops = 2 * M * N * g.B * g.OH * g.OW;
  const l = { M, N, tilesN, tiles, k0: 0, k1: g.B, kstep, acc: false, bias: false, flops };
  if (S === 1) {
    launch(rec, op, BACKWARD_FILTER, TM, g, { ...l, kstep: g.B }, tiles, [dy, x, placeholder(rec.gpu), dw]);
    return;
  }
  const part = new Tensor(rec.gpu, [S, M * N], "f32", `${op}.partial`);
  launch(rec, op, BACKWARD_FILTER, TM, g, l, tiles * S, [dy, x, placeholder(rec.gpu), part]);
  const total = sum(rec, part, { axis: 0 });
  rec.copy(total, dw);
  rec.after(() => {
    part.release();
    total.release();
  });
}

function isPointwise(g: ConvGeometry): boolean {
  return g.KH === 1 && g.KW === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;
}

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
    matmul(rec, weight.reshape([g.OC, g.IC]), x.reshape([g.B, g.IC, g.H * g.W]), {
      out: y.reshape([g.B, g.OC, g.H * g.W]),
    });
    return y;
  }
  const algorithm = chooseAlgorithm(g, options, rec.gpu.isSoftware);
  if (algorithm === "im2col") im2colForward(rec, op, g, weight, x, bias, y);
  else if (algorithm === "direct") slideForward(rec, op, g, weight, x, bias, y);
  else forwardGemm(rec, op, g, weight, x, bias, y);
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
    if (isPointwise(g)) {
      matmul(rec, weight.reshape([g.OC, g.IC]), dy.reshape([g.B, g.OC, g.H * g.W]), {
        transA: true,
        out: dx.reshape([g.B, g.IC, g.H * g.W]),
      });
    } else if (algorithm === "direct" && slideDataFits(g)) {
      slideData(rec, `${op} backward`, g, weight, dy, dx);
    } else if (algorithm === "direct" && slideStridedDataFits(g)) {
      slideStridedData(rec, `${op} backward`, g, weight, dy, dx);
    } else dataGemm(rec, `${op} backward`, g, weight, dy, dx);
  }
  const dw = new Tensor(rec.gpu, weight.shape, "f32", `${op}.dw`);
  if (algorithm === "direct" && slideFilterFits(g)) slideFilter(rec, `${op} backward`, g, dy, x, dw);
  else filterGemm(rec, `${op} backward`, g, dy, x, dw);
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
