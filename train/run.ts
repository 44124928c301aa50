/**
 * A training run from its configuration: the network by name, the method's optimizer, parameter
 * groups and schedule (`methods.ts`), the data set's normalisation and augmentation. `deno task
 * train` and the resume path both go through {@link createRun}, so a checkpoint's config rebuilds
 * exactly the run that wrote it.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { DATASET_DEFAULTS, type DatasetName } from "../data/registry.ts";
import type { Splits } from "../data/dataset.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { Model } from "../models/model.ts";
import { buildNetwork } from "../models/zoo.ts";
import { LAMB } from "../optim/lamb.ts";
import { LARS } from "../optim/lars.ts";
import { Lookahead } from "../optim/lookahead.ts";
import { ModelBalancing } from "../optim/model_balancing.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import type { ParamGroupSpec } from "../optim/groups.ts";
import { SGD } from "../optim/sgd.ts";
import { SGDP } from "../optim/sgdp.ts";
import { SphereSGD } from "../optim/sphere.ts";
import { siParameters } from "../models/si.ts";
import { TempBalance } from "../optim/tempbalance.ts";
import type { TempBalanceOptions } from "../optim/tb_options.ts";
import type { FitMethod } from "../esd/plfit.ts";
import type { EigSolver } from "../esd/eigs.ts";
import {
  EsdClock,
  type LayerMonitor,
  modelBalancingMonitor,
  modelBalancingSchedule,
  tempBalanceMonitor,
  tempBalanceSchedule,
  watchMonitor,
} from "./layer_schedules.ts";
import { type MethodName, type MethodOptions, resolveMethod, TB_METHODS } from "./methods.ts";
import { type LrSchedule, makeSchedule } from "./schedule.ts";
import { imageTask } from "./image_task.ts";
import type { FitOptions } from "./loop.ts";
import type { TrainTask } from "./task.ts";
import type { EpochMetrics } from "./metrics.ts";

/** Everything that defines a run (stored in its checkpoints). */
export interface TrainConfig {
  /** Network name (`small`, `resnet18`, …). */
  model: string;
  /** Data set name. */
  dataset: string;
  /** Where its files were found (`--data`; absent: the default places). */
  data?: string;
  /** Epochs (with `steps`, derived: the epochs that hold that many steps). */
  epochs: number;
  /**
   * A budget of optimizer steps for the run: the cosine schedule spans exactly these steps and the
   * last epoch stops when they are done (absent: whole epochs, the schedule over `epochs`).
   */
  steps?: number;
  /** Evaluate every this many epochs and after the last (default 1). */
  evalEvery?: number;
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
  /** The training method (default `cal`). */
  method?: MethodName;
  /** The method's options by flag name (missing ones take their defaults). */
  methodOptions?: MethodOptions;
  /**
   * Train the scale-invariant weights on the sphere at a fixed ELR (`elr`), or at a fixed learning
   * rate with the weight decay (`lr`); non-SI parameters at `noninvLr` (default 0: frozen). The
   * schedule is then constant and the method must be `cal`.
   */
  sphere?: { elr?: number; lr?: number; perFilter?: boolean; noninvLr?: number };
}

/** The parts of a run. */
export interface Run {
  /** The model. */
  model: Model;
  /** The method's optimizer. */
  optimizer: Optimizer;
  /** The schedule (layer-wise for the TempBalance family). */
  schedule: LrSchedule;
  /** Measures every layer at the end of each epoch (absent when the model has no layer to measure). */
  monitor?: LayerMonitor;
  /** Seconds the run spent in ESDs (TempBalance steps and the monitor). */
  esdClock: EsdClock;
  /** The method and its resolved options. */
  method: { name: MethodName; options: MethodOptions };
  /** The image task over the configuration's data (batches, augmentation, normalisation). */
  task: TrainTask;
  /** What {@link fit} needs from the run: `fit({ ...run.loop, out, resume, … })`. */
  loop: Pick<
    FitOptions<EpochMetrics>,
    | "task"
    | "optimizer"
    | "schedule"
    | "monitor"
    | "esdClock"
    | "epochs"
    | "steps"
    | "evalEvery"
    | "stepwise"
    | "seed"
    | "config"
  >;
}

/** The image task of a configuration: its data set's normalisation and (with `augment`) augmentation. */
function taskOf(model: Model, c: TrainConfig, data: Splits): TrainTask {
  const d = DATASET_DEFAULTS[c.dataset as DatasetName];
  return imageTask(model, data.train, data.test, {
    batchSize: c.batchSize,
    seed: c.seed,
    mean: d?.mean,
    std: d?.std,
    cropPadding: c.augment ? d?.cropPadding ?? 0 : 0,
    flip: c.augment ? d?.flip ?? false : false,
  });
}

/** A run from its parts: the task and the loop's settings. */
function assemble(
  c: TrainConfig,
  data: Splits,
  parts: Omit<Run, "task" | "loop">,
): Run {
  const task = taskOf(parts.model, c, data);
  return {
    ...parts,
    task,
    loop: {
      task,
      optimizer: parts.optimizer,
      schedule: parts.schedule,
      monitor: parts.monitor,
      esdClock: parts.esdClock,
      epochs: c.epochs,
      steps: c.steps,
      evalEvery: c.evalEvery ?? 1,
      stepwise: c.stepwise ?? false,
      seed: c.seed,
      config: c as unknown as Record<string, unknown>,
    },
  };
}

/** A run on the sphere: SphereSGD over the model's SI weights, a constant schedule. */
function sphereRun(model: Model, c: TrainConfig, data: Splits, method: MethodName, mo: MethodOptions): Run {
  if (method !== "cal") {
    throw new OptionError(
      `Training on the sphere (--elr / --fixed-lr) uses its own optimizer: not --method ${method}`,
    );
  }
  const si = siParameters(model);
  if (!si.length) {
    throw new OptionError(
      `Model "${c.model}" has no scale-invariant weights (a bias-free Conv2d followed by a BatchNorm2d): use convnet-si, convnet-si-af or resnet18-si`,
    );
  }
  const s = c.sphere!;
  const normSq = si.reduce((t, p) => t + model.initialSumSquares.get(p.name)!, 0);
  const optimizer = new SphereSGD(model.arena, si, {
    elr: s.elr,
    lr: s.lr,
    weightDecay: c.weightDecay,
    momentum: c.momentum,
    noninvLr: s.noninvLr ?? 0,
    perFilter: s.perFilter ?? false,
    siNormSq: normSq,
  });
  const schedule = makeSchedule({ kind: "constant", lr: optimizer.siLr });
  return assemble(c, data, {
    model,
    optimizer,
    schedule,
    esdClock: new EsdClock(),
    method: { name: method, options: mo },
  });
}

/** TempBalance's options from a method's resolved options. */
function tbOptions(m: MethodName, o: MethodOptions): TempBalanceOptions {
  const tb: TempBalanceOptions = {
    metric: o["tb-metric"] as TempBalanceOptions["metric"],
    fit: o["tb-fit"] as FitMethod,
    xminPos: o["tb-xmin-pos"] as number,
    convNorm: o["tb-conv-norm"] as number,
    filterZeros: o["tb-filter-zeros"] as boolean,
    solver: o["tb-solver"] as EigSolver,
  };
  if (m === "tb-sigmoid") return tb;
  return {
    ...tb,
    assign: o["tb-assign"] as TempBalanceOptions["assign"],
    lrMinRatio: o["tb-lr-min-ratio"] as number,
    lrMaxRatio: o["tb-lr-max-ratio"] as number,
    batchnorm: o["tb-bn"] !== "none",
    batchnormType: o["tb-bn"] === "order" ? "order" : "name",
    removeFirstLayer: !o["tb-keep-first"],
    removeLastLayer: !o["tb-keep-last"],
    eigsThresh: o["tb-eigs-thresh"] as number,
    farms: m === "tb-farms" ? { q: o["farms-q"] as number } : false,
    esd: o["tb-esd"] as TempBalanceOptions["esd"],
  };
}

/** The optimizer of a method over the run's parameter groups. */
function makeOptimizer(
  model: Model,
  groups: ParamGroupSpec[],
  c: TrainConfig,
  method: MethodName,
  mo: MethodOptions,
): Optimizer {
  const sgd = (extra: Partial<ConstructorParameters<typeof SGD>[2]> = {}) =>
    new SGD(model.arena, groups, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay, ...extra });
  let optimizer: Optimizer;
  switch (method) {
    case "snr":
    case "tb-snr":
      optimizer = sgd({
        spectralReg: { sg: mo.sg as number, iterations: mo["snr-iterations"] as number, seed: c.seed },
      });
      break;
    case "lars":
      optimizer = new LARS(model.arena, groups, {
        lr: c.lr,
        momentum: mo["lars-momentum"] as number,
        weightDecay: c.weightDecay,
        eeta: mo["lars-eeta"] as number,
        eps: mo["lars-eps"] as number,
      });
      break;
    case "lamb":
      optimizer = new LAMB(model.arena, groups, {
        lr: c.lr,
        weightDecay: c.weightDecay,
        beta1: mo["lamb-beta1"] as number,
        beta2: mo["lamb-beta2"] as number,
        eps: mo["lamb-eps"] as number,
        maxNorm: mo["lamb-max-norm"] as number,
      });
      break;
    case "lookahead":
      optimizer = new Lookahead(model.arena, sgd(), {
        k: mo["look-k"] as number,
        alpha: mo["look-alpha"] as number,
      });
      break;
    case "sgdp":
    case "tb-sgdp":
      optimizer = new SGDP(model.arena, groups, {
        lr: c.lr,
        momentum: c.momentum,
        weightDecay: c.weightDecay,
        delta: mo["sgdp-delta"] as number,
        wdRatio: mo["sgdp-wd-ratio"] as number,
        eps: mo["sgdp-eps"] as number,
      });
      break;
    default:
      optimizer = sgd();
  }
  return optimizer;
}

/** The global schedule of a configuration: SGDR, or the chosen schedule over the epochs (or steps). */
function globalSchedule(
  c: TrainConfig,
  method: MethodName,
  mo: MethodOptions,
  trainCount: number,
): LrSchedule {
  return makeSchedule(
    method === "sgdr"
      ? { kind: "sgdr", lr: c.lr, t0: mo["sgdr-t0"] as number, tMult: mo["sgdr-t-mult"] as number }
      : c.schedule === "cosine"
      ? {
        kind: "cosine",
        lr: c.lr,
        epochs: c.steps ? c.steps / Math.ceil(trainCount / c.batchSize) : c.epochs,
      }
      : c.schedule === "step"
      ? { kind: "step", lr: c.lr, stepSize: Math.max(1, Math.round(c.epochs * 0.3)), gamma: 0.1 }
      : { kind: "constant", lr: c.lr },
  );
}

/**
 * Builds model, optimizer and schedule for a configuration.
 * @param gpu The GPU.
 * @param c The configuration.
 * @param data The splits (for classes, channels and size).
 * @returns The run's parts.
 * @throws {OptionError} On an unknown method, a bad option, or a model TempBalance cannot tune.
 */
export function createRun(gpu: Gpu, c: TrainConfig, data: Splits): Run {
  const t = data.train;
  const { method, options: mo } = resolveMethod(c.method ?? "cal", c.methodOptions ?? {});
  const net = buildNetwork(c.model, {
    classes: t.classes,
    inChannels: t.channels,
    size: t.height,
    width: c.width,
  });
  const model = new Model(gpu, net, c.seed);
  const clock = new EsdClock();
  const warn = (m: string) => console.warn(`warning: ${m}`);
  const tb = TB_METHODS.includes(method)
    ? new TempBalance(model, { ...tbOptions(method, mo), onWarning: warn })
    : null;
  const mb = method === "tb-sigmoid"
    ? new ModelBalancing(model, {
      ...tbOptions(method, mo),
      tau: mo["mb-tau"] as number,
      sigmoidMin: mo["mb-sigmoid-min"] as number,
      sigmoidMax: mo["mb-sigmoid-max"] as number,
      interval: mo["mb-interval"] as number,
      onWarning: warn,
    })
    : null;
  if (c.sphere) return sphereRun(model, c, data, method, mo);
  const groups: ParamGroupSpec[] = tb?.groupSpecs(c.lr) ?? mb?.groupSpecs(c.lr) ??
    [{ params: model.arena.params }];
  const optimizer = makeOptimizer(model, groups, c, method, mo);
  const base = globalSchedule(c, method, mo, t.count);
  const stepwise = c.stepwise ?? false;
  let schedule: LrSchedule = base, monitor: LayerMonitor | undefined;
  const layerOptions = { clock, stepwise, stepsPerEpoch: Math.ceil(t.count / c.batchSize) };
  if (tb) {
    schedule = tempBalanceSchedule(base, tb, layerOptions);
    monitor = tempBalanceMonitor(tb, clock);
  } else if (mb) {
    schedule = modelBalancingSchedule(base, mb, layerOptions); // esd_interval: min(interval, steps // 10)
    monitor = modelBalancingMonitor(mb, clock);
  } else {
    monitor = watchMonitor(model, clock);
  }
  return assemble(c, data, {
    model,
    optimizer,
    schedule,
    monitor,
    esdClock: clock,
    method: { name: method, options: mo },
  });
}
