/**
 * The language model's rates as one {@link LrSchedule}: a per-step linear warm-up and cosine to 0
 * over the run's steps, and one of three policies on top of it:
 * - `adam`: every group at the cosine rate;
 * - `tb`: TempBalance measured before the first step and then every `interval` steps, its layer
 *   rates held between measurements (the reference LM's `tb_update stage`);
 * - `tb-sigmoid`: Model Balancing's block-wise map, measured as TB is, its rates set before every
 *   step from the last measurement and the cosine rate.
 * @module
 */
import type { ModelBalancing } from "../optim/model_balancing.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import type { TempBalance } from "../optim/tempbalance.ts";
import type { EsdClock } from "./layer_schedules.ts";
import type { LrSchedule } from "./schedule.ts";

/** What the LM schedule needs. */
export interface LmScheduleOptions {
  /** Peak rate. */
  lr: number;
  /** Linear warm-up steps. */
  warmup: number;
  /** Steps of the run (the cosine reaches 0 there). */
  total: number;
  /** Steps per epoch (to read `lrAt(epoch)`). */
  perEpoch: number;
  /** Steps between measurements of `tb` / `mb`. */
  interval: number;
  /** The policy's name (recorded in the spec). */
  policy: string;
  /** TempBalance, for `tb`. */
  tb?: TempBalance | null;
  /** Model Balancing, for `tb-sigmoid`. */
  mb?: ModelBalancing | null;
  /** Where ESD seconds are counted. */
  clock: EsdClock;
}

/**
 * The warm-up + cosine rate at an optimizer step.
 * @param lr Peak rate.
 * @param warmup Warm-up steps.
 * @param total Steps of the run.
 * @param step The step (0-based).
 * @returns The rate.
 */
export function warmupCosine(lr: number, warmup: number, total: number, step: number): number {
  if (warmup > 0 && step < warmup) return (lr * (step + 1)) / warmup;
  const t = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return lr * 0.5 * (1 + Math.cos(Math.PI * t));
}

/**
 * Builds the schedule.
 * @param o Rates, policy and scheduler.
 * @returns The schedule (its state: the scheduler's last measurement).
 */
export function lmSchedule(o: LmScheduleOptions): LrSchedule {
  const { tb = null, mb = null, clock } = o;
  const eta = (step: number) => warmupCosine(o.lr, o.warmup, o.total, step);
  const setRates = (opt: Optimizer, step: number) => {
    if (mb) mb.apply(opt, eta(step));
    else if (!tb) { for (const g of opt.paramGroups) g.lr = eta(step); }
  };
  return {
    spec: { kind: "warmup-cosine", lr: o.lr, warmup: o.warmup, steps: o.total, policy: o.policy },
    lrAt: (epoch) => eta(Math.round(epoch * o.perEpoch)),
    async start(opt) {
      if (tb) await tb.step(opt, eta(0)); // measured before the first step, as the reference
      else if (mb) await mb.measure();
    },
    apply: (opt) => setRates(opt, opt.steps),
    applyStep: (opt, _epoch, step) => setRates(opt, step),
    async afterStep(opt, done) {
      if (done % o.interval !== 0 || done >= o.total) return;
      if (tb) await clock.time(() => tb.step(opt, eta(done)));
      else if (mb) await clock.time(() => mb.measure());
    },
    state: () => ({ tb: tb?.stateDict(), mb: mb?.stateDict() }),
    loadState(s) {
      const saved = s as {
        tb?: ReturnType<TempBalance["stateDict"]>;
        mb?: ReturnType<ModelBalancing["stateDict"]>;
      };
      if (tb && saved?.tb) tb.loadStateDict(saved.tb);
      if (mb && saved?.mb) mb.loadStateDict(saved.mb);
    },
  };
}
