/**
 * A training run from its configuration: the network by name, SGD with one group, the schedule,
 * the data set's normalisation and augmentation. `deno task train` and the resume path both go
 * through {@link createRun}, so a checkpoint's config rebuilds exactly the run that wrote it.
 * @module
 */
import { DATASET_DEFAULTS, type DatasetName } from "../data/registry.ts";
import type { Splits } from "../data/dataset.ts";
import type { Gpu } from "../kernels/runtime.ts";
import { Model } from "../models/model.ts";
import { buildNetwork } from "../models/zoo.ts";
import { SGD } from "../optim/sgd.ts";
import { type LrSchedule, makeSchedule } from "./schedule.ts";
import type { TrainOptions } from "./trainer.ts";

/** Everything that defines a run (stored in its checkpoints). */
export interface TrainConfig {
  /** Network name (`small`, `resnet18`, …). */
  model: string;
  /** Data set name. */
  dataset: string;
  /** Where its files were found (`--data`; absent: the default places). */
  data?: string;
  /** Epochs. */
  epochs: number;
  /** Batch size. */
  batchSize: number;
  /** Initial learning rate. */
  lr: number;
  /** Weight decay. */
  weightDecay: number;
  /** Momentum. */
  momentum: number;
  /** Channel multiplier. */
  width: number;
  /** Seed of initialisation, shuffling and augmentation. */
  seed: number;
  /** Train on the first N images only. */
  subset?: number;
  /** Schedule: cosine over the run, step (×0.1 every 30% of the epochs) or constant. */
  schedule: "cosine" | "step" | "constant";
  /** Augmentation on (the data set's defaults) or off. */
  augment: boolean;
  /** Update the rate every step from the fractional epoch (default false: once per epoch, as the reference). */
  stepwise?: boolean;
}

/** The parts of a run. */
export interface Run {
  /** The model. */
  model: Model;
  /** SGD over all parameters. */
  optimizer: SGD;
  /** The schedule. */
  schedule: LrSchedule;
  /** Loader settings for {@link fit}. */
  loader: Pick<TrainOptions, "cropPadding" | "flip" | "mean" | "std" | "stepwise">;
}

/**
 * Builds model, optimizer and schedule for a configuration.
 * @param gpu The GPU.
 * @param c The configuration.
 * @param data The splits (for classes, channels and size).
 * @returns The run's parts.
 */
export function createRun(gpu: Gpu, c: TrainConfig, data: Splits): Run {
  const t = data.train;
  const net = buildNetwork(c.model, {
    classes: t.classes,
    inChannels: t.channels,
    size: t.height,
    width: c.width,
  });
  const model = new Model(gpu, net, c.seed);
  const optimizer = new SGD(model.arena, [{ params: model.arena.params }], {
    lr: c.lr,
    momentum: c.momentum,
    weightDecay: c.weightDecay,
  });
  const schedule = makeSchedule(
    c.schedule === "cosine"
      ? { kind: "cosine", lr: c.lr, epochs: c.epochs }
      : c.schedule === "step"
      ? { kind: "step", lr: c.lr, stepSize: Math.max(1, Math.round(c.epochs * 0.3)), gamma: 0.1 }
      : { kind: "constant", lr: c.lr },
  );
  const d = DATASET_DEFAULTS[c.dataset as DatasetName];
  const loader = {
    mean: d?.mean,
    std: d?.std,
    cropPadding: c.augment ? d?.cropPadding ?? 0 : 0,
    flip: c.augment ? d?.flip ?? false : false,
    stepwise: c.stepwise ?? false,
  };
  return { model, optimizer, schedule, loader };
}
