/**
 * Reductions along one axis or over the whole tensor: `sum`, `sumSquares`, `max`.
 *
 * The input is viewed as (outer, L, inner) with L the reduced axis. A workgroup reduces one
 * chunk of at most 32 elements per thread, into four interleaved accumulators of ≤ 8 sequential
 * adds each, then a tree in workgroup memory; sums with more than one chunk take further passes
 * over the partials. So every sum is pairwise apart from ≤ 8 sequential adds: its rounding error
 * grows like log2(L), not L (sums over 10^6 elements stay within 1e-6 relative of float64).
 * Fewer, fuller workgroups matter on software adapters, where each barrier of the tree costs a
 * switch of every invocation. `max` is exact (its chunking only keeps loops short). NaN anywhere gives NaN.
 * @module
 */
import { normAxis, prod, requireDtype } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { IS_NAN, type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

/** Options for the reductions. */
export interface ReduceOptions {
  /** The axis to reduce; omit to reduce the whole tensor to shape [1]. Negative counts from the end. */
  axis?: number;
  /** Keep the reduced axis with size 1. Default false. */
  keepDims?: boolean;
  /**
   * The workgroup tree: `parallel` (hardware GPUs) or `serial` (software adapters). Default: by
   * adapter. Both sum in the same order; the choice is for tests and benchmarks.
   */
  tree?: "parallel" | "serial";
}

type Kind = "sum" | "sumsq" | "max";

const PER_THREAD = 32;

function wgSize(L: number): number {
  let w = 32;
  while (w < 256 && w * PER_THREAD < L) w *= 2;
  return w;
}

// The last steps of a pass: the pairwise tree over `part`, in parallel (log2(wg) barriers) or
// walked by one invocation in the same order (one barrier; faster on software adapters, where
// each barrier switches every invocation of the workgroup).
const PARALLEL_TREE = `for (var s = wg / 2u; s > 0u; s >>= 1u) {
    if (t < s) { part[t] = comb(part[t], part[t + s]); }
    workgroupBarrier();
  }
  if (t == 0u) { y[(o * p.nch + c) * p.inner + j] = part[0]; }`;
const SERIAL_TREE = `if (t == 0u) {
    for (var s = wg / 2u; s > 0u; s >>= 1u) {
      for (var i = 0u; i < s; i++) { part[i] = comb(part[i], part[i + s]); }
    }
    y[(o * p.nch + c) * p.inner + j] = part[0];
  }`;

/** WGSL of `comb(a, b)`: addition, or a NaN-propagating max. */
function combiner(kind: Kind): string {
  return `${IS_NAN}
fn mx(a: f32, b: f32) -> f32 {
  if (is_nan(a)) { return a; }
  if (is_nan(b)) { return b; }
  return max(a, b);
}
fn comb(a: f32, b: f32) -> f32 { return ${kind === "max" ? "mx(a, b)" : "a + b"}; }`;
}

/** WGSL for one reduction pass of `kind` with workgroup size `wg`. */
export function reduceSource(kind: Kind, wg: number, serial: boolean): string {
  const f = kind === "sumsq" ? "v * v" : "v";
  return `struct P { groups: u32, L: u32, inner: u32, chunk: u32, nch: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
const wg = ${wg}u;
var<workgroup> part: array<f32, ${wg}>;
${combiner(kind)}
@compute @workgroup_size(${wg})
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let j = wid % p.inner;
  let c = (wid / p.inner) % p.nch;
  let o = wid / (p.inner * p.nch);
  let start = c * p.chunk;
  let end = min(p.L, start + p.chunk);
  let base = o * p.L * p.inner + j;
  // Four interleaved accumulators: each adds at most PER_THREAD / 4 values in sequence.
  let init = ${kind === "max" ? "x[base + start * p.inner]" : "0.0"};
  var a0 = init; var a1 = init; var a2 = init; var a3 = init;
  var l = start + t;
  let step = ${wg}u * p.inner;
  var at = base + l * p.inner;
  for (; l + ${3 * wg}u < end; l += ${4 * wg}u) {
    var v = x[at]; a0 = comb(a0, ${f});
    v = x[at + step]; a1 = comb(a1, ${f});
    v = x[at + 2u * step]; a2 = comb(a2, ${f});
    v = x[at + 3u * step]; a3 = comb(a3, ${f});
    at += 4u * step;
  }
  if (l < end) { let v = x[at]; a0 = comb(a0, ${f}); }
  if (l + ${wg}u < end) { let v = x[at + step]; a1 = comb(a1, ${f}); }
  if (l + ${2 * wg}u < end) { let v = x[at + 2u * step]; a2 = comb(a2, ${f}); }
  let acc_all = comb(comb(a0, a1), comb(a2, a3));
  part[t] = acc_all;
  workgroupBarrier();
  ${serial ? SERIAL_TREE : PARALLEL_TREE}
}`;
}

/**
 * WGSL of the strided pass for a short reduced axis (L ≤ 64) and at least 64 outputs: one
 * invocation per output element, eight interleaved accumulators of ≤ 8 sequential adds each, then
 * a pairwise combination — the same error bound as the chunked passes, without a workgroup (and
 * its tree) per output element, which left most lanes idle (the split-K sums of backward-filter:
 * 3 × 147456 summed at 0.03 GB/s).
 */
export function stridedSource(kind: Kind): string {
  const f = kind === "sumsq" ? "v * v" : "v";
  const init = kind === "max" ? "x[base]" : "0.0";
  const acc = [...Array(8).keys()];
  return `struct P { groups: u32, L: u32, inner: u32, total: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${combiner(kind)}
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let i = wid * 256u + t;
  if (i >= p.total) { return; }
  let base = (i / p.inner) * p.L * p.inner + i % p.inner;
  ${acc.map((k) => `var a${k} = ${init};`).join(" ")}
  for (var l = 0u; l < p.L; l += 8u) {
${
    acc.map((k) =>
      `    if (l + ${k}u < p.L) { let v = x[base + (l + ${k}u) * p.inner]; a${k} = comb(a${k}, ${f}); }`
    ).join("\n")
  }
  }
  y[i] = comb(comb(comb(a0, a1), comb(a2, a3)), comb(comb(a4, a5), comb(a6, a7)));
}`;
}

function reduce(kind: Kind, name: string, rec: Recorder, x: Tensor, options: ReduceOptions): Tensor {
  const op = `${name} x=${fmtShape(x.shape)}${options.axis === undefined ? "" : ` axis=${options.axis}`}`;
  requireDtype(op, "x", x);
  let outer = 1, L = x.size, inner = 1, outShape = [1];
  if (options.axis !== undefined) {
    const ax = normAxis(op, options.axis, x.shape.length);
    outer = prod(x.shape, 0, ax);
    L = x.shape[ax];
    inner = prod(x.shape, ax + 1);
    outShape = options.keepDims
      ? x.shape.map((d, i) => (i === ax ? 1 : d))
      : x.shape.filter((_, i) => i !== ax);
    if (outShape.length === 0) outShape = [1];
  } else if (options.keepDims) outShape = x.shape.map(() => 1);
  if (L <= 64 && outer * inner >= 64) {
    const y = new Tensor(rec.gpu, outShape, "f32", `${name}.out`);
    rec.dispatch({
      op,
      kernel: `reduce_${kind}_strided`,
      code: stridedSource(kind),
      work: { kind: `reduce ${kind}`, shape: `${outer}×${L}×${inner}`, bytes: 4 * (x.size + y.size) },
      groups: Math.ceil((outer * inner) / 256),
      params: params(L, inner, outer * inner),
      tensors: [x, y],
    });
    return y;
  }
  let src = x;
  let pass: Kind = kind;
  const serial = (options.tree ?? (rec.gpu.isSoftware ? "serial" : "parallel")) === "serial";
  for (;;) {
    const wg = wgSize(L);
    const chunk = wg * PER_THREAD;
    const nch = Math.ceil(L / chunk);
    const dst = nch === 1
      ? new Tensor(rec.gpu, outShape, "f32", `${name}.out`)
      : new Tensor(rec.gpu, [outer * nch * inner], "f32", `${name}.partial`);
    rec.dispatch({
      op,
      kernel: `reduce_${pass}_${wg}${serial ? "_serial" : ""}`,
      code: reduceSource(pass, wg, serial),
      work: { kind: `reduce ${kind}`, shape: `${outer}×${L}×${inner}`, bytes: 4 * (src.size + dst.size) },
      groups: outer * nch * inner,
      params: params(L, inner, chunk, nch),
      tensors: [src, dst],
    });
    if (src !== x) rec.after(() => src.release());
    if (nch === 1) return dst;
    src = dst;
    L = nch;
    if (pass === "sumsq") pass = "sum";
  }
}

/**
 * Records the sum of `x` (pairwise), along `axis` or over everything.
 * @param rec The recorder.
 * @param x Input.
 * @param options Axis and keepDims.
 * @returns The sums.
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { getGpu, readback, Recorder, sum, upload } from "../mod.ts";
 * const gpu = await getGpu();
 * const rec = new Recorder(gpu);
 * const rows = sum(rec, upload(gpu, [1, 2, 3, 4, 5, 6], [2, 3]), { axis: 1 });
 * await rec.submit();
 * const [values] = await readback(gpu, rows);
 * deepEqual([...values], [6, 15]);
 * ```
 */
export function sum(rec: Recorder, x: Tensor, options: ReduceOptions = {}): Tensor {
  return reduce("sum", "sum", rec, x, options);
}

/**
 * Records the sum of squares of `x` (pairwise), along `axis` or over everything.
 * @param rec The recorder.
 * @param x Input.
 * @param options Axis and keepDims.
 * @returns The sums of squares.
 */
export function sumSquares(rec: Recorder, x: Tensor, options: ReduceOptions = {}): Tensor {
  return reduce("sumsq", "sumSquares", rec, x, options);
}

/**
 * Records the maximum of `x` (NaN if any element is NaN), along `axis` or over everything.
 * @param rec The recorder.
 * @param x Input.
 * @param options Axis and keepDims.
 * @returns The maxima.
 */
export function max(rec: Recorder, x: Tensor, options: ReduceOptions = {}): Tensor {
  return reduce("max", "max", rec, x, options);
}
