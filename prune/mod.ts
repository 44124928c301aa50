/**
 * Layer-wise pruning by heavy-tailed metrics (AlphaPruning, FARMS): per-layer sparsities from each
 * layer's alpha ({@link pruneAllocation}), magnitude and Wanda selection on the GPU
 * ({@link pruneMask}), Wanda's calibration ({@link calibrationNorms}), and whole checkpoints
 * pruned layer by layer into a same-form folder ({@link pruneCheckpoint}).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { pruneAllocation } from "./mod.ts";
 * // Two blocks of one layer each, equal sizes: alphas 2 and 4 map to 1 − ε and 1 + ε, times S.
 * const s = pruneAllocation([2, 4], [100, 100], 0.5, 0.2, { layersPerBlock: 1 });
 * deepEqual(s.map((x) => +x.toFixed(12)), [0.4, 0.6]);
 * ```
 * @module
 */
export { type AllocationOptions, pruneAllocation } from "./allocation.ts";
export { type PrunableLayer, prunableLayers } from "./layers.ts";
export { pruneMask, type PruneMaskOptions, type PruneScore, rowCounts, selectSmallestCpu } from "./select.ts";
export { calibrationNorms, calibrationStarts } from "./calibrate.ts";
export {
  type Allocation,
  type FarmsSampling,
  pruneCheckpoint,
  type PruneOptions,
  type SparsityLayer,
  type SparsityReport,
} from "./prune.ts";
