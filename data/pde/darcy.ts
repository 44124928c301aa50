/**
 * 2D Darcy flow as PDEBench poses it: −∇·(ν(x)∇u) = β on the unit square, u = 0 outside it, with
 * PDEBench's random two-valued coefficient ν. The steady state is solved directly (conjugate gradients
 * with an incomplete-Cholesky preconditioner, float64) on PDEBench's own finite-volume discretisation,
 * where PDEBench marches the same scheme in time to t = 2.
 * @module
 */
import { mulberry32 } from "../../util/random.ts";

/** Samples drawn with one threshold: PDEBench generates Darcy data in runs of 200 and thresholds ν at the run's mean. */
export const DARCY_BLOCK = 200;

/** How the boundary condition u = 0 enters the finite-volume stencil. */
export type DarcyBoundary = "pdebench" | "face";

/** Options of {@link solveDarcy}. */
export interface DarcySolveOptions {
  /** The source term β (default 100). */
  beta?: number;
  /**
   * `"pdebench"` (default): u = 0 in the ghost cell, one cell width outside the edge cell's centre,
   * as PDEBench's scheme has it (first-order in the boundary's position); `"face"`: u = 0 on the
   * square's edge (second-order).
   */
  boundary?: DarcyBoundary;
  /** Relative residual at which conjugate gradients stop (default 1e-10). */
  tolerance?: number;
  /** The most iterations (default 20·n). */
  maxIterations?: number;
}

/** The solution and how the solve went. */
export interface DarcySolution {
  /** u at the n×n cell centres, row-major with x along the first axis. */
  u: Float64Array;
  /** Conjugate-gradient iterations taken. */
  iterations: number;
  /** The final relative residual ‖b − Au‖/‖b‖. */
  residual: number;
}

/**
 * The 5-point operator of −∇·(ν∇u)·h² on an n×n cell grid: face coefficients are the mean of the two
 * cells' ν; at the square's edge the face takes the edge cell's ν.
 */
function stencil(nu: ArrayLike<number>, n: number, boundary: DarcyBoundary) {
  const east = new Float64Array(n * n); // coefficient of the face between (i, j) and (i+1, j)
  const north = new Float64Array(n * n); // between (i, j) and (i, j+1)
  const diag = new Float64Array(n * n);
  const wall = boundary === "pdebench" ? 1 : 2; // ghost at one cell width, or the edge at half of one
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const p = i * n + j;
      const k = nu[p];
      if (i + 1 < n) east[p] = 0.5 * (k + nu[p + n]);
      if (j + 1 < n) north[p] = 0.5 * (k + nu[p + 1]);
      let d = 0;
      d += i + 1 < n ? east[p] : wall * k;
      d += i > 0 ? east[p - n] : wall * k;
      d += j + 1 < n ? north[p] : wall * k;
      d += j > 0 ? north[p - 1] : wall * k;
      diag[p] = d;
    }
  }
  return { east, north, diag };
}

/**
 * Solves the steady Darcy problem for one coefficient field.
 * @param nu ν at the n×n cell centres (row-major, x along the first axis).
 * @param n Cells per side.
 * @param o β, boundary treatment, tolerance.
 * @returns u and the solver's iterations and residual.
 */
export function solveDarcy(nu: ArrayLike<number>, n: number, o: DarcySolveOptions = {}): DarcySolution {
  if (nu.length !== n * n) throw new RangeError(`solveDarcy: ν has ${nu.length} values, expected ${n}×${n}`);
  const rhs = new Float64Array(n * n).fill((o.beta ?? 100) / (n * n));
  return solveStencil(stencil(nu, n, o.boundary ?? "pdebench"), n, rhs, o);
}

/** Preconditioned conjugate gradients on the 5-point stencil, IC(0) preconditioner. */
function solveStencil(
  A: { east: Float64Array; north: Float64Array; diag: Float64Array },
  n: number,
  b: Float64Array,
  o: DarcySolveOptions,
): DarcySolution {
  const N = n * n;
  const { east, north, diag } = A;
  // IC(0): L = (D + strictly lower part of A)·D^-1 with d_p = a_pp − a_pW²/d_W − a_pS²/d_S.
  const d = new Float64Array(N);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const p = i * n + j;
      let v = diag[p];
      if (i > 0) v -= (east[p - n] * east[p - n]) / d[p - n];
      if (j > 0) v -= (north[p - 1] * north[p - 1]) / d[p - 1];
      d[p] = v;
    }
  }
  const apply = (x: Float64Array, y: Float64Array) => {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const p = i * n + j;
        let v = diag[p] * x[p];
        if (i > 0) v -= east[p - n] * x[p - n];
        if (i + 1 < n) v -= east[p] * x[p + n];
        if (j > 0) v -= north[p - 1] * x[p - 1];
        if (j + 1 < n) v -= north[p] * x[p + 1];
        y[p] = v;
      }
    }
  };
  const precondition = (r: Float64Array, z: Float64Array) => {
    // (D + L)·D^-1·(D + Lᵀ) z = r: forward then backward substitution.
    for (let p = 0; p < N; p++) {
      const i = (p / n) | 0, j = p - i * n;
      let v = r[p];
      if (i > 0) v += east[p - n] * z[p - n];
      if (j > 0) v += north[p - 1] * z[p - 1];
      z[p] = v / d[p];
    }
    for (let p = N - 1; p >= 0; p--) {
      const i = (p / n) | 0, j = p - i * n;
      let v = 0;
      if (i + 1 < n) v += east[p] * z[p + n];
      if (j + 1 < n) v += north[p] * z[p + 1];
      z[p] += v / d[p];
    }
  };
  const u = new Float64Array(N);
  const r = Float64Array.from(b);
  const z = new Float64Array(N);
  const q = new Float64Array(N);
  precondition(r, z);
  const s = Float64Array.from(z);
  let rz = dot(r, z);
  const bNorm = Math.sqrt(dot(b, b)) || 1;
  const tol = o.tolerance ?? 1e-10;
  const maxIt = o.maxIterations ?? 20 * n;
  let it = 0;
  let res = Math.sqrt(dot(r, r)) / bNorm;
  while (res > tol && it < maxIt) {
    apply(s, q);
    const step = rz / dot(s, q);
    for (let p = 0; p < N; p++) {
      u[p] += step * s[p];
      r[p] -= step * q[p];
    }
    precondition(r, z);
    const rzNew = dot(r, z);
    const beta = rzNew / rz;
    rz = rzNew;
    for (let p = 0; p < N; p++) s[p] = z[p] + beta * s[p];
    res = Math.sqrt(dot(r, r)) / bNorm;
    it++;
  }
  return { u, iterations: it, residual: res };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Solves −∇·(ν∇u) = f for a given ν and f on the unit square with u = 0 on the boundary (for
 * manufactured-solution checks of the discretisation).
 * @param nu ν at the cell centres.
 * @param f f at the cell centres.
 * @param n Cells per side.
 * @param o Boundary treatment and tolerance.
 * @returns u and the solver's iterations and residual.
 */
export function solveDarcyWithSource(
  nu: ArrayLike<number>,
  f: ArrayLike<number>,
  n: number,
  o: DarcySolveOptions = {},
): DarcySolution {
  const rhs = Float64Array.from(f, (v) => v / (n * n));
  return solveStencil(stencil(nu, n, o.boundary ?? "pdebench"), n, rhs, o);
}

/**
 * The cell-centre coordinates of an n-cell side of the unit interval, as PDEBench's files hold them.
 * @param n Cells.
 * @returns (i + ½)/n for i = 0…n−1.
 */
export function cellCentres(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (i + 0.5) / n);
}

/**
 * Draws PDEBench's Darcy coefficients for one block of samples: per sample the sum of five Gaussian
 * bumps exp(−|x − m|²/s) with centres uniform on the square and s = ½·U(0, 1); ν = 1 where the sum
 * exceeds its mean over the whole block, 0.1 elsewhere.
 * @param n Cells per side.
 * @param count Samples in the block (PDEBench: {@link DARCY_BLOCK}).
 * @param seed The block's seed.
 * @returns count·n·n values of ν (sample-major, x along the first grid axis).
 */
export function darcyCoefficients(n: number, count: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const xc = cellCentres(n);
  const sums = new Float64Array(count * n * n);
  let total = 0;
  for (let s = 0; s < count; s++) {
    const xm = Array.from({ length: 5 }, rand), ym = Array.from({ length: 5 }, rand);
    const sd = Array.from({ length: 5 }, () => 0.5 * rand());
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let v = 0;
        for (let k = 0; k < 5; k++) v += Math.exp(-((xc[i] - xm[k]) ** 2 + (xc[j] - ym[k]) ** 2) / sd[k]);
        sums[(s * n + i) * n + j] = v;
        total += v;
      }
    }
  }
  const mean = total / sums.length;
  return Float32Array.from(sums, (v) => (v > mean ? 1 : 0.1));
}
