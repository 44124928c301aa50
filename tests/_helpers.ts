/**
 * Test helpers: the shared GPU (and `gpuTest`, which registers a test that needs it: skipped, with
 * one message, where no WebGPU adapter exists), a seeded random source, and an llm.c-style
 * comparison that names the tensor, the index and both values.
 * @module
 */
import { getGpu, type Gpu } from "../kernels/runtime/runtime.ts";
import { GpuUnavailableError } from "../util/errors.ts";
import { mulberry32 } from "../util/random.ts";
import { readback, type Tensor } from "../kernels/runtime/tensor.ts";

let found: Gpu | null = null;
try {
  found = await getGpu();
} catch (e) {
  if (!(e instanceof GpuUnavailableError)) throw e;
  console.warn(`%cskipping the tests that need a GPU: ${e.message}`, "color: yellow");
}

/** Whether a WebGPU adapter was found; without one, {@link gpuTest}s are skipped. */
export const HAS_GPU: boolean = found !== null;

/** The one GPU all tests share (only to be used inside a {@link gpuTest}). */
export const gpu: Gpu = found as Gpu;

/** Registers a test that needs the GPU: skipped (reported as ignored) when there is none. */
export function gpuTest(name: string, fn: () => void | Promise<void>): void {
  Deno.test({ name, ignore: !HAS_GPU, fn });
}

/** Debian's Fashion-MNIST folder (package `dataset-fashion-mnist`). */
export const FMNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** Whether Debian's Fashion-MNIST files are installed. */
export const HAS_FMNIST: boolean = (() => {
  try {
    return Deno.statSync(`${FMNIST_DIR}/train-images-idx3-ubyte.gz`).isFile;
  } catch {
    return false;
  }
})();
if (!HAS_FMNIST) {
  console.warn(
    `%cskipping the tests that read Fashion-MNIST: ${FMNIST_DIR} is missing (apt-get install dataset-fashion-mnist)`,
    "color: yellow",
  );
}

/** Registers a test that reads Debian's Fashion-MNIST: skipped when the files are absent. */
export function fmnistTest(name: string, fn: () => void | Promise<void>): void {
  Deno.test({ name, ignore: !HAS_FMNIST, fn });
}

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
