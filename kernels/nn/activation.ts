/**
 * Activations, forward and backward: tanh (PDEBench's UNet), GELU (`gelu_new`/`gelu_pytorch_tanh`: the tanh
 * form GPT-2 uses; `gelu`: the exact erf form), SiLU, and SwiGLU (`silu(gate) · up`, LLaMA's MLP).
 * Element-wise, four elements per invocation when the size allows (vec4 loads double throughput on
 * software adapters). NOTE: tanh and the sigmoid are written with `exp` in forms that saturate to
 * ±1 and 0/1 instead of overflowing to NaN for large inputs.
 * @module
 */
import { requireDtype, requireShape } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

/** The GELU forms: `gelu_new` and `gelu_pytorch_tanh` (tanh approximation), `gelu` (erf, exact). */
export type GeluKind = "gelu_new" | "gelu_pytorch_tanh" | "gelu";

/** The activations Hugging Face configs name that we run. */
export const ACTIVATIONS: readonly string[] = ["gelu_new", "gelu_pytorch_tanh", "gelu", "silu", "tanh"];

// Helpers on T (f32 or vec4<f32>).
const PRELUDE = `fn tanh_s(u: T) -> T { return T(1.0) - T(2.0) / (exp(T(2.0) * u) + T(1.0)); }
fn sigm(u: T) -> T { return T(1.0) / (T(1.0) + exp(-u)); }
// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
fn erf_a(x: T) -> T {
  let a = abs(x);
  let t = T(1.0) / (T(1.0) + T(0.3275911) * a);
  let y = T(1.0) - (((((T(1.061405429) * t - T(1.453152027)) * t) + T(1.421413741)) * t - T(0.284496736)) * t + T(0.254829592)) * t * exp(-a * a);
  return sign(x) * y;
}
const C0: f32 = 0.7978845608028654; // sqrt(2/pi)
const A0: f32 = 0.044715;
const ISQ2: f32 = 0.7071067811865476;
const IS2PI: f32 = 0.3989422804014327;`;

const EXPR: Record<string, string> = {
  gelu_new: "T(0.5) * x0[i] * (T(1.0) + tanh_s(T(C0) * (x0[i] + T(A0) * x0[i] * x0[i] * x0[i])))",
  gelu: "T(0.5) * x0[i] * (T(1.0) + erf_a(x0[i] * T(ISQ2)))",
  silu: "x0[i] * sigm(x0[i])",
  tanh: "tanh_s(x0[i])",
  swiglu: "x0[i] * sigm(x0[i]) * x1[i]",
  // Backward: x0 = dy, x1 = x.
  gelu_new_bwd: `T(0.5) * (T(1.0) + tanh_s(T(C0) * (x1[i] + T(A0) * x1[i] * x1[i] * x1[i])))
    + T(0.5) * x1[i] * (T(1.0) - tanh_s(T(C0) * (x1[i] + T(A0) * x1[i] * x1[i] * x1[i])) * tanh_s(T(C0) * (x1[i] + T(A0) * x1[i] * x1[i] * x1[i])))
      * T(C0) * (T(1.0) + T(3.0 * A0) * x1[i] * x1[i])`,
  gelu_bwd: "T(0.5) * (T(1.0) + erf_a(x1[i] * T(ISQ2))) + x1[i] * T(IS2PI) * exp(T(-0.5) * x1[i] * x1[i])",
  silu_bwd: "sigm(x1[i]) * (T(1.0) + x1[i] * (T(1.0) - sigm(x1[i])))",
  tanh_bwd: "T(1.0) - tanh_s(x1[i]) * tanh_s(x1[i])",
};

function run(rec: Recorder, op: string, kernel: string, expr: string, inputs: Tensor[], out: Tensor): void {
  const vec = out.size % 4 === 0;
  const n = vec ? out.size / 4 : out.size;
  const decl = inputs.map((_, k) => `@group(0) @binding(${k + 1}) var<storage, read> x${k}: array<T>;`);
  rec.dispatch({
    op,
    kernel: `${kernel}${vec ? "_vec4" : ""}`,
    code: `alias T = ${vec ? "vec4<f32>" : "f32"};
${PRELUDE}
struct P { groups: u32, n: u32 }
@group(0) @binding(0) var<uniform> p: P;
${decl.join("\n")}
@group(0) @binding(${inputs.length + 1}) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 256u + li;
  if (i >= p.n) { return; }
  out[i] = ${expr};
}`,
    groups: Math.ceil(n / 256),
    params: params(n),
    tensors: [...inputs, out],
    work: { kind: kernel, shape: `${out.size}`, bytes: 4 * out.size * (inputs.length + 1) },
  });
}

function kindOf(op: string, kind: string): string {
  if (kind === "gelu_pytorch_tanh") return "gelu_new";
  if (!EXPR[kind] || kind === "swiglu") {
    throw new RangeError(`${op}: unknown activation "${kind}": expected one of ${ACTIVATIONS.join(", ")}`);
  }
  return kind;
}

/**
 * Records an activation.
 * @param rec The recorder.
 * @param kind `gelu_new`, `gelu_pytorch_tanh`, `gelu`, `silu` or `tanh`.
 * @param x Input.
 * @returns The activations.
 */
export function activation(rec: Recorder, kind: GeluKind | "silu" | "tanh", x: Tensor): Tensor {
  const op = `${kind} x=${fmtShape(x.shape)}`;
  requireDtype(op, "x", x);
  const k = kindOf(op, kind);
  const y = new Tensor(rec.gpu, x.shape, "f32", `${kind}.out`);
  run(rec, op, k, EXPR[k], [x], y);
  return y;
}

/**
 * Records an activation's backward: `dx = dy · f'(x)`.
 * @param rec The recorder.
 * @param kind As in {@link activation}.
 * @param dy Gradient of the output.
 * @param x The forward input.
 * @returns dx.
 */
export function activationBackward(
  rec: Recorder,
  kind: GeluKind | "silu" | "tanh",
  dy: Tensor,
  x: Tensor,
): Tensor {
  const op = `${kind} backward x=${fmtShape(x.shape)}`;
  requireDtype(op, "dy", dy);
  requireShape(op, "dy", dy, x.shape);
  const k = kindOf(op, kind);
  const dx = new Tensor(rec.gpu, x.shape, "f32", `${kind}.dx`);
  run(rec, op, `${k}_bwd`, `x0[i] * (${EXPR[`${k}_bwd`]})`, [dy, x], dx);
  return dx;
}

/**
 * Records SwiGLU, `silu(gate) · up` (LLaMA's MLP before `down_proj`).
 * @param rec The recorder.
 * @param gate `gate_proj`'s output.
 * @param up `up_proj`'s output, same shape.
 * @returns The product.
 */
export function swiglu(rec: Recorder, gate: Tensor, up: Tensor): Tensor {
  const op = `swiglu gate=${fmtShape(gate.shape)}`;
  requireDtype(op, "gate", gate);
  requireShape(op, "up", up, gate.shape);
  const y = new Tensor(rec.gpu, gate.shape, "f32", "swiglu.out");
  run(rec, op, "swiglu", EXPR.swiglu, [gate, up], y);
  return y;
}

/**
 * Records SwiGLU's backward.
 * @param rec The recorder.
 * @param dy Gradient of the output.
 * @param gate The forward's gate.
 * @param up The forward's up.
 * @returns d(gate) and d(up).
 */
export function swigluBackward(
  rec: Recorder,
  dy: Tensor,
  gate: Tensor,
  up: Tensor,
): { dgate: Tensor; dup: Tensor } {
  const op = `swiglu backward gate=${fmtShape(gate.shape)}`;
  requireShape(op, "dy", dy, gate.shape);
  requireShape(op, "up", up, gate.shape);
  const dgate = new Tensor(rec.gpu, gate.shape, "f32", "swiglu.dgate");
  const dup = new Tensor(rec.gpu, gate.shape, "f32", "swiglu.dup");
  // x0 = dy, x1 = gate, x2 = up.
  run(rec, op, "swiglu_bwd_gate", `x0[i] * x2[i] * (${EXPR.silu_bwd})`, [dy, gate, up], dgate);
  run(rec, op, "swiglu_bwd_up", "x0[i] * x1[i] * sigm(x1[i])", [dy, gate], dup);
  return { dgate, dup };
}
