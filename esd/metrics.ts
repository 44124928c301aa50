/**
 * Per-layer metrics from an ESD, named as WeightWatcher names its columns, plus TempBalance's
 * alphahat. A layer whose numbers cannot be trusted gets a `warning` saying why and null metrics
 * that would be made up.
 * Ref: Martin & Mahoney, "Implicit self-regularization in deep neural networks", JMLR 22 (2021);
 * WeightWatcher's RMT_Util (matrix_rank, matrix_entropy).
 * @module
 */
import { type FitMethod, fitPowerLaw, type PowerLawFit } from "./plfit.ts";
import { fitMp } from "./mp.ts";
import type { Convention } from "./matrices.ts";

/** One analysed layer. Metrics are null where they could not be computed (see `warning`). */
export interface LayerRow {
  /** The weight tensor's name as stored in the file. */
  name: string;
  /** `conv2d` or `linear`. */
  kind: "conv2d" | "linear";
  /** The weight's shape as stored. */
  shape: number[];
  /** The larger dimension of a slice. */
  N: number;
  /** The smaller dimension of a slice. */
  M: number;
  /** Aspect ratio N / M. */
  Q: number;
  /** Eigenvalues in the ESD used for the fit. */
  num_evals: number;
  /** Largest eigenvalue. */
  lambda_max: number | null;
  /** Same as lambda_max (WeightWatcher's name). */
  spectral_norm: number | null;
  /** Power-law exponent. */
  alpha: number | null;
  /** TempBalance's alphahat = alpha·log10(spectral_norm). */
  alphahat: number | null;
  /** alpha·log10(lambda_max). */
  alpha_weighted: number | null;
  /** Fitted lower cut-off. */
  xmin: number | null;
  /** Largest eigenvalue in the fit. */
  xmax: number | null;
  /** KS distance of the fit. */
  D: number | null;
  /** Standard error of alpha: (alpha − 1)/sqrt(n). */
  sigma: number | null;
  /** Eigenvalues ≥ xmin. */
  num_pl_spikes: number | null;
  /** Σλ = ‖W‖²_F (of the slices as scaled by the convention). */
  norm: number | null;
  /** log10 Σλ. */
  log_norm: number | null;
  /** log10 λmax. */
  log_spectral_norm: number | null;
  /** log10 Σλ^alpha. */
  log_alpha_norm: number | null;
  /** Σλ / λmax. */
  stable_rank: number | null;
  /** Σλ / num_evals (FARMS's norm_stable_rank). */
  norm_stable_rank: number | null;
  /** Singular values above max(σ)·N·eps(float32). */
  matrix_rank: number | null;
  /** −Σ p ln p / ln(rank) with p = λ/Σλ. */
  entropy: number | null;
  /** MP fit (option `mpFit`): the bulk edge. */
  bulk_max: number | null;
  /** MP fit: eigenvalues above the bulk edge. */
  num_spikes: number | null;
  /** MP fit: bulk_max / λmax. */
  mp_softrank: number | null;
  /** MP fit: the entry standard deviation it implies. */
  sigma_mp: number | null;
  /** Option `randomize`: Jensen–Shannon distance between the ESD and the shuffled weights' ESD. */
  rand_distance: number | null;
  /** `over-trained` (alpha < 2), `under-trained` (alpha > 6), a reason the layer was not fitted, or "". */
  warning: string;
}

/** Options of the per-layer computation. */
export interface MetricOptions {
  /** xmin choice (default `median`). */
  fit?: FitMethod;
  /** xmin position for `median`/`mid` (default 2). */
  xminPos?: number;
  /** `peak`'s lower bound (see `FitOptions.peakBound`; default `intended`). */
  peakBound?: "intended" | "reference";
  /** `tb` (default) or `ww`: ww drops eigenvalues < 1e-5 and applies min/max_evals. */
  convention?: Convention;
  /** Drop eigenvalues ≤ 1e-5 before fitting (always on for `ww`). Default false. */
  filterZeros?: boolean;
  /** Fewer eigenvalues than this → no fit, with a warning (default 10). */
  minEvals?: number;
  /** `ww` only: more eigenvalues than this → not analysed (default 15000). */
  maxEvals?: number;
  /** Fit the Marchenko–Pastur law (bulk_max, num_spikes, mp_softrank, sigma_mp). Default false. */
  mpFit?: boolean;
}

/** Eigenvalues at or below this are treated as zero. */
export const EVALS_THRESH = 1e-5;
const EPS32 = 1.1920928955078125e-7;

function emptyRow(
  base: Pick<LayerRow, "name" | "kind" | "shape" | "N" | "M">,
  n: number,
  warning: string,
): LayerRow {
  return {
    ...base,
    Q: base.N / base.M,
    num_evals: n,
    lambda_max: null,
    spectral_norm: null,
    alpha: null,
    alphahat: null,
    alpha_weighted: null,
    xmin: null,
    xmax: null,
    D: null,
    sigma: null,
    num_pl_spikes: null,
    norm: null,
    log_norm: null,
    log_spectral_norm: null,
    log_alpha_norm: null,
    stable_rank: null,
    norm_stable_rank: null,
    matrix_rank: null,
    entropy: null,
    bulk_max: null,
    num_spikes: null,
    mp_softrank: null,
    sigma_mp: null,
    rand_distance: null,
    warning,
  };
}

/**
 * Computes a layer's metrics from its pooled eigenvalues.
 * @param base Name, kind, shape and slice dimensions (N ≥ M).
 * @param evals The pooled eigenvalues (any order; negative round-off is clamped to 0).
 * @param options Fit and filtering.
 * @param reason If given, the layer is not analysed and this is its warning.
 * @param precomputed A fit of {@link fitInput}'s `used` eigenvalues made elsewhere (the GPU).
 * @returns The row.
 */
export function layerMetrics(
  base: Pick<LayerRow, "name" | "kind" | "shape" | "N" | "M">,
  evals: ArrayLike<number>,
  options: MetricOptions = {},
  reason?: string,
  precomputed?: PowerLawFit,
): LayerRow {
  if (reason) return emptyRow(base, 0, reason);
  const { fit = "median", xminPos = 2, convention = "tb", minEvals = 10, maxEvals = 15000 } = options;
  const { all, used } = fitInput(evals, options);
  if (convention === "ww" && base.M > maxEvals) {
    return emptyRow(base, used.length, `not analysed: M = ${base.M} is above max_evals ${maxEvals}`);
  }
  const lmax = all[all.length - 1] ?? 0;
  if (!(lmax > 0)) {
    const row = emptyRow(base, used.length, "not analysed: all eigenvalues are zero");
    row.lambda_max = row.spectral_norm = row.norm = 0;
    row.matrix_rank = 0;
    return row;
  }
  const row = emptyRow(base, used.length, "");
  let sum = 0, sumPos = 0;
  for (const v of used) sum += v;
  for (const v of all) sumPos += v;
  row.lambda_max = row.spectral_norm = lmax;
  row.norm = sum;
  row.log_norm = Math.log10(sum);
  row.log_spectral_norm = Math.log10(lmax);
  row.stable_rank = sum / lmax;
  row.norm_stable_rank = sum / used.length;
  const tol = Math.sqrt(lmax) * base.N * EPS32;
  let rank = 0, ent = 0;
  for (const v of all) {
    if (Math.sqrt(v) > tol) rank++;
    if (v > 0) {
      const p = v / sumPos;
      ent -= p * Math.log(p);
    }
  }
  row.matrix_rank = rank;
  row.entropy = ent / Math.log(rank === 1 ? 1.000001 : rank);
  if (used.length < minEvals) {
    if (options.mpFit && all.length >= 2) Object.assign(row, mpColumns(all, base));
    row.warning = `not fitted: ${used.length} eigenvalues, fewer than min_evals ${minEvals}`;
    return row;
  }
  if (options.mpFit) Object.assign(row, mpColumns(all, base));
  const f = precomputed ?? fitPowerLaw(used, { method: fit, xminPos, peakBound: options.peakBound });
  if (!(f.xmin > 0) || !Number.isFinite(f.alpha)) {
    row.warning = `not fitted: xmin is ${f.xmin} (too many zero eigenvalues; try filterZeros)`;
    return row;
  }
  row.alpha = f.alpha;
  row.alphahat = row.alpha_weighted = f.alpha * Math.log10(lmax);
  row.xmin = f.xmin;
  row.xmax = f.xmax;
  row.D = f.D;
  row.sigma = (f.alpha - 1) / Math.sqrt(f.n);
  row.num_pl_spikes = f.n;
  let an = 0;
  for (const v of used) an += Math.pow(v, f.alpha);
  row.log_alpha_norm = Math.log10(an);
  row.warning = f.alpha < 2 ? "over-trained" : f.alpha > 6 ? "under-trained" : "";
  return row;
}

/**
 * The eigenvalues a layer's metrics use: all of them (negative round-off clamped to 0, ascending),
 * and those the fit uses (without eigenvalues ≤ 1e-5 under `ww` or `filterZeros`).
 * @param evals The pooled eigenvalues.
 * @param options Convention and filtering.
 * @returns Both arrays, ascending.
 */
export function fitInput(
  evals: ArrayLike<number>,
  options: MetricOptions = {},
): { all: Float64Array; used: Float64Array } {
  const all = Float64Array.from(evals, (v) => Math.max(0, v)).sort();
  const filter = options.convention === "ww" || options.filterZeros === true;
  let used = filter ? all.filter((v) => v > EVALS_THRESH) : all;
  if (filter && used.length === 0) used = all;
  return { all, used };
}

/** The numeric columns of a {@link LayerRow}, in WeightWatcher's order. */
export const METRIC_COLUMNS = [
  "N",
  "M",
  "Q",
  "num_evals",
  "lambda_max",
  "spectral_norm",
  "alpha",
  "alphahat",
  "alpha_weighted",
  "xmin",
  "xmax",
  "D",
  "sigma",
  "num_pl_spikes",
  "norm",
  "log_norm",
  "log_spectral_norm",
  "log_alpha_norm",
  "stable_rank",
  "norm_stable_rank",
  "matrix_rank",
  "entropy",
  "bulk_max",
  "num_spikes",
  "mp_softrank",
  "sigma_mp",
  "rand_distance",
] as const;

/** Mean of each numeric column over the layers where it is a finite number. */
export function summarize(rows: LayerRow[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const c of METRIC_COLUMNS) {
    const vals = rows.map((r) => r[c]).filter((v): v is number =>
      typeof v === "number" && Number.isFinite(v)
    );
    out[c] = vals.length ? vals.reduce((s, v) => s + v, 0) / vals.length : null;
  }
  return out;
}

function mpColumns(all: Float64Array, base: { N: number; M: number }): Partial<LayerRow> {
  const mp = fitMp(all, base.N, base.M);
  return {
    bulk_max: mp.bulk_max,
    num_spikes: mp.num_spikes,
    mp_softrank: mp.mp_softrank,
    sigma_mp: mp.sigma_mp,
  };
}
