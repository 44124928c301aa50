/**
 * The jax-js peer of the `esd-of-W` and `eigvalsh` rows: jax-js's WebGPU `matmul` and `eigvalsh` (npm `@jax-js/jax`, a batched Jacobi
 * in WGSL), on the same adapter. Its results are checked, since it has returned wrong eigenvalues
 * for n ≥ 96 on lavapipe (shared/DESIGN.md §2).
 * @module
 */
import * as jax from "@jax-js/jax";

let ready: Promise<unknown> | null = null;

/** A jax-js array as these helpers use it (jax-js moves arrays into ops; `.ref` keeps one alive). */
// deno-lint-ignore no-explicit-any
type JaxArray = any;

/** Times `op` on a batch of n×n matrices after one compiling call; returns seconds and values. */
async function timeJax(
  data: Float32Array,
  batch: number,
  n: number,
  op: (j: JaxArray, a: JaxArray) => JaxArray,
): Promise<{ seconds: number; values: Float32Array }> {
  const j = jax as JaxArray;
  ready ??= j.init("webgpu").then(() => j.defaultDevice("webgpu"));
  await ready;
  await op(j, j.numpy.array(data).reshape([batch, n, n])).data(); // compile
  const a = j.numpy.array(data).reshape([batch, n, n]);
  const t0 = performance.now();
  const values = await op(j, a).data();
  return { seconds: (performance.now() - t0) / 1000, values: Float32Array.from(values) };
}

/** Times jax-js's eigvalsh on a batch of symmetric matrices; returns seconds and its eigenvalues. */
export function jaxEigvalsh(
  data: Float32Array,
  batch: number,
  n: number,
): Promise<{ seconds: number; values: Float32Array }> {
  return timeJax(data, batch, n, (j, a) => j.numpy.linalg.eigvalsh(a));
}

/**
 * Times jax-js's ESD of a batch of square matrices W as a user would write it: the Gram matrices
 * W·Wᵀ (`matmul`) then `eigvalsh`, both on the GPU.
 */
export function jaxEsd(
  data: Float32Array,
  batch: number,
  n: number,
): Promise<{ seconds: number; values: Float32Array }> {
  return timeJax(
    data,
    batch,
    n,
    (j, w) => j.numpy.linalg.eigvalsh(j.numpy.matmul(w.ref, j.numpy.swapaxes(w, 1, 2))),
  );
}
