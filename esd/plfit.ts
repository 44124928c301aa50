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

function bestOf(sorted: ArrayLike<number>, candidates: number[]): PowerLawFit | null {
  const suffix = suffixLogs(sorted);
  let best: PowerLawFit | null = null;
  for (const i of candidates) {
    const f = fitAt(sorted, i, suffix);
    const D = f.alpha > 1 && Number.isFinite(f.alpha) ? f.D : 1;
    if (!best || D < best.D) best = { ...f, D };
  }
  return best;
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

/**
 * Fits a power law to ascending, positive eigenvalues.
 * @param sorted Eigenvalues, ascending, all > 0 (filter zeros first), at least 2.
 * @param options xmin choice.
 * @returns The fit.
 * @throws {RangeError} With fewer than 2 eigenvalues.
 * @example
 * ```ts
 * import { fitPowerLaw } from "./plfit.ts";
 * const fit = fitPowerLaw([0.1, 0.2, 0.4, 1, 3, 9, 30], { method: "gof" });
 * ```
 */
export function fitPowerLaw(sorted: ArrayLike<number>, options: FitOptions = {}): PowerLawFit {
  const { method = "median", xminPos = 2 } = options;
  const N = sorted.length;
  if (N < 2) throw new RangeError(`fitPowerLaw: needs at least 2 eigenvalues, got ${N}`);
  if (method === "median" || method === "mid") {
    if (!(xminPos >= 1)) throw new RangeError(`fitPowerLaw: xminPos must be ≥ 1, got ${xminPos}`);
    return fitAt(sorted, Math.min(N - 2, Math.floor(N / xminPos)));
  }
  let candidates = Array.from({ length: N - 1 }, (_, i) => i);
  if (method === "peak") {
    const p = histogramPeak(sorted);
    const inRange = candidates.filter((i) => sorted[i] >= 0.95 * p && sorted[i] <= 1.5 * p);
    if (inRange.length) candidates = inRange;
  } else if (method !== "gof") {
    throw new RangeError(`fitPowerLaw: unknown method "${method}": expected median, mid, gof or peak`);
  }
  return bestOf(sorted, candidates)!;
}
