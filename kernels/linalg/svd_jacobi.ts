/**
 * Squared singular values of batched matrices by blocked one-sided (Hestenes) Jacobi, fused into
 * one kernel per round.
 *
 * X (batch, c, r) holds c vectors of length r (rows; c ≤ r). Rows are grouped in blocks of 4; each
 * round pairs the blocks round-robin, and one workgroup of 8 lanes owns one block pair Y (8 rows):
 *  1. the lanes split the columns and accumulate the 8×8 Gram G = Y·Yᵀ (36 dot products), then
 *     combine their partial sums through workgroup memory (one barrier);
 *  2. every lane runs the same Jacobi sweep on G in registers (fully unrolled, no memory, no
 *     barrier) and polishes V's orthogonality with one Newton–Schulz step;
 *  3. the lanes rotate their own columns in place, Y ← Vᵀ·Y.
 * A block pair whose G has no significant off-diagonal entry (|g_pq| ≤ tol·√g_pp·√g_qq) is
 * left alone; a sweep in which no pair of a matrix was significant means its rows are orthogonal,
 * and λ_i = ‖x_i‖². Squared row norms keep relative accuracy for the large values.
 *
 * NOTE: built for software adapters, where every storage or workgroup-memory access by a lane is
 * scalar code and every barrier switches all the workgroup's invocations: a lane here reads each
 * element twice per round, the 8×8 solve touches no memory, and there is one barrier per round.
 * Ref: Hestenes, "Inversion of matrices by biorthogonalization", J. SIAM 6 (1958); Brent & Luk,
 * SIAM J. Sci. Stat. Comput. 6 (1985) for the round-robin ordering.
 * @module
 */
import { requireDtype } from "../runtime/checks.ts";
import { fill } from "../ops/fill.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { LOOP_CAP, Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { sumSquares } from "../ops/reduce.ts";
import { readback, type Tensor, upload } from "../runtime/tensor.ts";
import type { Gpu } from "../runtime/runtime.ts";

/** Options for {@link jacobiSvd}. */
export interface JacobiSvdOptions {
  /** Sweeps at most (default 20). */
  maxSweeps?: number;
  /** A block pair is significant while some |g_pq| > tol·sqrt(g_pp·g_qq) (default 1e-5). */
  tol?: number;
  /** Sweeps recorded per submit between convergence checks (default 2). */
  sweepsPerCheck?: number;
  /**
   * Leave the squared norms on the GPU: each result's `tensor` (batch, c) is recorded into its
   * `rec`, which the caller continues and submits (and `values` is empty). Default false.
   */
  keepOnGpu?: boolean;
}

/** The result of {@link jacobiSvd}. */
export interface JacobiSvdResult {
  /** Squared row norms after convergence, (batch, c) row-major, unsorted: the eigenvalues of XXᵀ. */
  values: Float32Array;
  /** Per matrix: the sweep after which nothing was left to rotate, or −1 if not converged. */
  sweeps: number[];
  /** With `keepOnGpu`: the squared row norms, (batch, c), not yet computed until `rec` is submitted. */
  tensor?: Tensor;
  /** With `keepOnGpu`: the open recorder holding the last work (continue it, then submit). */
  rec?: Recorder;
}

const B = 4; // rows per block; a pair is 8 rows
const M = 2 * B;

/** Padded row count: a multiple of 8 (two blocks), at least 8. */
export function paddedRows(c: number): number {
  return Math.max(M, Math.ceil(c / M) * M);
}

/** Round-robin pairings of nb blocks: `rounds[t]` lists the pairs as [p0, q0, p1, q1, …]. */
export function roundRobin(nb: number): number[][] {
  const out: number[][] = [];
  const c = nb - 1;
  for (let r = 0; r < c; r++) {
    const lay: number[] = [];
    for (let k = 0; k < nb / 2; k++) {
      const [a, b] = k === 0 ? [c, r] : [(r + k) % c, (r + c - k) % c];
      lay.push(Math.min(a, b), Math.max(a, b));
    }
    out.push(lay);
  }
  return out;
}

const idx = (a: number, b: number) => `a${Math.min(a, b)}_${Math.max(a, b)}`;

/** The unrolled 8×8 Jacobi sweep on symmetric `aI_J` (I ≤ J) accumulating `vI_J` (full). */
function jacobiSweep(): string {
  const L: string[] = [];
  for (let p = 0; p < M; p++) {
    for (let q = p + 1; q < M; q++) {
      L.push(`  if (abs(${idx(p, q)}) > 1e-7 * sqrt(abs(${idx(p, p)})) * sqrt(abs(${idx(q, q)}))) {`);
      L.push(`    let tau = (${idx(q, q)} - ${idx(p, p)}) / (2.0 * ${idx(p, q)});`);
      L.push(`    let t = select(-1.0, 1.0, tau >= 0.0) / (abs(tau) + sqrt(1.0 + tau * tau));`);
      L.push(`    let c = inverseSqrt(1.0 + t * t); let s = t * c;`);
      // A ← JᵀAJ on rows/columns p, q (symmetric storage): off-pair entries, then the 2×2 block.
      for (let k = 0; k < M; k++) {
        if (k === p || k === q) continue;
        L.push(
          `    { let x = ${idx(k, p)}; let y = ${idx(k, q)}; ${idx(k, p)} = c * x - s * y; ${
            idx(k, q)
          } = s * x + c * y; }`,
        );
      }
      L.push(`    { let app = ${idx(p, p)}; let aqq = ${idx(q, q)}; let apq = ${idx(p, q)};`);
      L.push(`      ${idx(p, p)} = app - t * apq; ${idx(q, q)} = aqq + t * apq; ${idx(p, q)} = 0.0; }`);
      for (let k = 0; k < M; k++) {
        L.push(
          `    { let x = v${k}_${p}; let y = v${k}_${q}; v${k}_${p} = c * x - s * y; v${k}_${q} = s * x + c * y; }`,
        );
      }
      L.push(`  }`);
    }
  }
  return L.join("\n");
}

function source(): string {
  const pairs: [number, number][] = [];
  for (let a = 0; a < M; a++) for (let b = a; b < M; b++) pairs.push([a, b]);
  const E = pairs.length; // 36
  const L: string[] = [];
  L.push(`struct P { groups: u32, r4: u32, c: u32, nb: u32, round: u32, tol: f32, soff: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> X: array<vec4f>;
@group(0) @binding(2) var<storage, read> sched: array<u32>;
@group(0) @binding(3) var<storage, read_write> sig: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read> fro: array<f32>;
var<workgroup> part: array<f32, ${E * 8}>;
@compute @workgroup_size(8)
fn main(${WID_ARGS}, @builtin(local_invocation_index) l: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let half = p.nb / 2u;
  let mat = wid / half; let k = wid % half;
  let bp = sched[p.round * p.nb + 2u * k]; let bq = sched[p.round * p.nb + 2u * k + 1u];
  let base = mat * p.c * p.r4;`);
  for (let a = 0; a < M; a++) {
    const blk = a < B ? "bp" : "bq";
    L.push(`  let row${a} = base + (${blk} * ${B}u + ${a % B}u) * p.r4;`);
  }
  for (const [a, b] of pairs) L.push(`  var g${a}_${b} = 0.0;`);
  L.push(`  for (var j = l; j < p.r4; j += 8u) {`);
  for (let a = 0; a < M; a++) L.push(`    let y${a} = X[row${a} + j];`);
  for (const [a, b] of pairs) L.push(`    g${a}_${b} += dot(y${a}, y${b});`);
  L.push(`  }`);
  pairs.forEach(([a, b], e) => L.push(`  part[l * ${E}u + ${e}u] = g${a}_${b};`));
  L.push(`  workgroupBarrier();`);
  pairs.forEach(([a, b], e) => {
    const sum = [...Array(8).keys()].map((q) => `part[${q * E + e}u]`).join(" + ");
    L.push(`  var a${a}_${b} = ${sum};`);
  });
  // Significance: any off-diagonal entry above tol relative to its pivots and above the matrix's
  // round-off floor. NOTE: without the floor, rows that are zero in exact arithmetic (rank-deficient
  // layers) carry float32 noise that no rotation makes relatively orthogonal, and never converge.
  const offs = pairs.filter(([a, b]) => a !== b).map(([a, b]) =>
    `(abs(a${a}_${b}) > p.tol * sqrt(a${a}_${a}) * sqrt(a${b}_${b}) && abs(a${a}_${b}) > floor)`
  );
  L.push(`  let floor = 1e-12 * fro[mat];`);
  L.push(`  let significant = ${offs.join(" ||\n    ")};`);
  L.push(`  if (!significant) { return; }`);
  L.push(`  if (l == 0u) { atomicAdd(&sig[p.soff + mat], 1u); }`);
  for (let a = 0; a < M; a++) {
    for (let b = 0; b < M; b++) L.push(`  var v${a}_${b} = ${a === b ? "1.0" : "0.0"};`);
  }
  L.push(jacobiSweep());
  // Newton–Schulz: V ← V·(3I − VᵀV)/2.
  for (let a = 0; a < M; a++) {
    for (let b = 0; b < M; b++) {
      const dotab = [...Array(M).keys()].map((q) => `v${q}_${a} * v${q}_${b}`).join(" + ");
      L.push(`  let h${a}_${b} = ${a === b ? "1.5" : "0.0"} - 0.5 * (${dotab});`);
    }
  }
  for (let a = 0; a < M; a++) {
    for (let b = 0; b < M; b++) {
      const s = [...Array(M).keys()].map((q) => `v${a}_${q} * h${q}_${b}`).join(" + ");
      L.push(`  let w${a}_${b} = ${s};`);
    }
  }
  // Y ← Vᵀ·Y on this lane's columns: new row b = Σ_a V[a][b]·y_a.
  L.push(`  for (var j = l; j < p.r4; j += 8u) {`);
  for (let a = 0; a < M; a++) L.push(`    let y${a} = X[row${a} + j];`);
  for (let b = 0; b < M; b++) {
    const s = [...Array(M).keys()].map((a) => `w${a}_${b} * y${a}`).join(" + ");
    L.push(`    X[row${b} + j] = ${s};`);
  }
  L.push(`  }`);
  L.push(`}`);
  return L.join("\n");
}

let CODE: string | null = null;

/**
 * The longest rows {@link jacobiSvd} takes: each of the 8 lanes loops twice (Gram, rotation) over
 * its r/32 vec4 columns, within LOOP_CAP.
 */
export const JACOBI_MAX_COLUMNS: number = 4 * 8 * Math.floor(LOOP_CAP / 2);

/**
 * Squared singular values of each (c, r) matrix of a batch: the eigenvalues of X·Xᵀ. A driver, not
 * an op: it records and submits its own work (a submit every `sweepsPerCheck` sweeps, to read the
 * convergence counts), so it takes the {@link Gpu}; work the caller recorded on `x` must be
 * submitted first.
 * @param gpu The GPU.
 * @param x (batch, c, r): c a multiple of 8 (pad with zero rows), r a multiple of 4 (pad with
 *   zero columns; both padding kinds only add exact zeros), c ≤ r. Overwritten.
 * @param options Sweep limit, tolerance, sweeps per convergence check.
 * @returns The squared row norms and the sweeps each matrix needed.
 */
export async function jacobiSvd(
  gpu: Gpu,
  x: Tensor,
  options: JacobiSvdOptions = {},
): Promise<JacobiSvdResult> {
  return (await jacobiSvdMany(gpu, [x], options))[0];
}

/**
 * {@link jacobiSvd} for several batches of different shapes at once: every batch's sweeps go into
 * the same submits (one per `sweepsPerCheck` sweeps, for all of them), and a batch whose matrices
 * have all converged stops being recorded. A driver like {@link jacobiSvd}: it submits its own work.
 * @param gpu The GPU.
 * @param xs The batches, each as for {@link jacobiSvd}. Overwritten.
 * @param options Sweep limit, tolerance, sweeps per convergence check.
 * @returns One result per batch.
 */
export async function jacobiSvdMany(
  gpu: Gpu,
  xs: Tensor[],
  options: JacobiSvdOptions = {},
): Promise<JacobiSvdResult[]> {
  let rec = new Recorder(gpu);
  const { maxSweeps = 20, tol = 1e-5, sweepsPerCheck = 2 } = options;
  CODE ??= source();
  const jobs = xs.map((x) => {
    const op = `jacobiSvd x=${fmtShape(x.shape)}`;
    requireDtype(op, "x", x);
    const [batch, c, r] = x.shape;
    if (x.shape.length !== 3 || c % M || r % 4) {
      throw new TypeError(`${op}: expected (batch, c, r) with c a multiple of ${M} and r a multiple of 4`);
    }
    if (r > JACOBI_MAX_COLUMNS) {
      throw new RangeError(
        `${op}: rows of ${r} columns are longer than the supported ${JACOBI_MAX_COLUMNS} (each lane's two loops over r/32 vec4s stay under the software driver's loop cap)`,
      );
    }
    const nb = c / B;
    const rounds = roundRobin(nb);
    return {
      x,
      op,
      batch,
      c,
      r,
      nb,
      rounds,
      sched: upload(gpu, rounds.flat(), [rounds.length * nb], "u32", "svd.schedule"),
      sig: upload(gpu, new Uint32Array(batch * sweepsPerCheck), [batch * sweepsPerCheck], "u32", "svd.sig"),
      sweeps: new Array<number>(batch).fill(-1),
      done: false,
      fro: null as Tensor | null,
    };
  });
  // Each matrix's ‖X‖²_F, for the significance floor.
  for (const j of jobs) j.fro = sumSquares(rec, j.x.view(0, [j.batch, j.c * j.r]), { axis: 1 });
  for (let s0 = 0; s0 < maxSweeps && jobs.some((j) => !j.done); s0 += sweepsPerCheck) {
    const n = Math.min(sweepsPerCheck, maxSweeps - s0);
    const live = jobs.filter((j) => !j.done);
    for (const j of live) {
      fill(rec, j.sig, 0);
      for (let s = 0; s < n; s++) {
        for (let t = 0; t < j.rounds.length; t++) {
          rec.dispatch({
            op: j.op,
            kernel: "svd_jacobi_round",
            code: CODE,
            groups: j.batch * (j.nb / 2),
            params: params(j.r / 4, j.c, j.nb, t, { f: tol }, s * j.batch),
            tensors: [j.x, j.sched, j.sig, j.fro!],
          });
        }
      }
    }
    await rec.submit();
    const counts = await readback(gpu, ...live.map((j) => j.sig));
    live.forEach((j, k) => {
      let all = true;
      for (let i = 0; i < j.batch; i++) {
        for (let s = 0; s < n && j.sweeps[i] < 0; s++) {
          if (counts[k][s * j.batch + i] === 0) j.sweeps[i] = s0 + s + 1;
        }
        if (j.sweeps[i] < 0) all = false;
      }
      j.done = all;
    });
    rec = new Recorder(gpu);
  }
  const norms = jobs.map((j) => sumSquares(rec, j.x, { axis: 2 }));
  if (options.keepOnGpu) {
    rec.after(() => jobs.forEach((j) => (j.sched.release(), j.sig.release(), j.fro!.release())));
    return jobs.map((j, k) => ({ values: new Float32Array(0), sweeps: j.sweeps, tensor: norms[k], rec }));
  }
  await rec.submit();
  const values = await readback(gpu, ...norms);
  for (const j of jobs) {
    j.sched.release();
    j.sig.release();
    j.fro!.release();
  }
  for (const t of norms) t.release();
  return jobs.map((j, k) => ({ values: values[k] as Float32Array, sweeps: j.sweeps }));
}
