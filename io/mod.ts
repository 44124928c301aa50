/**
 * Weight files: safetensors (read and write, F32/F64/F16/BF16/integers), NumPy `.npy`/`.npz`
 * (stored and deflated; member CRC-32s checked) and TensorFlow.js `model.json` + shards, with one
 * error voice ({@link WeightFileError}: the file, the tensor, what was expected); and the atomic
 * file write used for checkpoints; HDF5 files through h5wasm ({@link Hdf5File}).
 *
 * Names follow one rule: `parse*` is synchronous and reads bytes already in memory; `open*` is
 * asynchronous and lazy (headers now, each tensor's bytes when it is decoded); `load*` is
 * asynchronous and reads everything it returns.
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { loadWeights, writeSafetensors } from "./mod.ts";
 *
 * const bytes = writeSafetensors([{ name: "fc.weight", shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }]);
 * const [fc] = await loadWeights(bytes);
 * equal(fc.name, "fc.weight");
 * deepEqual(fc.shape, [2, 3]);
 * deepEqual([...fc.values()], [1, 2, 3, 4, 5, 6]);
 * ```
 * @module
 */
export { writeAtomic } from "./atomic.ts";
export { readUtf8 } from "./text.ts";
export { checkpointPath, detectFormat, loadWeights } from "./load.ts";
export type { WeightFormat } from "./load.ts";
export {
  openSafetensors,
  openSafetensorsBlob,
  openShardedSafetensors,
  parseSafetensors,
  writeSafetensors,
} from "./safetensors.ts";
export type { BlobLike, TensorToWrite } from "./safetensors.ts";
export { openWeightBlobs } from "./blob.ts";
export type { NamedBlob } from "./blob.ts";
export { parseNpy, parseNpz, writeNpy } from "./npy.ts";
export { loadTfjs, loadTfjsManifest } from "./tfjs.ts";
export { WeightFileError } from "./tensor.ts";
export type { WeightTensor } from "./tensor.ts";
export { Hdf5Error, Hdf5File } from "./hdf5.ts";
export type { Hdf5Array, Hdf5Range } from "./hdf5.ts";
