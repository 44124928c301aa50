/**
 * Data sets: IDX (Fashion-MNIST/MNIST), CIFAR-10/100 binary, SVHN `.mat` (MATLAB level 5), image
 * folders and TinyImageNet (JPEG/PNG, decoders loaded on first use), found by name through
 * {@link loadDataset}; seeded batching with augmentation and normalisation ({@link batches}); PDE data:
 * Darcy-flow and Burgers solvers ({@link solveDarcy}, {@link solveBurgers}) and PDEBench's HDF5 files
 * ({@link readPdeSamples}).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { batches, parseIdx } from "./mod.ts";
 *
 * // An IDX file of four 2×2 images: magic 0x00000803, then the sizes, then the pixels.
 * const header = [0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 2];
 * const images = parseIdx(new Uint8Array([...header, ...Array(16).keys()]), "toy-images-idx3-ubyte");
 * equal(images.shape.join("x"), "4x2x2");
 * const labels = new Int32Array([0, 1, 0, 1]);
 * const data = { images: images.data, labels, count: 4, channels: 1, height: 2, width: 2, classes: 2 };
 * const sizes = [...batches(data, 0, { batchSize: 3, seed: 1, shuffle: true })].map((b) => b.size);
 * equal(sizes.join(","), "3,1");
 * ```
 * @module
 */
export { DataFileError, parseIdx, readIdx } from "./idx.ts";
export type { IdxArray } from "./idx.ts";
export { DEBIAN_FASHION_MNIST, loadCifarBin, loadIdxSplits } from "./dataset.ts";
export type { Dataset, Splits } from "./dataset.ts";
export { parseMat } from "./mat.ts";
export type { MatArray } from "./mat.ts";
export { loadSvhnMat } from "./svhn.ts";
export { decodeImage, loadImageFolder, loadTinyImageNet } from "./image_folder.ts";
export { DATASET_DEFAULTS, DATASET_NAMES, DATASET_SHAPES, loadDataset, subsetTrain } from "./registry.ts";
export type { DatasetDefaults, DatasetName } from "./registry.ts";
export { batches } from "./loader.ts";
export type { Batch, LoaderOptions } from "./loader.ts";
export { BROWN_CATEGORIES, brownFolder, brownLines, brownVocabulary, readBrown, untag } from "./brown.ts";
export type { BrownDocument } from "./brown.ts";
export { brownCorpus, corpusVocabulary, textCorpus } from "./lm_corpus.ts";
export type { BrownOptions, CorpusVocabulary, LmCorpus } from "./lm_corpus.ts";
export { encodeLines, textLines } from "./text.ts";
export type { WordIds } from "./text.ts";
export { NgramBaselines } from "./ngram.ts";
export type { BaselineResult } from "./ngram.ts";
export { burgersFrames, burgersInitial, solveBurgers } from "./pde/burgers.ts";
export type { BurgersOptions } from "./pde/burgers.ts";
export {
  cellCentres,
  DARCY_BLOCK,
  darcyCoefficients,
  solveDarcy,
  solveDarcyWithSource,
} from "./pde/darcy.ts";
export type { DarcyBoundary, DarcySolution, DarcySolveOptions } from "./pde/darcy.ts";
export {
  blockSize,
  coordinates,
  generateBlock,
  PDE_KINDS,
  sampleDatasets,
  withDefaults,
} from "./pde/generate.ts";
export type { PdeDatasetShape, PdeGenSpec, PdeKind } from "./pde/generate.ts";
export { pdeFileInfo, readPdeSamples } from "./pde/pdebench.ts";
export type { DarcySamples, PdeReadOptions, PdeSamples, Scalar1dSamples } from "./pde/pdebench.ts";
