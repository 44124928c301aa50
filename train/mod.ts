/**
 * Training: the one-submit training step. The loop, data and checkpoints come with the training
 * issue.
 * @module
 */
export { NonFiniteLossError, trainStep } from "./step.ts";
export type { StepResult } from "./step.ts";
