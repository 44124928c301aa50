/**
 * TempBalance's assignment functions: from each tuned layer's metric (alpha by default) to its
 * learning rate, as the reference's `get_layer_temps`, with η the untuned (globally scheduled) rate:
 * - `linear` (`tb_linear_map`): `interp(m_i, [min m, max m], [lrMin·η, lrMax·η])`;
 * - `sqrt` (`tb_sqrt`): `η·n·sqrt(m_i) / Σ sqrt(m)`;
 * - `log2` (`tb_log2`): `η·n·log2(m_i) / Σ log2(m)`;
 * - `step` (`tb_step`): by rank r of m_i (0 = smallest; ties keep layer order):
 *   `η·(lrMin + (lrMax − lrMin)·r/n)`;
 * - `sigmoid` (`tb_std_sigmoid`, Model Balancing's per-layer map, its SciML code): with
 *   d_i = m_i − mean(m), `η·10^φ_i`, φ_i = s·(σ(τ·d_i) − ½), s = sigmoidMax for d_i > 0 else sigmoidMin.
 * NOTE: when every metric is equal, the reference's `np.interp` over the degenerate range
 * `[m, m]` returns its right end, lrMax·η, for every layer; we give every layer η instead (no
 * layer is more or less trained than another, so none should move off the global rate).
 * Ref: Zhou et al., "Temperature Balancing, Layer-wise Weight Analysis, and Neural Network
 * Training", NeurIPS 2023.
 * @module
 */
import { OptionError } from "../util/errors.ts";

/** How metrics map to rates. */
export type TbAssign = "linear" | "sqrt" | "log2" | "step" | "sigmoid";

/** The assignment functions, for validation and help texts. */
export const TB_ASSIGNS: readonly TbAssign[] = ["linear", "sqrt", "log2", "step", "sigmoid"];

/** The sigmoid map's constants (Model Balancing's `exp_temp`, `lr_min_ratio`, `lr_slope`). */
export interface SigmoidMap {
  /** τ (default 10). */
  tau?: number;
  /** Slope below the mean (default 2). */
  sigmoidMin?: number;
  /** Slope above the mean (default 1). */
  sigmoidMax?: number;
}

/**
 * Maps metrics to learning rates.
 * @param metrics One finite metric per tuned layer, in layer order.
 * @param lr The untuned rate η.
 * @param assign The function (default `linear`).
 * @param lrMinRatio Lower end of the linear/step range, × η (default 0.5).
 * @param lrMaxRatio Upper end, × η (default 1.5).
 * @param sigmoid The `sigmoid` map's constants.
 * @returns One rate per layer. Where `sqrt`/`log2` divide by a zero or non-finite sum (e.g. every
 *   alpha exactly 1 under log2), every layer gets η.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { assignRates } from "./tb_assign.ts";
 * const rates = assignRates([2, 3, 4], 0.1);
 * [0.05, 0.1, 0.15].forEach((r, i) => ok(Math.abs(rates[i] - r) < 1e-12, `${rates[i]}`));
 * ```
 */
export function assignRates(
  metrics: readonly number[],
  lr: number,
  assign: TbAssign = "linear",
  lrMinRatio = 0.5,
  lrMaxRatio = 1.5,
  sigmoid: SigmoidMap = {},
): number[] {
  const n = metrics.length;
  if (n === 0) return [];
  switch (assign) {
    case "linear": {
      const lo = Math.min(...metrics), hi = Math.max(...metrics);
      if (!(hi > lo)) return metrics.map(() => lr);
      const [a, b] = [lrMinRatio * lr, lrMaxRatio * lr];
      return metrics.map((m) => a + (m - lo) / (hi - lo) * (b - a));
    }
    case "sqrt":
    case "log2": {
      const f = assign === "sqrt" ? Math.sqrt : Math.log2;
      const v = metrics.map(f);
      const sum = v.reduce((s, x) => s + x, 0);
      if (!(sum !== 0 && Number.isFinite(sum))) return metrics.map(() => lr);
      return v.map((x) => x / sum * n * lr);
    }
    case "step": {
      const order = metrics.map((m, i) => [m, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      const out = new Array<number>(n);
      order.forEach(([, i], r) => out[i] = lr * (lrMinRatio + (lrMaxRatio - lrMinRatio) * r / n));
      return out;
    }
    case "sigmoid": {
      const { tau = 10, sigmoidMin = 2, sigmoidMax = 1 } = sigmoid;
      const mean = metrics.reduce((a, b) => a + b, 0) / n;
      return metrics.map((m) => {
        const d = m - mean;
        return lr * 10 ** ((d > 0 ? sigmoidMax : sigmoidMin) * (1 / (1 + Math.exp(-tau * d)) - 0.5));
      });
    }
    default:
      throw new OptionError(
        `Unknown TempBalance assign function "${assign}": expected ${TB_ASSIGNS.join(", ")}`,
      );
  }
}
