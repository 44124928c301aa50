/**
 * Optimizers and layer-wise learning rates, fused on the GPU: {@link SGD} with parameter groups
 * (and spectral-norm regularisation), {@link LARS}, {@link LAMB}, {@link SGDP}, {@link Lookahead},
 * {@link SphereSGD} (fixed effective learning rate on the sphere); the {@link TempBalance}
 * scheduler (options, plan, assignment functions, a dry run on state-dict files) and
 * {@link ModelBalancing}.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { assignRates } from "./mod.ts";
 *
 * // TempBalance's linear map: alpha 2…4 onto [0.5, 1.5] × η; the lowest alpha learns slowest.
 * const rates = assignRates([2, 3, 4], 0.1);
 * [0.05, 0.1, 0.15].forEach((r, i) => ok(Math.abs(rates[i] - r) < 1e-12, `layer ${i}: ${rates[i]}`));
 * ```
 * @module
 */
export type { Optimizer } from "./optimizer.ts";
export { FusedOptimizer } from "./fused.ts";
export { SGD } from "./sgd.ts";
export type { SGDOptions, SnrOptions } from "./sgd.ts";
export type { ParamGroup, ParamGroupSpec } from "./groups.ts";
export { LARS } from "./lars.ts";
export type { LARSOptions } from "./lars.ts";
export { AdamW } from "./adamw.ts";
export type { AdamWOptions } from "./adamw.ts";
export { LAMB } from "./lamb.ts";
export type { LAMBOptions } from "./lamb.ts";
export { SGDP } from "./sgdp.ts";
export type { SGDPOptions } from "./sgdp.ts";
export { Lookahead } from "./lookahead.ts";
export type { LookaheadOptions } from "./lookahead.ts";
export { SphereSGD } from "./sphere.ts";
export type { SphereSGDOptions } from "./sphere.ts";
export { TempBalance } from "./tempbalance.ts";
export type { TbLayerRate } from "./tempbalance.ts";
export { TB_METRICS, tempBalanceDefaults } from "./tb_options.ts";
export type { TbMetric, TempBalanceOptions } from "./tb_options.ts";
export { assignRates, TB_ASSIGNS } from "./tb_assign.ts";
export type { SigmoidMap, TbAssign } from "./tb_assign.ts";
export { planTempBalance } from "./tb_plan.ts";
export type { PlanOptions, TbGroup, TbLayer, TbPlan } from "./tb_plan.ts";
export { modulesOfModel, modulesOfStateDict } from "./tb_modules.ts";
export type { ModuleInfo, ModuleKind } from "./tb_modules.ts";
export { tempBalanceDryRun } from "./tb_file.ts";
export type { TbDryRun } from "./tb_file.ts";
export { ModelBalancing, sigmoidRates } from "./model_balancing.ts";
export type { ModelBalancingOptions } from "./model_balancing.ts";
