/**
 * LayerNorm (PyTorch's `nn.LayerNorm`, biased variance) and RMSNorm (LLaMA's `LlamaRMSNorm`:
 * `x · rsqrt(mean(x²) + eps) · w`, no mean, no bias) over the last axis, forward and backward.
 * One invocation per row (the row's loops stay under LOOP_CAP up to ~20,000 features); the weight
 * and bias gradients are column sums, one invocation per column looping over the rows in order, so
 * they are deterministic (no atomics).
 * @module
 */
import { requireDtype, requireShape } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

/** Which normalisation: `layer` (LayerNorm) or `rms` (RMSNorm). */
export type NormKind = "layer" | "rms";

/** What {@link norm} returns: the output and the per-row statistics backward needs. */
export interface NormResult {
  /** Normalised output, the input's shape. */
  y: Tensor;
  /** (rows, 2): mean (0 for RMSNorm) and 1/σ of each row. */
  stats: Tensor;
}

// The row's mean (LayerNorm only) and 1/sqrt(var + eps), two passes for accuracy.
const FWD = (rms: boolean, bias: boolean) =>
  `struct P { groups: u32, R: u32, D: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
${bias ? "@group(0) @binding(3) var<storage, read> b: array<f32>;" : ""}
@group(0) @binding(${bias ? 4 : 3}) var<storage, read_write> y: array<f32>;
@group(0) @binding(${bias ? 5 : 4}) var<storage, read_write> stats: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let r = wid * 64u + li;
  if (r >= p.R) { return; }
  let o = r * p.D;
  var mean = 0.0;
  ${
    rms ? "" : `for (var d = 0u; d < p.D; d++) { mean += x[o + d]; }
  mean = mean / f32(p.D);`
  }
  var v = 0.0;
  for (var d = 0u; d < p.D; d++) { let c = x[o + d] - mean; v += c * c; }
  let rstd = inverseSqrt(v / f32(p.D) + p.eps);
  for (var d = 0u; d < p.D; d++) {
    y[o + d] = (x[o + d] - mean) * rstd * w[d]${bias ? " + b[d]" : ""};
  }
  stats[2u * r] = mean;
  stats[2u * r + 1u] = rstd;
}`;

// dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)) with g = dy · w (LayerNorm); RMSNorm drops mean(g).
const BWD_X = (rms: boolean) =>
  `struct P { groups: u32, R: u32, D: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let r = wid * 64u + li;
  if (r >= p.R) { return; }
  let o = r * p.D;
  let mean = stats[2u * r];
  let rstd = stats[2u * r + 1u];
  var sg = 0.0; var sgx = 0.0;
  for (var d = 0u; d < p.D; d++) {
    let g = dy[o + d] * w[d];
    sg += g;
    sgx += g * (x[o + d] - mean) * rstd;
  }
  let mg = ${rms ? "0.0" : "sg / f32(p.D)"};
  let mgx = sgx / f32(p.D);
  for (var d = 0u; d < p.D; d++) {
    let xh = (x[o + d] - mean) * rstd;
    dx[o + d] = rstd * (dy[o + d] * w[d] - mg - xh * mgx);
  }
}`;

// dw[d] = Σ_r dy·x̂, db[d] = Σ_r dy: one invocation per column, rows in order (deterministic).
const BWD_W = (bias: boolean) =>
  `struct P { groups: u32, R: u32, D: u32, r0: u32, r1: u32, first: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;
${bias ? "@group(0) @binding(5) var<storage, read_write> db: array<f32>;" : ""}
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let d = wid * 64u + li;
  if (d >= p.D) { return; }
  var sw = select(dw[d], 0.0, p.first == 1u);
  ${bias ? "var sb = select(db[d], 0.0, p.first == 1u);" : ""}
  for (var r = p.r0; r < p.r1; r++) {
    let g = dy[r * p.D + d];
    sw += g * (x[r * p.D + d] - stats[2u * r]) * stats[2u * r + 1u];
    ${bias ? "sb += g;" : ""}
  }
  dw[d] = sw;
  ${bias ? "db[d] = sb;" : ""}
}`;

function rowsOf(op: string, x: Tensor, D: number): number {
  requireDtype(op, "x", x);
  if (x.shape[x.shape.length - 1] !== D) {
    throw new TypeError(
      `${op}: expected the last axis of x to be ${D} (the weight's size), got ${fmtShape(x.shape)}`,
    );
  }
  if (3 * D > LOOP_CAP) {
    throw new RangeError(`${op}: ${D} features are more than the supported ${Math.floor(LOOP_CAP / 3)}`);
  }
  return x.size / D;
}

/**
 * Records LayerNorm or RMSNorm over the last axis.
 * @param rec The recorder.
 * @param kind `layer` or `rms`.
 * @param x Input (…, D).
 * @param weight (D).
 * @param bias (D), LayerNorm only (null for none).
 * @param eps Added to the variance (mean square).
 * @param op The layer's name for errors.
 * @returns Output and per-row statistics.
 */
export function norm(
  rec: Recorder,
  kind: NormKind,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  eps: number,
  op = `${kind}norm`,
): NormResult {
  const D = weight.size;
  const R = rowsOf(op, x, D);
  requireShape(op, "weight", weight, [D]);
  if (bias) requireShape(op, "bias", bias, [D]);
  if (bias && kind === "rms") throw new TypeError(`${op}: RMSNorm has no bias`);
  const y = new Tensor(rec.gpu, x.shape, "f32", `${op}.out`);
  const stats = new Tensor(rec.gpu, [R, 2], "f32", `${op}.stats`);
  rec.dispatch({
    op: `${op} x=${fmtShape(x.shape)}`,
    kernel: `${kind}norm${bias ? "_bias" : ""}`,
    code: FWD(kind === "rms", !!bias),
    groups: Math.ceil(R / 64),
    params: params(R, D, { f: eps }),
    tensors: bias ? [x, weight, bias, y, stats] : [x, weight, y, stats],
    work: { kind: `${kind}norm fwd`, shape: `${R}×${D}`, bytes: 4 * 3 * R * D },
  });
  return { y, stats };
}

/**
 * Records the backward of {@link norm}.
 * @param rec The recorder.
 * @param kind `layer` or `rms`.
 * @param x The forward input (…, D).
 * @param weight (D).
 * @param stats The forward's statistics.
 * @param dy Gradient of the output.
 * @param withBias Also return the bias gradient.
 * @param op The layer's name for errors.
 * @returns dx, dweight, dbias (or null).
 */
export function normBackward(
  rec: Recorder,
  kind: NormKind,
  x: Tensor,
  weight: Tensor,
  stats: Tensor,
  dy: Tensor,
  withBias: boolean,
  op = `${kind}norm`,
): { dx: Tensor; dw: Tensor; db: Tensor | null } {
  const D = weight.size;
  const R = rowsOf(`${op} backward`, x, D);
  requireShape(`${op} backward`, "dy", dy, x.shape);
  requireShape(`${op} backward`, "stats", stats, [R, 2]);
  const dx = new Tensor(rec.gpu, x.shape, "f32", `${op}.dx`);
  rec.dispatch({
    op: `${op} backward x=${fmtShape(x.shape)}`,
    kernel: `${kind}norm_bwd_x`,
    code: BWD_X(kind === "rms"),
    groups: Math.ceil(R / 64),
    params: params(R, D),
    tensors: [x, weight, dy, stats, dx],
    work: { kind: `${kind}norm bwd`, shape: `${R}×${D}`, bytes: 4 * 5 * R * D },
  });
  const dw = new Tensor(rec.gpu, [D], "f32", `${op}.dweight`);
  const db = withBias ? new Tensor(rec.gpu, [D], "f32", `${op}.dbias`) : null;
  // Rows per pass: each invocation loops over them, within the loop cap.
  const chunk = LOOP_CAP - 100;
  for (let r0 = 0; r0 < R; r0 += chunk) {
    rec.dispatch({
      op: `${op} backward (weight) x=${fmtShape(x.shape)}`,
      kernel: `${kind}norm_bwd_w${withBias ? "_bias" : ""}`,
      code: BWD_W(withBias),
      groups: Math.ceil(D / 64),
      params: params(R, D, r0, Math.min(R, r0 + chunk), r0 === 0 ? 1 : 0),
      tensors: db ? [x, dy, stats, dw, db] : [x, dy, stats, dw],
      work: { kind: `${kind}norm bwd-w`, shape: `${R}×${D}`, bytes: 4 * 2 * R * D },
    });
  }
  return { dx, dw, db };
}
