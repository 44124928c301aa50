/**
 * The in-memory form of a tensor read from a weight file: name, dtype as the file spells it,
 * shape, and values decoded on demand to float64.
 * @module
 */
import { UserError } from "../util/errors.ts";

/** A tensor read from a weight file. */
export interface WeightTensor {
  /** The name as stored in the file (`layer1.0.conv1.weight`). */
  name: string;
  /** The dtype as the file names it (`F32`, `<f4`, `float32`, …). */
  dtype: string;
  /** Shape, outermost first. */
  shape: number[];
  /** Whether the values are floating point (only those are analysed). */
  isFloat: boolean;
  /** Axis layout the file implies: `tfjs` (HWIO, (in, out)) for tfjs manifests; absent means PyTorch's. */
  layout?: "torch" | "tfjs";
  /** Decodes the values (floats and integers) as float64, row-major; complex `C64`: (real, imaginary) pairs. */
  values(): Float64Array;
  /**
   * The values as float32, where float32 holds them exactly (F32, F16 and BF16 data): half the
   * memory of {@link WeightTensor.values}. The array is the caller's to keep or change (F32 bytes
   * read for this call are viewed, not copied); after it, bytes fetched by
   * {@link WeightTensor.load} are no longer held. Absent for other dtypes.
   */
  float32?(): Float32Array;
  /**
   * Where the bytes come asynchronously (a browser `Blob`): fetches them, so that
   * {@link WeightTensor.values} and {@link WeightTensor.float32} can run until
   * {@link WeightTensor.unload}. `analyze()` awaits it just before decoding each layer.
   */
  load?(): Promise<void>;
  /** Drops the bytes {@link WeightTensor.load} fetched. */
  unload?(): void;
}

/** A malformed or unreadable weight file: names the file, the tensor, and what was expected. */
export class WeightFileError extends UserError {
  /**
   * Builds the message `Invalid <format> file "<file>": <detail>`.
   * @param format `safetensors`, `npy`, `npz` or `tfjs`.
   * @param file The file's path or label.
   * @param detail What was wrong and what was expected.
   */
  constructor(format: string, file: string, detail: string) {
    super(`Invalid ${format} file "${file}": ${detail}`);
    this.name = "WeightFileError";
  }
}

/** Decodes IEEE half-precision bits. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Encodes a number as IEEE half-precision bits (round to nearest even). */
export function floatToHalf(v: number): number {
  const f32 = new Float32Array([v]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff, mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = (mant | 0x800000) >> (1 - e);
    return sign | ((m + 0x1000 + ((m >> 13) & 1) - 1) >> 13);
  }
  const r = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  return sign | (r + (rem > 0x1000 || (rem === 0x1000 && (r & 1)) ? 1 : 0));
}

/** Product of a shape's dims (1 for a scalar `[]`). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}
