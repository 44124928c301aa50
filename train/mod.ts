/**
 * Training: the one loop every task trains through ({@link fit}: run folder and lock, rates,
 * evaluation cadence, metrics and layer logs, atomic checkpoints, bit-identical resume) and its
 * tasks — image classification ({@link imageTask}, runs from one configuration with
 * {@link createRun}) and language modelling ({@link lmTask}, {@link createLmRun}); the one-submit
 * steps, evaluation, learning-rate schedules, and the methods of the papers (CAL, SNR, SGDR, LARS,
 * LAMB, Lookahead, SGDP, TempBalance and its variants, Model Balancing).
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { makeSchedule, sgdrRate } from "./mod.ts";
 *
 * // Cosine annealing as the reference code sets it once per epoch: lr0·(1 + cos(π·e/T))/2.
 * const cosine = makeSchedule({ kind: "cosine", lr: 0.1, epochs: 10 });
 * ok(Math.abs(cosine.lrAt(5) - 0.05) < 1e-12);
 * // SGDR restarts at T_0 = 10 (T_mult = 2): back to lr0.
 * ok(Math.abs(sgdrRate(0.1, 10, 2, 10) - 0.1) < 1e-12);
 * ```
 * @module
 */
export { NonFiniteLossError, recordStep, trainStep } from "./step.ts";
export { formatProfile, profileStep } from "./profile.ts";
export type { ProfileOptions, ProfileRow, StepProfile } from "./profile.ts";
export type { StepResult } from "./step.ts";
export { fit } from "./loop.ts";
export type {
  FitOptions,
  FitResult,
  RunPlotter,
  StepOutcome,
  StepProgress,
  TaskMetric,
  TrainTask,
} from "./loop.ts";
export { metricsCsv, readLayerLog, RUN_FILES, writeMetrics } from "./run_files.ts";
export type { EpochRecord, LayerEpoch } from "./run_files.ts";
export { ACCURACY, imageTask } from "./image_task.ts";
export type { ImageTaskOptions } from "./image_task.ts";
export { LM_MODEL_DIR, lmTask, PERPLEXITY } from "./lm_task.ts";
export { lmSchedule, warmupCosine } from "./lm_schedule.ts";
export type { LmScheduleOptions } from "./lm_schedule.ts";
export { lmTrainStep } from "./lm_step.ts";
export type { LmBatch } from "./lm_step.ts";
export { evaluate } from "./evaluate.ts";
export type { EvalResult } from "./evaluate.ts";
export { applySchedule, makeSchedule, SCHEDULES, sgdrRate } from "./schedule.ts";
export type { LrSchedule, ScheduleSpec } from "./schedule.ts";
export { CheckpointError, readCheckpoint, restoreCheckpoint, saveCheckpoint } from "./checkpoint.ts";
export type { Checkpoint, CheckpointState } from "./checkpoint.ts";
export type { EpochMetrics } from "./metrics.ts";
export { createRun } from "./run.ts";
export type { Run, TrainConfig } from "./run.ts";
export { METHOD_PARAMS, METHODS, resolveMethod, TB_METHODS } from "./methods.ts";
export type { MethodName, MethodOptions, MethodParam, MethodParamKind } from "./methods.ts";
export {
  EsdClock,
  modelBalancingMonitor,
  modelBalancingSchedule,
  tempBalanceMonitor,
  tempBalanceSchedule,
  watchMonitor,
} from "./layer_schedules.ts";
export type { LayerLog, LayerMonitor, LayerScheduleOptions } from "./layer_schedules.ts";
export {
  appliesTo,
  cellFor,
  cellName,
  gridCells,
  parseGrid,
  planRuns,
  resolveShard,
  shardRuns,
} from "./grid.ts";
export type { FlagPair, GridAxis, GridCell, PlannedRun, Shard } from "./grid.ts";
export { LOCK_FILE, lockRunFolder, RunFolderError, runHolder, runLogs, runStatus } from "./run_folder.ts";
export type { RunStatus } from "./run_folder.ts";
export { createLmRun, LM_METHODS } from "./lm_run.ts";
export type { LmEpochMetrics, LmMethod, LmRun, LmRunOptions } from "./lm_run.ts";
export { perplexity } from "./lm_eval.ts";
export type { PerplexityResult } from "./lm_eval.ts";
export { OrderedBatches } from "./lm_batches.ts";
export { createPdeRun, PDE_METHODS, pdeTempBalanceOptions } from "./pde_run.ts";
export type { PdeEpochMetrics, PdeMethod, PdeRun, PdeRunOptions } from "./pde_run.ts";
export { evaluatePde, mseLoss, NRMSE, PDE_MODEL_DIR, pdeTask } from "./pde_task.ts";
export type { PdeErrors, PdeTaskOptions } from "./pde_task.ts";
export {
  assembleBatch,
  checkModelFits,
  epochOrder,
  readPdeSplits,
  strideOf,
  TEST_RATIO,
} from "./pde_data.ts";
export type { PdeBatch, PdeSplitOptions, PdeSplits } from "./pde_data.ts";
