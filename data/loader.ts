/**
 * Batches of an in-memory data set: seeded shuffling (a new permutation each epoch, from
 * (seed, epoch) alone, so a resumed run sees the same batches), the last partial batch kept or
 * dropped, augmentation (random crop with zero padding, horizontal flip) and per-channel
 * normalisation, producing float32 NCHW batches ready to upload.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { mulberry32 } from "../util/random.ts";
import type { Dataset } from "./dataset.ts";

/** Options of {@link batches}. */
export interface LoaderOptions {
  /** Images per batch. */
  batchSize: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Seed of the shuffles and augmentation (default 0). */
  seed?: number;
  /** Drop the last partial batch (default false). */
  dropLast?: boolean;
  /** Random crop: zero padding on each side, then a random crop back to size (default 0: off). */
  cropPadding?: number;
  /** Random horizontal flip with probability 1/2 (default false). */
  flip?: boolean;
  /** Per-channel mean of the [0, 1] pixels (default 0). */
  mean?: number[];
  /** Per-channel standard deviation (default 1). */
  std?: number[];
}

/** One batch. */
export interface Batch {
  /** Pixels, (size, C, H, W), normalised. */
  x: Float32Array;
  /** Labels. */
  y: Int32Array;
  /** Images in this batch (the last one may be smaller). */
  size: number;
  /** Indices of the images in the data set. */
  indices: Uint32Array;
}

/** The order of one epoch: a seeded Fisher–Yates permutation, or 0…N−1. */
export function epochOrder(count: number, epoch: number, seed: number, shuffle: boolean): Uint32Array {
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  if (!shuffle) return order;
  const r = mulberry32(seed * 1000003 + epoch * 7919 + 1);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * The batches of one epoch.
 * @param ds The data set.
 * @param epoch The epoch (selects the permutation and augmentation).
 * @param o Batch size, shuffling, augmentation, normalisation.
 * @returns A generator of batches.
 */
export function* batches(ds: Dataset, epoch: number, o: LoaderOptions): Generator<Batch> {
  const { batchSize, shuffle = true, seed = 0, dropLast = false, cropPadding = 0, flip = false } = o;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new OptionError(`Invalid batch size ${batchSize}: expected an integer ≥ 1`);
  }
  const { channels: C, height: H, width: W } = ds;
  const mean = o.mean ?? new Array(C).fill(0), std = o.std ?? new Array(C).fill(1);
  const order = epochOrder(ds.count, epoch, seed, shuffle);
  const aug = mulberry32(seed * 31 + epoch * 104729 + 7);
  const plane = H * W, img = C * plane;
  for (let start = 0; start < ds.count; start += batchSize) {
    const size = Math.min(batchSize, ds.count - start);
    if (size < batchSize && dropLast) break;
    const x = new Float32Array(size * img),
      y = new Int32Array(size),
      indices = order.slice(start, start + size);
    for (let k = 0; k < size; k++) {
      const idx = indices[k];
      y[k] = ds.labels[idx];
      const dy = cropPadding ? Math.floor(aug() * (2 * cropPadding + 1)) - cropPadding : 0;
      const dx = cropPadding ? Math.floor(aug() * (2 * cropPadding + 1)) - cropPadding : 0;
      const mirror = flip && aug() < 0.5;
      for (let c = 0; c < C; c++) {
        const m = mean[c], s = std[c];
        for (let i = 0; i < H; i++) {
          const si = i + dy;
          for (let j = 0; j < W; j++) {
            const jj = mirror ? W - 1 - j : j;
            const sj = jj + dx;
            const v = si >= 0 && si < H && sj >= 0 && sj < W
              ? ds.images[idx * img + c * plane + si * W + sj] / 255
              : 0;
            x[k * img + c * plane + i * W + j] = (v - m) / s;
          }
        }
      }
    }
    yield { x, y, size, indices };
  }
}
