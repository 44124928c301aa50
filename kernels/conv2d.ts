/**
 * 2-D convolution (NCHW, OIHW weights, any stride and padding) forward and backward, as implicit
 * GEMMs — no im2col buffer. Each is C[m, n] = Σ_k A[m, k]·B[k, n] with B gathered on the fly:
 * - forward:         m = out channel,  n = (batch, oh, ow), k = (ic, kh, kw); A = W.
 * - backward-data:   m = in channel,   n = (batch, ih, iw), k = (oc, kh, kw); A = Wᵀ, B from dY.
 * - backward-filter: m = out channel,  n = (ic, kh, kw),    k = (batch, oh, ow); A = dY, B from X.
 * A workgroup is one 8-lane row: its 32 m-rows are the same for every lane, so A's loads are
 * uniform (cheap on software adapters) and each lane gathers B for its own 16 columns, kept in
 * named registers (measured on lavapipe: 2.2 GFLOPS with arrays and 4 columns, 12 with this). The K loop is
 * split into passes under LOOP_CAP where it can be long (backward-filter, over the batch).
 * 1×1 convolutions with stride 1 and no padding go through matmul.
 * @module
 */
import { requireDtype, requireRank, requireShape } from "./_check.ts";
import { params } from "./_params.ts";
import { fmtShape } from "./errors.ts";
import { matmul } from "./matmul.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "./recorder.ts";
import { sum } from "./reduce.ts";
import { Tensor } from "./tensor.ts";
import { placeholder } from "./_placeholder.ts";

/** Stride and padding of a convolution. */
export interface Conv2dOptions {
  /** Stride, one number or [sh, sw] (default 1). */
  stride?: number | [number, number];
  /** Zero padding, one number or [ph, pw] (default 0). */
  padding?: number | [number, number];
}

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

const TN = 16, LANES = 8;

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
  const OH = Math.floor((H + 2 * ph - KH) / sh) + 1, OW = Math.floor((W + 2 * pw - KW) / sw) + 1;
  if (OH < 1 || OW < 1) {
    throw new TypeError(
      `${op}: input ${fmtShape(x.shape)} is smaller than the kernel ${KH}×${KW} with padding ${ph},${pw}`,
    );
  }
  return { B, IC, H, W, OC, KH, KW, sh, sw, ph, pw, OH, OW };
}

const GEOM =
  `struct P { groups: u32, B: u32, IC: u32, H: u32, W: u32, OC: u32, KH: u32, KW: u32, sh: u32, sw: u32,
  ph: u32, pw: u32, OH: u32, OW: u32, M: u32, N: u32, tilesN: u32, k0: u32, k1: u32, acc: u32, bias: u32,
  tiles: u32, kstep: u32, qh: u32, qw: u32, ihs: u32, iws: u32, Hc: u32, Wc: u32 }
@group(0) @binding(0) var<uniform> p: P;`;

function kernel(kind: "fwd" | "data" | "filter", TM: number): string {
  // Per-lane column decompositions and the B gather, by kind.
  const cols = {
    fwd: `let ow = n % p.OW; let oh = (n / p.OW) % p.OH; let b = n / (p.OW * p.OH);
      iy[j] = i32(oh * p.sh) - i32(p.ph); ix[j] = i32(ow * p.sw) - i32(p.pw); base[j] = b * p.IC * p.H * p.W;
      so[j] = (b * p.OC * p.OH + oh) * p.OW + ow;`,
    // Stride class (qh, qw): the output row that tap qh + ta·sh reads is oy = oyb + r − ta, with
    // oyb = (ihs + ph − qh)/sh exact — so the gather needs no division.
    data: `let b = n / (p.Wc * p.Hc); let r = (n / p.Wc) % p.Hc; let cw = n % p.Wc;
      iy[j] = i32((p.ihs + p.ph - p.qh) / p.sh + r); ix[j] = i32((p.iws + p.pw - p.qw) / p.sw + cw);
      base[j] = b * p.OC * p.OH * p.OW;
      so[j] = (b * p.IC * p.H + p.ihs + r * p.sh) * p.W + p.iws + cw * p.sw;`,
    filter: `let kw = n % p.KW; let kh = (n / p.KW) % p.KH; let ic = n / (p.KW * p.KH);
      iy[j] = i32(kh) - i32(p.ph); ix[j] = i32(kw) - i32(p.pw); base[j] = ic * p.H * p.W;
      so[j] = n;`,
  }[kind];
  // The K loop: outer index u (ic | oc | batch), then two inner (kh, kw | oh, ow).
  const loop = {
    fwd: { u: "p.IC", a: "p.KH", b: "p.KW" },
    data: { u: "p.OC", a: "p.KH", b: "p.KW" },
    filter: { u: "p.B", a: "p.OH", b: "p.OW" },
  }[kind];
  const aLoad = {
    fwd: `A[((m0 + ${"${i}"}u) * p.IC + u) * p.KH * p.KW + ka * p.KW + kb]`,
    data: `A[((u * p.IC + m0 + ${"${i}"}u) * p.KH + ka) * p.KW + kb]`,
    filter: `A[((u * p.OC + m0 + ${"${i}"}u) * p.OH + ka) * p.OW + kb]`,
  }[kind];
  const bLoad = {
    fwd: `let y = iy[j] + i32(ka); let x = ix[j] + i32(kb);
          if (y >= 0 && y < i32(p.H) && x >= 0 && x < i32(p.W) && ok[j]) { bv[j] = X[base[j] + (u * p.H + u32(y)) * p.W + u32(x)]; }`,
    data: `let oy = iy[j] - i32(ta); let ox = ix[j] - i32(tb);
          if (oy >= 0 && oy < i32(p.OH) && ox >= 0 && ox < i32(p.OW) && ok[j]) { bv[j] = X[base[j] + (u * p.OH + u32(oy)) * p.OW + u32(ox)]; }`,
    filter: `let y = iy[j] + i32(ka * p.sh); let x = ix[j] + i32(kb * p.sw);
          if (y >= 0 && y < i32(p.H) && x >= 0 && x < i32(p.W) && ok[j]) { bv[j] = X[base[j] + u * p.IC * p.H * p.W + u32(y) * p.W + u32(x)]; }`,
  }[kind];
  // Output offset: a per-column part (computed once, so[j]) plus the row times this stride.
  const rowStride = { fwd: "p.OH * p.OW", data: "p.H * p.W", filter: "p.N" }[kind];
  const XYZW = ["x", "y", "z", "w"];
  const colsUnrolled = Array.from(
    { length: TN },
    (_, j) =>
      `  var iy${j}: i32; var ix${j}: i32; var base${j}: u32; var so${j}: u32; let ok${j} = n0 + ${j}u < p.N;
  { let n = min(n0 + ${j}u, p.N - 1u);
    ${cols.replaceAll("[j]", String(j))} }`,
  ).join("\n");
  const bUnrolled = Array.from(
    { length: TN },
    (_, j) =>
      `        { ${
        bLoad.replaceAll("[j]", String(j)).replaceAll("bv" + String(j), `bv${j >> 2}.${XYZW[j & 3]}`)
      } }`,
  ).join("\n");
  const aRows = Array.from(
    { length: TM },
    (_, i) => `        let a${i} = ${aLoad.replaceAll("${i}", String(i))};`,
  ).join("\n");
  const fmas = Array.from(
    { length: TM },
    (_, i) =>
      Array.from({ length: TN / 4 }, (_, q) => `        c${i}_${q} = fma(vec4f(a${i}), bv${q}, c${i}_${q});`)
        .join("\n"),
  ).join(
    "\n",
  );
  // Stores, unrolled: accumulators are named registers (a dynamically indexed array would live in
  // per-lane scratch memory on software adapters).
  const stores = Array.from(
    { length: TM },
    (_, i) =>
      Array.from({ length: TN }, (_, j) =>
        `  { let m = m0 + ${i}u; let n = n0 + ${j}u;
    if (m < p.M && n < p.N) {
      let o = so${j} + m * ${rowStride};
      var r = c${i}_${j >> 2}.${XYZW[j & 3]};
      if (p.bias == 1u) { r += bias[m]; }
      if (p.acc == 1u) { r += C[cOff + o]; }
      C[cOff + o] = r;
    } }`).join("\n"),
  ).join("\n");
  return `${GEOM}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(${LANES})
fn main(${WID_ARGS}, @builtin(local_invocation_index) lane: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  // Split-K: workgroups past the first tiles·1 take later K ranges and write their own slice.
  let sp = wid / p.tiles; let tw = wid % p.tiles;
  let tm = tw / p.tilesN; let tn = tw % p.tilesN;
  let kA = p.k0 + sp * p.kstep; let kB = min(p.k1, kA + p.kstep);
  let cOff = sp * p.M * p.N;
  // Rows past M read zeros or stale pool memory (WebGPU bounds every access) and are not stored.
  let m0 = tm * ${TM}u;
  let n0 = (tn * ${LANES}u + lane) * ${TN}u;
${colsUnrolled}
${
    Array.from({ length: TM * TN / 4 }, (_, k) =>
      `  var c${Math.floor(k / (TN / 4))}_${k % (TN / 4)} = vec4f(0.0);`).join("\n")
  }
  for (var u = kA; u < kB; u++) {
${
    kind === "data"
      ? `    for (var ta = 0u; p.qh + ta * p.sh < p.KH; ta++) {
      let ka = p.qh + ta * p.sh;
      for (var tb = 0u; p.qw + tb * p.sw < p.KW; tb++) {
        let kb = p.qw + tb * p.sw;`
      : `    for (var ka = 0u; ka < ${loop.a}; ka++) {
      for (var kb = 0u; kb < ${loop.b}; kb++) {`
  }
${aRows}
${Array.from({ length: TN / 4 }, (_, q) => `        var bv${q} = vec4f(0.0);`).join("\n")}
${bUnrolled}
${fmas}
      }
    }
  }
${stores}
}`;
}

const SOURCES = new Map<string, string>();
function source(kind: "fwd" | "data" | "filter", TM: number): string {
  let s = SOURCES.get(`${kind}${TM}`);
  if (!s) SOURCES.set(`${kind}${TM}`, s = kernel(kind, TM));
  return s;
}

function dispatchGemm(
  rec: Recorder,
  op: string,
  kind: "fwd" | "data" | "filter",
  g: ConvGeometry,
  M: number,
  N: number,
  a: Tensor,
  x: Tensor,
  bias: Tensor | null,
  out: Tensor,
): void {
  const TM = rowsFor(M);
  const tilesN = Math.ceil(N / (LANES * TN)), tilesM = Math.ceil(M / TM), tiles = tilesM * tilesN;
  const dummy = bias ?? placeholder(rec.gpu);
  const U = kind === "fwd" ? g.IC : kind === "data" ? g.OC : g.B;
  // K per invocation within LOOP_CAP (the inner loops run KH·KW or OH·OW times per outer step).
  const perU = kind === "filter" ? g.OH * (g.OW + 1) + 1 : g.KH * (g.KW + 1) + 1;
  const step = Math.max(1, Math.floor((LOOP_CAP - 100) / (perU * (1 + TN))));
  const u = (
    k0: number,
    k1: number,
    acc: boolean,
    withBias: boolean,
    kstep: number,
    cls: number[] = [0, 0, 0, 0, g.H, g.W],
    n = N,
    tn = tilesN,
    tt = tiles,
  ) =>
    params(
      g.B,
      g.IC,
      g.H,
      g.W,
      g.OC,
      g.KH,
      g.KW,
      g.sh,
      g.sw,
      g.ph,
      g.pw,
      g.OH,
      g.OW,
      M,
      n,
      tn,
      k0,
      k1,
      acc ? 1 : 0,
      withBias ? 1 : 0,
      tt,
      kstep,
      ...cls,
    );
  if (kind === "filter") {
    // Backward-filter has few output tiles and a long K (the batch): split K across workgroups
    // into partial results (at least ~64 workgroups, each within the loop cap), then sum them.
    const kstep = Math.max(1, Math.min(step, Math.ceil(U / Math.ceil(64 / tiles))));
    const S = Math.ceil(U / kstep);
    if (S === 1) {
      rec.dispatch({
        op,
        kernel: `conv2d_filter_${TM}`,
        code: source(kind, TM),
        groups: tiles,
        params: u(0, U, false, false, U),
        tensors: [a, x, dummy, out],
      });
      return;
    }
    const part = new Tensor(rec.gpu, [S, M * N], "f32", `${op}.partial`);
    rec.dispatch({
      op,
      kernel: `conv2d_filter_${TM}`,
      code: source(kind, TM),
      groups: tiles * S,
      params: u(0, U, false, false, kstep),
      tensors: [a, x, dummy, part],
    });
    const total = sum(rec, part, { axis: 0 });
    rec.copy(total, out);
    rec.after(() => {
      part.release();
      total.release();
    });
    return;
  }
  if (kind === "data") {
    // Backward-data by stride classes: input pixels whose (ih + ph) mod sh and (iw + pw) mod sw
    // agree take exactly the kernel taps kh ≡ (ih + ph), kw ≡ (iw + pw), so each class is its own
    // implicit GEMM with a uniform, strided tap loop — no wasted taps for strided convolutions.
    for (let qh = 0; qh < g.sh; qh++) {
      for (let qw = 0; qw < g.sw; qw++) {
        const ihs = (((qh - g.ph) % g.sh) + g.sh) % g.sh, iws = (((qw - g.pw) % g.sw) + g.sw) % g.sw;
        const Hc = ihs < g.H ? Math.ceil((g.H - ihs) / g.sh) : 0,
          Wc = iws < g.W ? Math.ceil((g.W - iws) / g.sw) : 0;
        if (!Hc || !Wc) continue;
        const n = g.B * Hc * Wc, tn = Math.ceil(n / (LANES * TN)), tt = tilesM * tn;
        for (let k0 = 0; k0 < U; k0 += step) {
          const k1 = Math.min(U, k0 + step);
          rec.dispatch({
            op,
            kernel: `conv2d_data_${TM}`,
            code: source(kind, TM),
            groups: tt,
            params: u(k0, k1, k0 > 0, false, k1 - k0, [qh, qw, ihs, iws, Hc, Wc], n, tn, tt),
            tensors: [a, x, dummy, out],
          });
        }
      }
    }
    return;
  }
  for (let k0 = 0; k0 < U; k0 += step) {
    const k1 = Math.min(U, k0 + step);
    rec.dispatch({
      op,
      kernel: `conv2d_${kind}_${TM}`,
      code: source(kind, TM),
      groups: tiles,
      params: u(k0, k1, k0 > 0, bias !== null && k0 === 0, k1 - k0),
      tensors: [a, x, dummy, out],
    });
  }
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
  dispatchGemm(rec, op, "fwd", g, g.OC, g.B * g.OH * g.OW, weight, x, bias, y);
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
  if (want.dx ?? true) {
    dx = new Tensor(rec.gpu, x.shape, "f32", `${op}.dx`);
    if (isPointwise(g)) {
      matmul(rec, weight.reshape([g.OC, g.IC]), dy.reshape([g.B, g.OC, g.H * g.W]), {
        transA: true,
        out: dx.reshape([g.B, g.IC, g.H * g.W]),
      });
    } else dispatchGemm(rec, `${op} backward`, "data", g, g.IC, g.B * g.H * g.W, weight, dy, null, dx);
  }
  const dw = new Tensor(rec.gpu, weight.shape, "f32", `${op}.dw`);
  dispatchGemm(rec, `${op} backward`, "filter", g, g.OC, g.IC * g.KH * g.KW, dy, x, null, dw);
  let db: Tensor | null = null;
  if (want.db) {
    const perImage = sum(rec, dy.reshape([g.B, g.OC, g.OH * g.OW]), { axis: 2 });
    db = sum(rec, perImage, { axis: 0 });
    rec.after(() => perImage.release());
  }
  return { dx, dw, db };
}
