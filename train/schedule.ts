/**
 * Learning-rate schedules, set once per epoch as in the reference code: cosine annealing
 * `lr0·0.5·(1 + cos(π·epoch/T))`, step decay, constant. A schedule only answers "what is the
 * global rate of epoch e"; {@link applySchedule} writes it into the optimizer's groups. Layer-wise
 * schedulers (TempBalance) plug in through the same {@link LrSchedule} interface by overriding
 * `apply`, which gets the model and the epoch's global rate.
 * @module
 */
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
}

/** The serialisable description of a schedule. */
export type ScheduleSpec =
  | { kind: "cosine"; lr: number; epochs: number }
  | { kind: "step"; lr: number; stepSize: number; gamma: number }
  | { kind: "constant"; lr: number };

/** The schedule kinds. */
export const SCHEDULES = ["cosine", "step", "constant"] as const;

function check(name: string, v: number, min: number, integer = false): void {
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new RangeError(`Invalid ${name} ${v}: expected ${integer ? "an integer" : "a number"} ≥ ${min}`);
  }
}

/**
 * Builds a schedule from its description.
 * @param spec Kind and parameters: cosine (lr, epochs T), step (lr, stepSize, gamma), constant (lr).
 * @returns The schedule.
 * @throws {RangeError} On a non-finite or negative rate, T < 1, step size < 1.
 */
export function makeSchedule(spec: ScheduleSpec): LrSchedule {
  if (!SCHEDULES.includes(spec.kind)) {
    throw new RangeError(
      `Unknown schedule "${(spec as { kind: string }).kind}": expected one of ${SCHEDULES.join(", ")}`,
    );
  }
  check("learning rate", spec.lr, 0);
  switch (spec.kind) {
    case "cosine":
      check("cosine period (epochs)", spec.epochs, 1, true);
      return { spec, lrAt: (e) => spec.lr * 0.5 * (1 + Math.cos(Math.PI * e / spec.epochs)) };
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
