/**
 * Per-segment sums for the optimizers that look at whole tensors or rows (LARS, LAMB, SGDP): for
 * each segment (arena offset, length) of three arena-layout tensors a, b, c,
 * `stats[4s..4s+3] = (Σa², Σb², Σab, Σac)`. Segments are cut into chunks of ≤ 16384 elements, one
 * workgroup each (a strided loop per lane and a tree reduction), so a multi-million-element tensor
 * spreads over many workgroups; a second pass adds each segment's chunk sums.
 * @module
 */
import { requireDtype } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor, upload } from "../runtime/tensor.ts";
import type { Gpu } from "../runtime/runtime.ts";

const CHUNK = 16384;

// Pass 1: part[c] = the sums over chunk c = (offset, length, ·, ·).
const PARTIAL = `struct P { groups: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> c: array<f32>;
@group(0) @binding(4) var<storage, read> chunks: array<vec4u>;
@group(0) @binding(5) var<storage, read_write> part: array<vec4f>;
var<workgroup> acc: array<vec4f, 256>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let k = min(wid, p.groups - 1u);
  let ch = chunks[k];
  var s = vec4f(0.0);
  for (var j = t; j < ch.y; j += 256u) {
    let i = ch.x + j;
    let x = a[i]; let y = b[i]; let z = c[i];
    s += vec4f(x * x, y * y, x * y, x * z);
  }
  acc[t] = s;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h >>= 1u) {
    if (t < h) { acc[t] += acc[t + h]; }
    workgroupBarrier();
  }
  if (t == 0u && wid < p.groups) { part[k] = acc[0]; }
}`;

// Pass 2: stats[s] = Σ of segment s's chunk sums, segs[s] = (first chunk, chunks).
const TOTAL = `struct P { groups: u32, count: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> segs: array<vec2u>;
@group(0) @binding(2) var<storage, read> part: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> stats: array<vec4f>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let s = wid * 64u + t;
  if (s >= p.count) { return; }
  let g = segs[s];
  var sum = vec4f(0.0);
  for (var k = 0u; k < g.y; k++) { sum += part[g.x + k]; }
  stats[s] = sum;
}`;

/** Segments of the arena and the buffer their sums go to, allocated once. */
export class SegmentStats {
  /** Number of segments. */
  readonly count: number;
  /** (Σa², Σb², Σab, Σac) per segment, as vec4f: shape [4·count]. */
  readonly stats: Tensor;
  #segs: Tensor;
  #chunks: Tensor;
  #part: Tensor;
  #nChunks: number;

  /**
   * Uploads the segment table and allocates the sums.
   * @param gpu The GPU.
   * @param segments (offset, length) of each segment in the arena.
   * @throws {RangeError} With no segments, or one longer than 16384·LOOP_CAP elements.
   */
  constructor(gpu: Gpu, segments: [number, number][]) {
    if (!segments.length) throw new RangeError("SegmentStats: no segments");
    const chunks: number[] = [], segs: number[] = [];
    for (const [o, n] of segments) {
      const first = chunks.length / 4;
      for (let k = 0; k < n; k += CHUNK) chunks.push(o + k, Math.min(CHUNK, n - k), 0, 0);
      if (n === 0) chunks.push(o, 0, 0, 0);
      const count = chunks.length / 4 - first;
      if (count > LOOP_CAP) {
        throw new RangeError(
          `SegmentStats: a segment at ${o} has ${n} elements, more than ${CHUNK * LOOP_CAP}`,
        );
      }
      segs.push(first, count);
    }
    this.count = segments.length;
    this.#nChunks = chunks.length / 4;
    this.#chunks = upload(gpu, Uint32Array.from(chunks), [chunks.length], "u32", "optim.chunks");
    this.#segs = upload(gpu, Uint32Array.from(segs), [segs.length], "u32", "optim.segments");
    this.#part = new Tensor(gpu, [4 * this.#nChunks], "f32", "optim.partial");
    this.stats = new Tensor(gpu, [4 * segments.length], "f32", "optim.stats");
  }

  /**
   * Records the sums.
   * @param rec The recorder.
   * @param a First tensor (arena layout).
   * @param b Second.
   * @param c Third.
   */
  record(rec: Recorder, a: Tensor, b: Tensor, c: Tensor): void {
    const op = `segmentStats (${this.count} segments)`;
    for (const [n, t] of [["a", a], ["b", b], ["c", c]] as const) requireDtype(op, n, t);
    rec.dispatch({
      op,
      kernel: "segment_stats_partial",
      code: PARTIAL,
      groups: this.#nChunks,
      params: params(),
      tensors: [a, b, c, this.#chunks, this.#part],
    });
    rec.dispatch({
      op,
      kernel: "segment_stats_total",
      code: TOTAL,
      groups: Math.ceil(this.count / 64),
      params: params(this.count),
      tensors: [this.#segs, this.#part, this.stats],
    });
  }

  /** Frees the table and the sums. */
  release(): void {
    this.#segs.release();
    this.#chunks.release();
    this.#part.release();
    this.stats.release();
  }
}
