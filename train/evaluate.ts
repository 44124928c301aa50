/**
 * Evaluation: eval-mode forward passes over a data set (BatchNorm on running statistics), the
 * summed cross-entropy and correct count reduced on the GPU, one small readback per batch.
 * @module
 */
import { crossEntropy } from "../kernels/nn/cross_entropy.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import { readback, upload } from "../kernels/runtime/tensor.ts";
import type { Dataset } from "../data/dataset.ts";
import { batches } from "../data/loader.ts";
import type { Model } from "../models/model.ts";

/** Loss and accuracy of a model on a data set. */
export interface EvalResult {
  /** Mean cross-entropy. */
  loss: number;
  /** Accuracy in [0, 1]. */
  accuracy: number;
  /** Images evaluated. */
  count: number;
}

/**
 * Evaluates the model (eval mode) on every image of `ds`, in order.
 * @param model The model.
 * @param ds The data set.
 * @param o Batch size and the per-channel normalisation used in training.
 * @returns Mean loss and accuracy.
 */
export async function evaluate(
  model: Model,
  ds: Dataset,
  o: { batchSize: number; mean?: number[]; std?: number[] },
): Promise<EvalResult> {
  let loss = 0, correct = 0;
  const gpu = model.gpu;
  for (const b of batches(ds, 0, { ...o, shuffle: false })) {
    const x = upload(gpu, b.x, [b.size, ds.channels, ds.height, ds.width], "f32", "eval.x");
    const y = upload(gpu, b.y, [b.size], "i32", "eval.y");
    const rec = new Recorder(gpu);
    const logits = model.forward(rec, x, false);
    const ce = crossEntropy(rec, logits, y, "eval_loss");
    rec.after(() => {
      logits.release();
      ce.grad.release();
      x.release();
      y.release();
    });
    await rec.submit();
    const [l, c] = await readback(gpu, ce.loss, ce.correct);
    ce.loss.release();
    ce.correct.release();
    loss += l[0] * b.size;
    correct += c[0];
  }
  return { loss: loss / ds.count, accuracy: correct / ds.count, count: ds.count };
}
