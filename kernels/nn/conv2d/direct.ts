/**
 * Direct (sliding-window) convolutions for narrow layers, where the implicit GEMM's per-column
 * index arithmetic costs more than its multiply-adds and im2col's GEMM is too thin for the matmul.
 * A lane owns a run of `PW` neighbouring output pixels of one row: per input channel and kernel row
 * it loads the `(PW − 1)·sw + KW` input values the run touches once (column masks and clamped
 * offsets computed before the loop), and reuses each for every kernel column and every output
 * channel of its tile. Weights are read at uniform addresses (the same for every lane).
 *
 * - {@link slideForward}: the forward (any stride), and backward-data of a stride-1 convolution,
 *   which is the forward over dY with the kernel flipped and the channel roles swapped.
 * - {@link slideFilter}: backward-filter; the lanes of a workgroup take different input channels
 *   (dY's loads are then uniform), a lane keeps `TM·KH·KW` sums in registers, and the rows of the
 *   batch are split across workgroups (and across lanes when there are fewer than 8 input
 *   channels) into partial results that one reduction sums.
 * @module
 */
import { params } from "../../runtime/params.ts";
import { LANES } from "./_implicit_gemm.ts";
import { type ConvGeometry, convShape } from "./geometry.ts";
import { placeholder } from "../../runtime/placeholder.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "../../runtime/recorder.ts";
import { sum } from "../../ops/reduce.ts";
import { Tensor } from "../../runtime/tensor.ts";

/** Output rows per lane of the sliding kernel (each weight load serves that many rows). */
const SLIDE_ROWS = 2;

/** Output pixels per lane for a row of `Wo`: the run of 4–8 wasting the fewest lanes' slots. */
export function runLength(Wo: number): number {
  if (Wo <= 8) return Wo;
  let best = 8, waste = Infinity;
  for (let pw = 8; pw >= 4; pw--) {
    const w = Math.ceil(Wo / pw) * pw - Wo;
    if (w < waste) [best, waste] = [pw, w];
  }
  return best;
}

/** The input columns a run of `PW` outputs reads with stride `SW` and `KW` kernel columns. */
function taps(PW: number, SW: number, KW: number): number[] {
  const s = new Set<number>();
  for (let j = 0; j < PW; j++) for (let kw = 0; kw < KW; kw++) s.add(j * SW + kw);
  return [...s].sort((a, b) => a - b);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Every index tuple of a grid of the given sizes, the last index fastest. */
function grid(dims: number[]): number[][] {
  return dims.reduce<number[][]>((tuples, n) => tuples.flatMap((t) => range(n).map((i) => [...t, i])), [[]]);
}

/**
 * The sliding kernel: out[b, o, oy, ox] = Σ_{c, kh, kw} wt(o, c, kh, kw) · in[b, c, oy·sh − ph + kh,
 * ox·SW − pw + kw]. `flip` reads the weights as backward-data needs them: wt(o, c, kh, kw) =
 * W[c, o, KH−1−kh, KW−1−kw] with W of shape (Ci, Co, KH, KW).
 */
function slideSource(TM: number, PR: number, PW: number, KW: number, SW: number, mode: SlideWeights): string {
  const flip = mode === "flip", packed = mode === "packed";
  const cols = taps(PW, SW, KW);
  const wIndex = (i: number, kw: number) => flip ? `A[wb${i} + ${KW - 1 - kw}u]` : `A[wb${i} + ${kw}u]`;
  const wBase = (i: number) =>
    flip
      ? `let wb${i} = ((c * p.Co + r${i}) * p.KH + (p.KH - 1u - kh)) * ${KW}u;`
      : `let wb${i} = ((r${i} * p.Ci + c) * p.KH + kh) * ${KW}u;`;
  const rows = range(PR).map((r) =>
    `      {
        let y = iy0 + i32(${r}u * p.sh + kh);
        let oky = y >= 0 && y < hi;
        let rb = xb + (c * p.Hi + u32(clamp(y, 0, hi - 1))) * p.Wi;
${cols.map((t) => `        let x${t} = select(0.0, X[rb + cx${t}], oky && okx${t});`).join("\n")}
${
      grid([KW, TM, PW]).map(([kw, i, j]) =>
        `        c${r}_${i}_${j} = fma(w${i}_${kw}, x${j * SW + kw}, c${r}_${i}_${j});`
      ).join("\n")
    }
      }`
  ).join("\n");
  const stores = grid([PR, TM, PW]).map(([r, i, j]) =>
    `  if (ok && oy0 + ${r}u < p.Ho && o0 + ${i}u < p.Co && ox0 + ${j}u < p.Wo) {
    let o = ((b * p.Co + o0 + ${i}u) * p.HoS + p.yOff + (oy0 + ${r}u) * p.yS) * p.WoS + p.xOff + (ox0 + ${j}u) * p.xS;
    var v = c${r}_${i}_${j};
    if (p.bias == 1u) { v += bias[o0 + ${i}u]; }
    if (p.acc == 1u) { v += Y[o]; }
    Y[o] = v;
  }`
  ).join("\n");
  return `struct P { groups: u32, B: u32, Ci: u32, Hi: u32, Wi: u32, Co: u32, Ho: u32, Wo: u32, KH: u32,
  sh: u32, ph: i32, pw: i32, segs: u32, blocks: u32, tilesN: u32, k0: u32, k1: u32, acc: u32, bias: u32,
  Co4: u32, HoS: u32, WoS: u32, yOff: u32, xOff: u32, yS: u32, xS: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> A: array<${packed ? "vec4f" : "f32"}>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(${LANES})
fn main(${WID_ARGS}, @builtin(local_invocation_index) lane: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let tm = wid / p.tilesN; let tn = wid % p.tilesN;
  let total = p.B * p.blocks * p.segs;
  let n = tn * ${LANES}u + lane;
  let ok = n < total;
  let nn = min(n, total - 1u);
  let seg = nn % p.segs; let oy0 = ((nn / p.segs) % p.blocks) * ${PR}u; let b = nn / (p.segs * p.blocks);
  let ox0 = seg * ${PW}u;
  let o0 = tm * ${TM}u;
  let iy0 = i32(oy0 * p.sh) - p.ph;
  let ix0 = i32(ox0 * ${SW}u) - p.pw;
  let wi = i32(p.Wi); let hi = i32(p.Hi);
${
    cols.map((t) =>
      `  let okx${t} = ix0 + ${t} >= 0 && ix0 + ${t} < wi; let cx${t} = u32(clamp(ix0 + ${t}, 0, wi - 1));`
    ).join("\n")
  }
${
    packed
      ? range(TM / 4).map((q) => `  let q${q} = min(o0 / 4u + ${q}u, p.Co4 - 1u);`).join("\n")
      : range(TM).map((i) => `  let r${i} = min(o0 + ${i}u, p.Co - 1u);`).join("\n")
  }
  let xb = b * p.Ci * p.Hi * p.Wi;
${grid([PR, TM, PW]).map(([r, i, j]) => `  var c${r}_${i}_${j} = 0.0;`).join("\n")}
  for (var c = p.k0; c < p.k1; c++) {
    for (var kh = 0u; kh < p.KH; kh++) {
${
    packed
      ? `      let wb = (c * p.KH + kh) * ${KW}u * p.Co4;\n` +
        range(KW).map((kw) =>
          range(TM / 4).map((q) =>
            `      let wq${q}_${kw} = A[wb + ${kw}u * p.Co4 + q${q}];\n` +
            range(4).map((e) => `      let w${4 * q + e}_${kw} = wq${q}_${kw}.${"xyzw"[e]};`).join(" ")
          ).join("\n")
        ).join("\n")
      : range(TM).map((i) =>
        `      ${wBase(i)}\n${range(KW).map((kw) => `      let w${i}_${kw} = ${wIndex(i, kw)};`).join("\n")}`
      ).join("\n")
  }
${rows}
    }
  }
${stores}
}`;
}

/**
 * The filter kernel: part[s, o, c, kh, kw] = Σ over the slice's (b, oy) rows and every ox of
 * dY[b, o, oy, ox] · X[b, c, oy·sh − ph + kh, ox·SW − pw + kw]. Lane = (c, sub): `CL` channels
 * per workgroup, `8 / CL` lanes splitting the rows of each channel.
 */
function filterSource(TM: number, PW: number, KH: number, KW: number, SW: number, NC: number): string {
  const cols = taps(PW, SW, KW);
  const acc = grid([NC, TM, KH, KW]).map(([n, i, kh, kw]) => `s${n}_${i}_${kh}_${kw}`);
  const loads = grid([TM, PW]).map(([i, j]) =>
    `        let d${i}_${j} = select(0.0, D[db${i} + cy${j}], oky${j});`
  )
    .join("\n");
  const rowFmas = range(KH).map((kh) =>
    `        {
          let y = iy0 + ${kh};
          let oky = y >= 0 && y < hi;
          let yo = u32(clamp(y, 0, hi - 1)) * p.Wi;
${
      range(NC).map((n) =>
        `          {
            let rb = xb${n} + yo;
${cols.map((t) => `            let x${t} = select(0.0, X[rb + cx${t}], oky && okx${t});`).join("\n")}
${
          grid([TM, KW]).map(([i, kw]) =>
            `            s${n}_${i}_${kh}_${kw} = ${
              range(PW).reduce((e, j) => `fma(d${i}_${j}, x${j * SW + kw}, ${e})`, `s${n}_${i}_${kh}_${kw}`)
            };`
          ).join("\n")
        }
          }`
      ).join("\n")
    }
        }`
  ).join("\n");
  const stores = grid([NC, TM, KH, KW]).map(([n, i, kh, kw]) =>
    `  if (cok${n} && o0 + ${i}u < p.Co) { P[pb + ((o0 + ${i}u) * p.Ci + ci${n}) * ${KH * KW}u + ${
      kh * KW + kw
    }u] = s${n}_${i}_${kh}_${kw}; }`
  ).join("\n");
  return `struct U { groups: u32, B: u32, Ci: u32, Hi: u32, Wi: u32, Co: u32, Ho: u32, Wo: u32,
  sh: u32, ph: u32, pw: u32, segs: u32, CL: u32, tilesC: u32, tiles: u32, rows: u32 }
@group(0) @binding(0) var<uniform> p: U;
@group(0) @binding(1) var<storage, read> D: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> P: array<f32>;
@compute @workgroup_size(${LANES})
fn main(${WID_ARGS}, @builtin(local_invocation_index) lane: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let sl = wid / p.tiles; let tw = wid % p.tiles;
  let tm = tw / p.tilesC; let tc = tw % p.tilesC;
  let G = ${LANES}u / p.CL;
  let sub = lane / p.CL;
${
    range(NC).map((n) =>
      `  let ci0${n} = (tc * ${NC}u + ${n}u) * p.CL + lane % p.CL;
  let cok${n} = ci0${n} < p.Ci && lane < p.CL * G;
  let ci${n} = min(ci0${n}, p.Ci - 1u);`
    ).join("\n")
  }
  let o0 = tm * ${TM}u;
${range(TM).map((i) => `  let r${i} = min(o0 + ${i}u, p.Co - 1u);`).join("\n")}
  let wi = i32(p.Wi); let hi = i32(p.Hi);
${acc.map((s) => `  var ${s} = 0.0;`).join("\n")}
  let nrows = p.B * p.Ho;
  let rA = sl * p.rows; let rB = min(nrows, rA + p.rows);
  for (var row = rA + sub; row < rB; row += G) {
    let oy = row % p.Ho; let b = row / p.Ho;
    let iy0 = i32(oy * p.sh) - i32(p.ph);
${range(NC).map((n) => `    let xb${n} = (b * p.Ci + ci${n}) * p.Hi * p.Wi;`).join("\n")}
${range(TM).map((i) => `    let db${i} = ((b * p.Co + r${i}) * p.Ho + oy) * p.Wo;`).join("\n")}
    for (var seg = 0u; seg < p.segs; seg++) {
      let ox0 = seg * ${PW}u;
      let ix0 = i32(ox0 * ${SW}u) - i32(p.pw);
${
    range(PW).map((j) => `      let oky${j} = ox0 + ${j}u < p.Wo; let cy${j} = min(ox0 + ${j}u, p.Wo - 1u);`)
      .join("\n")
  }
${
    cols.map((t) =>
      `      let okx${t} = ix0 + ${t} >= 0 && ix0 + ${t} < wi; let cx${t} = u32(clamp(ix0 + ${t}, 0, wi - 1));`
    ).join("\n")
  }
${loads}
${rowFmas}
    }
  }
  let pb = (sl * G + sub) * p.Co * p.Ci * ${KH * KW}u;
${stores}
}`;
}

/**
 * How the sliding kernel reads its weights: `fwd` W (Co, Ci, KH, KW); `flip` W (Ci, Co, KH, KW)
 * flipped (backward-data); `packed` a copy laid out (Ci, KH, KW, Co) read as vec4s of 4 output
 * channels (Co a multiple of 4), made by {@link PACK} from either.
 */
type SlideWeights = "fwd" | "flip" | "packed";

// packed[((c·KH + kh)·KW + kw)·Co + o] = wt(o, c, kh, kw): W[o, c, kh, kw], or when flipping
// W[c, o, qh + (KH−1−kh)·sh, qw + (KW−1−kw)·sw] with W of KHs×KWs taps (the taps of one stride
// class of backward-data; qh = qw = 0, sh = sw = 1 for stride 1); one invocation per element.
const PACK = `struct P { groups: u32, total: u32, Ci: u32, Co: u32, KH: u32, KW: u32, flip: u32, KHs: u32,
  KWs: u32, qh: u32, qw: u32, sh: u32, sw: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> packed: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let i = wid * 256u + t;
  if (i >= p.total) { return; }
  let o = i % p.Co; let r = i / p.Co; let kw = r % p.KW; let kh = (r / p.KW) % p.KH; let c = r / (p.KW * p.KH);
  if (p.flip == 1u) {
    let khs = p.qh + (p.KH - 1u - kh) * p.sh; let kws = p.qw + (p.KW - 1u - kw) * p.sw;
    packed[i] = w[((c * p.Co + o) * p.KHs + khs) * p.KWs + kws];
  } else {
    packed[i] = w[((o * p.Ci + c) * p.KH + kh) * p.KW + kw];
  }
}`;

const SOURCES = new Map<string, string>();
function cached(key: string, make: () => string): string {
  let s = SOURCES.get(key);
  if (!s) SOURCES.set(key, s = make());
  return s;
}

/** Output channels per workgroup for the sliding kernel (16 was the fastest; docs/performance.md). */
function slideRows(Co: number): number {
  return Co <= 4 ? 4 : Co <= 8 ? 8 : 16;
}

/** What the sliding kernel convolves: the input, the output and their geometry. */
interface Slide {
  /** Where the output grid lies in the output tensor (backward-data's stride classes). */
  place?: Placement;
  B: number;
  Ci: number;
  Hi: number;
  Wi: number;
  Co: number;
  Ho: number;
  Wo: number;
  KH: number;
  KW: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
}

/**
 * The output grid's place in a tensor of HoS×WoS planes: grid pixel (oy, ox) is pixel
 * (yOff + oy·yS, xOff + ox·xS); the weights are a class of a strided kernel (see {@link PACK}).
 */
interface Placement {
  HoS: number;
  WoS: number;
  yOff: number;
  xOff: number;
  yS: number;
  xS: number;
  /** The full kernel's taps and the class's first tap. */
  KHs: number;
  KWs: number;
  qh: number;
  qw: number;
}

function recordSlide(
  rec: Recorder,
  op: string,
  kind: string,
  shape: string,
  s: Slide,
  flip: boolean,
  w: Tensor,
  x: Tensor,
  bias: Tensor | null,
  y: Tensor,
): void {
  const TM = slideRows(s.Co), PR = Math.min(SLIDE_ROWS, s.Ho), PW = runLength(s.Wo);
  const segs = Math.ceil(s.Wo / PW), blocks = Math.ceil(s.Ho / PR);
  const tilesN = Math.ceil((s.B * blocks * segs) / LANES), tiles = Math.ceil(s.Co / TM) * tilesN;
  const packed = s.Co % 4 === 0 || s.place !== undefined;
  const pl: Placement = s.place ??
    { HoS: s.Ho, WoS: s.Wo, yOff: 0, xOff: 0, yS: 1, xS: 1, KHs: s.KH, KWs: s.KW, qh: 0, qw: 0 };
  const mode: SlideWeights = packed ? "packed" : flip ? "flip" : "fwd";
  const key = `conv2d_slide_${mode}_${TM}_${PR}_${PW}_${s.KW}_${s.sw}`;
  const code = cached(key, () => slideSource(TM, PR, PW, s.KW, s.sw, mode));
  if (packed) {
    const wp = new Tensor(rec.gpu, [s.Ci * s.KH * s.KW * s.Co], "f32", `${op}.w_packed`);
    rec.dispatch({
      op,
      kernel: "conv2d_slide_pack",
      code: PACK,
      work: { kind: `${kind} pack`, shape, bytes: 8 * wp.size },
      groups: Math.ceil(wp.size / 256),
      params: params(
        wp.size,
        s.Ci,
        s.Co,
        s.KH,
        s.KW,
        flip ? 1 : 0,
        pl.KHs,
        pl.KWs,
        pl.qh,
        pl.qw,
        pl.yS,
        pl.xS,
      ),
      tensors: [w, wp],
    });
    rec.after(() => wp.release());
    w = wp;
  }
  const step = Math.max(1, Math.floor((LOOP_CAP - 100) / (s.KH + 1)));
  for (let k0 = 0; k0 < s.Ci; k0 += step) {
    const k1 = Math.min(s.Ci, k0 + step);
    rec.dispatch({
      op,
      kernel: key,
      code,
      work: { kind, shape, flops: 2 * s.B * s.Co * s.Ho * s.Wo * (k1 - k0) * s.KH * s.KW },
      groups: tiles,
      params: params(
        s.B,
        s.Ci,
        s.Hi,
        s.Wi,
        s.Co,
        s.Ho,
        s.Wo,
        s.KH,
        s.sh,
        { i: s.ph },
        { i: s.pw },
        segs,
        blocks,
        tilesN,
        k0,
        k1,
        k0 > 0 ? 1 : 0,
        bias && k0 === 0 ? 1 : 0,
        Math.ceil(s.Co / 4),
        pl.HoS,
        pl.WoS,
        pl.yOff,
        pl.xOff,
        pl.yS,
        pl.xS,
      ),
      tensors: [w, x, bias ?? placeholder(rec.gpu), y],
    });
  }
}

/**
 * Records the forward of a convolution with the sliding kernel.
 * @param rec The recorder.
 * @param op The layer's name.
 * @param g The geometry.
 * @param w Weights (OC, IC, KH, KW).
 * @param x Input.
 * @param bias Bias or null.
 * @param y Output, written.
 */
export function slideForward(
  rec: Recorder,
  op: string,
  g: ConvGeometry,
  w: Tensor,
  x: Tensor,
  bias: Tensor | null,
  y: Tensor,
): void {
  const s: Slide = {
    B: g.B,
    Ci: g.IC,
    Hi: g.H,
    Wi: g.W,
    Co: g.OC,
    Ho: g.OH,
    Wo: g.OW,
    KH: g.KH,
    KW: g.KW,
    sh: g.sh,
    sw: g.sw,
    ph: g.ph,
    pw: g.pw,
  };
  recordSlide(rec, op, "conv2d fwd", convShape(g), s, false, w, x, bias, y);
}

/** Whether backward-data can take the sliding kernel: stride 1 and padding below the kernel. */
export function slideDataFits(g: ConvGeometry): boolean {
  return g.sh === 1 && g.sw === 1 && g.ph < g.KH && g.pw < g.KW;
}

/**
 * Records backward-data of a stride-1 convolution ({@link slideDataFits}) with the sliding kernel:
 * dx = dY ⋆ flip(W)ᵀ with padding K − 1 − p.
 * @param rec The recorder.
 * @param op The layer's name.
 * @param g The geometry.
 * @param w Weights (OC, IC, KH, KW).
 * @param dy Gradient of the output.
 * @param dx Gradient of the input, written.
 */
export function slideData(
  rec: Recorder,
  op: string,
  g: ConvGeometry,
  w: Tensor,
  dy: Tensor,
  dx: Tensor,
): void {
  const s: Slide = {
    B: g.B,
    Ci: g.OC,
    Hi: g.OH,
    Wi: g.OW,
    Co: g.IC,
    Ho: g.H,
    Wo: g.W,
    KH: g.KH,
    KW: g.KW,
    sh: 1,
    sw: 1,
    ph: g.KH - 1 - g.ph,
    pw: g.KW - 1 - g.pw,
  };
  recordSlide(rec, op, "conv2d bwd-data", convShape(g), s, true, w, dy, null, dx);
}

/**
 * Whether backward-data of a strided convolution can take the sliding kernel class by class: every
 * stride class has taps (KH ≥ sh, KW ≥ sw) and the input channels are a multiple of 4 (packed
 * weights).
 */
export function slideStridedDataFits(g: ConvGeometry): boolean {
  return g.KH >= g.sh && g.KW >= g.sw && g.IC % 4 === 0;
}

/**
 * Records backward-data of a strided convolution ({@link slideStridedDataFits}) with the sliding
 * kernel, one launch per stride class (qh, qw): the input pixels (ihs + r·sh, iws + c·sw) take
 * exactly the taps kh = qh + ta·sh, kw = qw + tb·sw, which read dY at (oyb + r − ta, oxb + c − tb)
 * — a stride-1 sliding convolution of dY with that class's flipped sub-kernel, written to a
 * strided grid of dx.
 * @param rec The recorder.
 * @param op The layer's name.
 * @param g The geometry.
 * @param w Weights (OC, IC, KH, KW).
 * @param dy Gradient of the output.
 * @param dx Gradient of the input, written.
 */
export function slideStridedData(
  rec: Recorder,
  op: string,
  g: ConvGeometry,
  w: Tensor,
  dy: Tensor,
  dx: Tensor,
): void {
  for (let qh = 0; qh < g.sh; qh++) {
    for (let qw = 0; qw < g.sw; qw++) {
      const ihs = (((qh - g.ph) % g.sh) + g.sh) % g.sh, iws = (((qw - g.pw) % g.sw) + g.sw) % g.sw;
      const Hc = ihs < g.H ? Math.ceil((g.H - ihs) / g.sh) : 0,
        Wc = iws < g.W ? Math.ceil((g.W - iws) / g.sw) : 0;
      if (!Hc || !Wc) continue;
      const Th = Math.ceil((g.KH - qh) / g.sh), Tw = Math.ceil((g.KW - qw) / g.sw);
      const oyb = (ihs + g.ph - qh) / g.sh, oxb = (iws + g.pw - qw) / g.sw;
      const s: Slide = {
        B: g.B,
        Ci: g.OC,
        Hi: g.OH,
        Wi: g.OW,
        Co: g.IC,
        Ho: Hc,
        Wo: Wc,
        KH: Th,
        KW: Tw,
        sh: 1,
        sw: 1,
        // Packed tap ta' = Th − 1 − ta reads row r + ta' + oyb − Th + 1.
        ph: Th - 1 - oyb,
        pw: Tw - 1 - oxb,
        place: { HoS: g.H, WoS: g.W, yOff: ihs, xOff: iws, yS: g.sh, xS: g.sw, KHs: g.KH, KWs: g.KW, qh, qw },
      };
      recordSlide(rec, op, "conv2d bwd-data", convShape(g), s, true, w, dy, null, dx);
    }
  }
}

/** Whether backward-filter's per-lane sums (TM·KH·KW) fit the sliding filter kernel. */
export function slideFilterFits(g: ConvGeometry): boolean {
  return g.KH * g.KW <= 9;
}

/**
 * Records backward-filter with the sliding filter kernel ({@link slideFilterFits}): partial sums
 * over slices of the batch's rows, then one reduction.
 * @param rec The recorder.
 * @param op The layer's name.
 * @param g The geometry.
 * @param dy Gradient of the output.
 * @param x The forward input.
 * @param dw Gradient of the weights, written.
 */
export function slideFilter(
  rec: Recorder,
  op: string,
  g: ConvGeometry,
  dy: Tensor,
  x: Tensor,
  dw: Tensor,
): void {
  // 8 output channels per workgroup: 16 would keep 144 sums per lane, which spill.
  const TM = g.OC <= 4 ? 4 : 8, PW = runLength(g.OW), segs = Math.ceil(g.OW / PW);
  const CL = g.IC >= LANES ? LANES : g.IC >= 4 ? 4 : g.IC >= 2 ? 2 : 1, G = LANES / CL;
  // Two input channels per lane from 16 on: each dY value loaded serves twice the multiply-adds
  // (four per lane gained little more: docs/performance.md).
  const NC = g.IC >= 2 * LANES ? 2 : 1;
  const tilesC = Math.ceil(g.IC / (CL * NC)), tiles = Math.ceil(g.OC / TM) * tilesC;
  const nrows = g.B * g.OH;
  // Enough slices for ~128 workgroups, each lane within the loop cap.
  const capRows = Math.max(1, Math.floor((LOOP_CAP - 100) / (segs + 1))) * G;
  const rows = Math.min(capRows, Math.max(G, Math.ceil(nrows / Math.max(1, Math.ceil(128 / tiles)))));
  const S = Math.ceil(nrows / rows);
  const key = `conv2d_slide_filter_${TM}_${NC}_${PW}_${g.KH}_${g.KW}_${g.sw}`;
  const code = cached(key, () => filterSource(TM, PW, g.KH, g.KW, g.sw, NC));
  const K = g.OC * g.IC * g.KH * g.KW;
  const out = S * G === 1 ? dw : new Tensor(rec.gpu, [S * G, K], "f32", `${op}.partial`);
  rec.dispatch({
    op,
    kernel: key,
    code,
    work: {
      kind: "conv2d bwd-filter",
      shape: convShape(g),
      flops: 2 * K * g.B * g.OH * g.OW,
    },
    groups: tiles * S,
    params: params(
      g.B,
      g.IC,
      g.H,
      g.W,
      g.OC,
      g.OH,
      g.OW,
      g.sh,
      g.ph,
      g.pw,
      segs,
      CL,
      tilesC,
      tiles,
      rows,
    ),
    tensors: [dy, x, out],
  });
  if (out === dw) return;
  const total = sum(rec, out, { axis: 0 });
  rec.copy(total, dw);
  rec.after(() => {
    out.release();
    total.release();
  });
}
