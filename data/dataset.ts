/**
 * An in-memory image classification data set: uint8 images (N, C, H, W) and integer labels,
 * with loaders for Fashion-MNIST/MNIST (IDX) and CIFAR-10/100 (binary versions).
 * @module
 */
import { DataFileError, maybeGunzip, readIdx } from "./idx.ts";

/** Images and labels. */
export interface Dataset {
  /** uint8 pixels, (N, C, H, W) row-major. */
  images: Uint8Array;
  /** Labels in [0, classes). */
  labels: Int32Array;
  /** Number of images. */
  count: number;
  /** Channels. */
  channels: number;
  /** Height. */
  height: number;
  /** Width. */
  width: number;
  /** Number of classes. */
  classes: number;
}

/** Train and test splits. */
export interface Splits {
  /** Training split. */
  train: Dataset;
  /** Test split. */
  test: Dataset;
}

/** The directory Debian's `dataset-fashion-mnist` package installs. */
export const DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist";

async function firstExisting(dir: string, names: string[]): Promise<string | null> {
  for (const n of names) {
    try {
      await Deno.stat(`${dir}/${n}`);
      return `${dir}/${n}`;
    } catch {
      // try the next name
    }
  }
  return null;
}

function checkLabels(labels: Int32Array, classes: number, file: string): void {
  const bad = labels.findIndex((l) => l < 0 || l >= classes);
  if (bad >= 0) {
    throw new DataFileError(
      file,
      `label ${labels[bad]} of image ${bad} is out of range: expected 0…${classes - 1}`,
    );
  }
}

/**
 * Loads an IDX split pair (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, and
 * `t10k-…`) from the first directory that has them.
 * @param dirs Directories to try, in order.
 * @returns Train and test splits (1×28×28, 10 classes).
 * @throws {DataFileError} Naming every path tried when the files are missing.
 */
export async function loadIdxSplits(dirs: string[]): Promise<Splits> {
  const tried: string[] = [];
  for (const dir of dirs) {
    const find = (stem: string) => firstExisting(dir, [`${stem}.gz`, stem]);
    const paths = await Promise.all(
      [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
      ].map(find),
    );
    if (paths.some((p) => p === null)) {
      tried.push(`${dir}/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`);
      continue;
    }
    const [ti, tl, vi, vl] = await Promise.all(paths.map((p) => readIdx(p!)));
    const split = (img: typeof ti, lab: typeof tl, file: string): Dataset => {
      if (img.shape.length !== 3 || lab.shape.length !== 1 || img.shape[0] !== lab.shape[0]) {
        throw new DataFileError(
          file,
          `images [${img.shape}] and labels [${lab.shape}] do not match: expected [N, H, W] and [N]`,
        );
      }
      const labels = Int32Array.from(lab.data);
      checkLabels(labels, 10, file);
      return {
        images: img.data,
        labels,
        count: img.shape[0],
        channels: 1,
        height: img.shape[1],
        width: img.shape[2],
        classes: 10,
      };
    };
    return { train: split(ti, tl, paths[1]!), test: split(vi, vl, paths[3]!) };
  }
  throw new DataFileError(
    dirs.join(", "),
    `no IDX files found; tried ${
      tried.join("; ")
    }. Install Fashion-MNIST with 'apt-get install dataset-fashion-mnist' ` +
      `(into ${DEBIAN_FASHION_MNIST}) or pass --data DIR`,
  );
}

/**
 * Parses CIFAR binary batches: records of [label (1 byte; CIFAR-100: coarse, fine)] + 3072 pixels.
 * @param files Paths of the batch files, concatenated in order.
 * @param kind `cifar10` or `cifar100` (fine labels).
 * @returns The data set (3×32×32).
 */
export async function loadCifarBin(files: string[], kind: "cifar10" | "cifar100"): Promise<Dataset> {
  const labelBytes = kind === "cifar10" ? 1 : 2, rec = labelBytes + 3072;
  const parts: Uint8Array[] = [];
  for (const f of files) {
    let b: Uint8Array;
    try {
      b = await maybeGunzip(await Deno.readFile(f), f);
    } catch (e) {
      if (e instanceof DataFileError) throw e;
      throw new DataFileError(f, "cannot be read (missing?)");
    }
    if (b.length % rec !== 0) {
      throw new DataFileError(
        f,
        `size ${b.length} is not a multiple of the ${rec}-byte ${kind} record: the last record starts at byte offset ${
          b.length - (b.length % rec)
        } and is cut short`,
      );
    }
    parts.push(b);
  }
  const count = parts.reduce((s, p) => s + p.length / rec, 0);
  const images = new Uint8Array(count * 3072), labels = new Int32Array(count);
  let n = 0;
  for (const [pi, p] of parts.entries()) {
    for (let o = 0; o < p.length; o += rec, n++) {
      labels[n] = p[o + labelBytes - 1];
      images.set(p.subarray(o + labelBytes, o + rec), n * 3072);
    }
    checkLabels(labels.subarray(n - p.length / rec, n), kind === "cifar10" ? 10 : 100, files[pi]);
  }
  return {
    images,
    labels,
    count,
    channels: 3,
    height: 32,
    width: 32,
    classes: kind === "cifar10" ? 10 : 100,
  };
}
