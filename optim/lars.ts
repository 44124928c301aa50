/**
 * LARS, as the TempBalance reference's `lars_optim.LARS` (layer-wise trust ratios, gradient
 * clamping to ±10, optional momentum), fused on the GPU: one pass of per-tensor norms, one update
 * dispatch per group.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { larsUpdate } from "../kernels/optim/lars_update.ts";
import type { Recorder } from "../kernels/runtime/recorder.ts";
import type { ParameterArena } from "../models/params.ts";
import { FusedOptimizer } from "./fused.ts";
import type { ParamGroupSpec } from "./groups.ts";

/** Options of {@link LARS}: the reference's defaults. */
export interface LARSOptions {
  /** Learning rate (the reference's CIFAR-100 runs use 28 for ResNet-18). */
  lr: number;
  /** Momentum (default 0: the reference builds LARS without it). */
  momentum?: number;
  /** Weight decay (default 0). */
  weightDecay?: number;
  /** Trust coefficient (default 1e-3). */
  eeta?: number;
  /** Trust-ratio epsilon (default 1e-5). */
  eps?: number;
}

/**
 * Layer-wise adaptive rate scaling.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { copy, getGpu, readback, Recorder, upload } from "../kernels/mod.ts";
 * import { ParameterArena } from "../models/mod.ts";
 * import { LARS } from "./mod.ts";
 * const gpu = await getGpu();
 * const arena = new ParameterArena(gpu, [{ name: "fc.weight", shape: [2] }]);
 * const [p] = arena.params;
 * const opt = new LARS(arena, [{ params: arena.params }], { lr: 1, momentum: 0, weightDecay: 0, eeta: 0.001 });
 * const rec = new Recorder(gpu);
 * copy(rec, upload(gpu, [3, 4], [2]), p.value); // ‖w‖ = 5
 * copy(rec, upload(gpu, [0, 10], [2]), p.grad); // ‖g‖ = 10
 * opt.step(rec);
 * await rec.submit();
 * const [w] = await readback(gpu, p.value);
 * // Local rate eeta·‖w‖/‖g‖ = 5e-4: w − 5e-4·g.
 * [3, 3.995].forEach((v, i) => ok(Math.abs(w[i] - v) < 1e-6, `w[${i}] ${w[i]}`));
 * ```
 */
export class LARS extends FusedOptimizer {
  /** Trust coefficient. */
  readonly eeta: number;
  /** Trust-ratio epsilon. */
  readonly eps: number;

  /**
   * Creates the optimizer and its zeroed momentum buffers.
   * @param arena The parameters' arena.
   * @param groups The groups.
   * @param o Defaults and LARS's constants.
   * @throws {OptionError} On eeta outside (0, 1] or eps ≤ 0 (as the reference), or bad groups.
   */
  constructor(arena: ParameterArena, groups: ParamGroupSpec[], o: LARSOptions) {
    super("LARS", arena, groups, { lr: o.lr, momentum: o.momentum ?? 0, weightDecay: o.weightDecay ?? 0 }, [
      "momentum",
    ]);
    this.eeta = o.eeta ?? 1e-3;
    this.eps = o.eps ?? 1e-5;
    if (!(this.eeta > 0 && this.eeta <= 1)) {
      throw new OptionError(`LARS: eeta must be in (0, 1], got ${this.eeta}`);
    }
    if (!(this.eps > 0)) throw new OptionError(`LARS: eps must be > 0, got ${this.eps}`);
  }

  /** Records norms and the update. */
  step(rec: Recorder): void {
    this.zeroStateOnFirstStep(rec);
    const { values, grads } = this.arena;
    this.tensorStats.record(rec, values, grads, grads);
    this.paramGroups.forEach((g, i) => {
      if (!g.params.length) return;
      larsUpdate(rec, values, grads, this.state.get("momentum")!, this.chunks[i], this.tensorStats.stats, {
        lr: g.lr,
        momentum: g.momentum,
        weightDecay: g.weightDecay,
        eeta: this.eeta,
        eps: this.eps,
        first: this.steps === 0,
      });
    });
    this.steps++;
  }
}
