/**
 * tempbalance-webgpu: train neural networks and diagnose their layers on the GPU through WebGPU,
 * with hand-written WGSL kernels — heavy-tailed self-regularization (HT-SR) without a
 * Python/CUDA stack.
 *
 * This release holds the GPU runtime, the core kernels, weight-file readers, the layer-wise
 * spectral analyzer ({@link analyze}), the training layers and models, and training runs
 * ({@link fit}, {@link createRun}, {@link loadDataset}) with checkpoints and resume. Every op
 * records into a {@link Recorder}, which submits the whole step at once; data stays on the GPU
 * until {@link readback}.
 *
 * @example
 * ```ts
 * import { getGpu, matmul, readback, Recorder, sum, upload } from "./mod.ts";
 *
 * const gpu = await getGpu();
 * const a = upload(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
 * const rec = new Recorder(gpu);
 * const gram = matmul(rec, a, a, { transA: true }); // aᵀa: (3, 3)
 * const total = sum(rec, gram);
 * await rec.submit();
 * const [g, t] = await readback(gpu, gram, total);
 * console.log(g, t); // Float32Array(9) [...], Float32Array(1) [ 91 ]
 * ```
 * @module
 */
export * from "./kernels/mod.ts";
export * from "./io/mod.ts";
export * from "./esd/mod.ts";
export * from "./report/mod.ts";
export * from "./models/mod.ts";
export * from "./optim/mod.ts";
export * from "./train/mod.ts";
export * from "./data/mod.ts";
