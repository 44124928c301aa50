/**
 * tempbalance-webgpu: train neural networks and diagnose their layers on the GPU through WebGPU,
 * with hand-written WGSL kernels — heavy-tailed self-regularization (HT-SR) without a
 * Python/CUDA stack.
 *
 * This entry point holds the names most programs start from: the GPU ({@link getGpu}), weight
 * files ({@link loadWeights}), the layer-wise spectral analyzer ({@link analyze}), models
 * ({@link buildNetwork}, {@link Model}), data sets ({@link loadDataset}), the TempBalance
 * scheduler ({@link TempBalance}) and training runs ({@link createRun}, {@link fit}). Everything
 * else lives in the subpath modules, each loadable alone:
 *
 * | import | holds |
 * |---|---|
 * | `@tempbalance/webgpu/kernels` | the GPU runtime, {@link Recorder}, every op (no npm package loaded) |
 * | `@tempbalance/webgpu/io` | safetensors, `.npy`/`.npz`, TensorFlow.js weights |
 * | `@tempbalance/webgpu/esd` | matrices, eigenvalues, power-law and MP fits, metrics, FARMS |
 * | `@tempbalance/webgpu/models` | modules, layers, ResNet/VGG/WideResNet/scale-invariant nets |
 * | `@tempbalance/webgpu/optim` | SGD, LARS, LAMB, SGDP, Lookahead, SphereSGD, TempBalance, Model Balancing |
 * | `@tempbalance/webgpu/data` | IDX, CIFAR, SVHN, image folders, seeded batches |
 * | `@tempbalance/webgpu/train` | training step, epoch loop, checkpoints, schedules, methods |
 * | `@tempbalance/webgpu/prune` | AlphaPruning/FARMS allocations, magnitude and Wanda pruning of checkpoints |
 * | `@tempbalance/webgpu/report` | tables, CSV and SVG plots (Vega-Lite, loaded on the first plot) |
 *
 * @example
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { analyze, writeSafetensors } from "./mod.ts";
 *
 * const w = Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i * 12.9898) * 0.1);
 * const bytes = writeSafetensors([{ name: "fc.weight", shape: [64, 32], data: w }]);
 * const { layers, summary } = await analyze(bytes, { fit: "median" });
 * equal(layers[0].name, "fc.weight");
 * equal(layers[0].num_evals, 32);
 * ok(layers[0].alpha !== null && layers[0].alpha > 1);
 * equal(summary.alpha, layers[0].alpha);
 * ```
 * @module
 */
export { getGpu, Gpu } from "./kernels/runtime/runtime.ts";
export { GpuOpError, GpuUnavailableError, OptionError, UserError } from "./util/errors.ts";
export { readback, Tensor, upload } from "./kernels/runtime/tensor.ts";
export { Recorder } from "./kernels/runtime/recorder.ts";
export { loadWeights, writeSafetensors } from "./io/mod.ts";
export type { TensorToWrite, WeightTensor } from "./io/mod.ts";
export { WeightFileError } from "./io/mod.ts";
export { analyze, fitPowerLaw } from "./esd/mod.ts";
export type { AnalyzeOptions, AnalyzeResult, LayerRow, PowerLawFit } from "./esd/mod.ts";
export { buildNetwork, loadModel, Model, MODEL_NAMES, saveModel } from "./models/mod.ts";
export type { ModelName } from "./models/mod.ts";
export { SGD, TempBalance } from "./optim/mod.ts";
export type { Optimizer, TempBalanceOptions } from "./optim/mod.ts";
export { DATASET_NAMES, loadDataset } from "./data/mod.ts";
export type { Dataset, DatasetName, Splits } from "./data/mod.ts";
export { createRun, fit } from "./train/mod.ts";
export type { FitOptions, FitResult, TrainConfig, TrainTask } from "./train/mod.ts";
