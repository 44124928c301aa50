/**
 * Inverted dropout with a counter-based mask: element i of call `stream` keeps its value (scaled by
 * 1/(1−p)) when a hash of (seed, stream, i) is at least p·2³². Nothing is stored: backward
 * recomputes the same mask from the same counters, and a resumed run draws the same masks.
 * The hash is a 3-round variant of the PCG/"lowbias32" integer mixers (good enough for masks).
 * @module
 */
import { requireDtype } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

const CODE = `struct P { groups: u32, n: u32, seed: u32, stream: u32, thresh: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
fn mix(v: u32) -> u32 {
  var h = v;
  h ^= h >> 16u; h *= 0x7feb352du;
  h ^= h >> 15u; h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 256u + li;
  if (i >= p.n) { return; }
  let h = mix(i ^ mix(p.stream ^ mix(p.seed)));
  y[i] = select(0.0, x[i] * p.scale, h >= p.thresh);
}`;

/** CPU twin of the kernel's hash, for tests and for reading a mask. */
export function dropoutKeeps(seed: number, stream: number, i: number, p: number): boolean {
  const mix = (v: number) => {
    let h = v >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
    return (h ^ (h >>> 16)) >>> 0;
  };
  return mix((i ^ mix((stream ^ mix(seed)) >>> 0)) >>> 0) >= threshold(p);
}

function threshold(p: number): number {
  return Math.min(0xffffffff, Math.round(p * 2 ** 32));
}

/**
 * Records dropout (also its backward: the same call on dy with the same seed and stream).
 * @param rec The recorder.
 * @param x Input (or, for backward, dy).
 * @param p Drop probability in [0, 1).
 * @param seed The run's seed (u32).
 * @param stream A counter unique to this call in the run (step × layers + layer), u32.
 * @returns The masked, scaled copy.
 */
export function dropout(rec: Recorder, x: Tensor, p: number, seed: number, stream: number): Tensor {
  const op = `dropout x=${fmtShape(x.shape)} p=${p}`;
  requireDtype(op, "x", x);
  if (!(p >= 0 && p < 1)) throw new RangeError(`${op}: p must be in [0, 1), got ${p}`);
  const y = new Tensor(rec.gpu, x.shape, "f32", "dropout.out");
  rec.dispatch({
    op,
    kernel: "dropout",
    code: CODE,
    groups: Math.ceil(x.size / 256),
    params: params(x.size, seed >>> 0, stream >>> 0, threshold(p), { f: 1 / (1 - p) }),
    tensors: [x, y],
    work: { kind: "dropout", shape: `${x.size}`, bytes: 8 * x.size },
  });
  return y;
}
