/**
 * A PDE run from its options: the operator (PDEBench's FNO1d/FNO2d/UNet2d), the splits of a PDEBench
 * file, Adam with L2 weight decay (complex weights sharing |g|²) and StepLR, as PDEBench's and Model
 * Balancing's FNO training, and the rate policy:
 * - `adam`: every parameter at the StepLR rate;
 * - `tb`: TempBalance measured before the first epoch and after every epoch, as Model Balancing's
 *   SciML code applies it: every Conv2d/Conv1d/Linear whose ESD has more than `eigsThresh`
 *   eigenvalues (Darcy FNO2d: the 1×1 convolutions `w0…w3` and `fc1`; `fc0` and `fc2` fall under the
 *   threshold), no first/last-layer removal, xmin at the median, eigenvalues ≤ 1e-5 dropped, rates
 *   interpolated linearly over [lrMinRatio, lrMaxRatio] × η; the spectral weights, transposed
 *   convolutions and BatchNorm stay in the untuned group at η;
 * - `tb-sigmoid`: the same layers with Model Balancing's sigmoid map (`tb_std_sigmoid`).
 * @module
 */
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { Model } from "../models/model.ts";
import { buildOperator, type OperatorConfig } from "../models/operators/config.ts";
import { AdamW } from "../optim/adamw.ts";
import { TempBalance } from "../optim/tempbalance.ts";
import type { TempBalanceOptions } from "../optim/tb_options.ts";
import { EsdClock, tempBalanceMonitor, tempBalanceSchedule, watchMonitor } from "./layer_schedules.ts";
import type { FitOptions } from "./loop.ts";
import { checkModelFits, type PdeSplits } from "./pde_data.ts";
import { pdeTask } from "./pde_task.ts";
import type { EpochRecord } from "./run_files.ts";
import { makeSchedule } from "./schedule.ts";
import type { TrainTask } from "./task.ts";

/** The PDE rate policies. */
export const PDE_METHODS = ["adam", "tb", "tb-sigmoid"] as const;
/** One of {@link PDE_METHODS}. */
export type PdeMethod = typeof PDE_METHODS[number];

/** Options of {@link createPdeRun}. */
export interface PdeRunOptions {
  /** The operator. */
  config: OperatorConfig;
  /** The data. */
  splits: PdeSplits;
  /** The data file (for errors and the record). */
  data: string;
  /** Rate policy. */
  method: PdeMethod;
  /** Base learning rate (PDEBench: 1e-3). */
  lr: number;
  /** L2 weight decay (PDEBench: 1e-4). */
  weightDecay: number;
  /** StepLR step size in epochs (PDEBench: 100; with `steps`, default a fifth of the run's epochs). */
  stepSize?: number;
  /** StepLR factor (PDEBench: 0.5). */
  gamma: number;
  /** Epochs (ignored with `steps`). */
  epochs: number;
  /** A budget of optimizer steps: the epochs follow from the training subset's size. */
  steps?: number;
  /** Batch size. */
  batch: number;
  /** Seed: initialisation and shuffling. */
  seed: number;
  /** TB: the rate range's lower end × η (linear map). */
  lrMinRatio: number;
  /** TB: the upper end × η. */
  lrMaxRatio: number;
  /** TB: layers with at most this many eigenvalues (above 1e-5) stay untuned. */
  eigsThresh: number;
  /** tb-sigmoid: τ. */
  tau: number;
  /** tb-sigmoid: slope below the mean alpha. */
  sigmoidMin: number;
  /** tb-sigmoid: slope above the mean alpha. */
  sigmoidMax: number;
  /** TB: measure and tune the Fourier layers too (default false). */
  spectral?: boolean;
  /** The record's other settings (subset, resolution…), stored in the checkpoint. */
  settings?: Record<string, unknown>;
}

/** One epoch's record of a PDE run. */
export interface PdeEpochMetrics extends EpochRecord {
  /** Epoch, from 1. */
  epoch: number;
  /** Mean training MSE. */
  train_loss: number;
  /** Test MSE (null on epochs not evaluated). */
  test_loss: number | null;
  /** Test RMSE. */
  test_rmse: number | null;
  /** Test nRMSE. */
  test_nrmse: number | null;
  /** Each group's rate. */
  lr: number[];
  /** Seconds of the epoch. */
  seconds: number;
  /** Training samples per second. */
  samples_per_s: number;
  /** Seconds spent measuring spectra. */
  esd_seconds: number;
}

/** The parts of a PDE run. */
export interface PdeRun {
  /** The model. */
  model: Model;
  /** The task. */
  task: TrainTask;
  /** The optimizer. */
  optimizer: AdamW;
  /** Parameters (real numbers; a complex weight counts twice). */
  parameters: number;
  /** What {@link fit} needs: `fit({ ...run.loop, out, resume })`. */
  loop: Pick<
    FitOptions<PdeEpochMetrics>,
    "task" | "optimizer" | "schedule" | "monitor" | "esdClock" | "epochs" | "steps" | "seed" | "config"
  >;
  /** Epochs of the run (derived from `steps` when a step budget is set). */
  epochs: number;
}

/** TempBalance as Model Balancing's SciML code measures and maps (see the module doc). */
export function pdeTempBalanceOptions(o: PdeRunOptions, log: (s: string) => void): TempBalanceOptions {
  return {
    removeFirstLayer: false,
    removeLastLayer: false,
    eigsThresh: o.eigsThresh + 1,
    fit: "median",
    xminPos: 2,
    filterZeros: true,
    batchnorm: false,
    assign: o.method === "tb-sigmoid" ? "sigmoid" : "linear",
    lrMinRatio: o.method === "tb-sigmoid" ? 0 : o.lrMinRatio,
    lrMaxRatio: o.method === "tb-sigmoid" ? 0 : o.lrMaxRatio,
    tau: o.tau,
    sigmoidMin: o.sigmoidMin,
    sigmoidMax: o.sigmoidMax,
    esd: "readback",
    spectral: o.spectral ?? false,
    onWarning: log,
  };
}

/**
 * Builds a run: model (initialised from the seed), optimizer, schedule, monitor, task.
 * @param gpu The GPU.
 * @param o The options.
 * @param log Warnings of the scheduler.
 * @returns The run's parts.
 * @throws {OptionError} When the model does not fit the data.
 */
export function createPdeRun(gpu: Gpu, o: PdeRunOptions, log: (s: string) => void = console.log): PdeRun {
  checkModelFits(o.config, o.splits.train, o.data);
  const model = new Model(gpu, buildOperator(o.config), o.seed);
  const task = pdeTask(model, o.config, o.splits.train, o.splits.test, { batchSize: o.batch, seed: o.seed });
  const epochs = o.steps ? Math.ceil(o.steps / task.stepsPerEpoch) : o.epochs;
  // PDEBench halves the rate every 100 of 500 epochs: a step budget keeps those fifths.
  const stepSize = o.stepSize ?? (o.steps ? Math.max(1, Math.ceil(epochs / 5)) : 100);
  const tb = o.method === "adam" ? null : new TempBalance(model, pdeTempBalanceOptions(o, log));
  const groups = tb?.groupSpecs(o.lr) ?? [{ params: model.arena.params }];
  const optimizer = new AdamW(model.arena, groups, {
    lr: o.lr,
    weightDecay: o.weightDecay,
    decoupled: false,
  });
  const base = makeSchedule({ kind: "step", lr: o.lr, stepSize, gamma: o.gamma });
  const esdClock = new EsdClock();
  const schedule = tb ? tempBalanceSchedule(base, tb, { clock: esdClock }) : base;
  const monitor = tb ? tempBalanceMonitor(tb, esdClock) : watchMonitor(model, esdClock, { batchnorm: false });
  const { config: _c, splits: _s, ...rest } = o;
  const record = {
    ...rest,
    model: o.config,
    trainSamples: o.splits.train.count,
    testSamples: o.splits.test.count,
  };
  return {
    model,
    task,
    optimizer,
    parameters: model.arena.params.reduce((s, p) => s + p.value.size, 0),
    epochs,
    loop: {
      task,
      optimizer,
      schedule,
      monitor,
      esdClock,
      epochs,
      steps: o.steps,
      seed: o.seed,
      config: record,
    },
  };
}
