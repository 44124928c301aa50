/**
 * Rotary position embedding as Hugging Face's LLaMA applies it (`rotate_half`): for head
 * dimension hd and i < hd/2, the pair (x[i], x[i + hd/2]) at position t is rotated by the angle
 * `t · θ^(−2i/hd)`. The cos/sin table is computed once in float64 on the CPU ({@link ropeTable}).
 * Backward is the inverse rotation.
 * Ref: Su et al., RoFormer (2021), https://arxiv.org/abs/2104.09864
 * @module
 */
import { requireDtype, requireRank } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor, upload } from "../runtime/tensor.ts";
import type { Gpu } from "../runtime/runtime.ts";

/**
 * Uploads the (positions, hd) table: cos of each angle in the first hd/2 columns, sin in the rest.
 * @param gpu The GPU.
 * @param positions Rows (the longest sequence).
 * @param headDim hd (even).
 * @param theta The base (`rope_theta`, 10000 in LLaMA 1/2).
 * @returns The table.
 */
export function ropeTable(gpu: Gpu, positions: number, headDim: number, theta: number): Tensor {
  if (headDim % 2) throw new RangeError(`Rotary embeddings need an even head dimension, got ${headDim}`);
  const h = headDim / 2;
  const t = new Float32Array(positions * headDim);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < h; i++) {
      const a = p * Math.pow(theta, -(2 * i) / headDim);
      t[p * headDim + i] = Math.cos(a);
      t[p * headDim + h + i] = Math.sin(a);
    }
  }
  return upload(gpu, t, [positions, headDim], "f32", "rope_table");
}

const CODE = `struct P { groups: u32, n: u32, T: u32, hd: u32, sgn: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> tab: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let j = wid * 256u + li; // one invocation per pair
  let h = p.hd / 2u;
  if (j >= p.n) { return; }
  let i = j % h;
  let row = j / h;
  let t = row % p.T;
  let c = tab[t * p.hd + i];
  let s = p.sgn * tab[t * p.hd + h + i];
  let a = x[row * p.hd + i];
  let b = x[row * p.hd + h + i];
  y[row * p.hd + i] = a * c - b * s;
  y[row * p.hd + h + i] = b * c + a * s;
}`;

/**
 * Records the rotation (or, with `inverse`, its transpose: the backward pass).
 * @param rec The recorder.
 * @param x (B·H, T, hd).
 * @param table From {@link ropeTable}, at least T rows.
 * @param inverse Rotate by −angle (backward).
 * @returns The rotated copy.
 */
export function rope(rec: Recorder, x: Tensor, table: Tensor, inverse = false): Tensor {
  const op = `rope${inverse ? " backward" : ""} x=${fmtShape(x.shape)}`;
  requireDtype(op, "x", x);
  requireRank(op, "x", x, 3);
  const [, T, hd] = x.shape;
  if (table.shape[1] !== hd || table.shape[0] < T) {
    throw new RangeError(`${op}: the table ${fmtShape(table.shape)} does not cover ${T} positions of ${hd}`);
  }
  const y = new Tensor(rec.gpu, x.shape, "f32", "rope.out");
  const n = x.size / 2;
  rec.dispatch({
    op,
    kernel: "rope",
    code: CODE,
    groups: Math.ceil(n / 256),
    params: params(n, T, hd, { f: inverse ? -1 : 1 }),
    tensors: [x, table, y],
    work: { kind: "rope", shape: `${x.shape.join("×")}`, bytes: 8 * x.size },
  });
  return y;
}
