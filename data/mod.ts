/**
 * Data sets: IDX (Fashion-MNIST/MNIST), CIFAR-10/100 binary, SVHN `.mat` (MATLAB level 5), image
 * folders and TinyImageNet (JPEG/PNG), found by name through {@link loadDataset}; seeded batching
 * with augmentation and normalisation.
 * @module
 */
export { DataFileError, decompress, maybeGunzip, parseIdx, readIdx } from "./idx.ts";
export type { IdxArray } from "./idx.ts";
export { DEBIAN_FASHION_MNIST, loadCifarBin, loadIdxSplits } from "./dataset.ts";
export type { Dataset, Splits } from "./dataset.ts";
export { parseMat } from "./mat.ts";
export type { MatArray } from "./mat.ts";
export { loadSvhnMat } from "./svhn.ts";
export { decodeImage, imagesToDataset, loadImageFolder, loadTinyImageNet } from "./image_folder.ts";
export { DATASET_DEFAULTS, DATASET_NAMES, loadDataset, subsetTrain } from "./registry.ts";
export type { DatasetDefaults, DatasetName } from "./registry.ts";
export { batches, epochOrder } from "./loader.ts";
export type { Batch, LoaderOptions } from "./loader.ts";
