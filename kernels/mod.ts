/**
 * The GPU runtime and kernels: {@link getGpu}, {@link Tensor}, {@link Recorder}, and the ops
 * (matmul, element-wise, reductions, transpose/slice). Every op records into a Recorder; nothing
 * is submitted until `recorder.submit()`.
 * @module
 */
export { getGpu, Gpu } from "./runtime.ts";
export { BufferPool } from "./_pool.ts";
export type { CompiledKernel, GpuOptions, GpuStats } from "./runtime.ts";
export { GpuOpError, GpuUnavailableError } from "./errors.ts";
export { empty, readback, Tensor, upload } from "./tensor.ts";
export type { DType, TensorData } from "./tensor.ts";
export { foldGrid, Recorder } from "./recorder.ts";
export type { Dispatch } from "./recorder.ts";
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
export { jacobiSvd, jacobiSvdMany, paddedRows, roundRobin } from "./svd_jacobi.ts";
export type { JacobiSvdOptions, JacobiSvdResult } from "./svd_jacobi.ts";
export type { SliceRange } from "./gather.ts";
export { sortRows } from "./sort.ts";
export { powerLawScan } from "./plfit.ts";
export type { PowerLawScan } from "./plfit.ts";
export { conv2d, conv2dBackward, convGeometry } from "./conv2d.ts";
export type { Conv2dGrads, Conv2dOptions, ConvGeometry } from "./conv2d.ts";
export { batchNorm, batchNormBackward } from "./batchnorm.ts";
export type { BatchNormState } from "./batchnorm.ts";
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
export { SGD_CHUNK, sgdChunks, sgdUpdate } from "./sgd.ts";
export type { SgdHyper } from "./sgd.ts";
export { snrStart, SpectralReg } from "./spectral_reg.ts";
export type { SnrLayer } from "./spectral_reg.ts";
export { SegmentStats } from "./optim_stats.ts";
export { larsUpdate } from "./lars.ts";
export type { LarsHyper } from "./lars.ts";
export { lambApply, lambMoments } from "./lamb.ts";
export type { LambHyper } from "./lamb.ts";
export { SGDP_MAX_ROWS, sgdpApply, sgdpDecide, sgdpMomentum } from "./sgdp.ts";
export { lookaheadSync } from "./lookahead.ts";
export { logRelative, packSlices } from "./esd_live.ts";
export { sphereRescale, sphereRescaleRows } from "./sphere.ts";
