/**
 * The data sets `deno task train --dataset` knows: where their standard files are looked for,
 * how to get them, and their training defaults (normalisation as in the reference repositories,
 * augmentation: random crop with 4-pixel padding, plus flips where mirrored images are still
 * valid — not for digits or clothing).
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { DEBIAN_FASHION_MNIST, loadCifarBin, loadIdxSplits, type Splits } from "./dataset.ts";
import { DataFileError } from "./idx.ts";
import { loadTinyImageNet } from "./image_folder.ts";
import { loadSvhnMat } from "./svhn.ts";

/** Data set names. */
export const DATASET_NAMES = ["fashion-mnist", "cifar10", "cifar100", "svhn", "tiny-imagenet"] as const;

/** A data set name. */
export type DatasetName = typeof DATASET_NAMES[number];

/** Training defaults of a data set. */
export interface DatasetDefaults {
  /** Per-channel mean of [0, 1] pixels. */
  mean: number[];
  /** Per-channel standard deviation. */
  std: number[];
  /** Random-crop padding (0: none). */
  cropPadding: number;
  /** Random horizontal flips. */
  flip: boolean;
}

/** The images and classes of each data set: what a model built for it takes. */
export const DATASET_SHAPES: Record<DatasetName, { channels: number; size: number; classes: number }> = {
  "fashion-mnist": { channels: 1, size: 28, classes: 10 },
  cifar10: { channels: 3, size: 32, classes: 10 },
  cifar100: { channels: 3, size: 32, classes: 100 },
  svhn: { channels: 3, size: 32, classes: 10 },
  "tiny-imagenet": { channels: 3, size: 64, classes: 200 },
};

/** Normalisation and augmentation per data set. */
export const DATASET_DEFAULTS: Record<DatasetName, DatasetDefaults> = {
  "fashion-mnist": { mean: [0.286], std: [0.353], cropPadding: 0, flip: false },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201], cropPadding: 4, flip: true },
  cifar100: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762], cropPadding: 4, flip: true },
  svhn: { mean: [0.4377, 0.4438, 0.4728], std: [0.198, 0.201, 0.197], cropPadding: 4, flip: false },
  "tiny-imagenet": {
    mean: [0.4802, 0.4481, 0.3975],
    std: [0.2302, 0.2265, 0.2262],
    cropPadding: 4,
    flip: true,
  },
};

interface Layout {
  /** Sub-folders of each candidate directory to try (first match wins). */
  subdirs: string[];
  /** Files (or folders) that must exist in it. */
  files: string[];
  /** Default directories when no --data is given. */
  defaults: string[];
  /** How to get the data. */
  hint: string;
}

const LAYOUTS: Record<Exclude<DatasetName, "fashion-mnist">, Layout> = {
  cifar10: {
    subdirs: ["", "cifar-10-batches-bin"],
    files: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`).concat("test_batch.bin"),
    defaults: ["data"],
    hint: "download the binary version, https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, " +
      "and unpack it (cifar-10-batches-bin/)",
  },
  cifar100: {
    subdirs: ["", "cifar-100-binary"],
    files: ["train.bin", "test.bin"],
    defaults: ["data"],
    hint: "download the binary version, https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz, " +
      "and unpack it (cifar-100-binary/)",
  },
  svhn: {
    subdirs: ["", "svhn"],
    files: ["train_32x32.mat", "test_32x32.mat"],
    defaults: ["data"],
    hint: "download train_32x32.mat and test_32x32.mat from http://ufldl.stanford.edu/housenumbers/",
  },
  "tiny-imagenet": {
    subdirs: ["", "tiny-imagenet-200"],
    files: ["train", "val/val_annotations.txt"],
    defaults: ["data"],
    hint: "download http://cs231n.stanford.edu/tiny-imagenet-200.zip and unzip it (tiny-imagenet-200/)",
  },
};

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function findData(name: DatasetName, layout: Layout, dataDir?: string): Promise<string> {
  const tried: string[] = [];
  for (const base of dataDir ? [dataDir] : layout.defaults) {
    for (const sub of layout.subdirs) {
      const dir = sub ? `${base}/${sub}` : base;
      const missing: string[] = [];
      for (const f of layout.files) if (!await exists(`${dir}/${f}`)) missing.push(f);
      if (!missing.length) return dir;
      tried.push(`${dir}/{${layout.files.join(",")}}`);
    }
  }
  throw new DataFileError(
    dataDir ?? layout.defaults.join(", "),
    `${name} not found; tried ${tried.join("; ")}. To get it: ${layout.hint}, then pass --data DIR`,
  );
}

/**
 * Loads a data set's train and test splits from its standard files.
 * @param name One of {@link DATASET_NAMES}.
 * @param dataDir Where the files are (default: Fashion-MNIST in Debian's folder, the others in
 *   `./data`); the usual sub-folder of the archive (`cifar-10-batches-bin`, …) is found too.
 * @returns Train and test splits.
 * @throws {DataFileError} Naming every path tried and how to get the data; or a malformed file.
 */
export async function loadDataset(name: string, dataDir?: string): Promise<Splits> {
  switch (name as DatasetName) {
    case "fashion-mnist":
      return await loadIdxSplits(dataDir ? [dataDir] : [DEBIAN_FASHION_MNIST, "data/fashion-mnist"]);
    case "cifar10": {
      const dir = await findData("cifar10", LAYOUTS.cifar10, dataDir);
      return {
        train: await loadCifarBin(LAYOUTS.cifar10.files.slice(0, 5).map((f) => `${dir}/${f}`), "cifar10"),
        test: await loadCifarBin([`${dir}/test_batch.bin`], "cifar10"),
      };
    }
    case "cifar100": {
      const dir = await findData("cifar100", LAYOUTS.cifar100, dataDir);
      return {
        train: await loadCifarBin([`${dir}/train.bin`], "cifar100"),
        test: await loadCifarBin([`${dir}/test.bin`], "cifar100"),
      };
    }
    case "svhn": {
      const dir = await findData("svhn", LAYOUTS.svhn, dataDir);
      return {
        train: await loadSvhnMat(`${dir}/train_32x32.mat`),
        test: await loadSvhnMat(`${dir}/test_32x32.mat`),
      };
    }
    case "tiny-imagenet": {
      const dir = await findData("tiny-imagenet", LAYOUTS["tiny-imagenet"], dataDir);
      const { train, test } = await loadTinyImageNet(dir);
      return { train, test };
    }
    default:
      throw new OptionError(`Unknown data set "${name}": expected one of ${DATASET_NAMES.join(", ")}`);
  }
}

/**
 * The first `n` images of a data set (for quick trials).
 * @param splits The splits.
 * @param n Training images to keep (the test split is kept whole).
 * @returns Splits sharing the original buffers.
 * @throws {OptionError} When `n` is not an integer ≥ 1.
 */
export function subsetTrain(splits: Splits, n: number): Splits {
  if (!Number.isInteger(n) || n < 1) throw new OptionError(`Invalid subset ${n}: expected an integer ≥ 1`);
  const t = splits.train, k = Math.min(n, t.count), img = t.channels * t.height * t.width;
  return {
    train: { ...t, count: k, images: t.images.subarray(0, k * img), labels: t.labels.subarray(0, k) },
    test: splits.test,
  };
}
