/**
 * One training step — forward, softmax cross-entropy, backward, SGD update — recorded into one
 * command buffer and submitted once; only the loss and the correct count are read back.
 * @module
 */
import { UserError } from "../util/errors.ts";
import { crossEntropy } from "../kernels/nn/cross_entropy.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import { readback, type Tensor } from "../kernels/runtime/tensor.ts";
import type { Model } from "../models/model.ts";
import type { Optimizer } from "../optim/optimizer.ts";

/** A non-finite loss: names the step, so the run can stop with the last good checkpoint intact. */
export class NonFiniteLossError extends UserError {
  /**
   * Builds the message.
   * @param step The step whose loss was not finite.
   * @param loss The loss value (NaN or ±Infinity).
   * @param hint What to do next (default: lower the learning rate or check the data).
   */
  constructor(
    readonly step: number,
    readonly loss: number,
    hint = "lower the learning rate or check the data",
  ) {
    super(`Loss is ${loss} at step ${step}: training stopped (the last checkpoint is intact; ${hint})`);
    this.name = "NonFiniteLossError";
  }
}

/** The loss and accuracy of one step. */
export interface StepResult {
  /** Mean cross-entropy of the batch. */
  loss: number;
  /** Correct predictions in the batch. */
  correct: number;
}

/**
 * Records one training step — forward, loss, backward, optimizer update — into `rec`.
 * @param rec The recorder.
 * @param model The model (train mode).
 * @param opt The optimizer.
 * @param x Input batch.
 * @param labels i32 labels.
 * @returns The loss and correct count tensors (the caller reads and releases them).
 */
export function recordStep(
  rec: Recorder,
  model: Model,
  opt: Optimizer,
  x: Tensor,
  labels: Tensor,
): { loss: Tensor; correct: Tensor } {
  const logits = model.forward(rec, x, true);
  const ce = crossEntropy(rec, logits, labels, "loss");
  model.backward(rec, ce.grad);
  opt.step(rec);
  rec.after(() => {
    logits.release();
    ce.grad.release();
  });
  return { loss: ce.loss, correct: ce.correct };
}

/**
 * Runs one training step in a single submit.
 * @param model The model (train mode).
 * @param opt The optimizer over the model's arena.
 * @param x Input batch.
 * @param labels i32 labels.
 * @param step The step number (for the error message).
 * @param whileRunning Called after the step is submitted and before its result is awaited: CPU
 *   work placed here (preparing the next batch) overlaps the GPU's.
 * @returns Loss and correct count.
 * @throws {NonFiniteLossError} When the loss is NaN or infinite (the parameters are then suspect:
 *   stop and resume from the last checkpoint).
 */
export async function trainStep(
  model: Model,
  opt: Optimizer,
  x: Tensor,
  labels: Tensor,
  step: number,
  whileRunning?: () => void,
): Promise<StepResult> {
  const rec = new Recorder(model.gpu);
  const ce = recordStep(rec, model, opt, x, labels);
  await rec.submit();
  whileRunning?.();
  const [loss, correct] = await readback(model.gpu, ce.loss, ce.correct);
  ce.loss.release();
  ce.correct.release();
  if (!Number.isFinite(loss[0])) throw new NonFiniteLossError(step, loss[0]);
  return { loss: loss[0], correct: correct[0] };
}
