/**
 * TempBalance's measurements and rates: each layer's alpha, spectral norm and alphahat from its
 * weights (the analyzer in the TempBalance convention), and the rate of every planned layer from
 * its metric.
 * @module
 */
import { analyze } from "../esd/analyze.ts";
import { readback } from "../kernels/runtime/tensor.ts";
import type { WeightTensor } from "../io/tensor.ts";
import type { Model } from "../models/model.ts";
import type { Parameter } from "../models/params.ts";
import { assignRates } from "./tb_assign.ts";
import type { TbPlan } from "./tb_plan.ts";
import type { TempBalanceOptions } from "./tb_options.ts";
import { spectralSlices } from "./tb_modules.ts";

/** alpha, spectral norm and alphahat of each named weight (TempBalance convention), in order. */
export async function measureLayers(
  weights: WeightTensor[],
  o: Required<Omit<TempBalanceOptions, "onWarning">>,
): Promise<{ alpha: number | null; spectral_norm: number | null; alphahat: number | null }[]> {
  const { layers } = await analyze(weights, {
    convention: "tb",
    layout: "torch",
    convNorm: o.convNorm,
    fit: o.fit,
    xminPos: o.xminPos,
    filterZeros: o.filterZeros,
    minEvals: 2,
    solver: o.solver,
    fitDevice: o.fitDevice,
    farms: o.farms,
  });
  return layers.map((r) => ({ alpha: r.alpha, spectral_norm: r.spectral_norm, alphahat: r.alphahat }));
}

/**
 * Reads parameters back from the GPU (one readback) as weight tensors for {@link measureLayers}.
 * @param model The model.
 * @param params Its parameters to read.
 * @returns The tensors, PyTorch layout.
 */
export async function readWeights(model: Model, params: Parameter[]): Promise<WeightTensor[]> {
  // A Fourier layer is measured on weights1 with its sibling weights2 (spectralSlices).
  const sibling = (p: Parameter) =>
    p.complex && p.name.endsWith(".weights1")
      ? model.arena.get(p.name.replace(/weights1$/, "weights2"))
      : undefined;
  const extra = params.map(sibling).filter((p): p is Parameter => p !== undefined);
  const values = await readback(model.gpu, ...params.map((p) => p.value), ...extra.map((p) => p.value));
  const extraValues = new Map(extra.map((p, i) => [p.name, values[params.length + i]]));
  return params.map((p, i): WeightTensor => {
    if (p.complex) {
      const [inC, outC] = p.value.shape, s2 = sibling(p);
      const w = [values[i], ...(s2 ? [extraValues.get(s2.name)!] : [])];
      const { values: v, shape } = spectralSlices(w, inC, outC);
      return { name: p.name, dtype: "F32", shape, isFloat: true, values: () => v };
    }
    // A Conv1d weight (out, in, k) is measured as the conv (out, in, 1, k): k slices of out × in.
    const shape = p.value.shape.length === 3
      ? [p.value.shape[0], p.value.shape[1], 1, p.value.shape[2]]
      : [...p.value.shape];
    return { name: p.name, dtype: "F32", shape, isFloat: true, values: () => Float64Array.from(values[i]) };
  });
}

/**
 * The rate of every layer of a plan from its measured metrics: tuned layers with a finite metric
 * share the assignment function; untuned layers, and tuned ones whose metric is NaN or null (a
 * warning names each), train at the untuned rate.
 * @param plan The plan.
 * @param metrics One metric per plan layer (null: not measurable).
 * @param lr The untuned rate η.
 * @param o The options.
 * @param warn Where warnings go.
 * @returns One rate per plan layer.
 */
export function layerRates(
  plan: TbPlan,
  metrics: (number | null)[],
  lr: number,
  o: Pick<TempBalanceOptions, "assign" | "lrMinRatio" | "lrMaxRatio" | "tau" | "sigmoidMin" | "sigmoidMax">,
  warn: (m: string) => void = console.warn,
): number[] {
  const idx = plan.layers.flatMap((l, i) => {
    if (!l.tuned) return [];
    const m = metrics[i];
    if (m === null || !Number.isFinite(m)) {
      warn(`TempBalance: layer "${l.weight}" has metric ${m}: it keeps the untuned rate ${lr}`);
      return [];
    }
    return [i];
  });
  const rates = plan.layers.map(() => lr);
  const r = assignRates(idx.map((i) => metrics[i]!), lr, o.assign, o.lrMinRatio, o.lrMaxRatio, o);
  idx.forEach((i, k) => rates[i] = r[k]);
  return rates;
}
