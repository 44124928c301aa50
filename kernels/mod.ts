/**
 * The GPU runtime and kernels: {@link getGpu}, {@link Tensor}, {@link Recorder}, and the ops with
 * their backward passes (matmul, convolution, BatchNorm, pooling, cross-entropy, element-wise,
 * reductions, transpose/slice, sort), the Jacobi SVD and the power-law scan. Every op records into
 * a Recorder; nothing runs until `recorder.submit()`, and nothing comes back until
 * {@link readback}.
 *
 * Import it alone (`@tempbalance/webgpu/kernels`): it loads no npm package.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { getGpu, matmul, readback, Recorder, sum, upload } from "./mod.ts";
 *
 * const gpu = await getGpu();
 * const a = upload(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
 * const rec = new Recorder(gpu);
 * const gram = matmul(rec, a, a, { transA: true }); // aᵀa: (3, 3)
 * const total = sum(rec, gram);
 * await rec.submit();
 * const [g, t] = await readback(gpu, gram, total);
 * deepEqual([...g], [17, 22, 27, 22, 29, 36, 27, 36, 45]);
 * deepEqual([...t], [261]);
 * ```
 * @module
 */
export { getGpu, Gpu } from "./runtime.ts";
export { BufferPool } from "./_pool.ts";
export type { CompiledKernel, GpuOptions, GpuStats } from "./runtime.ts";
export { GpuOpError, GpuUnavailableError, OptionError, UserError } from "./errors.ts";
export { empty, readback, Tensor, upload } from "./tensor.ts";
export type { DType, TensorData, TypedArrayFor } from "./tensor.ts";
export { Recorder } from "./recorder.ts";
export type { Dispatch, ProfiledEntry, RecorderProfile, Work } from "./recorder.ts";
export { hasTimestamps, profileQuerySet, readTimestamps, replayTimes } from "./profile.ts";
export type { ProfileMethod } from "./profile.ts";
export { copyBandwidth, fmaPeak } from "./probe.ts";
export { matmul } from "./matmul.ts";
export type { MatmulOptions, MatmulVariant } from "./matmul.ts";
export { add, mul, sub } from "./binary.ts";
export { axpy, scale } from "./axpy.ts";
export { relu, reluBackward } from "./relu.ts";
export { fill } from "./fill.ts";
export { copy } from "./copy.ts";
export { addBias } from "./bias.ts";
export { max, sum, sumSquares } from "./reduce.ts";
export type { ReduceOptions } from "./reduce.ts";
export { argmax } from "./argmax.ts";
export { slice, transpose } from "./gather.ts";
export type { SliceRange } from "./gather.ts";
export { jacobiSvd, jacobiSvdMany } from "./svd_jacobi.ts";
export type { JacobiSvdOptions, JacobiSvdResult } from "./svd_jacobi.ts";
export { sortRows } from "./sort.ts";
export { SegmentStats } from "./optim_stats.ts";
export { powerLawScan } from "./plfit.ts";
export type { PowerLawScan } from "./plfit.ts";
export { conv2d, conv2dBackward, convGeometry } from "./conv2d.ts";
export type { Conv2dGrads, Conv2dOptions, ConvAlgorithm, ConvGeometry } from "./conv2d.ts";
export { batchNorm, batchNormBackward } from "./batchnorm.ts";
export type { BatchNormBackwardOptions, BatchNormState } from "./batchnorm.ts";
export {
  avgPool2d,
  avgPool2dBackward,
  globalAvgPool,
  globalAvgPoolBackward,
  maxPool2d,
  maxPool2dBackward,
} from "./pool.ts";
export type { PoolOptions } from "./pool.ts";
export { crossEntropy } from "./cross_entropy.ts";
export type { CrossEntropyResult } from "./cross_entropy.ts";
export { linear, linearBackward } from "./linear.ts";
