/**
 * Strided copies: `transpose` (any axis permutation) and `slice` (numpy-style
 * `x[start:end:step, …]`). Both are one gather kernel, `out[i] = x[offset + Σ idx_d·stride_d]`,
 * for tensors of rank ≤ 8; `padEnd`, zeros appended to axes (the inverse of a leading slice); and
 * `concat` of two tensors along an axis.
 * @module
 */
import { params } from "../runtime/params.ts";
import { requireLive } from "../runtime/checks.ts";
import { fmtShape } from "../../util/errors.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { type DType, Tensor } from "../runtime/tensor.ts";

const MAX_RANK = 8;

function code(elem: DType): string {
  return `struct P { groups: u32, n: u32, rank: u32, offset: u32, shape: array<vec4u, 2>, stride: array<vec4u, 2> }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<${elem}>;
@group(0) @binding(2) var<storage, read_write> y: array<${elem}>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 256u + li;
  if (i >= p.n) { return; }
  var rem = i; var src = p.offset;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let n = p.shape[d / 4][d % 4];
    src += (rem % n) * p.stride[d / 4][d % 4];
    rem /= n;
  }
  y[i] = x[src];
}`;
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

function gather(
  rec: Recorder,
  op: string,
  x: Tensor,
  shape: number[],
  stride: number[],
  offset: number,
): Tensor {
  if (x.shape.length > MAX_RANK) {
    throw new RangeError(`${op}: rank ${x.shape.length} is above the supported ${MAX_RANK}`);
  }
  const y = new Tensor(rec.gpu, shape, x.dtype, `${op.split(" ")[0]}.out`);
  const pad = (a: number[]) => [...a, ...new Array(MAX_RANK - a.length).fill(1)];
  rec.dispatch({
    op,
    kernel: `gather_${x.dtype}`,
    code: code(x.dtype),
    groups: Math.ceil(y.size / 256),
    params: params(y.size, shape.length, offset, ...pad(shape), ...pad(stride)),
    tensors: [x, y],
  });
  return y;
}

/**
 * Records a transpose: `out.shape[d] = x.shape[perm[d]]`.
 * @param rec The recorder.
 * @param x Input (any dtype).
 * @param perm A permutation of the axes (default: reversed).
 * @returns The transposed copy.
 */
export function transpose(rec: Recorder, x: Tensor, perm?: number[]): Tensor {
  const r = x.shape.length;
  const p = perm ?? x.shape.map((_, i) => r - 1 - i);
  const op = `transpose x=${fmtShape(x.shape)} perm=${fmtShape(p)}`;
  requireLive(op, "x", x);
  if (p.length !== r || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new RangeError(`${op}: perm must be a permutation of 0…${r - 1}`);
  }
  const st = stridesOf(x.shape);
  return gather(rec, op, x, p.map((d) => x.shape[d]), p.map((d) => st[d]), 0);
}

/** One axis of a {@link slice}: `[start, end)` with a step, like Python's `start:end:step`. */
export interface SliceRange {
  /** First index (default 0; negative counts from the end). */
  start?: number;
  /** One past the last index (default: the axis length; negative counts from the end). */
  end?: number;
  /** Step ≥ 1 (default 1). */
  step?: number;
}

/**
 * Records a strided slice copy, like numpy's `x[s0, s1, …]` with `start:end:step` ranges.
 * @param rec The recorder.
 * @param x Input (any dtype).
 * @param ranges One range per leading axis; missing axes are taken whole.
 * @returns The sliced copy.
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { getGpu, readback, Recorder, slice, upload } from "../mod.ts";
 * const gpu = await getGpu();
 * const rec = new Recorder(gpu);
 * const x = upload(gpu, [0, 1, 2, 3, 4, 5, 6, 7], [2, 4]);
 * const y = slice(rec, x, [{}, { start: 1, step: 2 }]); // x[:, 1::2]
 * await rec.submit();
 * const [values] = await readback(gpu, y);
 * deepEqual(y.shape, [2, 2]);
 * deepEqual([...values], [1, 3, 5, 7]);
 * ```
 */
export function slice(rec: Recorder, x: Tensor, ranges: SliceRange[]): Tensor {
  const op = `slice x=${fmtShape(x.shape)}`;
  requireLive(op, "x", x);
  if (ranges.length > x.shape.length) {
    throw new RangeError(`${op}: ${ranges.length} ranges given for a tensor of rank ${x.shape.length}`);
  }
  const st = stridesOf(x.shape);
  const shape: number[] = [], stride: number[] = [];
  let offset = 0;
  x.shape.forEach((n, d) => {
    const r = ranges[d] ?? {};
    const step = r.step ?? 1;
    if (!Number.isInteger(step) || step < 1) {
      throw new RangeError(`${op}: axis ${d} step ${step} must be an integer ≥ 1`);
    }
    const norm = (v: number) => Math.min(n, Math.max(0, v < 0 ? v + n : v));
    const start = norm(r.start ?? 0), end = norm(r.end ?? n);
    const len = Math.ceil((end - start) / step);
    if (len <= 0) {
      throw new RangeError(
        `${op}: axis ${d} range ${r.start ?? 0}:${r.end ?? n}:${step} is empty (zero-size result)`,
      );
    }
    shape.push(len);
    stride.push(st[d] * step);
    offset += start * st[d];
  });
  return gather(rec, op, x, shape, stride, offset);
}

const PAD =
  `struct P { groups: u32, n: u32, rank: u32, pad0: u32, shape: array<vec4u, 2>, inner: array<vec4u, 2> }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 256u + li;
  if (i >= p.n) { return; }
  // out index → input index; zero where any coordinate is past the input's extent
  var rem = i; var src = 0u; var stride = 1u; var inside = true;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let n = p.shape[d / 4][d % 4];
    let m = p.inner[d / 4][d % 4];
    let c = rem % n;
    if (c >= m) { inside = false; }
    src += c * stride;
    stride *= m;
    rem /= n;
  }
  y[i] = select(0.0, x[src], inside);
}`;

/**
 * Records zero padding at the end of each axis (PyTorch's `F.pad` with zero leading pads): the
 * inverse of `slice` with ranges `[0, n)`, which is its backward.
 * @param rec The recorder.
 * @param x Input (f32).
 * @param pads Zeros appended to each leading axis (missing axes: none).
 * @returns The padded copy.
 */
export function padEnd(rec: Recorder, x: Tensor, pads: number[]): Tensor {
  const op = `padEnd x=${fmtShape(x.shape)} pads=${fmtShape(pads)}`;
  requireLive(op, "x", x);
  if (x.dtype !== "f32") throw new TypeError(`${op}: expected f32, got ${x.dtype}`);
  if (
    pads.length > x.shape.length || x.shape.length > MAX_RANK ||
    pads.some((p) => !Number.isInteger(p) || p < 0)
  ) {
    throw new RangeError(`${op}: expected at most ${x.shape.length} pads, each an integer ≥ 0`);
  }
  const shape = x.shape.map((n, d) => n + (pads[d] ?? 0));
  const y = new Tensor(rec.gpu, shape, "f32", "pad.out");
  const fill = (a: number[]) => [...a, ...new Array(MAX_RANK - a.length).fill(1)];
  rec.dispatch({
    op,
    kernel: "pad_end",
    code: PAD,
    groups: Math.ceil(y.size / 256),
    params: params(y.size, shape.length, 0, ...fill(shape), ...fill([...x.shape])),
    tensors: [x, y],
  });
  return y;
}

const CONCAT = `struct P { groups: u32, n: u32, ca: u32, cb: u32, inner: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 256u + li;
  if (i >= p.n) { return; }
  let c = (i / p.inner) % (p.ca + p.cb);
  let o = i / (p.inner * (p.ca + p.cb));
  let r = i % p.inner;
  if (c < p.ca) { y[i] = a[(o * p.ca + c) * p.inner + r]; } else { y[i] = b[(o * p.cb + c - p.ca) * p.inner + r]; }
}`;

/**
 * Records `torch.cat((a, b), dim=axis)` of two f32 tensors equal in every other axis; its backward
 * is two {@link slice}s.
 * @param rec The recorder.
 * @param a First part.
 * @param b Second part.
 * @param axis The axis joined.
 * @returns The concatenation.
 */
export function concat(rec: Recorder, a: Tensor, b: Tensor, axis: number): Tensor {
  const op = `concat a=${fmtShape(a.shape)} b=${fmtShape(b.shape)} axis=${axis}`;
  requireLive(op, "a", a);
  requireLive(op, "b", b);
  if (
    a.dtype !== "f32" || b.dtype !== "f32" || a.shape.length !== b.shape.length || axis < 0 ||
    axis >= a.shape.length || a.shape.some((n, d) => d !== axis && n !== b.shape[d])
  ) {
    throw new TypeError(`${op}: expected f32 tensors equal in every axis but ${axis}`);
  }
  const inner = a.shape.slice(axis + 1).reduce((s, n) => s * n, 1);
  const shape = a.shape.map((n, d) => (d === axis ? n + b.shape[d] : n));
  const y = new Tensor(rec.gpu, shape, "f32", "concat.out");
  rec.dispatch({
    op,
    kernel: "concat",
    code: CONCAT,
    groups: Math.ceil(y.size / 256),
    params: params(y.size, a.shape[axis], b.shape[axis], inner),
    tensors: [a, b, y],
  });
  return y;
}
