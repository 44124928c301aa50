/**
 * Per-segment sums for the optimizers that look at whole tensors or rows (LARS, LAMB, SGDP): for
 * each segment (arena offset, length) of three arena-layout tensors a, b, c,
 * `stats[4s..4s+3] = (Σa², Σb², Σab, Σac)`. One workgroup per segment, a strided loop per lane and
 * a tree reduction, so a segment may hold up to 256·LOOP_CAP elements.
 * @module
 */
import { requireDtype } from "./_check.ts";
import { params } from "./_params.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "./recorder.ts";
import { Tensor, upload } from "./tensor.ts";
import type { Gpu } from "./runtime.ts";

const CODE = `struct P { groups: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> c: array<f32>;
@group(0) @binding(4) var<storage, read> segs: array<vec2u>;
@group(0) @binding(5) var<storage, read_write> stats: array<vec4f>;
var<workgroup> part: array<vec4f, 256>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let s = min(wid, p.groups - 1u);
  let seg = segs[s];
  var acc = vec4f(0.0);
  for (var k = t; k < seg.y; k += 256u) {
    let i = seg.x + k;
    let x = a[i]; let y = b[i]; let z = c[i];
    acc += vec4f(x * x, y * y, x * y, x * z);
  }
  part[t] = acc;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h >>= 1u) {
    if (t < h) { part[t] += part[t + h]; }
    workgroupBarrier();
  }
  if (t == 0u && wid < p.groups) { stats[s] = part[0]; }
}`;

/** Segments of the arena and the buffer their sums go to, allocated once. */
export class SegmentStats {
  /** Number of segments. */
  readonly count: number;
  /** (Σa², Σb², Σab, Σac) per segment, as vec4f: shape [4·count]. */
  readonly stats: Tensor;
  #segs: Tensor;

  /**
   * Uploads the segment table and allocates the sums.
   * @param gpu The GPU.
   * @param segments (offset, length) of each segment in the arena.
   * @throws {RangeError} With no segments, or one longer than 256·LOOP_CAP elements.
   */
  constructor(gpu: Gpu, segments: [number, number][]) {
    if (!segments.length) throw new RangeError("SegmentStats: no segments");
    for (const [o, n] of segments) {
      if (n > 256 * LOOP_CAP) {
        throw new RangeError(
          `SegmentStats: a segment at ${o} has ${n} elements, more than ${256 * LOOP_CAP}`,
        );
      }
    }
    this.count = segments.length;
    this.#segs = upload(
      gpu,
      Uint32Array.from(segments.flat()),
      [2 * segments.length],
      "u32",
      "optim.segments",
    );
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
      kernel: "segment_stats",
      code: CODE,
      groups: this.count,
      params: params(),
      tensors: [a, b, c, this.#segs, this.stats],
    });
  }

  /** Frees the table and the sums. */
  release(): void {
    this.#segs.release();
    this.stats.release();
  }
}
