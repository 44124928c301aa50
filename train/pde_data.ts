/**
 * PDE training data as PDEBench's `FNODatasetSingle` splits it: the first 10% of a file's samples are
 * the test split, the rest the training pool, of which every `stride`-th sample is used (Model
 * Balancing's `reduced_batch`: a data ratio of 1/stride), grids subsampled by `reduced_resolution`;
 * and the batches each model type takes:
 * - `fno2d` on Darcy: (B, x, y, 3) channels-last, [ν, x, y] (PDEBench's `forward(x, grid)` input),
 *   target u (B, x, y, 1);
 * - `unet2d` on Darcy: ν as (B, 1, x, y), target (B, 1, x, y);
 * - `fno1d` on a 1D file: `initial_step` frames and the x grid, (B, x, initial_step + 1), target the
 *   next frame (B, x, 1) (one-step, teacher-forced training; evaluation rolls out).
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { mulberry32 } from "../util/random.ts";
import { pdeFileInfo, type PdeSamples, readPdeSamples } from "../data/pde/pdebench.ts";
import type { OperatorConfig } from "../models/operators/config.ts";

/** The share of a file's samples held out for testing, first in the file (PDEBench's `test_ratio`). */
export const TEST_RATIO = 0.1;

/** How to read a PDE file for training. */
export interface PdeSplitOptions {
  /** The training pool's stride: a data ratio of 1/stride (Model Balancing's `reduced_batch`). */
  stride: number;
  /** PDEBench's `reduced_resolution` (default 1). */
  reducedResolution?: number;
  /** PDEBench's `reduced_resolution_t` (default 1; 1D files). */
  reducedResolutionT?: number;
  /** Test samples to read (default: all of the test split). */
  testSamples?: number;
}

/** The test split and the training subset. */
export interface PdeSplits {
  /** Training samples. */
  train: PdeSamples;
  /** Test samples. */
  test: PdeSamples;
  /** Samples in the file. */
  fileSamples: number;
  /** Samples of the training pool (before the stride). */
  pool: number;
}

/**
 * The stride of a data ratio: `round(1/ratio)` (0.1 → 10, 0.025 → 40, 0.00625 → 160).
 * @param ratio The share of the training pool, in (0, 1].
 * @returns The stride.
 */
export function strideOf(ratio: number): number {
  if (!(ratio > 0 && ratio <= 1)) {
    throw new OptionError(`Invalid --subset ${ratio}: expected a fraction in (0, 1]`);
  }
  return Math.max(1, Math.round(1 / ratio));
}

/**
 * Reads the splits of a PDEBench file.
 * @param path The HDF5 file.
 * @param o Stride and subsampling.
 * @returns The splits.
 * @throws {Hdf5Error} Not HDF5 or not PDEBench's layout.
 * @throws {OptionError} Too few samples for a test split and a training subset.
 */
export async function readPdeSplits(path: string, o: PdeSplitOptions): Promise<PdeSplits> {
  const info = await pdeFileInfo(path);
  const nTest = Math.floor(info.samples * TEST_RATIO);
  const pool = info.samples - nTest;
  const nTrain = Math.floor(pool / o.stride);
  if (nTest < 1 || nTrain < 1) {
    throw new OptionError(
      `${path}: ${info.samples} samples give ${nTest} test and ${nTrain} training samples (stride ${o.stride}): expected at least one of each`,
    );
  }
  const sub = { reducedResolution: o.reducedResolution, reducedResolutionT: o.reducedResolutionT };
  const test = await readPdeSamples(path, {
    start: 0,
    stop: Math.min(nTest, o.testSamples ?? nTest),
    ...sub,
  });
  const train = await readPdeSamples(path, {
    start: nTest,
    stop: nTest + nTrain * o.stride,
    step: o.stride,
    ...sub,
  });
  return { train, test, fileSamples: info.samples, pool };
}

/** A batch: the model's input and the target, with their shapes. */
export interface PdeBatch {
  /** Input values. */
  x: Float32Array;
  /** Input shape. */
  xShape: number[];
  /** Target values. */
  y: Float32Array;
  /** Target shape. */
  yShape: number[];
  /** Samples. */
  size: number;
}

/**
 * Checks that a model fits a file's layout.
 * @param config The model.
 * @param s Samples of the file.
 * @param file The file, for errors.
 * @throws {OptionError} A 2D model on 1D data or the reverse, or a grid the model cannot take.
 */
export function checkModelFits(config: OperatorConfig, s: PdeSamples, file: string): void {
  const t = config.model_type;
  if (s.kind === "darcy" && t === "fno1d") {
    throw new OptionError(`${file} holds 2D Darcy data: fno1d takes 1D files`);
  }
  if (s.kind === "1d" && t !== "fno1d") {
    throw new OptionError(`${file} holds 1D data: ${t} takes 2D Darcy files`);
  }
  if (t === "unet2d" && s.kind === "darcy" && (s.nx % 16 || s.ny % 16)) {
    throw new OptionError(
      `${file}: a ${s.nx}×${s.ny} grid does not fit unet2d (sides must be multiples of 16; choose --reduced-resolution)`,
    );
  }
  if (t === "unet2d" && config.in_channels !== 1) {
    throw new OptionError(
      `unet2d with in_channels ${config.in_channels}: Darcy data give 1 input channel (ν)`,
    );
  }
  if (t === "fno2d" && s.kind === "darcy") {
    if (config.initial_step * config.num_channels !== 1) {
      throw new OptionError(
        `fno2d with initial_step·num_channels = ${
          config.initial_step * config.num_channels
        }: Darcy data give 1 (ν)`,
      );
    }
    if (2 * config.modes1 > s.nx + 2 || config.modes2 > Math.floor((s.ny + 2) / 2) + 1) {
      throw new OptionError(
        `fno2d modes ${config.modes1}×${config.modes2} do not fit a ${s.nx}×${s.ny} grid`,
      );
    }
  }
  if (t === "fno1d" && s.kind === "1d") {
    if (config.num_channels !== 1) {
      throw new OptionError(`fno1d with num_channels ${config.num_channels}: the file holds 1 channel`);
    }
    if (config.initial_step >= s.nt) {
      throw new OptionError(
        `fno1d initial_step ${config.initial_step}: the file has ${s.nt} frames (after --reduced-resolution-t)`,
      );
    }
    if (config.modes > Math.floor((s.nx + 2) / 2) + 1) {
      throw new OptionError(`fno1d modes ${config.modes} do not fit ${s.nx} points`);
    }
  }
}

/**
 * Assembles the batch of the given samples.
 * @param config The model.
 * @param s The samples.
 * @param idx Sample indices.
 * @param frames 1D: the target frame of each sample (≥ initial_step).
 * @returns The batch.
 */
export function assembleBatch(
  config: OperatorConfig,
  s: PdeSamples,
  idx: number[],
  frames?: number[],
): PdeBatch {
  const B = idx.length;
  if (s.kind === "darcy") {
    const P = s.nx * s.ny;
    const y = new Float32Array(B * P);
    idx.forEach((n, b) => y.set(s.u.subarray(n * P, (n + 1) * P), b * P));
    if (config.model_type === "unet2d") {
      const x = new Float32Array(B * P);
      idx.forEach((n, b) => x.set(s.nu.subarray(n * P, (n + 1) * P), b * P));
      return { x, xShape: [B, 1, s.nx, s.ny], y, yShape: [B, 1, s.nx, s.ny], size: B };
    }
    const x = new Float32Array(B * P * 3);
    idx.forEach((n, b) => {
      for (let i = 0; i < s.nx; i++) {
        for (let j = 0; j < s.ny; j++) {
          const p = i * s.ny + j, at = (b * P + p) * 3;
          x[at] = s.nu[n * P + p];
          x[at + 1] = s.x[i];
          x[at + 2] = s.y[j];
        }
      }
    });
    return { x, xShape: [B, s.nx, s.ny, 3], y, yShape: [B, s.nx, s.ny, 1], size: B };
  }
  const steps = (config as { initial_step: number }).initial_step;
  const X = s.nx, T = s.nt;
  const x = new Float32Array(B * X * (steps + 1)), y = new Float32Array(B * X);
  idx.forEach((n, b) => {
    const t = frames![b];
    for (let i = 0; i < X; i++) {
      const at = (b * X + i) * (steps + 1);
      for (let k = 0; k < steps; k++) x[at + k] = s.u[(n * T + t - steps + k) * X + i];
      x[at + steps] = s.x[i];
      y[b * X + i] = s.u[(n * T + t) * X + i];
    }
  });
  return { x, xShape: [B, X, steps + 1], y, yShape: [B, X, 1], size: B };
}

/**
 * An epoch's order of training samples (PyTorch's `DataLoader(shuffle=True)`, seeded per epoch), and
 * for 1D data each sample's target frame.
 * @param count Training samples.
 * @param epoch The epoch (0-based).
 * @param seed The run's seed.
 * @param frames 1D: [first, end) of the target frames; omitted for Darcy.
 * @returns Sample indices and target frames.
 */
export function epochOrder(
  count: number,
  epoch: number,
  seed: number,
  frames?: [number, number],
): { order: number[]; frames: number[] } {
  const rand = mulberry32((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0);
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const f = frames ? order.map(() => frames[0] + Math.floor(rand() * (frames[1] - frames[0]))) : [];
  return { order, frames: f };
}
