/**
 * The peer for the `eigh` rows: jax-js's WebGPU `eigvalsh` (npm `@jax-js/jax`, a batched Jacobi
 * in WGSL), on the same adapter. Its results are checked, since it has returned wrong eigenvalues
 * for n ≥ 96 on lavapipe (shared/DESIGN.md §2).
 * @module
 */
import * as jax from "@jax-js/jax";

let ready: Promise<unknown> | null = null;

/** Times jax-js's eigvalsh on a batch of symmetric matrices; returns seconds and its eigenvalues. */
export async function jaxEigvalsh(
  data: Float32Array,
  batch: number,
  n: number,
): Promise<{ seconds: number; values: Float32Array }> {
  // deno-lint-ignore no-explicit-any
  const j = jax as any;
  ready ??= j.init("webgpu").then(() => j.defaultDevice("webgpu"));
  await ready;
  const warm = j.numpy.array(data).reshape([batch, n, n]);
  await j.numpy.linalg.eigvalsh(warm).data(); // compile
  const a = j.numpy.array(data).reshape([batch, n, n]);
  const t0 = performance.now();
  const values = await j.numpy.linalg.eigvalsh(a).data();
  return { seconds: (performance.now() - t0) / 1000, values: Float32Array.from(values) };
}

/**
 * Times jax-js's ESD of a batch of square matrices W as a user would write it: the Gram matrices
 * W·Wᵀ (`matmul`) then `eigvalsh`, both on the GPU.
 */
export async function jaxEsd(
  data: Float32Array,
  batch: number,
  n: number,
): Promise<{ seconds: number; values: Float32Array }> {
  // deno-lint-ignore no-explicit-any
  const j = jax as any;
  ready ??= j.init("webgpu").then(() => j.defaultDevice("webgpu"));
  await ready;
  // jax-js moves arrays into ops: `.ref` keeps w alive for its second use.
  const esd = (w: { ref: unknown }) =>
    j.numpy.linalg.eigvalsh(j.numpy.matmul(w.ref, j.numpy.swapaxes(w, 1, 2)));
  await esd(j.numpy.array(data).reshape([batch, n, n])).data(); // compile
  const a = j.numpy.array(data).reshape([batch, n, n]);
  const t0 = performance.now();
  const values = await esd(a).data();
  return { seconds: (performance.now() - t0) / 1000, values: Float32Array.from(values) };
}
