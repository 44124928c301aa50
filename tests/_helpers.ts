/**
 * Test helpers: the shared GPU, a seeded random source, and an llm.c-style comparison that names
 * the tensor, the index and both values.
 * @module
 */
import { getGpu, type Gpu } from "../kernels/runtime.ts";
import { mulberry32 } from "../util/random.ts";
import { readback, type Tensor } from "../kernels/tensor.ts";

/** The one GPU all tests share. */
export const gpu: Gpu = await getGpu();

/** Mulberry32: a small seeded PRNG returning floats in [0, 1) (the models' initialiser's). */
export const rng: (seed: number) => () => number = mulberry32;

/** `n` uniform values in [lo, hi), rounded to float32. */
export function randArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/**
 * Asserts `|got − ref| ≤ atol + rtol·|ref|` element-wise, with the reference rounded to float32
 * (so an f64 value beyond float32's range must come back as ±Infinity). NaN must match NaN.
 */
export function assertClose(
  name: string,
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  atol = 1e-5,
  rtol = 1e-5,
): void {
  if (got.length !== ref.length) throw new Error(`${name}: length ${got.length}, expected ${ref.length}`);
  for (let i = 0; i < ref.length; i++) {
    const g = got[i], r = Math.fround(ref[i]);
    if (Number.isNaN(r) || Number.isNaN(g)) {
      if (Number.isNaN(r) && Number.isNaN(g)) continue;
      throw new Error(`${name}[${i}]: got ${g}, expected ${r}`);
    }
    if (!Number.isFinite(r) || !Number.isFinite(g)) {
      if (g === r) continue;
      throw new Error(`${name}[${i}]: got ${g}, expected ${r}`);
    }
    if (Math.abs(g - r) > atol + rtol * Math.abs(r)) {
      throw new Error(
        `${name}[${i}]: got ${g}, expected ${r} (|diff| ${Math.abs(g - r)} > ${atol} + ${rtol}·|ref|)`,
      );
    }
  }
}

/** Asserts `|got − ref| ≤ atol + rtol·|ref|` in float64 (no rounding of the reference). */
export function assertNear(
  name: string,
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  atol = 1e-12,
  rtol = 1e-12,
): void {
  if (got.length !== ref.length) throw new Error(`${name}: length ${got.length}, expected ${ref.length}`);
  for (let i = 0; i < ref.length; i++) {
    const g = got[i], r = ref[i];
    if (Object.is(g, r) || (Number.isNaN(g) && Number.isNaN(r))) continue;
    if (!(Math.abs(g - r) <= atol + rtol * Math.abs(r))) {
      throw new Error(
        `${name}[${i}]: got ${g}, expected ${r} (|diff| ${Math.abs(g - r)} > ${atol} + ${rtol}·|ref|)`,
      );
    }
  }
}

/** Reads one tensor back as numbers. */
export async function read(t: Tensor): Promise<Float32Array | Int32Array | Uint32Array> {
  const [v] = await readback(t.gpu, t);
  return v;
}
