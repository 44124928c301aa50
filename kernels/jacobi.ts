/**
 * Batched eigenvalues of symmetric matrices by the two-sided cyclic Jacobi method in parallel
 * (round-robin) order: each round applies n/2 disjoint rotations at once, n−1 rounds make a
 * sweep (every pair once), and sweeps repeat until the off-diagonal mass is negligible relative
 * to the diagonal (‖off‖ ≤ 1e-7·‖diag‖) or `maxSweeps` is reached.
 *
 * One workgroup owns one matrix and runs every sweep without leaving the kernel (barriers between
 * the phases of a round), so a whole batch is one dispatch. A rotation is skipped when
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
import { type Recorder, WID, WID_ARGS } from "./recorder.ts";
import { Tensor } from "./tensor.ts";

const WG = 256;

const CODE = `struct P { groups: u32, n: u32, m: u32, maxSweeps: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> A: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
var<workgroup> cs: array<vec2f, 1024>;
var<workgroup> pq: array<vec2u, 1024>;
var<workgroup> red: array<f32, ${WG}>;
var<workgroup> done: u32;
var<workgroup> fro: f32;
var<workgroup> rotations: atomic<u32>;

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
  let n = p.n; let m = p.m; let half = m / 2u;
  let base = wid * n * n;
  // ‖A‖_F, invariant under the rotations: the absolute floor below which a_pq is ignored.
  var ss = 0.0;
  for (var e = t; e < n * n; e += ${WG}u) { let v = A[base + e]; ss += v * v; }
  red[t] = ss;
  workgroupBarrier();
  if (t == 0u) {
    for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
      for (var i = 0u; i < s; i++) { red[i] += red[i + s]; }
    }
    fro = sqrt(red[0]);
  }
  let floor_abs = 1e-9 * workgroupUniformLoad(&fro);
  var sweeps = 0u;
  var converged = false;
  for (var sweep = 0u; sweep < p.maxSweeps; sweep++) {
    if (t == 0u) { atomicStore(&rotations, 0u); }
    workgroupBarrier();
    for (var r = 0u; r < m - 1u; r++) {
      for (var k = t; k < half; k += ${WG}u) {
        let ij = pair(k, r, m);
        var c = 1.0; var s = 0.0;
        if (ij.y < n) {
          let app = A[base + ij.x * n + ij.x];
          let aqq = A[base + ij.y * n + ij.y];
          let apq = A[base + ij.x * n + ij.y];
          // Rotate only where a_pq matters: relative to the pivots, or absolutely.
          if (abs(apq) > max(1e-6 * sqrt(abs(app * aqq)), floor_abs)) {
            atomicAdd(&rotations, 1u);
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
    sweeps++;
    // A sweep without a rotation means every off-diagonal entry is negligible: converged.
    if (t == 0u) { done = select(0u, 1u, atomicLoad(&rotations) == 0u); }
    if (workgroupUniformLoad(&done) == 1u) { converged = true; break; }
  }
  for (var i = t; i < n; i += ${WG}u) { out[wid * (n + 1u) + i] = A[base + i * n + i]; }
  if (t == 0u) { out[wid * (n + 1u) + n] = select(-1.0, f32(sweeps), converged); }
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
  const out = new Tensor(rec.gpu, [batch, n + 1], "f32", "eigh.out");
  rec.dispatch({
    op,
    kernel: "eigh_jacobi",
    code: CODE,
    groups: batch,
    params: params(n, n + (n % 2), maxSweeps),
    tensors: [a, out],
  });
  return out;
}
