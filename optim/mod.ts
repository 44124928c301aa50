/**
 * Optimizers and layer-wise learning rates: SGD with parameter groups (and spectral-norm
 * regularisation), LARS, LAMB, SGDP and Lookahead fused on the GPU; the TempBalance scheduler (its
 * options, plan, measurements, assignment functions and a dry run on state-dict files) and Model
 * Balancing.
 * @module
 */
export { SGD } from "./sgd.ts";
export type { ParamGroup, ParamGroupSpec, SgdOptions } from "./sgd.ts";
export { TempBalance } from "./tempbalance.ts";
export type { TbLayerRate } from "./tempbalance.ts";
export { layerRates, measureLayers, readWeights } from "./tb_measure.ts";
export { TB_METRICS, tempBalanceDefaults } from "./tb_options.ts";
export type { TbMetric, TempBalanceOptions } from "./tb_options.ts";
export { assignRates, TB_ASSIGNS } from "./tb_assign.ts";
export type { TbAssign } from "./tb_assign.ts";
export { esdSize, planTempBalance } from "./tb_plan.ts";
export type { PlanOptions, TbGroup, TbLayer, TbPlan } from "./tb_plan.ts";
export { BUFFER_SUFFIXES, modulesOfModel, modulesOfStateDict } from "./tb_modules.ts";
export type { ModuleInfo, ModuleKind } from "./tb_modules.ts";
export { tempBalanceDryRun } from "./tb_file.ts";
export type { TbDryRun } from "./tb_file.ts";
export type { Optimizer } from "./optimizer.ts";
export type { SnrOptions } from "./sgd.ts";
export { LARS } from "./lars.ts";
export type { LarsOptions } from "./lars.ts";
export { LAMB } from "./lamb.ts";
export type { LambOptions } from "./lamb.ts";
export { SGDP } from "./sgdp.ts";
export type { SgdpOptions } from "./sgdp.ts";
export { Lookahead } from "./lookahead.ts";
export type { LookaheadOptions } from "./lookahead.ts";
export { blockIndex, ModelBalancing, sigmoidRates } from "./model_balancing.ts";
export type { ModelBalancingOptions } from "./model_balancing.ts";
export { FusedOptimizer } from "./fused.ts";
export { SphereSGD } from "./sphere.ts";
export type { SphereOptions } from "./sphere.ts";
