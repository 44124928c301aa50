/**
 * Moving between a Transformer's token-major activations (B, T, parts·H·hd) — what a projection
 * writes — and head-major blocks (B·H, T, hd) that attention multiplies per head:
 * {@link splitHeads} takes one part (q, k or v of a fused `c_attn`, or a whole `q_proj` output),
 * {@link mergeHeads} interleaves head-major blocks back into token-major rows (attention's output
 * before `o_proj`, or dq/dk/dv into d(c_attn)).
 * @module
 */
import { requireDtype, requireRank } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

const SPLIT = `struct P { groups: u32, n: u32, T: u32, H: u32, hd: u32, W: u32, col: u32, g: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 256u + li;
  if (i >= p.n) { return; }
  // y[(b·H + h), t, e] = x[b, t, col + (h / g)·hd + e]
  let e = i % p.hd;
  let t = (i / p.hd) % p.T;
  let bh = i / (p.hd * p.T);
  let h = bh % p.H;
  let b = bh / p.H;
  y[i] = x[(b * p.T + t) * p.W + p.col + (h / p.g) * p.hd + e];
}`;

const MERGE = (parts: number) =>
  `struct P { groups: u32, n: u32, T: u32, H: u32, hd: u32 }
@group(0) @binding(0) var<uniform> p: P;
${
    Array.from(
      { length: parts },
      (_, k) => `@group(0) @binding(${k + 1}) var<storage, read> x${k}: array<f32>;`,
    ).join("\n")
  }
@group(0) @binding(${parts + 1}) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 256u + li;
  if (i >= p.n) { return; }
  // y[b, t, s·D + h·hd + e] = x_s[(b·H + h), t, e], D = H·hd
  let D = p.H * p.hd;
  let c = i % (${parts}u * D);
  let bt = i / (${parts}u * D);
  let s = c / D;
  let h = (c % D) / p.hd;
  let e = c % p.hd;
  let src = ((bt / p.T) * p.H + h) * p.T * p.hd + (bt % p.T) * p.hd + e;
  ${
    Array.from({ length: parts }, (_, k) => `${k ? "else " : ""}if (s == ${k}u) { y[i] = x${k}[src]; }`).join(
      "\n  ",
    )
  }
}`;

/**
 * Records one part's heads out of token-major rows: `y[b·H + h, t, e] = x[b, t, col + ⌊h/g⌋·hd + e]`.
 * With `group` g > 1 the rows hold H/g heads, each repeated for g consecutive heads (grouped-query
 * attention's keys and values).
 * @param rec The recorder.
 * @param x (B, T, W) with W ≥ col + (H/g)·hd.
 * @param heads H.
 * @param headDim hd.
 * @param col First column of the part (0, D or 2D in a fused qkv).
 * @param group g, dividing H (default 1).
 * @returns (B·H, T, hd).
 */
export function splitHeads(
  rec: Recorder,
  x: Tensor,
  heads: number,
  headDim: number,
  col = 0,
  group = 1,
): Tensor {
  const op = `splitHeads x=${fmtShape(x.shape)} heads=${heads}${group > 1 ? ` group=${group}` : ""}`;
  requireDtype(op, "x", x);
  requireRank(op, "x", x, 3);
  const [B, T, W] = x.shape;
  if (!(Number.isInteger(group) && group >= 1 && heads % group === 0)) {
    throw new RangeError(`${op}: the group ${group} must divide the ${heads} heads`);
  }
  if (col + (heads / group) * headDim > W) {
    throw new RangeError(
      `${op}: columns ${col}…${col + (heads / group) * headDim} are outside the rows' ${W}`,
    );
  }
  const y = new Tensor(rec.gpu, [B * heads, T, headDim], "f32", "heads");
  rec.dispatch({
    op,
    kernel: "split_heads",
    code: SPLIT,
    groups: Math.ceil(y.size / 256),
    params: params(y.size, T, heads, headDim, W, col, group),
    tensors: [x, y],
    work: { kind: "split heads", shape: `${B}×${T}×${heads}×${headDim}`, bytes: 8 * y.size },
  });
  return y;
}

/**
 * Records the inverse: head-major parts (each (B·H, T, hd)) interleaved into (B, T, parts·H·hd).
 * @param rec The recorder.
 * @param parts One to three tensors of the same shape (B·H, T, hd).
 * @param batch B.
 * @returns (B, T, parts·H·hd).
 */
export function mergeHeads(rec: Recorder, parts: Tensor[], batch: number): Tensor {
  const op = `mergeHeads parts=${parts.length}×${fmtShape(parts[0]?.shape ?? [])}`;
  if (parts.length < 1 || parts.length > 3) throw new RangeError(`${op}: expected 1 to 3 parts`);
  for (const t of parts) {
    requireDtype(op, "part", t);
    requireRank(op, "part", t, 3);
    if (t.shape.some((d, i) => d !== parts[0].shape[i])) {
      throw new TypeError(`${op}: parts differ in shape (${fmtShape(t.shape)})`);
    }
  }
  const [BH, T, hd] = parts[0].shape;
  if (BH % batch) throw new RangeError(`${op}: ${BH} head blocks do not divide into a batch of ${batch}`);
  const H = BH / batch;
  const y = new Tensor(rec.gpu, [batch, T, parts.length * H * hd], "f32", "merged_heads");
  rec.dispatch({
    op,
    kernel: `merge_heads_${parts.length}`,
    code: MERGE(parts.length),
    groups: Math.ceil(y.size / 256),
    params: params(y.size, T, H, hd),
    tensors: [...parts, y],
    work: { kind: "merge heads", shape: `${batch}×${T}×${parts.length}×${H}×${hd}`, bytes: 8 * y.size },
  });
  return y;
}

const GROUP_SUM = `struct P { groups: u32, n: u32, g: u32, blk: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 256u + li;
  if (i >= p.n) { return; }
  // y[k, r] = Σ_j x[k·g + j, r], r within a head block of T·hd
  let k = i / p.blk;
  let r = i % p.blk;
  var s = 0.0;
  for (var j = 0u; j < p.g; j++) { s += x[(k * p.g + j) * p.blk + r]; }
  y[i] = s;
}`;

/**
 * Records the backward of a grouped {@link splitHeads}: the gradients of the g copies of each
 * key/value head summed, in order: (B·H, T, hd) → (B·H/g, T, hd).
 * @param rec The recorder.
 * @param x (B·H, T, hd).
 * @param group g.
 * @returns (B·H/g, T, hd).
 */
export function sumHeadGroups(rec: Recorder, x: Tensor, group: number): Tensor {
  const op = `sumHeadGroups x=${fmtShape(x.shape)} group=${group}`;
  requireDtype(op, "x", x);
  requireRank(op, "x", x, 3);
  const [BH, T, hd] = x.shape;
  if (BH % group) throw new RangeError(`${op}: ${BH} head blocks are not a multiple of the group ${group}`);
  const y = new Tensor(rec.gpu, [BH / group, T, hd], "f32", "head_groups");
  rec.dispatch({
    op,
    kernel: "sum_head_groups",
    code: GROUP_SUM,
    groups: Math.ceil(y.size / 256),
    params: params(y.size, group, T * hd),
    tensors: [x, y],
    work: { kind: "sum head groups", shape: `${BH}×${T}×${hd}`, bytes: 4 * (x.size + y.size) },
  });
  return y;
}
