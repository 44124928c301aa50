/**
 * Layer-wise spectral diagnosis: weight matrices, eigenvalues (Gram + Jacobi on the GPU),
 * power-law fits and WeightWatcher's metrics.
 * @module
 */
export { analyze } from "./analyze.ts";
export type { AnalyzeOptions, AnalyzeResult, NamedArray, StateDictSource } from "./analyze.ts";
export { farmsGroups } from "./farms.ts";
export type { FarmsOptions } from "./farms.ts";
export { layerEigenvalues } from "./eigs.ts";
export type { EigSolver, LayerEigs } from "./eigs.ts";
export { layerMatrices } from "./matrices.ts";
export type { Convention, LayerMatrices, Layout, MatrixOptions } from "./matrices.ts";
export { EVALS_THRESH, layerMetrics, METRIC_COLUMNS, summarize } from "./metrics.ts";
export type { LayerRow, MetricOptions } from "./metrics.ts";
export {
  bestCandidate,
  checkFitOptions,
  FIT_METHODS,
  fitAt,
  fitPowerLaw,
  histogramPeak,
  xminCandidates,
} from "./plfit.ts";
export type { CandidateRange, FitMethod, FitOptions, PowerLawFit } from "./plfit.ts";
export { fitMp, jensenShannon, shuffled } from "./mp.ts";
export type { MpFit } from "./mp.ts";
export { fitPowerLawsGpu } from "./plfit_gpu.ts";
export { liveLayerMetrics } from "./live.ts";
export type { LiveMetrics } from "./live.ts";
