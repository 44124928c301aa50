/**
 * The GPU runtime and kernels: {@link getGpu}, {@link Tensor}, {@link Recorder}, and the ops with
 * their backward passes (matmul, convolution, BatchNorm, pooling, cross-entropy, element-wise,
 * reductions, transpose/slice, sort), the Jacobi SVD and the power-law scan. Every op records into
 * a Recorder; nothing runs until `recorder.submit()`, and nothing comes back until
 * {@link readback}.
 *
 * The rooms: `runtime/` (adapter and device, buffer pool, Recorder, tensors, timing, probe,
 * parameter packing), `ops/` (element-wise, reductions, argmax, gather, sort, fill/copy/bias),
 * `linalg/` (matmul, Jacobi SVD), `nn/` (linear, BatchNorm, pooling, cross-entropy, `conv2d/` by
 * algorithm), `optim/` (the fused optimizer updates), `esd/` (the power-law scan, slice packing).
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
export { getGpu, Gpu } from "./runtime/runtime.ts";
export type { BufferPool } from "./runtime/buffer_pool.ts"; // the type of Gpu.pool; the class is internal
export type { CompiledKernel, GpuOptions, GpuStats } from "./runtime/runtime.ts";
export { GpuOpError, GpuUnavailableError, OptionError, UserError } from "../util/errors.ts";
export { empty, readback, Tensor, upload } from "./runtime/tensor.ts";
export type { DType, TensorData, TypedArrayFor } from "./runtime/tensor.ts";
export { Recorder } from "./runtime/recorder.ts";
export type { Dispatch, ProfiledEntry, RecorderProfile, Work } from "./runtime/recorder.ts";
export type { ProfileMethod } from "./runtime/gpu_timing.ts";
export { copyBandwidth, fmaPeak } from "./runtime/probe.ts";
export { matmul } from "./linalg/matmul.ts";
export type { MatmulOptions, MatmulVariant } from "./linalg/matmul.ts";
export { add, mul, sub } from "./ops/binary.ts";
export { axpy, scale } from "./ops/axpy.ts";
export { addRelu, relu, reluBackward } from "./ops/relu.ts";
export { fill } from "./ops/fill.ts";
export { copy } from "./ops/copy.ts";
export { addBias } from "./ops/bias.ts";
export { max, sum, sumSquares } from "./ops/reduce.ts";
export type { ReduceOptions } from "./ops/reduce.ts";
export { argmax } from "./ops/argmax.ts";
export { concat, padEnd, slice, transpose } from "./ops/gather.ts";
export type { SliceRange } from "./ops/gather.ts";
export { jacobiSvd, jacobiSvdMany } from "./linalg/svd_jacobi.ts";
export type { JacobiSvdOptions, JacobiSvdResult } from "./linalg/svd_jacobi.ts";
export { sortRows } from "./ops/sort.ts";
export { SegmentStats } from "./optim/segment_stats.ts";
export { powerLawScan } from "./esd/plfit_scan.ts";
export type { PowerLawScan } from "./esd/plfit_scan.ts";
export { conv2d, conv2dBackward, convGeometry } from "./nn/conv2d/conv2d.ts";
export type { Conv2dGrads, Conv2dOptions, ConvAlgorithm, ConvGeometry } from "./nn/conv2d/conv2d.ts";
export { batchNorm, batchNormBackward } from "./nn/batchnorm.ts";
export type { BatchNormBackwardOptions, BatchNormState } from "./nn/batchnorm.ts";
export {
  avgPool2d,
  avgPool2dBackward,
  globalAvgPool,
  globalAvgPoolBackward,
  maxPool2d,
  maxPool2dBackward,
} from "./nn/pooling.ts";
export type { PoolOptions } from "./nn/pooling.ts";
export { crossEntropy } from "./nn/cross_entropy.ts";
export type { CrossEntropyResult } from "./nn/cross_entropy.ts";
export { linear, linearBackward } from "./nn/linear.ts";
export { norm, normBackward } from "./nn/norm.ts";
export type { NormKind, NormResult } from "./nn/norm.ts";
export { activation, activationBackward, ACTIVATIONS, swiglu, swigluBackward } from "./nn/activation.ts";
export type { GeluKind } from "./nn/activation.ts";
export { embedding, embeddingBackward, tokenIndex } from "./nn/embedding.ts";
export type { TokenIndex } from "./nn/embedding.ts";
export { causalAttention, causalAttentionBackward } from "./nn/attention.ts";
export { mergeHeads, splitHeads } from "./nn/heads.ts";
export { rope, ropeTable } from "./nn/rope.ts";
export { dropout, dropoutKeeps } from "./nn/dropout.ts";
export { tokenNll } from "./nn/lm_loss.ts";
export {
  axisTable,
  contractAxis,
  dftTables,
  keptModes,
  spectralConv1d,
  spectralConv1dBackward,
  spectralConv2d,
  spectralConv2dBackward,
} from "./nn/spectral.ts";
export type { AxisTable, SpectralSaved } from "./nn/spectral.ts";
export { convTranspose2d, convTranspose2dBackward } from "./nn/conv_transpose.ts";
