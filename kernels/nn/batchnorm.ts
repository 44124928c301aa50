/**
 * BatchNorm2d (NCHW) forward in train and eval mode, and backward — PyTorch's semantics: batch
 * statistics with the biased variance for normalising, running statistics updated with
 * `momentum` (default 0.1) using the unbiased variance, `eps` 1e-5, optional affine γ/β.
 * Per-channel statistics are two-pass (mean, then Σ(x − mean)²) in one workgroup per channel
 * (256 lanes, or 64 for channels of few values); the element-wise parts run one workgroup per block
 * of an (n, c) plane, so no lane divides. Planes of a multiple of 4 values are read and written
 * as vec4s.
 * @module
 */
import { requireDtype, requireRank, requireShape } from "../runtime/checks.ts";
import { recordMap } from "../ops/map.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";
import { placeholder } from "../runtime/placeholder.ts";

// Sums v over channel c's m = N·HW elements into red[0] (pairwise: per-thread partial, then a tree
// walked by one invocation after one barrier). Nested loops over (n, hw): no integer division per
// element (software adapters scalarise it).
// Planes smaller than the workgroup (HW < WG: ResNet's late stages, 4×4 to 8×8) are covered by
// several rows of lanes at once — lane t takes pixel t % HW of planes t / HW, t / HW + rows, … —
// instead of leaving WG − HW lanes idle.
// With vec4 loads (V = 4: planes of a multiple of 4, the usual case) `HW` counts vec4s and `expr`
// reduces one vec4 to a float; software adapters then move 4 values per scalarised load.
const CHANNEL_SUM = (name: string, expr: string, WG: number, T = "f32") => `
fn ${name}(c: u32, t: u32) -> ${T} {
  var s = ${T}(0.0);
  if (p.HW >= ${WG}u) {
    for (var n = 0u; n < p.N; n++) {
      let base = (n * p.C + c) * p.HW;
      for (var h = t; h < p.HW; h += ${WG}u) {
        let i = base + h;
        s += ${expr};
      }
    }
  } else {
    let rows = ${WG}u / p.HW;
    let h = t % p.HW;
    if (t < rows * p.HW) {
      for (var n = t / p.HW; n < p.N; n += rows) {
        let i = (n * p.C + c) * p.HW + h;
        s += ${expr};
      }
    }
  }
  red[t] = s;
  workgroupBarrier();
  if (t == 0u) {
    for (var k = ${WG / 2}u; k > 0u; k >>= 1u) { for (var j = 0u; j < k; j++) { red[j] += red[j + k]; } }
  }
  return workgroupUniformLoad(&red[0]);
}`;

const V4_SUM = "fn hsum(v: vec4f) -> f32 { return (v.x + v.y) + (v.z + v.w); }";
const elem = (V: number) => (V === 4 ? "vec4f" : "f32");

// p.HW counts units of V; m = N·HW·V values per channel.
const STATS = (V: number, WG: number) =>
  `struct P { groups: u32, N: u32, C: u32, HW: u32, eps: f32, momentum: f32, track: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<${elem(V)}>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>; // (C, 2): mean, invstd
@group(0) @binding(3) var<storage, read_write> running: array<f32>; // (2, C): mean, var
var<workgroup> red: array<f32, ${WG}>;
var<workgroup> meanw: f32;
${V === 4 ? V4_SUM : ""}
${CHANNEL_SUM("total", V === 4 ? "hsum(x[i])" : "x[i]", WG)}
${CHANNEL_SUM("sqdev", V === 4 ? "dot(x[i] - meanw, x[i] - meanw)" : "(x[i] - meanw) * (x[i] - meanw)", WG)}
@compute @workgroup_size(${WG})
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let c = wid;
  let m = f32(p.N * p.HW * ${V}u);
  let mean = total(c, t) / m;
  if (t == 0u) { meanw = mean; }
  workgroupBarrier();
  let v = sqdev(c, t) / m;
  if (t == 0u) {
    stats[2u * c] = mean;
    stats[2u * c + 1u] = inverseSqrt(v + p.eps);
    if (p.track == 1u) {
      running[c] = (1.0 - p.momentum) * running[c] + p.momentum * mean;
      let unbiased = select(v, v * m / (m - 1.0), m > 1.0);
      running[p.C + c] = (1.0 - p.momentum) * running[p.C + c] + p.momentum * unbiased;
    }
  }
}`;

// With `relu` (BatchNorm fused with the ReLU after it) dy counts only where the forward's output
// x·ra + rb was positive, recomputed from x and the channel's coefficients. As in relu.ts, NaN
// stays NaN: the forward keeps it (select, not max, which may drop it), the backward passes dy.
const RELU_COEFFS = `var ra = stats[2u * c + 1u]; var rb = -stats[2u * c] * ra;
  if (p.affine == 1u) { ra *= w[c]; rb = rb * w[c] + bias[c]; }`;
const maskedDy = (V: number, relu: boolean) =>
  relu ? `select(dy[i], ${elem(V)}(0.0), x[i] * ra + rb <= ${elem(V)}(0.0))` : "dy[i]";

const GRAD_SUMS = (V: number, WG: number, relu: boolean) =>
  `struct P { groups: u32, N: u32, C: u32, HW: u32, affine: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<${elem(V)}>;
@group(0) @binding(2) var<storage, read> dy: array<${elem(V)}>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> sums: array<f32>; // (C, 2): Σdy, Σdy·x̂
${
    relu
      ? `@group(0) @binding(5) var<storage, read> w: array<f32>;
@group(0) @binding(6) var<storage, read> bias: array<f32>;`
      : ""
  }
var<workgroup> red: array<vec2f, ${WG}>;
var<private> mean: f32;
var<private> inv: f32;
var<private> ra: f32;
var<private> rb: f32;
${V === 4 ? V4_SUM : ""}
fn term(i: u32) -> vec2f {
  let g = ${maskedDy(V, relu)};
  return ${V === 4 ? "vec2f(hsum(g), dot(g, x[i] - mean) * inv)" : "vec2f(g, g * (x[i] - mean) * inv)"};
}
// Both sums in one pass over (n, hw).
${CHANNEL_SUM("gsum", "term(i)", WG, "vec2f")}
@compute @workgroup_size(${WG})
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let c = wid;
  mean = stats[2u * c]; inv = stats[2u * c + 1u];
  ${relu ? RELU_COEFFS.replace("var ra", "ra").replace("var rb", "rb") : ""}
  let s = gsum(c, t);
  if (t == 0u) { sums[2u * c] = s.x; sums[2u * c + 1u] = s.y; }
}`;

/** Lanes of the per-channel sums: 256, or 64 when a channel has few values (short trees). */
function sumLanes(N: number, HWunits: number): number {
  return N * HWunits >= 8192 ? 256 : 64;
}

// Per-channel affine maps over NCHW: each workgroup takes one block of one (n, c) plane, so the
// channel and its coefficients are uniform (no per-element division); lanes stride by 64 so
// neighbouring lanes touch neighbouring elements.
//   apply: y = x·a + b with a = invstd·γ, b = β − mean·a
//   dx:    dx = dy·a + x·b + k (see batchNormBackward)
const PLANE = 64;
const PLANE_HEAD = `struct P { groups: u32, C: u32, HW: u32, blocks: u32, per: u32, affine: u32, f: f32 }
@group(0) @binding(0) var<uniform> p: P;`;
// The workgroup's plane and channel, the channel's coefficients (`coeffs`), then `body` for every
// element of the block.
const PLANE_LOOP = (coeffs: string, body: string) => `
  if (p.per == 0u) {
    // Planes smaller than the workgroup (ResNet's 4×4 and 8×8 stages, 7×7): one element per lane over
    // the flat tensor (p.blocks counts them), the channel and its coefficients per lane.
    let i = wid * ${PLANE}u + lane;
    if (i < p.blocks) {
      let c = (i / p.HW) % p.C;
      ${coeffs}
      ${body}
    }
  } else {
    let plane = wid / p.blocks; let c = plane % p.C;
    ${coeffs}
    let start = plane * p.HW + (wid % p.blocks) * p.per * ${PLANE}u;
    let end = min(start + p.per * ${PLANE}u, (plane + 1u) * p.HW);
    for (var i = start + lane; i < end; i += ${PLANE}u) { ${body} }
  }`;
const APPLY = (V: number, relu: boolean) =>
  `${PLANE_HEAD}
@group(0) @binding(1) var<storage, read> x: array<${elem(V)}>;
@group(0) @binding(2) var<storage, read> stats: array<f32>; // (C, 2): mean, invstd
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<${elem(V)}>;
@compute @workgroup_size(${PLANE})
fn main(${WID_ARGS}, @builtin(local_invocation_index) lane: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  ${
    PLANE_LOOP(
      `var a = stats[2u * c + 1u]; var b = -stats[2u * c] * a;
  if (p.affine == 1u) { a *= w[c]; b = b * w[c] + bias[c]; }`,
      relu
        ? `let v = x[i] * a + b; y[i] = select(${elem(V)}(0.0), v, !(v <= ${elem(V)}(0.0)));`
        : "y[i] = x[i] * a + b;",
    )
  }
}`;
const DX = (V: number, relu: boolean) =>
  `${PLANE_HEAD}
@group(0) @binding(1) var<storage, read> x: array<${elem(V)}>;
@group(0) @binding(2) var<storage, read> dy: array<${elem(V)}>;
@group(0) @binding(3) var<storage, read> stats: array<f32>; // (C, 2): mean, invstd
@group(0) @binding(4) var<storage, read> sums: array<f32>; // (C, 2): Σdy, Σdy·x̂
@group(0) @binding(5) var<storage, read> w: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<${elem(V)}>;
${relu ? "@group(0) @binding(7) var<storage, read> bias: array<f32>;" : ""}
@compute @workgroup_size(${PLANE})
fn main(${WID_ARGS}, @builtin(local_invocation_index) lane: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  ${
    PLANE_LOOP(
      `let mean = stats[2u * c]; let inv = stats[2u * c + 1u];
  var g = inv;
  if (p.affine == 1u) { g *= w[c]; }
  // p.f = 1/m: dx = g·(dy − Σdy/m − x̂·Σ(dy·x̂)/m), x̂ = (x − mean)·inv.
  let s1 = sums[2u * c] * p.f; let s2 = sums[2u * c + 1u] * p.f;
  let a = g; let b = -g * inv * s2; let k = g * (mean * inv * s2 - s1);
  ${relu ? RELU_COEFFS : ""}`,
      `dx[i] = ${maskedDy(V, relu)} * a + x[i] * b + k;`,
    )
  }
}`;

/** A BatchNorm's shape as step profiles show it. */
function bnShape([N, C, HW]: [number, number, number]): string {
  return `${N}×${C}×${HW}`;
}

/** Values per load: 4 for planes of a multiple of 4 values, else 1. */
function vecWidth(HW: number): number {
  return HW % 4 === 0 ? 4 : 1;
}

/** Records a per-plane kernel over x's (N, C, HW) layout. */
function planeDispatch(
  rec: Recorder,
  op: string,
  kernel: string,
  code: (V: number, relu: boolean) => string,
  relu: boolean,
  dims: [number, number, number],
  affine: boolean,
  f: number,
  tensors: Tensor[],
): void {
  const [N, C, HWv] = dims, V = vecWidth(HWv), HW = HWv / V;
  const flat = HW < PLANE, total = N * C * HW;
  const per = flat ? 0 : Math.min(8, Math.ceil(HW / PLANE)),
    blocks = flat ? total : Math.ceil(HW / (per * PLANE));
  const dx = kernel === "batchnorm_dx";
  rec.dispatch({
    op,
    kernel: `${kernel}${V}${relu ? "_relu" : ""}`,
    code: code(V, relu),
    // apply: x → y; dx: x, dy → dx.
    work: {
      kind: `batchnorm${relu ? "+relu" : ""} ${dx ? "bwd dx" : "fwd apply"}`,
      shape: bnShape(dims),
      bytes: (dx ? 12 : 8) * N * C * HWv,
    },
    groups: flat ? Math.ceil(total / PLANE) : N * C * blocks,
    params: params(C, HW, blocks, per, affine ? 1 : 0, { f }),
    tensors,
  });
}

/** BatchNorm parameters and buffers (PyTorch names). */
export interface BatchNormState {
  /** γ (C), or null when not affine. */
  weight: Tensor | null;
  /** β (C), or null when not affine. */
  bias: Tensor | null;
  /** Running mean and variance, (2, C): row 0 `running_mean`, row 1 `running_var`. */
  running: Tensor;
  /** Momentum of the running statistics (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /**
   * Apply `max(·, 0)` to the output: BatchNorm fused with the ReLU after it (one pass instead of
   * two). Its backward must then be told too ({@link BatchNormBackwardOptions}).
   */
  relu?: boolean;
}

/** Options of {@link batchNormBackward} for a forward that had `relu` set. */
export interface BatchNormBackwardOptions {
  /**
   * The forward was fused with a ReLU: dy counts only where the output was positive (recomputed
   * from x, the saved statistics, γ and this β), so dy is the gradient of the ReLU's output.
   */
  relu?: { bias: Tensor | null };
}

function check(op: string, x: Tensor, s: BatchNormState): [number, number, number] {
  requireDtype(op, "x", x);
  requireRank(op, "x", x, 4, 2);
  const [N, C] = x.shape, HW = x.shape.length === 4 ? x.shape[2] * x.shape[3] : 1;
  requireShape(op, "running", s.running, [2, C]);
  if (s.weight) requireShape(op, "weight", s.weight, [C]);
  if (s.bias) requireShape(op, "bias", s.bias, [C]);
  return [N, C, HW];
}

/**
 * Records BatchNorm forward. Train mode normalises with batch statistics, updates the running
 * ones, and returns the (mean, invstd) per channel that backward needs; eval mode uses the
 * running statistics.
 * @param rec The recorder.
 * @param x Input (N, C, H, W) or (N, C).
 * @param s Parameters and buffers.
 * @param train Train (true) or eval mode.
 * @param op The layer's name for errors.
 * @returns The output and, in train mode, the saved statistics (C, 2).
 */
export function batchNorm(
  rec: Recorder,
  x: Tensor,
  s: BatchNormState,
  train: boolean,
  op = "batchnorm",
): { y: Tensor; saved: Tensor | null } {
  const [N, C, HW] = check(op, x, s);
  const eps = s.eps ?? 1e-5;
  const y = new Tensor(rec.gpu, x.shape, "f32", `${op}.out`);
  let stats: Tensor;
  let saved: Tensor | null = null;
  if (train) {
    if (N * HW < 2) {
      throw new RangeError(
        `${op}: expected more than 1 value per channel when training, got input of shape ${
          fmtShape(x.shape)
        }`,
      );
    }
    saved = stats = new Tensor(rec.gpu, [C, 2], "f32", `${op}.saved`);
    rec.dispatch({
      op,
      kernel: `batchnorm_stats${vecWidth(HW)}_${sumLanes(N, HW / vecWidth(HW))}`,
      code: STATS(vecWidth(HW), sumLanes(N, HW / vecWidth(HW))),
      work: { kind: "batchnorm fwd stats", shape: bnShape([N, C, HW]), bytes: 4 * N * C * HW },
      groups: C,
      params: params(N, C, HW / vecWidth(HW), { f: eps }, { f: s.momentum ?? 0.1 }, 1),
      tensors: [x, stats, s.running],
    });
  } else {
    // (mean, invstd) from the running statistics.
    stats = new Tensor(rec.gpu, [C, 2], "f32", `${op}.eval`);
    recordMap(rec, {
      op,
      kernel: "batchnorm_eval_stats",
      expr: "select(inverseSqrt(x0[p.u0 + i / 2u] + p.s0), x0[i / 2u], i % 2u == 0u)",
      inputs: [s.running],
      out: stats,
      scalars: [eps],
      ints: [C],
      vec: false,
    });
    rec.after(() => stats.release());
  }
  const affine = s.weight !== null;
  planeDispatch(rec, op, "batchnorm_apply", APPLY, s.relu ?? false, [N, C, HW], affine, 0, [
    x,
    stats,
    s.weight ?? placeholder(rec.gpu),
    s.bias ?? placeholder(rec.gpu),
    y,
  ]);
  return { y, saved };
}

/**
 * Records BatchNorm's train-mode backward.
 * @param rec The recorder.
 * @param x The forward input.
 * @param dy Gradient of the output.
 * @param saved The (mean, invstd) the forward returned.
 * @param weight γ, or null when not affine.
 * @param op The layer's name for errors.
 * @param options `relu` when the forward was fused with a ReLU.
 * @returns dx, and dγ, dβ when affine.
 */
export function batchNormBackward(
  rec: Recorder,
  x: Tensor,
  dy: Tensor,
  saved: Tensor,
  weight: Tensor | null,
  op = "batchnorm",
  options: BatchNormBackwardOptions = {},
): { dx: Tensor; dweight: Tensor | null; dbias: Tensor | null } {
  const relu = options.relu !== undefined;
  const reluTensors = relu
    ? [weight ?? placeholder(rec.gpu), options.relu!.bias ?? placeholder(rec.gpu)]
    : [];
  requireShape(`${op} backward`, "dy", dy, x.shape);
  const [N, C] = x.shape, HW = x.shape.length === 4 ? x.shape[2] * x.shape[3] : 1;
  const sums = new Tensor(rec.gpu, [C, 2], "f32", `${op}.gradsums`);
  rec.dispatch({
    op: `${op} backward`,
    kernel: `batchnorm_grad_sums${vecWidth(HW)}_${sumLanes(N, HW / vecWidth(HW))}${relu ? "_relu" : ""}`,
    code: GRAD_SUMS(vecWidth(HW), sumLanes(N, HW / vecWidth(HW)), relu),
    work: {
      kind: `batchnorm${relu ? "+relu" : ""} bwd sums`,
      shape: bnShape([N, C, HW]),
      bytes: 8 * N * C * HW,
    },
    groups: C,
    params: params(N, C, HW / vecWidth(HW), weight !== null ? 1 : 0),
    tensors: [x, dy, saved, sums, ...reluTensors],
  });
  // dx = γ·invstd/m · (m·dy − Σdy − x̂·Σ(dy·x̂)), x̂ = (x − mean)·invstd.
  const dx = new Tensor(rec.gpu, x.shape, "f32", `${op}.dx`);
  planeDispatch(rec, `${op} backward`, "batchnorm_dx", DX, relu, [N, C, HW], weight !== null, 1 / (N * HW), [
    x,
    dy,
    saved,
    sums,
    weight ?? placeholder(rec.gpu),
    dx,
    ...(relu ? [options.relu!.bias ?? placeholder(rec.gpu)] : []),
  ]);
  let dweight: Tensor | null = null, dbias: Tensor | null = null;
  if (weight) {
    dweight = new Tensor(rec.gpu, [C], "f32", `${op}.dweight`);
    dbias = new Tensor(rec.gpu, [C], "f32", `${op}.dbias`);
    recordMap(rec, {
      op,
      kernel: "batchnorm_dweight",
      expr: "x0[2u * i + 1u]",
      inputs: [sums],
      out: dweight,
      vec: false,
    });
    recordMap(rec, {
      op,
      kernel: "batchnorm_dbias",
      expr: "x0[2u * i]",
      inputs: [sums],
      out: dbias,
      vec: false,
    });
  }
  rec.after(() => sums.release());
  return { dx, dweight, dbias };
}
