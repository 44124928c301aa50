/**
 * SVHN's cropped-digit files (`train_32x32.mat`, `test_32x32.mat`, `extra_32x32.mat`): `X` is
 * 32×32×3×N uint8 (column-major), `y` is N×1 with labels 1…10 where 10 stands for the digit 0 —
 * mapped to 0…9 as torchvision does (`y % 10`).
 * @module
 */
import type { Dataset } from "./dataset.ts";
import { DataFileError } from "./idx.ts";
import { parseMat } from "./mat.ts";

/**
 * Reads one SVHN `.mat` file.
 * @param file The path.
 * @returns The data set (3×32×32, 10 classes), images in (N, C, H, W) order.
 * @throws {DataFileError} On a missing variable, wrong shapes, or labels outside 1…10 (or 0…9).
 */
export async function loadSvhnMat(file: string): Promise<Dataset> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (e) {
    throw new DataFileError(file, `cannot be read (${(e as Error).message})`);
  }
  const vars = await parseMat(bytes, file);
  const X = vars.get("X"), y = vars.get("y");
  if (!X || !y) {
    throw new DataFileError(
      file,
      `has no ${!X ? '"X"' : '"y"'} variable: expected X (32×32×3×N) and y (N×1)`,
    );
  }
  const [H, W, C, N = 1] = X.dims;
  if (X.dims.length > 4 || C !== 3 || y.data.length !== N) {
    throw new DataFileError(
      file,
      `X is [${X.dims}] and y is [${y.dims}]: expected X [H, W, 3, N] and y [N, 1]`,
    );
  }
  const labels = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const l = y.data[n];
    if (!Number.isInteger(l) || l < 0 || l > 10) {
      throw new DataFileError(file, `label ${l} of image ${n} is out of range: expected 1…10 (10 = digit 0)`);
    }
    labels[n] = l % 10;
  }
  // Column-major (h, w, c, n) → row-major (n, c, h, w).
  const src = X.data, images = new Uint8Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let w = 0; w < W; w++) {
        const s = ((n * C + c) * W + w) * H, d = (n * C + c) * H * W + w;
        for (let h = 0; h < H; h++) images[d + h * W] = src[s + h];
      }
    }
  }
  return { images, labels, count: N, channels: C, height: H, width: W, classes: 10 };
}
