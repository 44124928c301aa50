/**
 * Reports: an analysis as an aligned table or CSV, SVG plots (Vega-Lite, rendered headless; the
 * plotting packages load on the first plot), a run's curves and per-layer plots, comparisons of
 * methods over seeds and grids (paired differences with t intervals), the three regimes on the sphere, and the training progress bar.
 *
 * @example
 * ```ts
 * import { match } from "node:assert/strict";
 * import { analyze } from "../esd/mod.ts";
 * import { alphaPlot, formatCsv, formatTable } from "./mod.ts";
 *
 * const w = Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i * 12.9898) * 0.1);
 * const result = await analyze({ "fc.weight": { shape: [64, 32], data: w } }, { fit: "median" });
 * match(formatTable(result), /^name\s+shape\s+num_evals\s+alpha/);
 * match(formatCsv(result), /^name,kind,shape,/);
 * match(await alphaPlot(result.layers), /^<svg/);
 * ```
 * @module
 */
export { formatCsv, formatSummary, formatTable, TABLE_COLUMNS } from "./table.ts";
export { alphaPlot, esdPlot, plotFileName } from "./plots.ts";
export { trainingPlots, writeRunPlots } from "./train_plots.ts";
export { EpochProgress, LayerProgress } from "./progress.ts";
export { layerHeatmap, layerLines } from "./layer_plots.ts";
export type { LayerPoint } from "./layer_plots.ts";
export {
  bestValue,
  evaluated,
  finalAlphaPlot,
  finalValue,
  meanStd,
  metricBands,
  metricFileName,
  wallSeconds,
} from "./compare.ts";
export { pairedDifference, tCdf, tQuantile } from "./stats.ts";
export type { PairedDifference } from "./stats.ts";
export {
  gainPlot,
  runsCsv,
  studyCsv,
  studyMarkdown,
  summarizeStudy,
  verdict,
  writeStudyReport,
} from "./study.ts";
export type { CellGain, CellMethod, StudySpec, StudySummary } from "./study.ts";
export type { RunRecord } from "./compare.ts";
export { classifyRun, regimePlots, regimesCsv, regimesMarkdown } from "./regimes.ts";
export type { Regime, RegimeRow, RegimeSeries } from "./regimes.ts";
export { lossCurvePlot } from "./lm_plots.ts";
