/**
 * A TempBalance dry run on a state-dict file: the rate TempBalance would give every trainable
 * tensor of a PyTorch-style state dict (safetensors or npz, OIHW convs) at a given untuned rate,
 * without training. Module order comes from the file ({@link modulesOfStateDict}).
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { loadWeightFile, type WeightFormat } from "../io/load.ts";
import { WeightFileError } from "../io/tensor.ts";
import { layerRates, measureLayers } from "./tb_measure.ts";
import { tempBalanceDefaults, type TempBalanceOptions } from "./tb_options.ts";
import { BUFFER_SUFFIXES, modulesOfStateDict } from "./tb_modules.ts";
import { planTempBalance } from "./tb_plan.ts";

/** The result, shaped as `deno task tempbalance --json` prints it. */
export interface TbDryRun {
  /** The untuned rate. */
  lr: number;
  /** Every floating tensor but BatchNorm's buffers → its rate. */
  params: Record<string, number>;
  /** Every Conv2d/Linear weight in module order. */
  layers: { name: string; metric: number | null; num_evals: number; tuned: boolean; lr: number }[];
}

/**
 * Computes TempBalance's rates for the weights in a file.
 * @param source A safetensors or npz path, or its bytes.
 * @param lr The untuned rate η (> 0).
 * @param options TempBalance's options.
 * @param format Override the detected format.
 * @returns Rates by parameter and by layer.
 * @throws {OptionError} On bad options, a bad rate, or nothing left to tune.
 * @throws {WeightFileError} On a missing or malformed file, or a tfjs/npy file (not a state dict).
 * @example
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { tempBalanceDryRun } from "./tb_file.ts";
 * import { writeSafetensors } from "../io/safetensors.ts";
 * const w = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 1.7));
 * const bytes = writeSafetensors([
 *   { name: "conv1.weight", shape: [8, 3, 3, 3], data: w(216) },
 *   { name: "conv2.weight", shape: [64, 64, 3, 3], data: w(36864) },
 *   { name: "fc.weight", shape: [10, 64], data: w(640) },
 * ]);
 * const run = await tempBalanceDryRun(bytes, 0.1);
 * deepEqual(run.layers.map((l) => l.tuned), [false, true, false]); // first and last layers stay at lr
 * equal(run.params["conv1.weight"], 0.1);
 * equal(run.params["conv2.weight"], run.layers[1].lr);
 * ```
 */
export async function tempBalanceDryRun(
  source: string | Uint8Array,
  lr: number,
  options: TempBalanceOptions = {},
  format?: WeightFormat,
): Promise<TbDryRun> {
  if (!(lr > 0) || !Number.isFinite(lr)) {
    throw new OptionError(`Invalid learning rate ${lr}: expected a number > 0`);
  }
  const o = tempBalanceDefaults(options);
  const file = typeof source === "string" ? source : "<bytes>";
  const { tensors, metadata } = await loadWeightFile(source, format);
  if (tensors.some((t) => t.layout === "tfjs")) {
    throw new WeightFileError(
      "tfjs",
      file,
      "a tfjs manifest is not a PyTorch state dict: expected safetensors or npz",
    );
  }
  // Our training checkpoints also hold the optimizer's state (`momentum.<param>`): not parameters.
  const isCheckpoint = "tempbalance.train_state" in metadata;
  const state = isCheckpoint ? tensors.filter((t) => !/^(momentum|optim)\./.test(t.name)) : tensors;
  const modules = modulesOfStateDict(state, metadata, file);
  const plan = planTempBalance(modules, o);
  const byName = new Map(state.map((t) => [t.name, t]));
  const measured = await measureLayers(plan.layers.map((l) => byName.get(l.weight)!), o);
  const metrics = measured.map((m) => m[o.metric]);
  const rates = layerRates(plan, metrics, lr, o, options.onWarning);
  const rateOf = new Map<string, number>();
  plan.groups.forEach((g) => {
    const i = plan.layers.findIndex((l) => l.module === g.layer);
    for (const p of g.params) rateOf.set(p, i < 0 ? lr : rates[i]);
  });
  const params: Record<string, number> = {};
  for (const t of state) {
    const local = t.name.slice(t.name.lastIndexOf(".") + 1);
    if (!t.isFloat || BUFFER_SUFFIXES.includes(local as "running_mean")) continue;
    params[t.name] = rateOf.get(t.name) ?? lr;
  }
  return {
    lr,
    params,
    layers: plan.layers.map((l, i) => ({
      name: l.weight,
      metric: metrics[i] !== null && Number.isFinite(metrics[i]) ? metrics[i] : null,
      num_evals: l.numEvals,
      tuned: l.tuned,
      lr: rates[i],
    })),
  };
}
