/**
 * The statistics of a comparison over seeds: mean and sample standard deviation, Student's t
 * quantiles, and the paired difference of two methods with its t confidence interval and a sign
 * count. Plain float64 code; no dependency.
 * @module
 */

/**
 * Mean and sample standard deviation (n − 1 in the denominator; 0 for one value, NaN for none).
 * @param v The values.
 * @returns `{ mean, std }`.
 * @example
 * ```ts
 * import { meanStd } from "./stats.ts";
 * meanStd([1, 2, 3]); // { mean: 2, std: 1 }
 * ```
 */
export function meanStd(v: number[]): { mean: number; std: number } {
  if (!v.length) return { mean: NaN, std: NaN };
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std };
}

// ln Γ(x) for x > 0: shifted up to z ≥ 15, then Stirling's series (error below 1e-14 there).
function lnGamma(x: number): number {
  let shift = 0;
  while (x < 15) {
    shift += Math.log(x);
    x += 1;
  }
  const z2 = 1 / (x * x);
  const series = (1 / 12 - z2 * (1 / 360 - z2 * (1 / 1260 - z2 / 1680))) / x;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

// The continued fraction of the incomplete beta function (modified Lentz).
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - (a + b) * x / (a + 1);
  d = Math.abs(d) < tiny ? tiny : d;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    for (
      const aa of [
        m * (b - m) * x / ((a + m2 - 1) * (a + m2)),
        -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1)),
      ]
    ) {
      d = 1 + aa * d;
      d = Math.abs(d) < tiny ? tiny : d;
      c = 1 + aa / c;
      c = Math.abs(c) < tiny ? tiny : c;
      d = 1 / d;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-16) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? front * betaFraction(a, b, x) / a
    : 1 - front * betaFraction(b, a, 1 - x) / b;
}

/**
 * Student's t distribution function P(T ≤ t) with `df` degrees of freedom.
 * @param t The value.
 * @param df Degrees of freedom (> 0).
 * @returns The probability.
 */
export function tCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * Student's t quantile: the t with P(T ≤ t) = p, by bisection on {@link tCdf} (to ~1e-12).
 * @param p The probability, in (0, 1).
 * @param df Degrees of freedom (> 0).
 * @returns The quantile (e.g. `tQuantile(0.975, 4)` ≈ 2.776).
 * @throws {RangeError} When p is outside (0, 1) or df ≤ 0.
 */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`Invalid probability ${p}: expected a number in (0, 1)`);
  if (!(df > 0)) throw new RangeError(`Invalid degrees of freedom ${df}: expected a number > 0`);
  if (p < 0.5) return -tQuantile(1 - p, df);
  let lo = 0, hi = 1;
  while (tCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A paired comparison of method A against method B over the seeds both have. */
export interface PairedDifference {
  /** Pairs (seeds present in both). */
  n: number;
  /** Mean of A − B. */
  mean: number;
  /** Sample standard deviation of A − B. */
  std: number;
  /** The confidence interval's lower end (NaN with fewer than two pairs). */
  lo: number;
  /** Its upper end. */
  hi: number;
  /** The confidence level of [lo, hi] (0.95 by default). */
  level: number;
  /** Pairs where A > B. */
  better: number;
  /** Pairs where A < B. */
  worse: number;
}

/**
 * The paired difference of A and B (A[i] and B[i] from the same seed): the mean of the n
 * differences with the paired t interval `mean ± t(1 − (1 − level)/2, n − 1) · sd / √n`, and a sign
 * count.
 * @param a Method A's values, one per seed.
 * @param b Method B's values for the same seeds, in the same order.
 * @param level Confidence level (default 0.95).
 * @returns The difference A − B.
 * @throws {RangeError} When the arrays differ in length.
 */
export function pairedDifference(a: number[], b: number[], level = 0.95): PairedDifference {
  if (a.length !== b.length) {
    throw new RangeError(`Paired values differ in count: ${a.length} vs ${b.length}`);
  }
  const d = a.map((x, i) => x - b[i]);
  const { mean, std } = meanStd(d);
  const n = d.length;
  const half = n > 1 ? tQuantile(1 - (1 - level) / 2, n - 1) * std / Math.sqrt(n) : NaN;
  return {
    n,
    mean,
    std,
    lo: mean - half,
    hi: mean + half,
    level,
    better: d.filter((x) => x > 0).length,
    worse: d.filter((x) => x < 0).length,
  };
}
