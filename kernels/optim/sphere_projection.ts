/**
 * The projection back onto the sphere after an SGD step (fixed effective learning rate): every
 * scale-invariant tensor is multiplied by one common factor ρ0/‖w_SI‖ (the norm over all of them
 * jointly, from per-tensor sums of squares), or — per filter — every output channel (row) by
 * ρ0/‖row‖. Ref: Kodryan et al., NeurIPS 2022 (`fix_si_pnorm`, `fix_si_pnorms`).
 * @module
 */
import { chunkedKernel } from "./_chunked.ts";
import { params } from "../runtime/params.ts";
import { LOOP_CAP, type Recorder } from "../runtime/recorder.ts";
import type { Tensor } from "../runtime/tensor.ts";

// Joint: stats[k].x = Σw² of SI tensor k (k < count).
const JOINT = chunkedKernel({
  fields: "count: u32, rho0: f32",
  bindings: ["w: read_write array<f32>", "stats: read array<vec4f>"],
  prelude: `var total = 0.0;
  for (var k = 0u; k < p.count; k++) { total += stats[k].x; }
  let f = select(1.0, p.rho0 / sqrt(total), total > 0.0);`,
  body: `w[i] = w[i] * f;`,
});

// Per filter: rows[r].x = Σw² of row r; tensors[k] = (rowLen, firstRow, offset, 0).
const PER_ROW = chunkedKernel({
  fields: "rho0: f32",
  bindings: ["w: read_write array<f32>", "rows: read array<vec4f>", "tensors: read array<vec4u>"],
  prelude: `let info = tensors[ch.z];`,
  body: `let r = rows[info.y + (i - info.z) / info.x].x;
    w[i] = w[i] * select(1.0, p.rho0 / sqrt(r), r > 0.0);`,
});

/**
 * Records the joint rescale of the SI tensors to norm ρ0.
 * @param rec The recorder.
 * @param values The parameter arena.
 * @param chunks The SI tensors' chunk table (offset, length, tensor index, 0).
 * @param stats Per-SI-tensor sums (Σw² first), `count` of them.
 * @param count SI tensors.
 * @param rho0 The norm to keep.
 */
export function sphereRescale(
  rec: Recorder,
  values: Tensor,
  chunks: Tensor,
  stats: Tensor,
  count: number,
  rho0: number,
): void {
  if (count > LOOP_CAP) throw new RangeError(`sphereRescale: ${count} tensors, more than ${LOOP_CAP}`);
  rec.dispatch({
    op: `sphereRescale (${count} tensors)`,
    kernel: "sphere_rescale",
    code: JOINT,
    groups: chunks.size / 4,
    params: params(count, { f: rho0 }),
    tensors: [values, stats, chunks],
  });
}

/**
 * Records the per-filter rescale: every row of every SI tensor to norm ρ0.
 * @param rec The recorder.
 * @param values The parameter arena.
 * @param chunks The SI tensors' chunk table.
 * @param rows Per-row sums (Σw² first).
 * @param tensors Per SI tensor (row length, first row, arena offset, 0).
 * @param rho0 Each row's norm.
 */
export function sphereRescaleRows(
  rec: Recorder,
  values: Tensor,
  chunks: Tensor,
  rows: Tensor,
  tensors: Tensor,
  rho0: number,
): void {
  rec.dispatch({
    op: `sphereRescaleRows (${tensors.size / 4} tensors)`,
    kernel: "sphere_rescale_rows",
    code: PER_ROW,
    groups: chunks.size / 4,
    params: params({ f: rho0 }),
    tensors: [values, rows, tensors, chunks],
  });
}

const ACCUMULATE = `struct P { groups: u32, count: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> stats: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> acc: array<f32>;
@compute @workgroup_size(1)
fn main() {
  var g = 0.0; var w = 0.0;
  for (var k = 0u; k < p.count; k++) { g += stats[k].x; w += stats[k].y; }
  acc[0] += sqrt(g);
  acc[1] += sqrt(g) * sqrt(w);
  acc[2] += sqrt(w);
}`;

/**
 * Records one step's contribution to the epoch means: ‖∇_SI‖, ‖∇_SI‖·‖w_SI‖ (the effective
 * gradient norm) and ‖w_SI‖, added into `acc[0..3)`.
 * @param rec The recorder.
 * @param stats Per-SI-tensor (Σg², Σw², …), `count` of them.
 * @param count SI tensors.
 * @param acc The three running sums.
 */
export function sphereAccumulate(rec: Recorder, stats: Tensor, count: number, acc: Tensor): void {
  if (count > LOOP_CAP) throw new RangeError(`sphereAccumulate: ${count} tensors, more than ${LOOP_CAP}`);
  rec.dispatch({
    op: `sphereAccumulate (${count} tensors)`,
    kernel: "sphere_accumulate",
    code: ACCUMULATE,
    groups: 1,
    params: params(count),
    tensors: [stats, acc],
  });
}
