/**
 * Optimizers: SGD with parameter groups.
 * @module
 */
export { SGD } from "./sgd.ts";
export type { ParamGroup, ParamGroupSpec, SgdOptions } from "./sgd.ts";
