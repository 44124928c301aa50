/**
 * LAMB, as the TempBalance reference's `lars_optim.LAMB` (global gradient-norm clipping to 1,
 * Adam moments without bias correction, layer-wise trust ratio ‖w‖/‖u‖ when weight decay is on),
 * fused on the GPU.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { lambApply, lambMoments } from "../kernels/optim/lamb_update.ts";
import type { Recorder } from "../kernels/runtime/recorder.ts";
import type { ParameterArena } from "../models/params.ts";
import { FusedOptimizer } from "./fused.ts";
import type { ParamGroupSpec } from "./groups.ts";

/** Options of {@link LAMB}: the reference's defaults. */
export interface LAMBOptions {
  /** Learning rate (the reference's CIFAR-100 runs use 0.01). */
  lr: number;
  /** Weight decay (default 0). */
  weightDecay?: number;
  /** β₁ (default 0.9). */
  beta1?: number;
  /** β₂ (default 0.999). */
  beta2?: number;
  /** eps (default 1e-6). */
  eps?: number;
  /** Global gradient-norm clip (default 1). */
  maxNorm?: number;
}

/**
 * Layer-wise adaptive moments.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { copy, getGpu, readback, Recorder, upload } from "../kernels/mod.ts";
 * import { ParameterArena } from "../models/mod.ts";
 * import { LAMB } from "./mod.ts";
 * const gpu = await getGpu();
 * const arena = new ParameterArena(gpu, [{ name: "fc.weight", shape: [2, 2] }]);
 * const [p] = arena.params;
 * const opt = new LAMB(arena, [{ params: arena.params }], { lr: 0.01, weightDecay: 0.01 });
 * const w0 = [3, 0, 0, 4]; // ‖w‖ = 5
 * const rec = new Recorder(gpu);
 * copy(rec, upload(gpu, w0, [2, 2]), p.value);
 * copy(rec, upload(gpu, [1, 1, 1, 1], [2, 2]), p.grad); // ‖g‖ = 2, clipped to 1
 * opt.step(rec);
 * await rec.submit();
 * const [w] = await readback(gpu, p.value);
 * // First step: m/√v = 0.1·0.5/√(0.001·0.25) = √10 (no bias correction), u = m/√v + wd·w, and the
 * // trust ratio ‖w‖/‖u‖ scales the step.
 * const u = w0.map((x) => Math.sqrt(10) + 0.01 * x);
 * const trust = 5 / Math.hypot(...u);
 * w0.forEach((x, i) => ok(Math.abs(w[i] - (x - 0.01 * trust * u[i])) < 1e-5, `w[${i}] ${w[i]}`));
 * ```
 */
export class LAMB extends FusedOptimizer {
  /** Constants. */
  readonly hyper: { beta1: number; beta2: number; eps: number; maxNorm: number };

  /**
   * Creates the optimizer and its zeroed moment buffers.
   * @param arena The parameters' arena.
   * @param groups The groups.
   * @param o Defaults and constants.
   * @throws {OptionError} On β outside [0, 1), eps < 0 or maxNorm ≤ 0 (as the reference), or bad groups.
   */
  constructor(arena: ParameterArena, groups: ParamGroupSpec[], o: LAMBOptions) {
    super("LAMB", arena, groups, { lr: o.lr, weightDecay: o.weightDecay ?? 0 }, [
      "optim.exp_avg",
      "optim.exp_avg_sq",
    ]);
    this.hyper = {
      beta1: o.beta1 ?? 0.9,
      beta2: o.beta2 ?? 0.999,
      eps: o.eps ?? 1e-6,
      maxNorm: o.maxNorm ?? 1,
    };
    for (const k of ["beta1", "beta2"] as const) {
      const b = this.hyper[k];
      if (!(b >= 0 && b < 1)) throw new OptionError(`LAMB: ${k} must be in [0, 1), got ${b}`);
    }
    if (!(this.hyper.eps >= 0)) throw new OptionError(`LAMB: eps must be ≥ 0, got ${this.hyper.eps}`);
    if (!(this.hyper.maxNorm > 0)) {
      throw new OptionError(`LAMB: maxNorm must be > 0, got ${this.hyper.maxNorm}`);
    }
  }

  /** Records the gradient norms, moments, update norms and the step. */
  step(rec: Recorder): void {
    this.zeroStateOnFirstStep(rec);
    const { values, grads } = this.arena;
    const stats = this.tensorStats, T = this.order.length;
    stats.record(rec, grads, values, values); // Σg² per tensor → the global clip
    this.paramGroups.forEach((g, i) => {
      if (!g.params.length) return;
      lambMoments(
        rec,
        values,
        grads,
        this.state.get("optim.exp_avg")!,
        this.state.get("optim.exp_avg_sq")!,
        this.chunks[i],
        stats.stats,
        T,
        {
          ...this.hyper,
          weightDecay: g.weightDecay,
        },
      );
    });
    stats.record(rec, values, grads, grads); // Σw², Σu² per tensor → trust ratios
    this.paramGroups.forEach((g, i) => {
      if (g.params.length) lambApply(rec, values, grads, this.chunks[i], stats.stats, g.lr, g.weightDecay);
    });
    this.steps++;
  }
}
