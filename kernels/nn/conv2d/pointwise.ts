/**
 * 1×1 convolutions as GEMMs on our matmul: stride 1 without padding is a plain batched product
 * (forward and backward-data); strided 1×1 convolutions without padding take their backward on the
 * subsampled input ({@link pointwiseBackward}).
 * @module
 */
import { params } from "../../runtime/params.ts";
import { matmul } from "../../linalg/matmul.ts";
import { type Recorder, WID, WID_ARGS } from "../../runtime/recorder.ts";
import { sum } from "../../ops/reduce.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { type ConvGeometry, convShape } from "./geometry.ts";

/** Whether a convolution is 1×1 with stride 1 and no padding: a plain GEMM per image. */
export function isPointwise(g: ConvGeometry): boolean {
  return g.KH === 1 && g.KW === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;
}

/**
 * The forward of a {@link isPointwise} convolution without bias: y[b] = W·x[b].
 * @param rec The recorder.
 * @param g The geometry.
 * @param w Weights (OC, IC, 1, 1).
 * @param x Input (B, IC, H, W).
 * @param y Output (B, OC, H, W), written.
 */
export function pointwiseForward(rec: Recorder, g: ConvGeometry, w: Tensor, x: Tensor, y: Tensor): void {
  matmul(rec, w.reshape([g.OC, g.IC]), x.reshape([g.B, g.IC, g.H * g.W]), {
    out: y.reshape([g.B, g.OC, g.H * g.W]),
  });
}

/**
 * The backward-data of a {@link isPointwise} convolution: dx[b] = Wᵀ·dy[b].
 * @param rec The recorder.
 * @param g The geometry.
 * @param w Weights (OC, IC, 1, 1).
 * @param dy Gradient of the output (B, OC, H, W).
 * @param dx Gradient of the input (B, IC, H, W), written.
 */
export function pointwiseData(rec: Recorder, g: ConvGeometry, w: Tensor, dy: Tensor, dx: Tensor): void {
  matmul(rec, w.reshape([g.OC, g.IC]), dy.reshape([g.B, g.OC, g.H * g.W]), {
    transA: true,
    out: dx.reshape([g.B, g.IC, g.H * g.W]),
  });
}

// The 1×1 convolution with stride (sh, sw) and no padding reads only x[b, c, oy·sh, ox·sw]: its
// GEMMs run on that subsampled input (one invocation per element of the subsampled tensor).
const SAMPLE =
  `struct P { groups: u32, total: u32, H: u32, W: u32, OH: u32, OW: u32, sh: u32, sw: u32, up: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let i = wid * 256u + t;
  if (i >= p.total) { return; }
  if (p.up == 0u) {
    // dst (B, C, OH, OW) ← src (B, C, H, W)
    let ox = i % p.OW; let oy = (i / p.OW) % p.OH; let bc = i / (p.OW * p.OH);
    dst[i] = src[(bc * p.H + oy * p.sh) * p.W + ox * p.sw];
  } else {
    // dst (B, C, H, W) ← src (B, C, OH, OW): invocation i (over src) writes the sh×sw block of dst
    // at (oy·sh, ox·sw), src's value at its corner and 0 elsewhere (every dst pixel is in one block).
    let ox = i % p.OW; let oy = (i / p.OW) % p.OH; let bc = i / (p.OW * p.OH);
    let v = src[i];
    for (var dy = 0u; dy < p.sh; dy++) {
      let iy = oy * p.sh + dy;
      if (iy >= p.H) { break; }
      for (var dx = 0u; dx < p.sw; dx++) {
        let ix = ox * p.sw + dx;
        if (ix >= p.W) { break; }
        dst[(bc * p.H + iy) * p.W + ix] = select(0.0, v, dy == 0u && dx == 0u);
      }
    }
  }
}`;

/**
 * Whether a 1×1 convolution without padding takes {@link pointwiseBackward}: output planes of a
 * multiple of 4 pixels (the fast matmul; at 7×7 the scalar one loses to the sliding kernels) and
 * per-image products of at most 2²³ floats.
 */
export function pointwiseFits(g: ConvGeometry): boolean {
  return g.KH === 1 && g.KW === 1 && g.ph === 0 && g.pw === 0 && (g.OH * g.OW) % 4 === 0 &&
    g.IC % 4 === 0 && g.B * g.OC * g.IC <= 1 << 23;
}

function sample(rec: Recorder, op: string, g: ConvGeometry, src: Tensor, dst: Tensor, up: boolean): void {
  rec.dispatch({
    op,
    kernel: "conv2d_pointwise_sample",
    code: SAMPLE,
    work: {
      kind: up ? "conv2d bwd-data scatter" : "conv2d bwd subsample",
      shape: convShape(g),
      bytes: 4 * (src.size + dst.size),
    },
    groups: Math.ceil((up ? src.size : dst.size) / 256),
    params: params(up ? src.size : dst.size, g.H, g.W, g.OH, g.OW, g.sh, g.sw, up ? 1 : 0),
    tensors: [src, dst],
  });
}

/**
 * Records the backward of a 1×1 convolution without padding ({@link pointwiseFits}) as GEMMs on
 * the subsampled input: dx = Wᵀ·dY scattered back to the sampled pixels, and dW = Σ_b dY[b]·xs[b]ᵀ
 * from per-image products.
 * @param rec The recorder.
 * @param op The layer's name.
 * @param g The geometry.
 * @param w Weights (OC, IC, 1, 1).
 * @param x The forward input.
 * @param dy Gradient of the output.
 * @param dx Gradient of the input to write, or null.
 * @param dw Gradient of the weights, written.
 */
export function pointwiseBackward(
  rec: Recorder,
  op: string,
  g: ConvGeometry,
  w: Tensor,
  x: Tensor,
  dy: Tensor,
  dx: Tensor | null,
  dw: Tensor,
): void {
  const P = g.OH * g.OW, strided = g.sh !== 1 || g.sw !== 1;
  const w2 = w.reshape([g.OC, g.IC]), dy3 = dy.reshape([g.B, g.OC, P]);
  const later: Tensor[] = [];
  if (dx) {
    if (strided) {
      const dxs = new Tensor(rec.gpu, [g.B, g.IC, P], "f32", `${op}.dx_sampled`);
      matmul(rec, w2, dy3, { transA: true, out: dxs });
      sample(rec, op, g, dxs, dx, true);
      later.push(dxs);
    } else matmul(rec, w2, dy3, { transA: true, out: dx.reshape([g.B, g.IC, P]) });
  }
  const xs = strided
    ? new Tensor(rec.gpu, [g.B, g.IC, P], "f32", `${op}.x_sampled`)
    : x.reshape([g.B, g.IC, P]);
  if (strided) {
    sample(rec, op, g, x, xs, false);
    later.push(xs);
  }
  const parts = matmul(rec, dy3, xs, { transB: true }); // (B, OC, IC)
  const total = sum(rec, parts, { axis: 0 });
  rec.copy(total, dw);
  later.push(parts, total);
  rec.after(() => later.forEach((t) => t.release()));
}
