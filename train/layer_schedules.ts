/**
 * Layer-wise schedules for the trainer: TempBalance and Model Balancing as {@link LrSchedule}s
 * over a global schedule, and the per-layer monitor behind `layers.jsonl`.
 * - TempBalance: at each epoch start, one TB step at the epoch's global rate η(e) (the reference
 *   calls `tb_scheduler.step(optimizer, untuned_lr)` after each epoch, with the next epoch's
 *   cosine rate: the same). With stepwise global rates the layer ratios of the epoch are kept and
 *   scaled by η(e + step/steps).
 * - Model Balancing: ESD every `interval` optimizer steps (its `esd_interval` rule), rates from
 *   the latest block metrics at the current global rate before every step.
 * @module
 */
import type { Model } from "../models/model.ts";
import type { ModelBalancing } from "../optim/model_balancing.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import { TempBalance } from "../optim/tempbalance.ts";
import type { TempBalanceOptions } from "../optim/tb_options.ts";
import type { LrSchedule } from "./schedule.ts";

/** One layer's line of `layers.jsonl` (without the epoch). */
export interface LayerLog {
  /** The weight's name. */
  layer: string;
  /** The metric the method schedules by (alpha for methods without a layer-wise scheduler). */
  metric: number | null;
  /** alpha, whatever the metric. */
  alpha: number | null;
  /** Whether the method sets this layer's rate. */
  tuned: boolean;
}

/** Measures every layer at the end of an epoch (for `layers.jsonl` and the final-alpha plots). */
export interface LayerMonitor {
  /**
   * Measures the model's current weights.
   * @param key The optimizer's step count (a measurement at the same count may be reused).
   */
  measure(key: number): Promise<LayerLog[]>;
}

/** Seconds spent measuring ESDs, accumulated by the schedules and monitors of this file. */
export class EsdClock {
  /** Seconds so far. */
  seconds = 0;
  /** Times `fn`. */
  async time<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.seconds += (performance.now() - t0) / 1000;
    }
  }
}

/** How a layer-wise scheduler runs over a global schedule (the same for TempBalance and Model Balancing). */
export interface LayerScheduleOptions {
  /** Where ESD time is counted. */
  clock: EsdClock;
  /** Apply the global rate at every step (fractional epochs) rather than once per epoch. */
  stepwise?: boolean;
  /** Optimizer steps per epoch (Model Balancing measures every `esdInterval(steps)` steps). */
  stepsPerEpoch?: number;
}

/**
 * TempBalance over a global schedule.
 * @param base The global schedule (its rate is the untuned rate).
 * @param tb The scheduler.
 * @param o The clock; `stepwise`: scale the epoch's layer ratios by the global rate at every step.
 * @returns The schedule.
 */
export function tempBalanceSchedule(base: LrSchedule, tb: TempBalance, o: LayerScheduleOptions): LrSchedule {
  const { clock, stepwise = false } = o;
  let ratios: number[] = [];
  return {
    spec: base.spec,
    lrAt: base.lrAt,
    async apply(opt: Optimizer, epoch: number) {
      const eta = base.lrAt(epoch);
      await clock.time(() => tb.step(opt, eta));
      ratios = opt.paramGroups.map((g) => (eta > 0 ? g.lr / eta : 1));
    },
    applyStep: stepwise
      ? (opt: Optimizer, epoch: number) => {
        const eta = base.lrAt(epoch);
        opt.paramGroups.forEach((g, i) => g.lr = ratios[i] * eta);
      }
      : undefined,
  };
}

/**
 * The TempBalance scheduler as a monitor (its own metric; reuses the epoch-start measurement).
 * @param tb The scheduler.
 * @param clock Where ESD time is counted.
 * @param tuning Whether the scheduler sets rates (false: a plain monitor, every layer untuned).
 * @returns The monitor.
 */
export function tempBalanceMonitor(tb: TempBalance, clock: EsdClock, tuning = true): LayerMonitor {
  return {
    measure: (key) =>
      clock.time(async () => {
        const m = await tb.layerMetrics(key);
        return tb.plan.layers.map((l, i) => {
          const v = m[i][tb.options.metric];
          return {
            layer: l.weight,
            metric: v !== null && Number.isFinite(v) ? v : null,
            alpha: m[i].alpha,
            tuned: tuning && l.tuned,
          };
        });
      }),
  };
}

/**
 * Model Balancing over a global schedule.
 * @param base The global schedule.
 * @param mb The block scheduler (its `options.interval` bounds the ESD interval).
 * @param o The clock, `stepwise` (the global rate at fractional epochs, else the epoch's rate for
 *   all its steps) and `stepsPerEpoch` (the ESD runs every `mb.esdInterval(stepsPerEpoch)` steps).
 * @returns The schedule (its state is the last block metrics, so a resume continues exactly).
 */
export function modelBalancingSchedule(
  base: LrSchedule,
  mb: ModelBalancing,
  o: LayerScheduleOptions,
): LrSchedule & { state(): unknown; loadState(s: unknown): void } {
  const { clock, stepwise = false } = o;
  const interval = mb.esdInterval(o.stepsPerEpoch ?? Infinity);
  const update = async (opt: Optimizer, epoch: number, step: number) => {
    if (step % interval === 0 || !mb.lastMetrics.length) await clock.time(() => mb.measure());
    mb.apply(opt, base.lrAt(stepwise ? epoch : Math.floor(epoch)));
  };
  return {
    spec: base.spec,
    lrAt: base.lrAt,
    apply: (opt: Optimizer, epoch: number, _model: Model) => update(opt, epoch, opt.steps),
    applyStep: (opt: Optimizer, epoch: number, step: number) => update(opt, epoch, step),
    state: () => mb.stateDict(),
    loadState(s: unknown) {
      const m = (s as { blockMetrics?: (number | null)[] } | undefined)?.blockMetrics;
      if (Array.isArray(m) && m.length === mb.blocks.length) mb.loadStateDict({ blockMetrics: m });
    },
  };
}

/**
 * Model Balancing as a monitor: every layer's alpha on the current weights.
 * @param mb The block scheduler.
 * @param clock Where ESD time is counted.
 * @returns The monitor.
 */
export function modelBalancingMonitor(mb: ModelBalancing, clock: EsdClock): LayerMonitor {
  return {
    measure: () =>
      clock.time(async () => {
        const saved = mb.lastMetrics;
        await mb.measure();
        mb.lastMetrics = saved; // the schedule's own measurements decide the rates
        return mb.lastLayers.map((l) => ({
          layer: l.name,
          metric: l.metric,
          alpha: l.alpha,
          tuned: l.block !== null,
        }));
      }),
  };
}

/**
 * A monitor for a method without a layer-wise scheduler: TempBalance watching every layer (first and
 * last included, no eigenvalue threshold), tuning none.
 * @param model The model.
 * @param clock Where ESD time is counted.
 * @param options More TempBalance options (e.g. `batchnorm: false` for a model without BatchNorm).
 * @returns The monitor, or undefined when the model has no layer to measure.
 */
export function watchMonitor(
  model: Model,
  clock: EsdClock,
  options: TempBalanceOptions = {},
): LayerMonitor | undefined {
  try {
    const watch = new TempBalance(model, {
      ...options,
      removeFirstLayer: false,
      removeLastLayer: false,
      eigsThresh: 1,
      onWarning: () => {},
    });
    return tempBalanceMonitor(watch, clock, false);
  } catch {
    return undefined; // no Conv2d/Linear layer: nothing to measure
  }
}
