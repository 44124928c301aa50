/**
 * Layer-wise spectral diagnosis, as WeightWatcher and the TempBalance paper define it: every
 * Conv2d/Linear weight's matrices ({@link layerMatrices}), their eigenvalues (Gram + Jacobi on the
 * GPU, or float64 on the CPU in WebAssembly, {@link eigvalshCpu}, over a pool of workers,
 * {@link EigPool}: {@link layerEigenvalues}), the power-law fit ({@link fitPowerLaw},
 * {@link fitPowerLawsGpu}), the Marchenko–Pastur fit ({@link fitMp}) and the metrics built on them
 * ({@link layerMetrics}); FARMS sampling ({@link farmsGroups}); {@link analyze} does it all for a
 * weight file or a model, and {@link liveLayerMetrics} for weights that stay on the GPU.
 *
 * @example
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { analyze, fitPowerLaw } from "./mod.ts";
 *
 * // A pure power law with density ∝ λ^-3 (quantiles of a Pareto law, xmin 1): alpha ≈ 3.
 * const n = 2000;
 * const evals = Float64Array.from({ length: n }, (_, i) => Math.pow(1 - (i + 0.5) / n, -1 / 2)).sort();
 * const fit = fitPowerLaw(evals, { method: "gof" });
 * ok(Math.abs(fit.alpha - 3) < 0.1, `alpha ${fit.alpha}`);
 *
 * const w = Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i * 12.9898) * 0.1);
 * const { layers } = await analyze({ "fc.weight": { shape: [64, 32], data: w } }, { fit: "median" });
 * equal(layers[0].num_evals, 32);
 * ok(layers[0].alpha !== null && layers[0].alpha > 1);
 * ```
 * @module
 */
export { analyze } from "./analyze.ts";
export type { AnalyzeOptions, AnalyzeResult, NamedArray, StateDictSource } from "./analyze.ts";
export { farmsGroups } from "./farms.ts";
export type { FarmsOptions } from "./farms.ts";
export { layerEigenvalues } from "./eigs.ts";
export type { EigSolver, EsdTimings, LayerEigenOptions, LayerEigs } from "./eigs.ts";
export { EIG_CPU_MAX_N, eigvalshCpu, gramEigvalsCpu } from "./eig_cpu.ts";
export { EigPool } from "./eig_pool.ts";
export type { EigJob, EigPoolOptions, EigPoolStats } from "./eig_pool.ts";
export { layerMatrices } from "./matrices.ts";
export type { Convention, LayerMatrices, Layout, MatrixOptions } from "./matrices.ts";
export { EVALS_THRESH, layerMetrics, METRIC_COLUMNS, summarize } from "./metrics.ts";
export type { LayerRow, MetricOptions } from "./metrics.ts";
export { FIT_METHODS, fitPowerLaw, medianXminIndex } from "./plfit.ts";
export type { FitMethod, FitOptions, PowerLawFit } from "./plfit.ts";
export { fitMp } from "./mp.ts";
export type { MpFit } from "./mp.ts";
export { fitPowerLawsGpu } from "./plfit_gpu.ts";
export { liveLayerMetrics, liveUnsupported } from "./live.ts";
export type { LiveMetrics } from "./live.ts";
