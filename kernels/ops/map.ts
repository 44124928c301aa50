/**
 * The element-wise kernel builder shared by add/sub/mul, axpy/scale, relu, fill and bias: one
 * invocation per element, `out[i] = EXPR`, where EXPR reads `x0[i]`, `x1[i]`, … (inputs),
 * `out[i]` (the output's old value, for in-place ops) and the scalars `p.s0`, `p.s1`, and writes
 * constants as `T(…)`. When the size is a multiple of 4, `T` is a vec4 and each invocation
 * handles four elements: vec4 loads double the throughput on software adapters
 * (docs/performance.md).
 * @module
 */
import { params } from "../runtime/params.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import type { Tensor } from "../runtime/tensor.ts";

/** What {@link recordMap} needs. */
export interface MapSpec {
  /** The op and shapes, for errors. */
  op: string;
  /** Kernel name. */
  kernel: string;
  /** WGSL expression for the new `out[i]`. */
  expr: string;
  /** Input tensors, bound as `x0`, `x1`, … */
  inputs: Tensor[];
  /** Output tensor (read-write). */
  out: Tensor;
  /** Up to two f32 scalars, `p.s0` and `p.s1`. */
  scalars?: number[];
  /** Up to two u32 integers, `p.u0` and `p.u1`. */
  ints?: number[];
  /** Element type of inputs and output (default f32). */
  elem?: string;
  /** Whether EXPR works on vec4 `T` as well as scalars (default true). */
  vec?: boolean;
}

/** Records `out[i] = expr` for every `i < out.size`. */
export function recordMap(rec: Recorder, s: MapSpec): void {
  const elem = s.elem ?? "f32";
  const vec = (s.vec ?? true) && s.out.size % 4 === 0 && s.inputs.every((t) => t.size === s.out.size);
  const n = vec ? s.out.size / 4 : s.out.size;
  const decl = s.inputs.map((_, k) => `@group(0) @binding(${k + 1}) var<storage, read> x${k}: array<T>;`);
  const code = `alias T = ${vec ? `vec4<${elem}>` : elem};
struct P { groups: u32, n: u32, s0: f32, s1: f32, u0: u32, u1: u32 }
@group(0) @binding(0) var<uniform> p: P;
${decl.join("\n")}
@group(0) @binding(${s.inputs.length + 1}) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 256u + li;
  if (i >= p.n) { return; }
  out[i] = ${s.expr};
}`;
  const [s0 = 0, s1 = 0] = s.scalars ?? [];
  const [u0 = 0, u1 = 0] = s.ints ?? [];
  rec.dispatch({
    op: s.op,
    kernel: `${s.kernel}${vec ? "_vec4" : ""}`,
    code,
    groups: Math.ceil(n / 256),
    params: params(n, { f: s0 }, { f: s1 }, u0, u1),
    tensors: [...s.inputs, s.out],
    work: {
      kind: s.kernel,
      shape: `${s.out.size}`,
      bytes: 4 * (s.inputs.reduce((t, x) => t + x.size, 0) + s.out.size * (/out\[i\]/.test(s.expr) ? 2 : 1)),
    },
  });
}
