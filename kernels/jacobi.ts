/**
 * Batched eigenvalues of symmetric matrices by the two-sided cyclic Jacobi method in parallel
 * (round-robin) order: each round applies n/2 disjoint rotations at once, n−1 rounds make a
 * sweep (every pair once), and sweeps repeat until the off-diagonal mass is negligible relative
 * to the diagonal (‖off‖ ≤ 1e-7·‖diag‖) or `maxSweeps` is reached.
 *
 * One workgroup owns one matrix; a pass runs as many rounds as the software driver's loop cap
 * allows (see LOOP_CAP), with barriers between the phases of a round, and every pass of every
 * sweep is recorded up front into the one submit: a converged matrix makes later passes return at
 * once. A rotation is skipped when
 * |a_pq| ≤ max(1e-6·sqrt|a_pp·a_qq|, 1e-9·‖A‖_F); a sweep with no rotation ends the solve. The matrices are overwritten; the
 * eigenvalues (unsorted) and a per-matrix `sweeps` count (−1 when not converged) are written
 * to `out`. The per-matrix converged flag is read back once, with the eigenvalues.
 *
 * NOTE: this kernel streams the whole matrix through storage memory every round. It is exact
 * enough for any n but its cost grows like n³ per sweep in shader memory traffic; a blocked
 * variant (pairs of column blocks solved in workgroup memory, the rest by matmul) is the planned
 * fast path for n in the hundreds.
 * Ref: Brent & Luk, "The solution of singular-value and symmetric eigenvalue problems on
 * multiprocessor arrays", SIAM J. Sci. Stat. Comput. 6 (1985). Golub & Van Loan §8.5 (sym.schur2).
 * @module
 */
import { requireDtype } from "./_check.ts";
import { params } from "./_params.ts";
import { fmtShape } from "./errors.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "./recorder.ts";
import { Tensor } from "./tensor.ts";

const WG = 256;

// Per-matrix state, 4 u32: [rotations this sweep, converged, sweeps run, ‖A‖_F as f32 bits].
const STATE = `@group(0) @binding(2) var<storage, read_write> st: array<atomic<u32>>;`;

const NORM = `struct P { groups: u32, n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> A: array<f32>;
${STATE}
var<workgroup> red: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let nn = p.n * p.n; let base = wid * nn;
  var ss = 0.0;
  for (var e = t; e < nn; e += ${WG}u) { let v = A[base + e]; ss += v * v; }
  red[t] = ss;
  workgroupBarrier();
  if (t == 0u) {
    for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
      for (var i = 0u; i < s; i++) { red[i] += red[i + s]; }
    }
    atomicStore(&st[wid * 4u], 0u);
    atomicStore(&st[wid * 4u + 1u], 0u);
    atomicStore(&st[wid * 4u + 2u], 0u);
    atomicStore(&st[wid * 4u + 3u], bitcast<u32>(sqrt(red[0])));
  }
}`;

const ROUNDS = `struct P { groups: u32, n: u32, m: u32, r0: u32, r1: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> A: array<f32>;
${STATE}
var<workgroup> cs: array<vec2f, 1024>;
var<workgroup> pq: array<vec2u, 1024>;
var<workgroup> skip: u32;
var<workgroup> floor_abs: f32;

// Pair k of round r in the circle method over m players (m even), player m−1 fixed.
fn pair(k: u32, r: u32, m: u32) -> vec2u {
  let c = m - 1u;
  var a: u32; var b: u32;
  if (k == 0u) { a = c; b = r; } else { a = (r + k) % c; b = (r + c - k) % c; }
  return vec2u(min(a, b), max(a, b));
}

@compute @workgroup_size(${WG})
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  if (t == 0u) {
    skip = atomicLoad(&st[wid * 4u + 1u]);
    // Entries below 1e-9·‖A‖_F are noise: never rotate for them.
    floor_abs = 1e-9 * bitcast<f32>(atomicLoad(&st[wid * 4u + 3u]));
  }
  if (workgroupUniformLoad(&skip) == 1u) { return; }
  let fa = workgroupUniformLoad(&floor_abs);
  let n = p.n; let m = p.m; let half = m / 2u;
  let base = wid * n * n;
  for (var r = p.r0; r < p.r1; r++) {
    for (var k = t; k < half; k += ${WG}u) {
      let ij = pair(k, r, m);
      var c = 1.0; var s = 0.0;
      if (ij.y < n) {
        let app = A[base + ij.x * n + ij.x];
        let aqq = A[base + ij.y * n + ij.y];
        let apq = A[base + ij.x * n + ij.y];
        // Rotate only where a_pq matters: relative to the pivots, or absolutely.
        if (abs(apq) > max(1e-6 * sqrt(abs(app * aqq)), fa)) {
          atomicAdd(&st[wid * 4u], 1u);
          let tau = (aqq - app) / (2.0 * apq);
          let tt = select(-1.0, 1.0, tau >= 0.0) / (abs(tau) + sqrt(1.0 + tau * tau));
          c = inverseSqrt(1.0 + tt * tt);
          s = tt * c;
        }
      }
      cs[k] = vec2f(c, s);
      pq[k] = ij;
    }
    workgroupBarrier();
    // Rows: B = Jᵀ A (rows p, q of each pair).
    for (var e = t; e < half * n; e += ${WG}u) {
      let k = e / n; let j = e % n;
      let ij = pq[k];
      if (ij.y < n && cs[k].y != 0.0) {
        let c = cs[k].x; let s = cs[k].y;
        let ap = A[base + ij.x * n + j]; let aq = A[base + ij.y * n + j];
        A[base + ij.x * n + j] = c * ap - s * aq;
        A[base + ij.y * n + j] = s * ap + c * aq;
      }
    }
    storageBarrier();
    workgroupBarrier();
    // Columns: A' = B J (columns p, q of each pair).
    for (var e = t; e < half * n; e += ${WG}u) {
      let k = e / n; let i = e % n;
      let ij = pq[k];
      if (ij.y < n && cs[k].y != 0.0) {
        let c = cs[k].x; let s = cs[k].y;
        let bp = A[base + i * n + ij.x]; let bq = A[base + i * n + ij.y];
        A[base + i * n + ij.x] = c * bp - s * bq;
        A[base + i * n + ij.y] = s * bp + c * bq;
      }
    }
    storageBarrier();
    workgroupBarrier();
  }
}`;

// After a sweep: no rotation in it means converged; else count it and reset.
const SWEEP_END = `struct P { groups: u32, batch: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> st: array<u32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let b = wid * 64u + t;
  if (b >= p.batch || st[b * 4u + 1u] == 1u) { return; }
  if (st[b * 4u] == 0u) { st[b * 4u + 1u] = 1u; } else { st[b * 4u + 2u] += 1u; }
  st[b * 4u] = 0u;
}`;

const EXTRACT = `struct P { groups: u32, n: u32, total: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> st: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let e = wid * 256u + t;
  if (e >= p.total) { return; }
  let n1 = p.n + 1u;
  let b = e / n1; let i = e % n1;
  if (i < p.n) { out[e] = A[(b * p.n + i) * p.n + i]; }
  else { out[e] = select(-1.0, f32(st[b * 4u + 2u]), st[b * 4u + 1u] == 1u); }
}`;

/** Options for {@link eighJacobi}. */
export interface JacobiOptions {
  /** Sweeps at most (default 30). */
  maxSweeps?: number;
}

/**
 * Records batched symmetric eigenvalues (Jacobi). The input is overwritten.
 * @param rec The recorder.
 * @param a Symmetric matrices, (batch, n, n) or (n, n); n ≤ 2047.
 * @param options Sweep limit.
 * @returns `(batch, n + 1)`: the n eigenvalues (unsorted), then the sweeps run, or −1 when the
 *   matrix did not converge within `maxSweeps`.
 */
export function eighJacobi(rec: Recorder, a: Tensor, options: JacobiOptions = {}): Tensor {
  const op = `eighJacobi a=${fmtShape(a.shape)}`;
  requireDtype(op, "a", a);
  const [batch, n, n2] = a.shape.length === 3 ? a.shape : [1, ...a.shape];
  if (a.shape.length < 2 || a.shape.length > 3 || n !== n2) {
    throw new TypeError(`${op}: argument "a" must be square matrices (n, n) or (batch, n, n)`);
  }
  if (n > 2047) throw new RangeError(`${op}: n = ${n} is above the supported 2047`);
  const maxSweeps = options.maxSweeps ?? 30;
  const m = n + (n % 2), half = m / 2;
  const out = new Tensor(rec.gpu, [batch, n + 1], "f32", "eigh.out");
  const st = new Tensor(rec.gpu, [batch, 4], "u32", "eigh.state");
  rec.dispatch({ op, kernel: "eigh_norm", code: NORM, groups: batch, params: params(n), tensors: [a, st] });
  // Rounds per pass, so that no loop of the rounds kernel exceeds LOOP_CAP iterations in total.
  const perRound = 2 * Math.ceil((half * n) / WG) + Math.ceil(half / WG) + 1;
  const R = Math.max(1, Math.floor(LOOP_CAP / perRound));
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    for (let r0 = 0; r0 < m - 1; r0 += R) {
      rec.dispatch({
        op,
        kernel: "eigh_rounds",
        code: ROUNDS,
        groups: batch,
        params: params(n, m, r0, Math.min(m - 1, r0 + R)),
        tensors: [a, st],
      });
    }
    rec.dispatch({
      op,
      kernel: "eigh_sweep_end",
      code: SWEEP_END,
      groups: Math.ceil(batch / 64),
      params: params(batch),
      tensors: [st],
    });
  }
  rec.dispatch({
    op,
    kernel: "eigh_extract",
    code: EXTRACT,
    groups: Math.ceil((batch * (n + 1)) / 256),
    params: params(n, batch * (n + 1)),
    tensors: [a, st, out],
  });
  rec.after(() => st.release());
  return out;
}
