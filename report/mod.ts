/**
 * Reports of an analysis: the aligned table, CSV, and SVG plots.
 * @module
 */
export { formatCsv, formatTable } from "./table.ts";
export { alphaPlot, esdPlot, plotFileName } from "./plots.ts";
export { trainingPlots, writeRunPlots } from "./train_plots.ts";
export { EpochProgress } from "./progress.ts";
export { layerHeatmap, layerLines } from "./layer_plots.ts";
export type { LayerPoint } from "./layer_plots.ts";
export {
  accuracyBands,
  finalAlphaPlot,
  meanStd,
  resultsCsv,
  resultsMarkdown,
  summarizeRuns,
} from "./compare.ts";
export type { MethodSummary, RunRecord } from "./compare.ts";
export { classifyRun, regimePlots, regimesCsv, regimesMarkdown } from "./regimes.ts";
export type { Regime, RegimeRow, RegimeSeries } from "./regimes.ts";
