/**
 * The one training loop, for every task (image classification, language modelling, PDE
 * regression): a task supplies batches, a step's loss and gradients, its evaluation metrics and
 * its model files ({@link TrainTask}); the loop owns everything else — the run folder and its lock
 * (taken before anything is written), the rates (a {@link LrSchedule}, which is how TempBalance,
 * Model Balancing and FARMS-driven TB plug in), the evaluation cadence, a non-finite loss, the
 * per-layer log, `metrics.jsonl`/`.csv`, plots, and an atomic checkpoint after every epoch.
 * Everything that decides a run — weights, optimizer state, BatchNorm statistics, the optimizer's
 * step count, the schedule's own state, the epoch — is in the checkpoint, and a task's batches
 * depend only on (seed, epoch, step), so resuming after epoch k gives the same run as never
 * stopping, bit for bit.
 * @module
 */
import type { Optimizer } from "../optim/optimizer.ts";
import { type Checkpoint, CheckpointError, readCheckpoint, restoreCheckpoint } from "./checkpoint.ts";
import { writeAtomic } from "../io/atomic.ts";
import type { EsdClock, LayerMonitor } from "./layer_schedules.ts";
import { applySchedule, type LrSchedule } from "./schedule.ts";
import { type EpochRecord, type LayerEpoch, readLayerLog, RUN_FILES, saveEpoch } from "./run_files.ts";
import { lockRunFolder, RunFolderError } from "./run_folder.ts";
import { NonFiniteLossError } from "./step.ts";
import { OptionError } from "../util/errors.ts";

import type { TrainTask } from "./task.ts";

export { RUN_FILES } from "./run_files.ts";
export type { StepOutcome, TaskMetric, TrainTask } from "./task.ts";
export type { EpochRecord, LayerEpoch } from "./run_files.ts";

/** Progress within an epoch, reported after every step. */
export interface StepProgress {
  /** Epoch, from 1. */
  epoch: number;
  /** Steps done in this epoch. */
  step: number;
  /** Steps in this epoch. */
  steps: number;
  /** The step's mean loss. */
  loss: number;
  /** Mean loss of the epoch so far. */
  meanLoss: number;
  /** Training items (images, tokens) per second in this epoch so far. */
  itemsPerSecond: number;
}

/**
 * Draws a run's plots into its output folder after an evaluated epoch.
 * @param out The output folder.
 * @param history Every epoch's record so far.
 * @param layers The per-layer log so far (empty without a monitor).
 */
export type RunPlotter<E = EpochRecord> = (
  out: string,
  history: E[],
  layers: LayerEpoch[],
) => Promise<void>;

/** What {@link fit} needs. */
export interface FitOptions<E extends EpochRecord = EpochRecord> {
  /** The task (model, batches, evaluation). */
  task: TrainTask;
  /** The optimizer over the task's model. */
  optimizer: Optimizer;
  /** The rates: a global schedule, or a layer-wise scheduler over one. */
  schedule: LrSchedule;
  /** Epochs of the run (with `steps`, the last one may stop early). */
  epochs: number;
  /** A budget of optimizer steps: the epoch in which the count reaches it stops there. */
  steps?: number;
  /** Evaluate after every `evalEvery`-th epoch and after the last (default 1). */
  evalEvery?: number;
  /**
   * Set a schedule without its own `apply` before every step from the fractional epoch
   * `e + s/steps`, instead of once per epoch (default false).
   */
  stepwise?: boolean;
  /** The run's seed (checked on resume). */
  seed: number;
  /** The run folder (none: nothing written, no resume). */
  out?: string;
  /** Everything that defines the run, stored in the checkpoint and compared on resume (`data` aside). */
  config?: Record<string, unknown>;
  /** Continue the checkpoint in `out` (read under the folder's lock); else a checkpoint there is refused. */
  resume?: boolean;
  /** Files written into `out` once it is locked (e.g. `run.json`), before training. */
  startFiles?: Record<string, string>;
  /** Measures every layer after each epoch: `layers.jsonl`. */
  monitor?: LayerMonitor;
  /** Where the schedule and monitor count ESD seconds (`esd_seconds`). */
  esdClock?: EsdClock;
  /** Draws plots after each evaluated epoch. */
  plots?: RunPlotter<E>;
  /** Called after every step. */
  onStep?: (p: StepProgress) => void;
  /** Called after every epoch, once its files are written. */
  onEpoch?: (m: E) => void | Promise<void>;
  /**
   * Called once the folder is locked (and a resumed checkpoint restored), before the first epoch:
   * `epoch` is the number of epochs already done (0 for a new run), `steps` the optimizer's count.
   */
  onStart?: (epoch: number, steps: number) => void;
}

/** The outcome of a run. */
export interface FitResult<E extends EpochRecord = EpochRecord> {
  /** Every epoch's record, resumed ones included. */
  history: E[];
  /** Seconds of training over all sessions of a resumed run. */
  elapsed: number;
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
const withoutData = (c: Record<string, unknown>) => JSON.stringify({ ...c, data: undefined });

/** Checks that a checkpoint belongs to this run and restores it; the history so far. */
function resumeFrom(
  o: FitOptions,
  ckpt: Checkpoint,
): { start: number; elapsed: number; history: EpochRecord[] } {
  const saved = JSON.stringify(ckpt.state.schedule), now = JSON.stringify(o.schedule.spec);
  if (saved !== now) {
    throw new CheckpointError(ckpt.file, `its schedule ${saved} differs from this run's ${now}`);
  }
  if (ckpt.state.rng.seed !== o.seed) {
    throw new CheckpointError(ckpt.file, `its seed ${ckpt.state.rng.seed} differs from this run's ${o.seed}`);
  }
  if (o.config && withoutData(ckpt.state.config) !== withoutData(o.config)) {
    throw new CheckpointError(
      ckpt.file,
      `it holds a run with other settings: remove the folder or use another output folder (saved ${
        withoutData(ckpt.state.config)
      }, now ${withoutData(o.config)})`,
    );
  }
  restoreCheckpoint(ckpt, o.task.model, o.optimizer);
  o.schedule.loadState?.(ckpt.state.scheduleState);
  return {
    start: ckpt.state.epoch,
    elapsed: ckpt.state.elapsed,
    history: [...ckpt.state.history as unknown as EpochRecord[]],
  };
}

/** Trains the steps of one epoch (all, or up to the step budget); their summed outcome. */
async function trainEpoch(o: FitOptions, epoch: number) {
  const { task, optimizer: opt, schedule } = o, steps = task.stepsPerEpoch;
  // The step budget cuts the last epoch short; schedules still read fractions of full epochs.
  const limit = o.steps === undefined ? steps : Math.min(steps, o.steps - epoch * steps);
  const counts: Record<string, number> = {};
  let lossSum = 0, items = 0, ms = 0;
  task.startEpoch(epoch);
  for (let s = 0; s < limit; s++) {
    const t0 = performance.now(), step = opt.steps;
    if (s > 0 && schedule.applyStep) await schedule.applyStep(opt, epoch + s / steps, step, task.model);
    else if (s > 0 && o.stepwise && !schedule.apply) {
      await applySchedule(schedule, opt, epoch + s / steps, task.model);
    }
    const r = await task.step(opt, s, step);
    // The step count named as trainStep names it (the optimizer's count before the step).
    if (!Number.isFinite(r.lossSum)) throw new NonFiniteLossError(step, r.lossSum / r.items);
    lossSum += r.lossSum;
    items += r.items;
    for (const [k, v] of Object.entries(r.counts ?? {})) counts[k] = (counts[k] ?? 0) + v;
    ms += performance.now() - t0;
    await schedule.afterStep?.(opt, opt.steps, task.model);
    o.onStep?.({
      epoch: epoch + 1,
      step: s + 1,
      steps: limit,
      loss: r.lossSum / r.items,
      meanLoss: lossSum / items,
      itemsPerSecond: items / (ms / 1000),
    });
  }
  return { lossSum, items, counts, ms };
}

/**
 * Trains a run, or continues one: locks `out`, restores its checkpoint when resuming, then for each
 * remaining epoch sets the rates, trains, evaluates, measures the layers, and writes the epoch's
 * files with the checkpoint last (so a checkpoint on disk always has its logs complete).
 * @param o Task, optimizer, schedule, budget, folder and callbacks.
 * @returns The history and the training time.
 * @throws {NonFiniteLossError} On a NaN/Inf loss; the checkpoint on disk stays the last good epoch's.
 * @throws {RunFolderError} When another process holds `out`, or `out` holds a run and `resume` is false.
 */
export async function fit<E extends EpochRecord = EpochRecord>(o: FitOptions<E>): Promise<FitResult<E>> {
  if (!o.out) {
    if (o.resume) throw new OptionError("fit(): resume needs the run's folder: give out");
    return await run(o, null);
  }
  const out = o.out;
  const unlock = await lockRunFolder(out); // before anything is written to the folder
  try {
    const file = `${out}/${RUN_FILES.checkpoint}`;
    const held = await exists(file);
    if (!o.resume && held) {
      throw new RunFolderError(
        out,
        `already holds a run: continue it with --resume ${out}, or choose another --out`,
      );
    }
    if (o.resume && !held) throw new RunFolderError(out, `has no ${RUN_FILES.checkpoint} to resume`);
    for (const [name, text] of Object.entries(o.startFiles ?? {})) await writeAtomic(`${out}/${name}`, text);
    return await run(o, o.resume ? await readCheckpoint(file) : null);
  } finally {
    await unlock();
  }
}

async function run<E extends EpochRecord>(o: FitOptions<E>, ckpt: Checkpoint | null): Promise<FitResult<E>> {
  const { task, optimizer: opt, schedule } = o;
  const resumed = ckpt ? resumeFrom(o as FitOptions, ckpt) : { start: 0, elapsed: 0, history: [] };
  const history = resumed.history as E[];
  let elapsed = resumed.elapsed;
  o.onStart?.(resumed.start, opt.steps);
  if (!ckpt) await schedule.start?.(opt, task.model);
  const layerLog = o.out && o.monitor ? await readLayerLog(o.out, resumed.start) : [];
  const items = `${task.items}_per_s`;
  for (
    let epoch = resumed.start;
    epoch < o.epochs && (o.steps === undefined || opt.steps < o.steps);
    epoch++
  ) {
    const t0 = performance.now(), esd0 = o.esdClock?.seconds ?? 0;
    await applySchedule(schedule, opt, epoch, task.model);
    const lr = opt.getLastLr();
    const t = await trainEpoch(o as FitOptions, epoch);
    const extra = await opt.epochMetrics?.() ?? {};
    const evalNow = (epoch + 1) % (o.evalEvery ?? 1) === 0 || epoch + 1 === o.epochs;
    const ev = evalNow ? await task.evaluate() : Object.fromEntries(task.evalKeys.map((k) => [k, null]));
    if (o.monitor && o.out) {
      // Each layer's metric after the epoch and the rate its weight trained with.
      const rateOf = new Map(
        opt.paramGroups.flatMap((g, i) => g.params.map((p) => [p.name, lr[i]] as const)),
      );
      for (const r of await o.monitor.measure(opt.steps)) {
        layerLog.push({ epoch: epoch + 1, ...r, lr: rateOf.get(r.layer) ?? NaN });
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const m = {
      epoch: epoch + 1,
      ...task.trainMetrics(t),
      ...ev,
      lr,
      steps: opt.steps,
      seconds,
      [items]: t.items / (t.ms / 1000),
      esd_seconds: (o.esdClock?.seconds ?? 0) - esd0,
      ...extra,
    } as unknown as E;
    history.push(m);
    if (o.out) {
      await saveEpoch({
        out: o.out,
        model: task.model,
        saveModel: (out, state) => task.saveModel(out, state),
        optimizer: opt,
        schedule,
        seed: o.seed,
        config: o.config ?? {},
        epoch,
        history,
        layerLog,
        elapsed: elapsed + seconds,
        plots: evalNow ? o.plots as RunPlotter | undefined : undefined,
      });
    }
    elapsed += seconds;
    await o.onEpoch?.(m);
  }
  return { history, elapsed };
}
