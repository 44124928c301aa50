/**
 * Data sets: IDX (Fashion-MNIST/MNIST) and CIFAR-10/100 binary readers, and seeded batching with
 * augmentation. SVHN, image folders and GPU-side augmentation come with the training issue.
 * @module
 */
export { DataFileError, maybeGunzip, parseIdx, readIdx } from "./idx.ts";
export type { IdxArray } from "./idx.ts";
export { DEBIAN_FASHION_MNIST, loadCifarBin, loadIdxSplits } from "./dataset.ts";
export type { Dataset, Splits } from "./dataset.ts";
export { batches, epochOrder } from "./loader.ts";
export type { Batch, LoaderOptions } from "./loader.ts";
