/**
 * What a task gives the training loop ({@link TrainTask}): batches, a step's loss and gradients,
 * its evaluation metrics and the metric a study compares, with its direction. Image classification
 * (`image_task.ts`) and language modelling (`lm_task.ts`) implement it.
 * @module
 */
import type { TensorToWrite } from "../io/safetensors.ts";
import type { Model } from "../models/model.ts";
import type { Optimizer } from "../optim/optimizer.ts";

/** What one training step gave: the batch's summed loss and its size (examples or tokens). */
export interface StepOutcome {
  /** The loss summed over the batch's items (mean loss × items). */
  lossSum: number;
  /** Items in the batch: images, tokens, samples. */
  items: number;
  /** Other per-step sums the task turns into epoch metrics (e.g. `correct`). */
  counts?: Record<string, number>;
}

/** The metric a study compares runs by, and which way is better. */
export interface TaskMetric {
  /** Its key in `metrics.jsonl` (`test_acc`, `test_ppl`, `test_nrmse`). */
  key: string;
  /** Its name in reports ("test accuracy"). */
  label: string;
  /** True when larger is better (accuracy); false for perplexity and errors. */
  higherIsBetter: boolean;
  /** Multiplier for reports (100: a fraction shown in %); default 1. */
  scale?: number;
  /** The unit of reported values and differences ("%" and "pp"; "" for none). */
  unit?: string;
  /** The unit of a difference of two values (default: `unit`). */
  diffUnit?: string;
  /**
   * The epoch a run's "best" value is read from: the best epoch by this key (e.g. `valid_ppl`,
   * early stopping on a validation split), in the same direction. Default: `key` itself.
   */
  selectBy?: string;
}

/** A task: how to train and evaluate one kind of model on one kind of data. */
export interface TrainTask {
  /** The model (the optimizer runs over its arena). */
  readonly model: Model;
  /** Optimizer steps in one pass over the training data. */
  readonly stepsPerEpoch: number;
  /** What a step's items are, for the throughput key `<items>_per_s` ("images", "tokens"). */
  readonly items: string;
  /** The metric studies compare, with its direction. */
  readonly metric: TaskMetric;
  /** The keys {@link TrainTask.evaluate} returns (logged as null on epochs not evaluated). */
  readonly evalKeys: readonly string[];
  /** Prepares the batches of an epoch (0-based), before its first step. */
  startEpoch(epoch: number): void;
  /**
   * Trains step `s` of the current epoch: forward, loss, backward and `opt.step`, one submit.
   * @param opt The optimizer.
   * @param s The step within the epoch.
   * @param step The optimizer's step count (dropout streams, error messages).
   */
  step(opt: Optimizer, s: number, step: number): Promise<StepOutcome>;
  /** The epoch's training metrics (`train_loss`, …) from its summed outcomes. */
  trainMetrics(
    sum: { lossSum: number; items: number; counts: Record<string, number> },
  ): Record<string, number>;
  /** Evaluates the model; keys {@link TrainTask.evalKeys}. */
  evaluate(): Promise<Record<string, number>>;
  /** Writes the model's files into the run folder (weights read back once, as `state`). */
  saveModel(out: string, state: TensorToWrite[]): Promise<void>;
}
