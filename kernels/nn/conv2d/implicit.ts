/**
 * The convolutions as implicit GEMMs — no patch buffer. Each direction is C[m, n] = Σ_k A[m, k]·B[k, n]
 * with B gathered on the fly:
 * - forward:         m = out channel,  n = (batch, oh, ow), k = (ic, kh, kw); A = W.
 * - backward-data:   m = in channel,   n = (batch, ih, iw), k = (oc, kh, kw); A = Wᵀ, B from dY.
 * - backward-filter: m = out channel,  n = (ic, kh, kw),    k = (batch, oh, ow); A = dY, B from X.
 * Each direction is a few index callbacks ({@link ImplicitGemmSpec}) from which `_implicit_gemm.ts`
 * emits the shared kernel (8-lane rows, A loads uniform across lanes, 16 columns per lane in named
 * registers). The K loop is split into passes under LOOP_CAP where it can be long, and
 * backward-filter's K (the batch) is split across workgroups.
 * @module
 */
import { LOOP_CAP, type Recorder } from "../../runtime/recorder.ts";
import { implicitGemmSource, type ImplicitGemmSpec, LANES, packUniform, TN } from "./_implicit_gemm.ts";
import { sum } from "../../ops/reduce.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { placeholder } from "../../runtime/placeholder.ts";
import { type ConvGeometry, convShape } from "./geometry.ts";

/** Rows (m) per workgroup: 4, 8 or 16 for layers with at most that many rows, else 32. */
function rowsFor(M: number): number {
  return M <= 4 ? 4 : M <= 8 ? 8 : M <= 16 ? 16 : 32;
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

/**
 * Forward: K = input channels, in passes under the loop cap (the first adds the bias). */
export function implicitForward(
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
export function implicitData(rec: Recorder, op: string, g: ConvGeometry, w: Tensor, dy: Tensor, dx: Tensor) {
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
export function implicitFilter(
  rec: Recorder,
  op: string,
  g: ConvGeometry,
  dy: Tensor,
  x: Tensor,
  dw: Tensor,
) {
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
