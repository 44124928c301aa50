/**
 * Power-law fits of an empirical spectral density (float64, on sorted eigenvalues): the Hill
 * (continuous MLE) estimator of alpha for a chosen xmin, and its Kolmogorov–Smirnov distance D.
 *
 * For xmin index i over ascending λ (length N) and n = N − i:
 *   alpha = 1 + n / (Σ_{j≥i} ln λ_j − n·ln λ_i)
 *   D     = max_{k<n} |1 − (λ_{i+k}/λ_i)^(1−alpha) − k/n|
 * xmin choices: `median` (i = ⌊N/2⌋, TempBalance's default), `mid` (i = ⌊N/xminPos⌋), `gof`
 * (every i < N−1, argmin D where alpha > 1 — WeightWatcher's fit via the powerlaw package) and
 * `peak` (WeightWatcher/TempBalance "fix fingers": the peak bin of a 100-bin histogram of
 * log10 λ gives p; only candidates with 0.95·p ≤ λ_i ≤ 1.5·p are searched).
 * NOTE: the TempBalance reference code takes log10 of the lower bound before comparing it with
 * eigenvalues (a unit slip that admits almost every candidate); we implement the intended bound.
 * Ref: Clauset, Shalizi & Newman, "Power-law distributions in empirical data", SIAM Rev. 51 (2009).
 * @module
 */
import { OptionError } from "../util/errors.ts";

/** How xmin is chosen. */
export type FitMethod = "median" | "mid" | "gof" | "peak";

/** A fitted power law. */
export interface PowerLawFit {
  /** The exponent. */
  alpha: number;
  /** The lower cut-off (an eigenvalue). */
  xmin: number;
  /** The largest eigenvalue. */
  xmax: number;
  /** KS distance of the fit. */
  D: number;
  /** Index of xmin in the ascending eigenvalues. */
  index: number;
  /** Eigenvalues ≥ xmin in the tail (n = N − index). */
  n: number;
}

/** Options for {@link fitPowerLaw}. */
export interface FitOptions {
  /** xmin choice (default `median`). */
  method?: FitMethod;
  /** For `median`/`mid`: i = ⌊N / xminPos⌋ (default 2). */
  xminPos?: number;
  /**
   * `peak`'s lower bound on xmin: `intended` (default) 0.95·p, or `reference` log10(0.95·p) — what
   * the reference code (TempBalance, WeightWatcher, FARMS' `LLM_Pruning`) compares eigenvalues
   * with, which usually admits every candidate below 1.5·p. Pruning allocations use `reference` to
   * reproduce FARMS' `alpha_peak`.
   */
  peakBound?: "intended" | "reference";
}

/** Suffix sums of ln λ: `s[i] = Σ_{j≥i} ln λ_j`, summed pairwise-safe in float64. */
function suffixLogs(sorted: ArrayLike<number>): Float64Array {
  const N = sorted.length, s = new Float64Array(N + 1);
  for (let i = N - 1; i >= 0; i--) s[i] = s[i + 1] + Math.log(sorted[i]);
  return s;
}

/** alpha and D for xmin index i. */
export function fitAt(
  sorted: ArrayLike<number>,
  i: number,
  suffix: Float64Array = suffixLogs(sorted),
): PowerLawFit {
  const N = sorted.length, n = N - i, xmin = sorted[i];
  const alpha = 1 + n / (suffix[i] - n * Math.log(xmin));
  let D = 0;
  for (let k = 0; k < n; k++) {
    const d = Math.abs(1 - Math.pow(sorted[i + k] / xmin, 1 - alpha) - k / n);
    if (d > D) D = d;
  }
  return { alpha, xmin, xmax: sorted[N - 1], D, index: i, n };
}

/** Left edge of the most populated bin of a 100-bin histogram of log10 λ (λ > 0), as a value. */
export function histogramPeak(sorted: ArrayLike<number>, bins = 100): number {
  const logs = Array.from(sorted).filter((v) => v > 0).map(Math.log10);
  const lo = logs[0], hi = logs[logs.length - 1];
  if (hi === lo) return 10 ** lo;
  const counts = new Array<number>(bins).fill(0);
  const w = (hi - lo) / bins;
  for (const v of logs) counts[Math.min(bins - 1, Math.floor((v - lo) / w))]++;
  let best = 0;
  for (let b = 1; b < bins; b++) if (counts[b] > counts[best]) best = b;
  return 10 ** (lo + best * w);
}

/** A validated range of xmin candidates `[i0, i1)` over ascending eigenvalues. */
export interface CandidateRange {
  /** First candidate index. */
  i0: number;
  /** One past the last candidate (≤ N − 1). */
  i1: number;
}

/** The fit methods, for validation and help texts. */
export const FIT_METHODS: readonly FitMethod[] = ["median", "mid", "gof", "peak"];

/**
 * Checks fit options: a known method and, for `median`/`mid`, `xminPos ≥ 1`.
 * @param options The options.
 * @param where Who asks (starts the error message).
 * @returns The method and position with defaults filled in.
 * @throws {OptionError} On an unknown method or a bad `xminPos`.
 */
export function checkFitOptions(
  options: FitOptions = {},
  where = "fitPowerLaw",
): { method: FitMethod; xminPos: number } {
  const { method = "median", xminPos = 2 } = options;
  if (!FIT_METHODS.includes(method)) {
    throw new OptionError(`${where}: unknown fit method "${method}": expected median, mid, gof or peak`);
  }
  if (!(xminPos >= 1) || !Number.isFinite(xminPos)) {
    throw new OptionError(`${where}: xminPos must be a number ≥ 1, got ${xminPos}`);
  }
  return { method, xminPos };
}

/**
 * The xmin candidates a method searches, shared by the float64 and the GPU fits.
 * - `median`/`mid`: the one index ⌊N/xminPos⌋ (at most N − 2), even when its eigenvalue is 0 —
 *   the reference then has no alpha (ln 0), and neither do we.
 * - `gof`: every index from the first positive eigenvalue to N − 2. A zero xmin makes the
 *   reference's alpha NaN and its D 1, so such candidates can never win; skipping them is the same
 *   choice without the NaNs.
 * - `peak`: the positive candidates with 0.95·p ≤ λ_i ≤ 1.5·p (p from {@link histogramPeak}; with
 *   `peakBound: "reference"` the lower bound is log10(0.95·p), as the reference code has it); if
 *   none, all of `gof`'s.
 * @param sorted Ascending eigenvalues (zeros allowed), at least 2.
 * @param options Method and position.
 * @returns The candidate range.
 * @throws {OptionError} With fewer than 2 eigenvalues or bad options.
 */
/**
 * The xmin index of the `median`/`mid` fits: `floor(N / xminPos)`, kept below N − 1 so that at
 * least two eigenvalues are fitted. The one definition the CPU fit and the live GPU path share.
 * @param N Eigenvalues (≥ 2).
 * @param xminPos The position divisor (2: the median).
 * @returns The index.
 */
export function medianXminIndex(N: number, xminPos: number): number {
  return Math.max(0, Math.min(N - 2, Math.floor(N / xminPos)));
}

export function xminCandidates(sorted: ArrayLike<number>, options: FitOptions = {}): CandidateRange {
  const { method, xminPos } = checkFitOptions(options);
  const N = sorted.length;
  if (N < 2) throw new OptionError(`fitPowerLaw: needs at least 2 eigenvalues, got ${N}`);
  if (method === "median" || method === "mid") {
    const i = medianXminIndex(N, xminPos);
    return { i0: i, i1: i + 1 };
  }
  let first = 0;
  while (first < N - 2 && !(sorted[first] > 0)) first++;
  const all = { i0: first, i1: N - 1 };
  if (method === "gof") return all;
  const p = histogramPeak(sorted);
  const lower = options.peakBound === "reference" ? Math.log10(0.95 * p) : 0.95 * p;
  let i0 = first;
  while (i0 < N - 1 && sorted[i0] < lower) i0++;
  let i1 = i0;
  while (i1 < N - 1 && sorted[i1] <= 1.5 * p) i1++;
  return i1 > i0 ? { i0, i1 } : all;
}

/**
 * The best of a candidate range given each candidate's alpha and D (as the reference: D counts
 * only where alpha > 1, else 1; the first minimum wins, like `argmin`).
 * @param alpha alpha of candidates i0, i0 + 1, …
 * @param D KS distance of the same candidates.
 * @returns The offset of the best candidate in the range.
 */
export function bestCandidate(alpha: ArrayLike<number>, D: ArrayLike<number>): number {
  let best = 0, bestD = Infinity;
  for (let c = 0; c < D.length; c++) {
    const d = alpha[c] > 1 && Number.isFinite(alpha[c]) && Number.isFinite(D[c]) ? D[c] : 1;
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

/**
 * Fits a power law to ascending eigenvalues.
 * @param sorted Eigenvalues, ascending, ≥ 0, at least 2. Zeros may be kept (TempBalance's
 *   default): they count in N but are never xmin, except for a `median`/`mid` index that falls on
 *   one, which gives alpha NaN (no fit) as in the reference.
 * @param options xmin choice.
 * @returns The fit.
 * @throws {OptionError} With fewer than 2 eigenvalues, an unknown method, or xminPos < 1.
 * @example
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { fitPowerLaw } from "./plfit.ts";
 * // Quantiles of a Pareto law with density ∝ λ^-2.5 above 1: the fit finds alpha ≈ 2.5.
 * const n = 1000;
 * const evals = Array.from({ length: n }, (_, i) => Math.pow(1 - (i + 0.5) / n, -1 / 1.5)).sort((a, b) => a - b);
 * const fit = fitPowerLaw(evals, { method: "gof" });
 * ok(Math.abs(fit.alpha - 2.5) < 0.1, `alpha ${fit.alpha}`);
 * equal(fitPowerLaw(evals, { method: "median" }).xmin, evals[n / 2]);
 * ```
 */
export function fitPowerLaw(sorted: ArrayLike<number>, options: FitOptions = {}): PowerLawFit {
  const { i0, i1 } = xminCandidates(sorted, options);
  const suffix = suffixLogs(sorted);
  const fits: PowerLawFit[] = [];
  for (let i = i0; i < i1; i++) fits.push(fitAt(sorted, i, suffix));
  const f = fits[bestCandidate(fits.map((x) => x.alpha), fits.map((x) => x.D))];
  return i1 - i0 > 1 && !(f.alpha > 1) ? { ...f, D: 1 } : f;
}
