/**
 * Batched ascending sort of f32 rows by a bitonic network: rows padded to a power of two with
 * +Infinity, one dispatch per compare-exchange stage (log2(P)·(log2(P)+1)/2 of them), all
 * recorded into the caller's step. NaN sorts last.
 * Ref: Batcher, "Sorting networks and their applications", AFIPS 1968.
 * @module
 */
import { requireDtype, requireRank } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { copy } from "./copy.ts";
import { fill } from "./fill.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

const STAGE = `struct P { groups: u32, total: u32, P: u32, k: u32, j: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
// a > b with NaN greater than everything (so NaN sorts last).
fn gt(a: f32, b: f32) -> bool {
  let na = (bitcast<u32>(a) & 0x7fffffffu) > 0x7f800000u;
  let nb = (bitcast<u32>(b) & 0x7fffffffu) > 0x7f800000u;
  if (na || nb) { return na && !nb; }
  return a > b;
}
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let g = wid * 256u + t;
  if (g >= p.total) { return; }
  let row = g / p.P; let i = g % p.P;
  let l = i ^ p.j;
  if (l <= i) { return; }
  let a = row * p.P + i; let b = row * p.P + l;
  let up = (i & p.k) == 0u;
  let va = x[a]; let vb = x[b];
  if (gt(va, vb) == up) { x[a] = vb; x[b] = va; }
}`;

/**
 * Records an ascending sort of each row.
 * @param rec The recorder.
 * @param x (rows, n) or (n).
 * @returns A new tensor (rows, P) with P = the next power of two ≥ n: each row sorted, padded
 *   with +Infinity at the end (the first n entries are the sorted row).
 */
export function sortRows(rec: Recorder, x: Tensor): Tensor {
  const op = `sortRows x=${fmtShape(x.shape)}`;
  requireDtype(op, "x", x);
  requireRank(op, "x", x, 1, 2);
  const [rows, n] = x.shape.length === 2 ? x.shape : [1, x.shape[0]];
  const P = 2 ** Math.ceil(Math.log2(Math.max(2, n)));
  const out = new Tensor(rec.gpu, [rows, P], "f32", "sort.out");
  fill(rec, out, Infinity);
  if (P === n) copy(rec, x, out);
  else for (let r = 0; r < rows; r++) rec.copyRange(x, r * n, out, r * P, n);
  for (let k = 2; k <= P; k *= 2) {
    for (let j = k / 2; j >= 1; j /= 2) {
      rec.dispatch({
        op,
        kernel: "bitonic_stage",
        code: STAGE,
        groups: Math.ceil((rows * P) / 256),
        params: params(rows * P, P, k, j),
        tensors: [out],
      });
    }
  }
  return out;
}
