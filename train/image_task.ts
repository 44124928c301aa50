/**
 * Image classification as a {@link TrainTask}: seeded, augmented, normalised batches of a data
 * set (the next one assembled on the CPU while the GPU runs the current step), softmax
 * cross-entropy steps, test loss and accuracy, and `model.safetensors` with PyTorch's names.
 * @module
 */
import type { Dataset } from "../data/dataset.ts";
import { type Batch, batches } from "../data/loader.ts";
import { writeAtomic } from "../io/atomic.ts";
import { type TensorToWrite, writeSafetensors } from "../io/safetensors.ts";
import { upload } from "../kernels/runtime/tensor.ts";
import type { Model } from "../models/model.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import { evaluate } from "./evaluate.ts";
import type { StepOutcome, TaskMetric, TrainTask } from "./task.ts";
import { RUN_FILES } from "./run_files.ts";
import { trainStep } from "./step.ts";

/** Test accuracy, higher is better, reported in % (differences in percentage points). */
export const ACCURACY: TaskMetric = {
  key: "test_acc",
  label: "test accuracy",
  higherIsBetter: true,
  scale: 100,
  unit: "%",
  diffUnit: "pp",
};

/** How the image task batches and normalises. */
export interface ImageTaskOptions {
  /** Training batch size. */
  batchSize: number;
  /** Seed of shuffling and augmentation. */
  seed: number;
  /** Random-crop padding (0: off). */
  cropPadding?: number;
  /** Random horizontal flips. */
  flip?: boolean;
  /** Per-channel normalisation mean. */
  mean?: number[];
  /** Per-channel normalisation standard deviation. */
  std?: number[];
  /** Evaluation batch size (default 500). */
  evalBatchSize?: number;
}

/**
 * The image classification task.
 * @param model The classifier.
 * @param train Training split.
 * @param test Test split (evaluated on the loop's cadence).
 * @param o Batching, augmentation and normalisation.
 * @returns The task.
 */
export function imageTask(model: Model, train: Dataset, test: Dataset, o: ImageTaskOptions): TrainTask {
  const shape = (b: Batch) => [b.size, train.channels, train.height, train.width];
  const norm = { mean: o.mean, std: o.std };
  let it: Iterator<Batch> | null = null, next: IteratorResult<Batch> | null = null;
  return {
    model,
    stepsPerEpoch: Math.ceil(train.count / o.batchSize),
    items: "images",
    metric: ACCURACY,
    evalKeys: ["test_loss", "test_acc"],
    startEpoch(epoch: number) {
      it = batches(train, epoch, {
        batchSize: o.batchSize,
        seed: o.seed,
        shuffle: true,
        cropPadding: o.cropPadding ?? 0,
        flip: o.flip ?? false,
        ...norm,
      });
      next = it.next();
    },
    async step(opt: Optimizer, _s: number, step: number): Promise<StepOutcome> {
      const b = next!.value as Batch;
      const x = upload(model.gpu, b.x, shape(b), "f32", "train.x");
      const y = upload(model.gpu, b.y, [b.size], "i32", "train.y");
      try {
        const r = await trainStep(model, opt, x, y, step, () => next = it!.next());
        return { lossSum: r.loss * b.size, items: b.size, counts: { correct: r.correct } };
      } finally {
        x.release();
        y.release();
      }
    },
    trainMetrics: ({ lossSum, items, counts }) => ({
      train_loss: lossSum / items,
      train_acc: counts.correct / items,
    }),
    async evaluate() {
      const ev = await evaluate(model, test, { batchSize: o.evalBatchSize ?? 500, ...norm });
      return { test_loss: ev.loss, test_acc: ev.accuracy };
    },
    async saveModel(out: string, state: TensorToWrite[]) {
      await writeAtomic(
        `${out}/${RUN_FILES.model}`,
        writeSafetensors(state, { format: "pt", ...model.metadata() }),
      );
    },
  };
}
