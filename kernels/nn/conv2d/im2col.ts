/**
 * The convolution forward as an explicit im2col and our matmul: for a chunk of the batch, the
 * patches are written as rows of a pooled buffer `cols` (batch·OH·OW, IC·KH·KW), multiplied by the
 * weights as `cols · Wᵀ` (the matmul's fast `direct` orientation), and the (pixels, OC) result is
 * scattered into NCHW with the bias added. It trades one extra write and read of the patches
 * (memory-bound, cheap next to the GEMM) for the matmul's register blocking.
 * @module
 */
import { params } from "../../runtime/params.ts";
import { type ConvGeometry, convShape } from "./geometry.ts";
import { add } from "../../ops/binary.ts";
import { matmul } from "../../linalg/matmul.ts";
import { sum } from "../../ops/reduce.ts";
import { type Recorder, WID, WID_ARGS } from "../../runtime/recorder.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { placeholder } from "../../runtime/placeholder.ts";

/** The patch buffer of one chunk holds at most this many floats (32 MiB). */
const COLS_FLOATS = 1 << 23;

/** Whether one image's patches fit the chunk buffer (else the implicit GEMM serves). */
export function im2colFits(g: ConvGeometry): boolean {
  return g.OH * g.OW * g.IC * g.KH * g.KW <= COLS_FLOATS;
}

/** The uniform of the patch kernels (im2col, col2im): a count, the patch width, the geometry. */
const PATCH_UNIFORM =
  `struct P { groups: u32, total: u32, K: u32, P: u32, IC: u32, H: u32, W: u32, KH: u32, KW: u32,
  OH: u32, OW: u32, sh: u32, sw: u32, ph: u32, pw: u32, xoff: u32 }
@group(0) @binding(0) var<uniform> p: P;`;

/** {@link PATCH_UNIFORM}'s values: `total` invocations over images from offset `xoff` of x/dx. */
function patchParams(total: number, g: ConvGeometry, xoff: number): ArrayBuffer {
  const K = g.IC * g.KH * g.KW, P = g.OH * g.OW;
  return params(total, K, P, g.IC, g.H, g.W, g.KH, g.KW, g.OH, g.OW, g.sh, g.sw, g.ph, g.pw, xoff);
}

// One invocation per (patch row, input channel): it writes that channel's KH·KW taps, which are
// contiguous in the row (k = (ic·KH + kh)·KW + kw), with one division of the row index for all.
const IM2COL = `${PATCH_UNIFORM}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> cols: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let i = wid * 256u + t;
  if (i >= p.total) { return; }
  let ic = i % p.IC; let r = i / p.IC;
  let px = r % p.P; let b = r / p.P;
  let y0 = i32((px / p.OW) * p.sh) - i32(p.ph);
  let x0 = i32((px % p.OW) * p.sw) - i32(p.pw);
  let src = p.xoff + (b * p.IC + ic) * p.H * p.W;
  var dst = r * p.K + ic * p.KH * p.KW;
  for (var kh = 0u; kh < p.KH; kh++) {
    let iy = y0 + i32(kh);
    let rowOk = iy >= 0 && iy < i32(p.H);
    for (var kw = 0u; kw < p.KW; kw++) {
      let ix = x0 + i32(kw);
      var v = 0.0;
      if (rowOk && ix >= 0 && ix < i32(p.W)) { v = x[src + u32(iy) * p.W + u32(ix)]; }
      cols[dst] = v;
      dst++;
    }
  }
}`;

const SCATTER = `struct P { groups: u32, total: u32, P: u32, OC: u32, yoff: u32, bias: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> yt: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let i = wid * 256u + t;
  if (i >= p.total) { return; }
  let px = i % p.P; let oc = (i / p.P) % p.OC; let b = i / (p.P * p.OC);
  var v = yt[(b * p.P + px) * p.OC + oc];
  if (p.bias == 1u) { v += bias[oc]; }
  y[p.yoff + i] = v;
}`;

/**
 * Whether the GEMMs can run image by image, (OC, P) per image against the patches, with the fast
 * matmul (sizes multiples of 4) and chunk offsets it can view (multiples of 64 floats): then the
 * output is NCHW already (no scatter) and backward reads dY as it is (no transpose). Images of
 * fewer than 128 output pixels make the per-image GEMM too thin for the matmul (figures:
 * docs/performance.md).
 */
function perImage(g: ConvGeometry, per: number): boolean {
  const K = g.IC * g.KH * g.KW, P = g.OH * g.OW;
  return P >= 128 && P % 4 === 0 && K % 4 === 0 && g.OC % 4 === 0 &&
    (g.B <= per || (per * g.OC * P) % 64 === 0);
}

/** dW's per-image products (images, OC, K) are summed afterwards: at most this many floats. */
const DW_PARTS_FLOATS = 1 << 23;

/** Records the patches of images [b0, b0 + nb) into the rows of `cols` (nb·OH·OW, IC·KH·KW). */
/** IM2COL with the taps unrolled for a KH×KW kernel (row checks once per kernel row). */
function im2colUnrolled(KH: number, KW: number): string {
  const taps: string[] = [];
  for (let kh = 0; kh < KH; kh++) {
    taps.push(`  { let iy = y0 + ${kh}; let ok = iy >= 0 && iy < i32(p.H);
    let row = src + u32(clamp(iy, 0, i32(p.H) - 1)) * p.W;`);
    for (let kw = 0; kw < KW; kw++) {
      taps.push(`    cols[dst + ${kh * KW + kw}u] = select(0.0, x[row + cx${kw}], ok && okx${kw});`);
    }
    taps.push("  }");
  }
  const colsSetup = Array.from(
    { length: KW },
    (_, kw) =>
      `  let okx${kw} = x0 + ${kw} >= 0 && x0 + ${kw} < i32(p.W); let cx${kw} = u32(clamp(x0 + ${kw}, 0, i32(p.W) - 1));`,
  ).join("\n");
  return IM2COL.replace(
    / {2}var dst = [^]*$/,
    `  let dst = r * p.K + ic * ${KH * KW}u;
${colsSetup}
${taps.join("\n")}
}`,
  );
}

const UNROLLED = new Map<string, string>();

function recordIm2col(
  rec: Recorder,
  op: string,
  kind: string,
  g: ConvGeometry,
  x: Tensor,
  cols: Tensor,
  b0: number,
  nb: number,
): void {
  const K = g.IC * g.KH * g.KW, P = g.OH * g.OW;
  const threads = nb * P * g.IC;
  rec.dispatch({
    op,
    ...(g.KH * g.KW <= 9
      ? {
        kernel: `conv2d_im2col_${g.KH}x${g.KW}`,
        code: UNROLLED.get(`${g.KH}x${g.KW}`) ??
          UNROLLED.set(`${g.KH}x${g.KW}`, im2colUnrolled(g.KH, g.KW)).get(`${g.KH}x${g.KW}`)!,
      }
      : { kernel: "conv2d_im2col", code: IM2COL }),
    work: { kind, shape: convShape(g), bytes: 4 * (nb * g.IC * g.H * g.W + nb * P * K) },
    groups: Math.ceil(threads / 256),
    params: patchParams(threads, g, b0 * g.IC * g.H * g.W),
    tensors: [x, cols],
  });
}

/**
 * Records the forward convolution by im2col + matmul, in batch chunks whose patch buffer stays
 * under 32 MiB.
 * @param rec The recorder.
 * @param op The layer's name.
 * @param g The geometry.
 * @param w Weights (OC, IC, KH, KW).
 * @param x Input (B, IC, H, W).
 * @param bias Bias (OC) or null.
 * @param y Output (B, OC, OH, OW).
 * @param stage How step profiles name the passes (`fwd`; backward-data passes its own).
 */
export function im2colForward(
  rec: Recorder,
  op: string,
  g: ConvGeometry,
  w: Tensor,
  x: Tensor,
  bias: Tensor | null,
  y: Tensor,
  stage = "fwd",
): void {
  const K = g.IC * g.KH * g.KW, P = g.OH * g.OW;
  const per = Math.max(1, Math.floor(COLS_FLOATS / (P * K)));
  const wT = w.reshape([g.OC, K]);
  if (!bias && perImage(g, per)) {
    // Y[b] (OC, P) = W · cols[b]ᵀ, image by image in one batched matmul, straight into NCHW.
    const cols = new Tensor(rec.gpu, [Math.min(per, g.B) * P, K], "f32", `${op}.cols`);
    for (let b0 = 0; b0 < g.B; b0 += per) {
      const nb = Math.min(per, g.B - b0);
      recordIm2col(rec, op, `conv2d ${stage} im2col`, g, x, cols, b0, nb);
      matmul(rec, wT, cols.view(0, [nb, P, K]), { transB: true, out: y.view(b0 * g.OC * P, [nb, g.OC, P]) });
    }
    rec.after(() => cols.release());
    return;
  }
  // One patch buffer and one product buffer serve every chunk (dispatches of a pass run in order).
  const cols = new Tensor(rec.gpu, [Math.min(per, g.B) * P, K], "f32", `${op}.cols`);
  const yt = new Tensor(rec.gpu, [Math.min(per, g.B) * P, g.OC], "f32", `${op}.cols_out`);
  const shape = convShape(g);
  for (let b0 = 0; b0 < g.B; b0 += per) {
    const nb = Math.min(per, g.B - b0);
    recordIm2col(rec, op, `conv2d ${stage} im2col`, g, x, cols, b0, nb);
    // (nb·P, OC) = cols · Wᵀ
    matmul(rec, cols.view(0, [nb * P, K]), wT, { transB: true, out: yt.view(0, [nb * P, g.OC]) });
    const outs = nb * g.OC * P;
    rec.dispatch({
      op,
      kernel: "conv2d_im2col_scatter",
      code: SCATTER,
      work: { kind: `conv2d ${stage} scatter`, shape, bytes: 8 * outs },
      groups: Math.ceil(outs / 256),
      params: params(outs, P, g.OC, b0 * g.OC * P, bias ? 1 : 0),
      tensors: [yt, bias ?? placeholder(rec.gpu), y],
    });
  }
  // Released after the submit: released now, a buffer could be handed to an upload made before
  // the submit, which this step's recorded writes would then overwrite.
  rec.after(() => {
    cols.release();
    yt.release();
  });
}

// wf[ic, oc, kh, kw] = w[oc, ic, KH − 1 − kh, KW − 1 − kw], one invocation per element of wf.
const FLIP = `struct P { groups: u32, total: u32, IC: u32, OC: u32, KH: u32, KW: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> wf: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let i = wid * 256u + t;
  if (i >= p.total) { return; }
  let kw = i % p.KW; let kh = (i / p.KW) % p.KH; let oc = (i / (p.KW * p.KH)) % p.OC;
  let ic = i / (p.KW * p.KH * p.OC);
  wf[i] = w[((oc * p.IC + ic) * p.KH + (p.KH - 1u - kh)) * p.KW + (p.KW - 1u - kw)];
}`;

const DY_T = `struct P { groups: u32, total: u32, P: u32, OC: u32, off: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dyt: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let i = wid * 256u + t;
  if (i >= p.total) { return; }
  // dyt[(b·P + px)·OC + oc] = dy[off + (b·OC + oc)·P + px], i runs over dyt.
  let oc = i % p.OC; let r = i / p.OC; let px = r % p.P; let b = r / p.P;
  dyt[i] = dy[p.off + (b * p.OC + oc) * p.P + px];
}`;

const COL2IM = `${PATCH_UNIFORM}
@group(0) @binding(1) var<storage, read> dcols: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let i = wid * 256u + t;
  if (i >= p.total) { return; }
  let ix = i % p.W; let iy = (i / p.W) % p.H; let ic = (i / (p.W * p.H)) % p.IC; let b = i / (p.W * p.H * p.IC);
  var acc = 0.0;
  let row0 = b * p.P; let col0 = ic * p.KH * p.KW;
  if (p.sh == 1u && p.sw == 1u) {
    // Stride 1 (uniform branch): tap (kh, kw) reads output pixel (iy + ph − kh, ix + pw − kw).
    for (var kh = 0u; kh < p.KH; kh++) {
      let oy = i32(iy + p.ph) - i32(kh);
      if (oy < 0 || oy >= i32(p.OH)) { continue; }
      for (var kw = 0u; kw < p.KW; kw++) {
        let ox = i32(ix + p.pw) - i32(kw);
        if (ox < 0 || ox >= i32(p.OW)) { continue; }
        acc += dcols[(row0 + u32(oy) * p.OW + u32(ox)) * p.K + col0 + kh * p.KW + kw];
      }
    }
  } else if (p.sh == 2u && p.sw == 2u) {
    // Stride 2 (uniform branch): parity and halving by bit operations — software adapters
    // scalarise integer division and remainder.
    for (var kh = (iy + p.ph) & 1u; kh < p.KH; kh += 2u) {
      let ty = i32(iy + p.ph) - i32(kh);
      if (ty < 0 || u32(ty) >> 1u >= p.OH) { continue; }
      let oy = u32(ty) >> 1u;
      for (var kw = (ix + p.pw) & 1u; kw < p.KW; kw += 2u) {
        let tx = i32(ix + p.pw) - i32(kw);
        if (tx < 0 || u32(tx) >> 1u >= p.OW) { continue; }
        acc += dcols[(row0 + oy * p.OW + (u32(tx) >> 1u)) * p.K + col0 + kh * p.KW + kw];
      }
    }
  } else {
    for (var kh = 0u; kh < p.KH; kh++) {
      let ty = i32(iy + p.ph) - i32(kh);
      if (ty < 0 || u32(ty) % p.sh != 0u || u32(ty) / p.sh >= p.OH) { continue; }
      let oy = u32(ty) / p.sh;
      for (var kw = 0u; kw < p.KW; kw++) {
        let tx = i32(ix + p.pw) - i32(kw);
        if (tx < 0 || u32(tx) % p.sw != 0u || u32(tx) / p.sw >= p.OW) { continue; }
        let ox = u32(tx) / p.sw;
        acc += dcols[(row0 + oy * p.OW + ox) * p.K + col0 + kh * p.KW + kw];
      }
    }
  }
  dx[p.xoff + i] = acc;
}`;

/**
 * Records the backward convolution by im2col + matmul, in the same batch chunks as the forward:
 * dW += dYᵀ·cols over the chunks, and dx gathered (col2im) from dcols = dY·W.
 * @param rec The recorder.
 * @param op The layer's name.
 * @param g The geometry.
 * @param w Weights (OC, IC, KH, KW).
 * @param x The forward input (B, IC, H, W).
 * @param dy dL/dy (B, OC, OH, OW).
 * @param dx dL/dx to fill, or null.
 * @param dw dL/dW to fill (OC, IC, KH, KW).
 */
export function im2colBackward(
  rec: Recorder,
  op: string,
  g: ConvGeometry,
  w: Tensor,
  x: Tensor,
  dy: Tensor,
  dx: Tensor | null,
  dw: Tensor,
): void {
  const K = g.IC * g.KH * g.KW, P = g.OH * g.OW;
  const per = Math.max(1, Math.floor(COLS_FLOATS / (P * K)));
  const rows = Math.min(per, g.B) * P;
  const wT = w.reshape([g.OC, K]), dW = dw.reshape([g.OC, K]);
  const shape = convShape(g);
  if (perImage(g, per) && Math.min(per, g.B) * g.OC * K <= DW_PARTS_FLOATS) {
    perImageBackward(rec, op, g, w, x, dy, dx, dw, per);
    return;
  }
  const cols = new Tensor(rec.gpu, [rows, K], "f32", `${op}.cols`);
  const dyt = new Tensor(rec.gpu, [rows, g.OC], "f32", `${op}.dy_t`);
  const dcols = dx ? new Tensor(rec.gpu, [rows, K], "f32", `${op}.dcols`) : null;
  for (let b0 = 0; b0 < g.B; b0 += per) {
    const nb = Math.min(per, g.B - b0), n = nb * P;
    const total = n * K;
    recordIm2col(rec, op, "conv2d bwd im2col", g, x, cols, b0, nb);
    rec.dispatch({
      op,
      kernel: "conv2d_dy_transpose",
      code: DY_T,
      work: { kind: "conv2d bwd dy transpose", shape, bytes: 8 * n * g.OC },
      groups: Math.ceil((n * g.OC) / 256),
      params: params(n * g.OC, P, g.OC, b0 * g.OC * P),
      tensors: [dy, dyt],
    });
    const dytView = dyt.view(0, [n, g.OC]), colsView = cols.view(0, [n, K]);
    // dW (OC, K) += dYᵀ · cols
    matmul(rec, dytView, colsView, { transA: true, out: dW, beta: b0 > 0 ? 1 : 0 });
    if (dx && dcols) {
      matmul(rec, dytView, wT, { out: dcols.view(0, [n, K]) }); // (n, K) = dY · W
      const outs = nb * g.IC * g.H * g.W;
      rec.dispatch({
        op,
        kernel: "conv2d_col2im",
        code: COL2IM,
        work: { kind: "conv2d bwd col2im", shape, bytes: 4 * (total + outs) },
        groups: Math.ceil(outs / 256),
        params: patchParams(outs, g, b0 * g.IC * g.H * g.W),
        tensors: [dcols, dx],
      });
    }
  }
  // Released after the submit (see im2colForward).
  rec.after(() => {
    cols.release();
    dyt.release();
    dcols?.release();
  });
}

/**
 * {@link im2colBackward} image by image ({@link perImage}): dcols[b] = dY[b]ᵀ·W and the products
 * dY[b]·cols[b], summed over the images into dW — dY is read in place, never transposed.
 */
function perImageBackward(
  rec: Recorder,
  op: string,
  g: ConvGeometry,
  w: Tensor,
  x: Tensor,
  dy: Tensor,
  dx: Tensor | null,
  dw: Tensor,
  per: number,
): void {
  const K = g.IC * g.KH * g.KW, P = g.OH * g.OW, m = Math.min(per, g.B);
  const wT = w.reshape([g.OC, K]), dW = dw.reshape([g.OC, K]);
  const cols = new Tensor(rec.gpu, [m * P, K], "f32", `${op}.cols`);
  const parts = new Tensor(rec.gpu, [m, g.OC, K], "f32", `${op}.dw_parts`);
  if (dx && g.sh === 1 && g.sw === 1 && g.ph < g.KH && g.pw < g.KW) {
    // Stride 1: dx is the forward convolution of dY with the flipped, transposed kernel, which
    // the forward's im2col GEMM does faster than dcols = dYᵀ·W and col2im (no dcols at all).
    const wf = new Tensor(rec.gpu, [g.IC, g.OC, g.KH, g.KW], "f32", `${op}.w_flipped`);
    const n = wf.size;
    rec.dispatch({
      op,
      kernel: "conv2d_flip_weights",
      code: FLIP,
      work: { kind: "conv2d bwd-data flip", shape: convShape(g), bytes: 8 * n },
      groups: Math.ceil(n / 256),
      params: params(n, g.IC, g.OC, g.KH, g.KW),
      tensors: [w, wf],
    });
    const gd: ConvGeometry = {
      ...g,
      IC: g.OC,
      H: g.OH,
      W: g.OW,
      OC: g.IC,
      OH: g.H,
      OW: g.W,
      ph: g.KH - 1 - g.ph,
      pw: g.KW - 1 - g.pw,
    };
    im2colForward(rec, op, gd, wf, dy, null, dx, "bwd-data");
    rec.after(() => wf.release());
    dx = null;
  }
  const dcols = dx ? new Tensor(rec.gpu, [m * P, K], "f32", `${op}.dcols`) : null;
  const shape = convShape(g);
  const later: Tensor[] = [cols, parts];
  if (dcols) later.push(dcols);
  for (let b0 = 0; b0 < g.B; b0 += per) {
    const nb = Math.min(per, g.B - b0);
    const dyv = dy.view(b0 * g.OC * P, [nb, g.OC, P]), colsv = cols.view(0, [nb, P, K]);
    recordIm2col(rec, op, "conv2d bwd im2col", g, x, cols, b0, nb);
    const pv = parts.view(0, [nb, g.OC, K]);
    matmul(rec, dyv, colsv, { out: pv }); // (nb, OC, K): dY[b] · cols[b]
    const total = sum(rec, pv, { axis: 0 });
    if (b0 === 0) rec.copy(total, dW);
    else add(rec, dW, total.reshape([g.OC, K]), dW);
    later.push(total);
    if (dx && dcols) {
      matmul(rec, dyv, wT, { transA: true, out: dcols.view(0, [nb, P, K]) }); // dY[b]ᵀ · W
      const outs = nb * g.IC * g.H * g.W;
      rec.dispatch({
        op,
        kernel: "conv2d_col2im",
        code: COL2IM,
        work: { kind: "conv2d bwd col2im", shape, bytes: 4 * (nb * P * K + outs) },
        groups: Math.ceil(outs / 256),
        params: patchParams(outs, g, b0 * g.IC * g.H * g.W),
        tensors: [dcols, dx],
      });
    }
  }
  rec.after(() => later.forEach((t) => t.release()));
}
