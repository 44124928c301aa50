/**
 * Weight files: safetensors (read and write), NumPy `.npy`/`.npz`.
 * @module
 */
export { writeAtomic } from "./atomic.ts";
export { detectFormat, loadWeightFile, loadWeights } from "./load.ts";
export type { WeightFormat } from "./load.ts";
export { parseSafetensors, writeSafetensors } from "./safetensors.ts";
export type { TensorToWrite } from "./safetensors.ts";
export { parseNpy, parseNpz, writeNpy } from "./npy.ts";
export { loadTfjs } from "./tfjs.ts";
export { floatToHalf, halfToFloat, numel, WeightFileError } from "./tensor.ts";
export type { WeightTensor } from "./tensor.ts";
