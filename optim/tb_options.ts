/**
 * TempBalance's options: the per-layer metric, the fit, the assignment, the plan's removals and
 * BatchNorm tying, and where the ESD runs — with the reference's defaults, checked in one place.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import type { EigSolver } from "../esd/eigs.ts";
import type { FarmsOptions } from "../esd/farms.ts";
import { liveUnsupported } from "../esd/live.ts";
import { checkFitOptions, type FitMethod } from "../esd/plfit.ts";
import { TB_ASSIGNS, type TbAssign } from "./tb_assign.ts";
import type { PlanOptions } from "./tb_plan.ts";

/** The per-layer metric TempBalance ranks layers by. */
export type TbMetric = "alpha" | "spectral_norm" | "alphahat";

/** The metrics, for validation and help texts. */
export const TB_METRICS: readonly TbMetric[] = ["alpha", "spectral_norm", "alphahat"];

/** Options of {@link TempBalance}, with the reference's defaults. */
export interface TempBalanceOptions extends PlanOptions {
  /** Metric (default `alpha`). */
  metric?: TbMetric;
  /** xmin choice of the fit (default `median`). */
  fit?: FitMethod;
  /** `median`/`mid`: xmin index ⌊N / xminPos⌋ (default 2). */
  xminPos?: number;
  /** Conv slices are multiplied by sqrt(convNorm) (default 0.5). */
  convNorm?: number;
  /** Drop eigenvalues ≤ 1e-5 before fitting (default false). */
  filterZeros?: boolean;
  /** Assignment function (default `linear`, the reference's `tb_linear_map`). */
  assign?: TbAssign;
  /** Lower end of the rate range, × the untuned rate (default 0.5). */
  lrMinRatio?: number;
  /** Upper end (default 1.5). */
  lrMaxRatio?: number;
  /** The `sigmoid` assignment's τ (default 10). */
  tau?: number;
  /** The `sigmoid` assignment's slope below the mean metric (default 2). */
  sigmoidMin?: number;
  /** The `sigmoid` assignment's slope above the mean metric (default 1). */
  sigmoidMax?: number;
  /** Eigenvalue solver (default `auto`). */
  solver?: EigSolver;
  /** Where the fits run (default `gpu`). */
  fitDevice?: "gpu" | "cpu";
  /**
   * Measure each layer by FARMS (fixed-aspect-ratio submatrices; `true` for its defaults) instead
   * of its whole ESD — FARMS-driven TempBalance. Default false.
   */
  farms?: boolean | FarmsOptions;
  /**
   * Where a model's ESD runs: `live` — on the weights in the parameter arena, only alpha and λmax
   * read back (`esd/live.ts`; median/mid fits, no FARMS or filterZeros); `readback` — the weights
   * read back and analysed as a file would be (any fit; eigenvalues by `solver`); `auto` (default)
   * — live on hardware adapters, readback on software ones, where the float64 CPU eigensolver is
   * measured faster than the GPU Jacobi (see `esd/eigs.ts`).
   */
  esd?: "auto" | "live" | "readback";
  /**
   * Measure and tune an FNO's Fourier layers too (their complex weights, one real slice per mode:
   * `spectralSlices`). Default false: as Model Balancing's SciML code, they stay untuned. Needs the
   * readback ESD path.
   */
  spectral?: boolean;
  /** Where warnings go (default `console.warn`). */
  onWarning?: (message: string) => void;
}

/**
 * Checks options and fills in the defaults.
 * @param o The options.
 * @returns The options with every default.
 * @throws {OptionError} Naming the option: an unknown metric/fit/assign/batchnorm type, a ratio
 *   that is negative or not finite, `lrMinRatio > lrMaxRatio`, `eigsThresh < 1`, `xminPos < 1`,
 *   `convNorm ≤ 0`.
 */
export function tempBalanceDefaults(
  o: TempBalanceOptions = {},
): Required<Omit<TempBalanceOptions, "onWarning">> {
  const d = {
    metric: o.metric ?? "alpha",
    fit: o.fit ?? "median",
    xminPos: o.xminPos ?? 2,
    convNorm: o.convNorm ?? 0.5,
    filterZeros: o.filterZeros ?? false,
    assign: o.assign ?? "linear",
    lrMinRatio: o.lrMinRatio ?? 0.5,
    lrMaxRatio: o.lrMaxRatio ?? 1.5,
    tau: o.tau ?? 10,
    sigmoidMin: o.sigmoidMin ?? 2,
    sigmoidMax: o.sigmoidMax ?? 1,
    removeFirstLayer: o.removeFirstLayer ?? true,
    removeLastLayer: o.removeLastLayer ?? true,
    eigsThresh: o.eigsThresh ?? 50,
    batchnorm: o.batchnorm ?? true,
    batchnormType: o.batchnormType ?? "name",
    layernorm: o.layernorm ?? false,
    solver: o.solver ?? "auto",
    fitDevice: o.fitDevice ?? "gpu",
    farms: o.farms ?? false,
    esd: o.esd ?? "auto",
    spectral: o.spectral ?? false,
  } as const;
  const bad = (what: string) => new OptionError(`TempBalance: ${what}`);
  if (!TB_METRICS.includes(d.metric)) {
    throw bad(`unknown metric "${d.metric}": expected ${TB_METRICS.join(", ")}`);
  }
  if (!TB_ASSIGNS.includes(d.assign)) {
    throw bad(`unknown assign function "${d.assign}": expected ${TB_ASSIGNS.join(", ")}`);
  }
  if (d.batchnormType !== "name" && d.batchnormType !== "order") {
    throw bad(`unknown batchnormType "${d.batchnormType}": expected name or order`);
  }
  checkFitOptions({ method: d.fit, xminPos: d.xminPos }, "TempBalance");
  for (const k of ["lrMinRatio", "lrMaxRatio", "tau", "sigmoidMin", "sigmoidMax"] as const) {
    if (!(d[k] >= 0) || !Number.isFinite(d[k])) throw bad(`${k} must be a finite number ≥ 0, got ${d[k]}`);
  }
  if (d.lrMinRatio > d.lrMaxRatio) {
    throw bad(`lrMinRatio ${d.lrMinRatio} is greater than lrMaxRatio ${d.lrMaxRatio}`);
  }
  if (!(Number.isInteger(d.eigsThresh) && d.eigsThresh >= 1)) {
    throw bad(`eigsThresh must be an integer ≥ 1, got ${d.eigsThresh}`);
  }
  if (!(d.convNorm > 0) || !Number.isFinite(d.convNorm)) throw bad(`convNorm must be > 0, got ${d.convNorm}`);
  if (d.esd !== "auto" && d.esd !== "live" && d.esd !== "readback") {
    throw bad(`unknown esd path "${d.esd}": expected auto, live or readback`);
  }
  const unsupported = d.esd === "live" ? liveUnsupported(d) : null;
  if (unsupported) throw bad(`esd "live" runs the median/mid fit on whole layers only: ${unsupported}`);
  if (d.solver !== "auto" && d.solver !== "gpu" && d.solver !== "cpu") {
    throw bad(`unknown solver "${d.solver}": expected auto, gpu or cpu`);
  }
  return d as Required<Omit<TempBalanceOptions, "onWarning">>;
}
