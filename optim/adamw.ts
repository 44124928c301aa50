/**
 * AdamW (PyTorch's `torch.optim.AdamW`: decoupled weight decay, bias correction) with optional
 * global gradient-norm clipping, fused on the GPU into the step's one submit: a pass of
 * per-tensor Σg² and one update dispatch per group. With `weightDecay: 0` it is Adam; with
 * `decoupled: false`, Adam with L2 weight decay. Complex parameters (see `ParamSpec.complex`) keep
 * one second moment |g|² per element, shared by its real and imaginary parts, as Adam on a complex
 * tensor does with g·conj(g) (Model Balancing's FNO optimizer).
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { adamwUpdate } from "../kernels/optim/adamw_update.ts";
import type { Recorder } from "../kernels/runtime/recorder.ts";
import type { ParameterArena } from "../models/params.ts";
import { FusedOptimizer } from "./fused.ts";
import type { ParamGroupSpec } from "./groups.ts";

/** Options of {@link AdamW}: PyTorch's defaults. */
export interface AdamWOptions {
  /** Learning rate. */
  lr: number;
  /** Decoupled weight decay (PyTorch's AdamW default 0.01). */
  weightDecay?: number;
  /** β₁ (default 0.9). */
  beta1?: number;
  /** β₂ (default 0.999). */
  beta2?: number;
  /** eps (default 1e-8). */
  eps?: number;
  /** Clip the global gradient norm to this before the update (default 0: no clipping). */
  maxNorm?: number;
  /**
   * Decoupled weight decay, AdamW's (default true); false: the decay is added to the gradient,
   * as `torch.optim.Adam(weight_decay=…)` does (PDEBench's and Model Balancing's FNO training).
   */
  decoupled?: boolean;
}

/**
 * Adam with decoupled weight decay.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { copy, getGpu, readback, Recorder, upload } from "../kernels/mod.ts";
 * import { ParameterArena } from "../models/mod.ts";
 * import { AdamW } from "./mod.ts";
 * const gpu = await getGpu();
 * const arena = new ParameterArena(gpu, [{ name: "fc.weight", shape: [2, 2] }]);
 * const [p] = arena.params;
 * const opt = new AdamW(arena, [{ params: arena.params }], { lr: 0.1, weightDecay: 0.01 });
 * const rec = new Recorder(gpu);
 * copy(rec, upload(gpu, [1, 2, 3, 4], [2, 2]), p.value);
 * copy(rec, upload(gpu, [0.5, -1, 2, 0], [2, 2]), p.grad);
 * opt.step(rec);
 * await rec.submit();
 * const [w] = await readback(gpu, p.value);
 * // First step: the bias-corrected m/√v is sign(g) (0 where g = 0); decay shrinks w by lr·wd first.
 * [1 - 0.001 - 0.1, 2 - 0.002 + 0.1, 3 - 0.003 - 0.1, 4 - 0.004].forEach((e, i) => ok(Math.abs(w[i] - e) < 1e-5, `w[${i}] ${w[i]}`));
 * ```
 */
export class AdamW extends FusedOptimizer {
  /** Constants. */
  readonly hyper: { beta1: number; beta2: number; eps: number; maxNorm: number; decoupled: boolean };

  /**
   * Creates the optimizer and its zeroed moment buffers.
   * @param arena The parameters' arena.
   * @param groups The groups.
   * @param o Defaults and constants.
   * @throws {OptionError} On β outside [0, 1), eps < 0, maxNorm < 0, or bad groups.
   */
  constructor(arena: ParameterArena, groups: ParamGroupSpec[], o: AdamWOptions) {
    super("AdamW", arena, groups, { lr: o.lr, weightDecay: o.weightDecay ?? 0.01 }, [
      "optim.exp_avg",
      "optim.exp_avg_sq",
    ]);
    this.hyper = {
      beta1: o.beta1 ?? 0.9,
      beta2: o.beta2 ?? 0.999,
      eps: o.eps ?? 1e-8,
      maxNorm: o.maxNorm ?? 0,
      decoupled: o.decoupled ?? true,
    };
    for (const k of ["beta1", "beta2"] as const) {
      const b = this.hyper[k];
      if (!(b >= 0 && b < 1)) throw new OptionError(`AdamW: ${k} must be in [0, 1), got ${b}`);
    }
    if (!(this.hyper.eps >= 0)) throw new OptionError(`AdamW: eps must be ≥ 0, got ${this.hyper.eps}`);
    if (!(this.hyper.maxNorm >= 0) || !Number.isFinite(this.hyper.maxNorm)) {
      throw new OptionError(
        `AdamW: maxNorm must be a finite number ≥ 0 (0: no clipping), got ${this.hyper.maxNorm}`,
      );
    }
  }

  /** Records the gradient norms (when clipping) and every group's update. */
  step(rec: Recorder): void {
    this.zeroStateOnFirstStep(rec);
    const { values, grads } = this.arena;
    const stats = this.tensorStats;
    if (this.hyper.maxNorm > 0) stats.record(rec, grads, values, values); // Σg² per tensor
    this.paramGroups.forEach((g, i) => {
      if (!g.params.length) return;
      adamwUpdate(
        rec,
        values,
        grads,
        this.state.get("optim.exp_avg")!,
        this.state.get("optim.exp_avg_sq")!,
        this.chunks[i],
        stats.stats,
        this.order.length,
        { ...this.hyper, lr: g.lr, weightDecay: g.weightDecay, step: this.steps + 1 },
      );
    });
    this.steps++;
  }
}
