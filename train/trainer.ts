/**
 * The training loop: epochs of seeded, augmented batches through {@link trainStep}, the
 * schedule applied at the start of each epoch, evaluation after it, then metrics, plots and an
 * atomic checkpoint. Everything that decides a run — weights, momentum, BatchNorm statistics, the
 * optimizer's step count, the epoch — is in the checkpoint, and batches depend only on
 * (seed, epoch), so resuming after epoch k gives the same run as never stopping.
 * @module
 */
import type { Dataset } from "../data/dataset.ts";
import { type Batch, batches } from "../data/loader.ts";
import { upload } from "../kernels/runtime/tensor.ts";
import { writeAtomic } from "../io/atomic.ts";
import { writeSafetensors } from "../io/safetensors.ts";
import type { Model } from "../models/model.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import type { EsdClock, LayerLog, LayerMonitor } from "./layer_schedules.ts";
import { type Checkpoint, CheckpointError, restoreCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { evaluate } from "./evaluate.ts";
import { type EpochMetrics, writeMetrics } from "./metrics.ts";
import { applySchedule, type LrSchedule } from "./schedule.ts";
import { trainStep } from "./step.ts";

/** Progress within an epoch, reported after every step. */
export interface StepProgress {
  /** Epoch, from 1. */
  epoch: number;
  /** Steps done in this epoch. */
  step: number;
  /** Steps in this epoch. */
  steps: number;
  /** The step's loss. */
  loss: number;
  /** Mean loss of the epoch so far. */
  meanLoss: number;
  /** Training images per second in this epoch so far. */
  imagesPerSecond: number;
}

/** What {@link fit} needs. */
export interface TrainOptions {
  /** The model. */
  model: Model;
  /** The optimizer over the model's arena. */
  optimizer: Optimizer;
  /** The learning-rate schedule. */
  schedule: LrSchedule;
  /** Training split. */
  train: Dataset;
  /** Test split (evaluated after every epoch). */
  test: Dataset;
  /** Total epochs of the run (with `steps`, the last one may stop early). */
  epochs: number;
  /**
   * A budget of optimizer steps for the whole run: the epoch in which the count reaches it stops
   * there (its metrics cover the batches trained). Absent: every epoch runs all its batches.
   */
  steps?: number;
  /**
   * Evaluate on the test split after every `evalEvery`-th epoch and after the last (default 1:
   * every epoch); other epochs log `test_loss`/`test_acc` as null.
   */
  evalEvery?: number;
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
  /**
   * Update the rate before every step from the fractional epoch `epoch + step/steps` (schedules
   * without their own `apply` only), instead of once per epoch as the reference code does: a short
   * run then anneals within its epochs. Default false.
   */
  stepwise?: boolean;
  /** Evaluation batch size (default 500). */
  evalBatchSize?: number;
  /** Output folder for checkpoint, model, metrics and plots (none: nothing written). */
  out?: string;
  /** Stored in the checkpoint so that a resume can rebuild the run. */
  config?: Record<string, unknown>;
  /** Continue from this checkpoint (its epoch, weights, momentum and history). */
  resume?: Checkpoint;
  /** Called after every step. */
  onStep?: (p: StepProgress) => void;
  /** Called after every epoch, once its files are written. */
  onEpoch?: (m: EpochMetrics) => void | Promise<void>;
  /**
   * Draws the run's plots after each epoch's files are written, e.g. `writeRunPlots` of the
   * `report` module (the tasks pass it): `loss.svg`, `accuracy.svg` and, with a monitor, the
   * per-layer plots. Without it no plot is drawn (and no plotting package is loaded).
   */
  plots?: RunPlotter;
  /** Measures every layer after each epoch: `layers.jsonl` (and, with `plots`, its plots). */
  monitor?: LayerMonitor;
  /** Where the schedule and monitor count ESD seconds (reported per epoch as `esd_seconds`). */
  esdClock?: EsdClock;
}

/**
 * Draws a run's plots into its output folder.
 * @param out The output folder.
 * @param history Every epoch's metrics so far.
 * @param layers The per-layer log so far (empty without a monitor).
 */
export type RunPlotter = (out: string, history: EpochMetrics[], layers: LayerEpoch[]) => Promise<void>;

/** The outcome of a run. */
export interface TrainResult {
  /** Every epoch's metrics, resumed ones included. */
  history: EpochMetrics[];
  /** Seconds of training, over all sessions of a resumed run. */
  elapsed: number;
}

/** Files {@link fit} writes into its output folder. */
export const RUN_FILES = {
  checkpoint: "checkpoint.safetensors",
  model: "model.safetensors",
  metricsJsonl: "metrics.jsonl",
  metricsCsv: "metrics.csv",
  lossPlot: "loss.svg",
  accuracyPlot: "accuracy.svg",
  layersJsonl: "layers.jsonl",
  layerAlphaPlot: "layers_alpha.svg",
  layerLrPlot: "layers_lr.svg",
} as const;

/** One line of `layers.jsonl`: a layer's metric after an epoch and the rate it trained with. */
export interface LayerEpoch extends LayerLog {
  /** Epoch, from 1. */
  epoch: number;
  /** The learning rate of the layer's weight during the epoch. */
  lr: number;
}

async function readLayerLog(file: string, upTo: number): Promise<LayerEpoch[]> {
  try {
    const text = await Deno.readTextFile(file);
    return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as LayerEpoch).filter((r) =>
      r.epoch <= upTo
    );
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/** Restores a checkpoint into the run, after checking it belongs to it; the history so far. */
function resumeFrom(
  o: TrainOptions,
  ckpt: Checkpoint,
): { start: number; elapsed: number; history: EpochMetrics[] } {
  const saved = JSON.stringify(ckpt.state.schedule);
  if (saved !== JSON.stringify(o.schedule.spec)) {
    throw new CheckpointError(
      ckpt.file,
      `its schedule ${saved} differs from this run's ${JSON.stringify(o.schedule.spec)}`,
    );
  }
  if (ckpt.state.rng.seed !== o.seed) {
    throw new CheckpointError(ckpt.file, `its seed ${ckpt.state.rng.seed} differs from this run's ${o.seed}`);
  }
  restoreCheckpoint(ckpt, o.model, o.optimizer);
  o.schedule.loadState?.(ckpt.state.scheduleState);
  return {
    start: ckpt.state.epoch,
    elapsed: ckpt.state.elapsed,
    history: [...ckpt.state.history as unknown as EpochMetrics[]],
  };
}

/** What one epoch's batches gave: images seen, summed loss, correct count, training milliseconds. */
interface EpochTrained {
  seen: number;
  lossSum: number;
  correct: number;
  trainMs: number;
}

/** Trains the batches of one epoch (all of them, or up to the step budget). */
async function trainEpoch(o: TrainOptions, epoch: number): Promise<EpochTrained> {
  const { model, optimizer: opt, train, batchSize } = o;
  const shape = (b: Batch) => [b.size, train.channels, train.height, train.width];
  const it = batches(train, epoch, {
    batchSize,
    seed: o.seed,
    shuffle: true,
    cropPadding: o.cropPadding ?? 0,
    flip: o.flip ?? false,
    mean: o.mean,
    std: o.std,
  });
  const steps = Math.ceil(train.count / batchSize);
  // The step budget cuts the last epoch short; the schedule still reads fractions of full epochs.
  const limit = o.steps === undefined ? steps : Math.min(steps, o.steps - epoch * steps);
  let next = it.next(), seen = 0, lossSum = 0, correct = 0, step = 0, trainMs = 0;
  while (!next.done && step < limit) {
    const b = next.value, ts = performance.now();
    if (step > 0 && o.schedule.applyStep) {
      await o.schedule.applyStep(opt, epoch + step / steps, opt.steps, model);
    } else if (o.stepwise && !o.schedule.apply && step > 0) {
      await applySchedule(o.schedule, opt, epoch + step / steps, model);
    }
    const x = upload(model.gpu, b.x, shape(b), "f32", "train.x");
    const y = upload(model.gpu, b.y, [b.size], "i32", "train.y");
    try {
      // The next batch is assembled on the CPU while the GPU runs this one.
      const r = await trainStep(model, opt, x, y, opt.steps, () => next = it.next());
      seen += b.size;
      lossSum += r.loss * b.size;
      correct += r.correct;
      step++;
      trainMs += performance.now() - ts;
      o.onStep?.({
        epoch: epoch + 1,
        step,
        steps: limit,
        loss: r.loss,
        meanLoss: lossSum / seen,
        imagesPerSecond: seen / (trainMs / 1000),
      });
    } finally {
      x.release();
      y.release();
    }
  }
  return { seen, lossSum, correct, trainMs };
}

/**
 * Writes an epoch's files into the output folder: weights, metrics, the layer log and (after an
 * evaluation) the plots first, the checkpoint last — a run killed in between resumes from the
 * previous checkpoint and rewrites them, so a checkpoint on disk always has its logs complete.
 */
async function saveEpoch(
  o: TrainOptions & { out: string },
  epoch: number,
  history: EpochMetrics[],
  layerLog: LayerEpoch[],
  elapsed: number,
  evaluated: boolean,
): Promise<void> {
  const { model, optimizer: opt } = o;
  const state = await model.stateDict(); // one readback for both files
  await writeAtomic(
    `${o.out}/${RUN_FILES.model}`,
    writeSafetensors(state, { format: "pt", ...model.metadata() }),
  );
  await writeMetrics(o.out, history);
  if (layerLog.length) {
    await writeAtomic(
      `${o.out}/${RUN_FILES.layersJsonl}`,
      layerLog.map((r) => JSON.stringify(r) + "\n").join(""),
    );
  }
  // Drawing costs more than a short epoch: plots follow the evaluations.
  if (evaluated) await o.plots?.(o.out, history, layerLog);
  await saveCheckpoint(`${o.out}/${RUN_FILES.checkpoint}`, state, opt, {
    version: 1,
    epoch: epoch + 1,
    optimizerSteps: opt.steps,
    lrs: opt.getLastLr(),
    config: o.config ?? {},
    history: history as unknown as Record<string, unknown>[],
    elapsed,
    schedule: o.schedule.spec as unknown as Record<string, unknown>,
    rng: { seed: o.seed, nextEpoch: epoch + 1 },
    scheduleState: o.schedule.state?.(),
  }, model.metadata());
}

/**
 * Trains for the remaining epochs.
 * @param o Model, optimizer, schedule, data, loader settings, output folder, resume checkpoint.
 * @returns The history.
 * @throws {NonFiniteLossError} On a NaN/Inf loss; the last checkpoint on disk stays as it was.
 */
export async function fit(o: TrainOptions): Promise<TrainResult> {
  const { model, optimizer: opt, test } = o;
  // resumeFrom returns a fresh history array: epochs are appended to it in place.
  const resumed = o.resume
    ? resumeFrom(o, o.resume)
    : { start: 0, elapsed: 0, history: [] as EpochMetrics[] };
  const { start, history } = resumed;
  let elapsed = resumed.elapsed;
  const layerLog = o.out && o.monitor ? await readLayerLog(`${o.out}/${RUN_FILES.layersJsonl}`, start) : [];
  for (let epoch = start; epoch < o.epochs; epoch++) {
    const t0 = performance.now(), esd0 = o.esdClock?.seconds ?? 0;
    await applySchedule(o.schedule, opt, epoch, model);
    const lr = opt.getLastLr();
    const t = await trainEpoch(o, epoch);
    const extra = await opt.epochMetrics?.() ?? {};
    const evalNow = (epoch + 1) % (o.evalEvery ?? 1) === 0 || epoch + 1 === o.epochs;
    const norm = { mean: o.mean, std: o.std };
    const ev = evalNow ? await evaluate(model, test, { batchSize: o.evalBatchSize ?? 500, ...norm }) : null;
    if (o.monitor && o.out) {
      // Each layer's metric after the epoch (a TempBalance step at the next epoch's start reuses
      // this measurement) and the rate its weight trained with.
      const rateOf = new Map(
        opt.paramGroups.flatMap((g, i) => g.params.map((p) => [p.name, lr[i]] as const)),
      );
      for (const r of await o.monitor.measure(opt.steps)) {
        layerLog.push({ epoch: epoch + 1, ...r, lr: rateOf.get(r.layer) ?? NaN });
      }
    }
    const m: EpochMetrics = {
      epoch: epoch + 1,
      train_loss: t.lossSum / t.seen,
      train_acc: t.correct / t.seen,
      test_loss: ev?.loss ?? null,
      test_acc: ev?.accuracy ?? null,
      lr,
      steps: opt.steps,
      seconds: (performance.now() - t0) / 1000,
      images_per_s: t.seen / (t.trainMs / 1000),
      esd_seconds: (o.esdClock?.seconds ?? 0) - esd0,
      ...extra,
    };
    history.push(m);
    if (o.out) await saveEpoch({ ...o, out: o.out }, epoch, history, layerLog, elapsed + m.seconds, evalNow);
    elapsed += m.seconds;
    await o.onEpoch?.(m);
  }
  return { history, elapsed };
}
