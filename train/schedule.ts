/**
 * Learning-rate schedules, set once per epoch as in the reference code: cosine annealing
 * `lr0·0.5·(1 + cos(π·epoch/T))`, step decay, constant. A schedule only answers "what is the
 * global rate of epoch e"; {@link applySchedule} writes it into the optimizer's groups. Layer-wise
 * schedulers (TempBalance) plug in through the same {@link LrSchedule} interface by overriding
 * `apply`, which gets the model and the epoch's global rate.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import type { Model } from "../models/model.ts";
import type { Optimizer } from "../optim/optimizer.ts";

/** A per-epoch learning-rate schedule. */
export interface LrSchedule {
  /** Name and parameters, stored in checkpoints and checked on resume. */
  readonly spec: ScheduleSpec;
  /** The global (untuned) learning rate of `epoch` (0-based; fractional within an epoch for stepwise updates). */
  lrAt(epoch: number): number;
  /**
   * Sets the optimizer's group rates before the first step of `epoch`. When absent, every group
   * gets `lrAt(epoch)` scaled by its initial rate relative to the first group's.
   */
  apply?(opt: Optimizer, epoch: number, model: Model): void | Promise<void>;
  /**
   * Sets the rates before each step of an epoch but its first (when defined): layer-wise
   * schedulers that act within epochs (Model Balancing's ESD every few steps, TempBalance's ratios
   * under a stepwise global rate).
   * @param opt The optimizer.
   * @param epoch The fractional epoch `e + step/steps`.
   * @param step The optimizer's step count (global).
   * @param model The model.
   */
  applyStep?(opt: Optimizer, epoch: number, step: number, model: Model): void | Promise<void>;
  /**
   * Called once before the first step of a new run (not on resume): a layer-wise scheduler that
   * measures before training starts (the reference LM's TempBalance).
   */
  start?(opt: Optimizer, model: Model): void | Promise<void>;
  /**
   * Called after every step with the optimizer's new step count: schedulers that measure every few
   * steps (the LM's TempBalance and Model Balancing `esd_interval`).
   */
  afterStep?(opt: Optimizer, step: number, model: Model): void | Promise<void>;
  /** State that the weights do not determine (saved in checkpoints; JSON). */
  state?(): unknown;
  /** Restores {@link LrSchedule.state}. */
  loadState?(state: unknown): void;
}

/** The serialisable description of a schedule. */
export type ScheduleSpec =
  | { kind: "cosine"; lr: number; epochs: number }
  | { kind: "step"; lr: number; stepSize: number; gamma: number }
  | { kind: "constant"; lr: number }
  | { kind: "sgdr"; lr: number; t0: number; tMult: number }
  | { kind: "warmup-cosine"; lr: number; warmup: number; steps: number; policy: string };

/** The schedule kinds `deno task train --schedule` offers (SGDR comes with `--method sgdr`). */
export const SCHEDULES = ["cosine", "step", "constant"] as const;

/**
 * SGDR's rate (PyTorch's `CosineAnnealingWarmRestarts`, η_min = 0, stepped once per epoch): with
 * T_cur epochs into a cycle of T_i epochs, `lr0·(1 + cos(π·T_cur/T_i))/2`; cycles last T_0,
 * T_0·T_mult, T_0·T_mult², … epochs, so the rate restarts at epochs T_0, T_0(1 + T_mult), ….
 * @param lr The initial rate.
 * @param t0 The first cycle's length in epochs (≥ 1).
 * @param tMult The cycle growth factor (integer ≥ 1).
 * @param epoch The epoch (0-based; fractional within an epoch).
 * @returns The rate.
 */
export function sgdrRate(lr: number, t0: number, tMult: number, epoch: number): number {
  let tCur = epoch, ti = t0;
  while (tCur >= ti) {
    tCur -= ti;
    ti *= tMult;
  }
  return lr * 0.5 * (1 + Math.cos(Math.PI * tCur / ti));
}

function check(name: string, v: number, min: number, integer = false): void {
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new OptionError(`Invalid ${name} ${v}: expected ${integer ? "an integer" : "a number"} ≥ ${min}`);
  }
}

/**
 * Builds a schedule from its description.
 * @param spec Kind and parameters: cosine (lr, epochs T), step (lr, stepSize, gamma), constant (lr).
 * @returns The schedule.
 * @throws {OptionError} On a non-finite or negative rate, T < 1, step size < 1.
 */
export function makeSchedule(spec: ScheduleSpec): LrSchedule {
  if (![...SCHEDULES, "sgdr"].includes(spec.kind)) {
    throw new OptionError(
      `Unknown schedule "${(spec as { kind: string }).kind}": expected one of ${SCHEDULES.join(", ")}`,
    );
  }
  check("learning rate", spec.lr, 0);
  switch (spec.kind) {
    case "cosine":
      // A step budget (`steps`) makes the period a fraction of epochs: steps / steps per epoch.
      if (!(spec.epochs > 0) || !Number.isFinite(spec.epochs)) {
        throw new OptionError(`Invalid cosine period (epochs) ${spec.epochs}: expected a number > 0`);
      }
      return { spec, lrAt: (e) => spec.lr * 0.5 * (1 + Math.cos(Math.PI * e / spec.epochs)) };
    case "sgdr":
      check("SGDR T_0 (epochs)", spec.t0, 1, true);
      check("SGDR T_mult", spec.tMult, 1, true);
      return { spec, lrAt: (e) => sgdrRate(spec.lr, spec.t0, spec.tMult, e) };
    case "step":
      check("step size (epochs)", spec.stepSize, 1, true);
      check("step gamma", spec.gamma, 0);
      return { spec, lrAt: (e) => spec.lr * spec.gamma ** Math.floor(e / spec.stepSize) };
    default:
      return { spec, lrAt: () => spec.lr };
  }
}

/**
 * Sets the rates of `epoch`: the schedule's own `apply` when it has one, else each group gets
 * `lrAt(epoch) · initialLr / initialLr₀` (so groups created with different rates keep their ratio).
 * @param schedule The schedule.
 * @param opt The optimizer.
 * @param epoch The epoch about to start (0-based), or a fractional epoch for stepwise updates.
 * @param model The model (for layer-wise schedulers).
 */
export async function applySchedule(
  schedule: LrSchedule,
  opt: Optimizer,
  epoch: number,
  model: Model,
): Promise<void> {
  if (schedule.apply) return await schedule.apply(opt, epoch, model);
  const lr = schedule.lrAt(epoch), base = opt.paramGroups[0]?.initialLr || 1;
  for (const g of opt.paramGroups) g.lr = lr * (g.initialLr / base);
}
