/**
 * Training: the one-submit training step, the epoch loop with evaluation, metrics files, plots and
 * atomic checkpoints ({@link fit}), learning-rate schedules, and runs built from a configuration.
 * @module
 */
export { NonFiniteLossError, trainStep } from "./step.ts";
export type { StepResult } from "./step.ts";
export { fit, RUN_FILES } from "./trainer.ts";
export type { StepProgress, TrainOptions, TrainResult } from "./trainer.ts";
export { evaluate } from "./evaluate.ts";
export type { EvalResult } from "./evaluate.ts";
export { applySchedule, makeSchedule, SCHEDULES, sgdrRate } from "./schedule.ts";
export type { LrSchedule, ScheduleSpec } from "./schedule.ts";
export { CheckpointError, readCheckpoint, restoreCheckpoint, saveCheckpoint } from "./checkpoint.ts";
export type { Checkpoint, CheckpointState } from "./checkpoint.ts";
export { metricsCsv, writeMetrics } from "./metrics.ts";
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
} from "./layer_schedules.ts";
export type { LayerLog, LayerMonitor } from "./layer_schedules.ts";
export type { LayerEpoch } from "./trainer.ts";
