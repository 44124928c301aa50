/**
 * Pooling (NCHW): MaxPool2d and AvgPool2d with kernel/stride/padding (PyTorch's defaults: stride =
 * kernel, padding 0; average counts the padding, as `count_include_pad=True`), and adaptive
 * average pooling to 1×1. Backward passes are gathers — each input element sums the windows that
 * contain it — so no atomics are needed; max keeps the argmax of each window (first on ties).
 * @module
 */
import { requireDtype, requireRank, requireShape } from "../runtime/checks.ts";
import { recordMap } from "../ops/map.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { IS_NAN, type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { scale } from "../ops/axpy.ts";
import { sum } from "../ops/reduce.ts";
import { Tensor } from "../runtime/tensor.ts";

/** Window of a pooling layer. */
export interface PoolOptions {
  /** Kernel size. */
  kernel: number;
  /** Stride (default: the kernel size). */
  stride?: number;
  /** Zero padding (default 0; must be ≤ kernel/2, as PyTorch requires). */
  padding?: number;
}

const HEAD = `struct P { groups: u32, total: u32, H: u32, W: u32, OH: u32, OW: u32, k: u32, s: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: P;`;

const MAX_FWD = `${HEAD}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> arg: array<i32>;
${IS_NAN}
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let o = wid * 256u + t;
  if (o >= p.total) { return; }
  let ow = o % p.OW; let oh = (o / p.OW) % p.OH; let plane = o / (p.OW * p.OH);
  var best = -3.4028235e38; var bi = -1; var found = false;
  for (var kh = 0u; kh < p.k; kh++) {
    let ih = i32(oh * p.s + kh) - i32(p.pad);
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    for (var kw = 0u; kw < p.k; kw++) {
      let iw = i32(ow * p.s + kw) - i32(p.pad);
      if (iw < 0 || iw >= i32(p.W)) { continue; }
      let idx = i32((plane * p.H + u32(ih)) * p.W + u32(iw));
      let v = x[idx];
      if (!found || (v > best && !is_nan(best)) || (is_nan(v) && !is_nan(best))) { best = v; bi = idx; found = true; }
    }
  }
  y[o] = best; arg[o] = bi;
}`;

// Every window that contains input (ih, iw): oh in [ceil((ih + pad − k + 1)/s), (ih + pad)/s].
const WINDOWS = `
  let iw = i % p.W; let ih = (i / p.W) % p.H; let plane = i / (p.W * p.H);
  let hy = ih + p.pad; let wx = iw + p.pad;
  let oh0 = select(0u, (hy - p.k + p.s) / p.s, hy + 1u > p.k); let oh1 = min(hy / p.s + 1u, p.OH);
  let ow0 = select(0u, (wx - p.k + p.s) / p.s, wx + 1u > p.k); let ow1 = min(wx / p.s + 1u, p.OW);
  var g = 0.0;
  for (var oh = oh0; oh < oh1; oh++) {
    for (var ow = ow0; ow < ow1; ow++) {
      let o = (plane * p.OH + oh) * p.OW + ow;`;

const MAX_BWD = `${HEAD}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> arg: array<i32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let i = wid * 256u + t;
  if (i >= p.total) { return; }
  ${WINDOWS}
      if (arg[o] == i32(i)) { g += dy[o]; }
    }
  }
  dx[i] = g;
}`;

const AVG_FWD = `${HEAD}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let o = wid * 256u + t;
  if (o >= p.total) { return; }
  let ow = o % p.OW; let oh = (o / p.OW) % p.OH; let plane = o / (p.OW * p.OH);
  var s = 0.0;
  for (var kh = 0u; kh < p.k; kh++) {
    let ih = i32(oh * p.s + kh) - i32(p.pad);
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    for (var kw = 0u; kw < p.k; kw++) {
      let iw = i32(ow * p.s + kw) - i32(p.pad);
      if (iw < 0 || iw >= i32(p.W)) { continue; }
      s += x[(plane * p.H + u32(ih)) * p.W + u32(iw)];
    }
  }
  y[o] = s / f32(p.k * p.k);
}`;

const AVG_BWD = `${HEAD}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let i = wid * 256u + t;
  if (i >= p.total) { return; }
  ${WINDOWS}
      g += dy[o];
    }
  }
  dx[i] = g / f32(p.k * p.k);
}`;

function geometry(op: string, x: Tensor, o: PoolOptions): number[] {
  requireDtype(op, "x", x);
  requireRank(op, "x", x, 4);
  const k = o.kernel, s = o.stride ?? k, pad = o.padding ?? 0;
  if (
    !Number.isInteger(k) || k < 1 || !Number.isInteger(s) || s < 1 || !Number.isInteger(pad) || pad < 0 ||
    pad > k / 2
  ) {
    throw new RangeError(
      `${op}: kernel ${k}, stride ${s}, padding ${pad}: expected integers, kernel and stride ≥ 1, 0 ≤ padding ≤ kernel/2`,
    );
  }
  const [, , H, W] = x.shape;
  const OH = Math.floor((H + 2 * pad - k) / s) + 1, OW = Math.floor((W + 2 * pad - k) / s) + 1;
  if (OH < 1 || OW < 1) {
    throw new TypeError(`${op}: input ${fmtShape(x.shape)} is smaller than the ${k}×${k} window`);
  }
  return [H, W, OH, OW, k, s, pad];
}

/**
 * Records MaxPool2d forward.
 * @param rec The recorder.
 * @param x Input (N, C, H, W).
 * @param o Kernel, stride, padding.
 * @param op The layer's name for errors.
 * @returns The output and the argmax indices (i32, flat input index) for backward.
 */
export function maxPool2d(
  rec: Recorder,
  x: Tensor,
  o: PoolOptions,
  op = "maxpool",
): { y: Tensor; argmax: Tensor } {
  const [H, W, OH, OW, k, s, pad] = geometry(op, x, o);
  const [N, C] = x.shape;
  const y = new Tensor(rec.gpu, [N, C, OH, OW], "f32", `${op}.out`);
  const argmax = new Tensor(rec.gpu, [N, C, OH, OW], "i32", `${op}.argmax`);
  rec.dispatch({
    op,
    kernel: "maxpool_fwd",
    work: {
      kind: "maxpool fwd",
      shape: `${x.shape.join("×")} k${k} s${s}`,
      bytes: 4 * (x.size + 2 * y.size),
    },
    code: MAX_FWD,
    groups: Math.ceil(y.size / 256),
    params: params(y.size, H, W, OH, OW, k, s, pad),
    tensors: [x, y, argmax],
  });
  return { y, argmax };
}

/**
 * Records MaxPool2d backward: each input gets the gradients of the windows whose max it was.
 * @param rec The recorder.
 * @param x The forward input (for its shape).
 * @param dy Gradient of the output.
 * @param argmax The forward's argmax.
 * @param o The forward's window.
 * @param op The layer's name.
 * @returns dx.
 */
export function maxPool2dBackward(
  rec: Recorder,
  x: Tensor,
  dy: Tensor,
  argmax: Tensor,
  o: PoolOptions,
  op = "maxpool",
): Tensor {
  const [H, W, OH, OW, k, s, pad] = geometry(`${op} backward`, x, o);
  requireShape(`${op} backward`, "dy", dy, [x.shape[0], x.shape[1], OH, OW]);
  const dx = new Tensor(rec.gpu, x.shape, "f32", `${op}.dx`);
  rec.dispatch({
    op: `${op} backward`,
    kernel: "maxpool_bwd",
    work: {
      kind: "maxpool bwd",
      shape: `${x.shape.join("×")} k${k} s${s}`,
      bytes: 4 * (2 * dx.size + 2 * (dx.size / 4)),
    },
    code: MAX_BWD,
    groups: Math.ceil(dx.size / 256),
    params: params(dx.size, H, W, OH, OW, k, s, pad),
    tensors: [dy, argmax, dx],
  });
  return dx;
}

/**
 * Records AvgPool2d forward (padding counted, as PyTorch's default).
 * @param rec The recorder.
 * @param x Input (N, C, H, W).
 * @param o Kernel, stride, padding.
 * @param op The layer's name.
 * @returns The output.
 */
export function avgPool2d(rec: Recorder, x: Tensor, o: PoolOptions, op = "avgpool"): Tensor {
  const [H, W, OH, OW, k, s, pad] = geometry(op, x, o);
  const y = new Tensor(rec.gpu, [x.shape[0], x.shape[1], OH, OW], "f32", `${op}.out`);
  rec.dispatch({
    op,
    kernel: "avgpool_fwd",
    work: { kind: "avgpool fwd", shape: `${x.shape.join("×")} k${k} s${s}`, bytes: 4 * (x.size + y.size) },
    code: AVG_FWD,
    groups: Math.ceil(y.size / 256),
    params: params(y.size, H, W, OH, OW, k, s, pad),
    tensors: [x, y],
  });
  return y;
}

/**
 * Records AvgPool2d backward.
 * @param rec The recorder.
 * @param x The forward input (for its shape).
 * @param dy Gradient of the output.
 * @param o The forward's window.
 * @param op The layer's name.
 * @returns dx.
 */
export function avgPool2dBackward(
  rec: Recorder,
  x: Tensor,
  dy: Tensor,
  o: PoolOptions,
  op = "avgpool",
): Tensor {
  const [H, W, OH, OW, k, s, pad] = geometry(`${op} backward`, x, o);
  requireShape(`${op} backward`, "dy", dy, [x.shape[0], x.shape[1], OH, OW]);
  const dx = new Tensor(rec.gpu, x.shape, "f32", `${op}.dx`);
  rec.dispatch({
    op: `${op} backward`,
    kernel: "avgpool_bwd",
    work: { kind: "avgpool bwd", shape: `${x.shape.join("×")} k${k} s${s}`, bytes: 8 * dx.size },
    code: AVG_BWD,
    groups: Math.ceil(dx.size / 256),
    params: params(dx.size, H, W, OH, OW, k, s, pad),
    tensors: [dy, dx],
  });
  return dx;
}

/**
 * Records adaptive average pooling to 1×1: (N, C, H, W) → (N, C, 1, 1).
 * @param rec The recorder.
 * @param x Input.
 * @param op The layer's name.
 * @returns The means.
 */
export function globalAvgPool(rec: Recorder, x: Tensor, op = "avgpool"): Tensor {
  requireDtype(op, "x", x);
  requireRank(op, "x", x, 4);
  const [N, C, H, W] = x.shape;
  const s = sum(rec, x.reshape([N, C, H * W]), { axis: 2 });
  const y = scale(rec, 1 / (H * W), s).reshape([N, C, 1, 1]);
  rec.after(() => s.release());
  return y;
}

/**
 * Records the backward of {@link globalAvgPool}: dx = dy / (H·W), broadcast.
 * @param rec The recorder.
 * @param x The forward input (for its shape).
 * @param dy Gradient (N, C, 1, 1) or (N, C).
 * @param op The layer's name.
 * @returns dx.
 */
export function globalAvgPoolBackward(rec: Recorder, x: Tensor, dy: Tensor, op = "avgpool"): Tensor {
  const [N, C, H, W] = x.shape;
  if (dy.size !== N * C) {
    throw new TypeError(
      `${op} backward: argument "dy" must have ${N * C} values (N, C), got ${fmtShape(dy.shape)}`,
    );
  }
  const dx = new Tensor(rec.gpu, x.shape, "f32", `${op}.dx`);
  recordMap(rec, {
    op: `${op} backward`,
    kernel: "global_avgpool_bwd",
    expr: "x0[i / p.u0] * p.s0",
    inputs: [dy],
    out: dx,
    scalars: [1 / (H * W)],
    ints: [H * W],
    vec: false,
  });
  return dx;
}
