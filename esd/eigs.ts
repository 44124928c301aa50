/**
 * Eigenvalues of every layer's slices: Gram matrices for all slices of all layers on the GPU
 * (batched by shape, one submit), then symmetric eigenvalues — on the GPU by batched Jacobi, or
 * in float64 on the CPU from the read-back Gram matrices.
 *
 * NOTE (measured 2026-11, lavapipe, 2 cores): the Jacobi kernel is 10–25× slower than the float64
 * CPU solver there (45 matrices of 64: 1.0 s vs 43 ms; 9 of 512: 124 s vs 10 s), because each of
 * its barriers switches every invocation of the workgroup on a software adapter. So `auto` uses
 * the CPU solver on software adapters and Jacobi on hardware GPUs until the blocked Jacobi lands.
 * @module
 */
import { eighJacobi } from "../kernels/jacobi.ts";
import { matmul } from "../kernels/matmul.ts";
import { Recorder } from "../kernels/recorder.ts";
import { eigvalshRef } from "../kernels/reference.ts";
import type { Gpu } from "../kernels/runtime.ts";
import { readback, type Tensor, upload } from "../kernels/tensor.ts";
import type { LayerMatrices } from "./matrices.ts";

/** Where the eigenvalues of the Gram matrices are computed. */
export type EigSolver = "auto" | "gpu" | "cpu";

/** Per-layer result: the pooled eigenvalues (float64, unsorted) and whether all slices converged. */
export interface LayerEigs {
  /** Pooled eigenvalues, min(rows, cols) per slice, in the layer's own scale. */
  evals: Float64Array;
  /** False if a Jacobi solve hit its sweep limit. */
  converged: boolean;
}

/**
 * Computes the eigenvalues of WᵀW (or WWᵀ, the smaller) for every slice of every layer.
 * @param gpu The GPU.
 * @param layers Layer matrices (layers with non-finite or all-zero weights are skipped: null).
 * @param solver Where the eigenvalues are solved (default `auto`).
 * @returns One entry per layer, null for skipped layers.
 */
export async function layerEigenvalues(
  gpu: Gpu,
  layers: LayerMatrices[],
  solver: EigSolver = "auto",
): Promise<(LayerEigs | null)[]> {
  const useGpu = solver === "gpu" || (solver === "auto" && !gpu.isSoftware);
  // Group slices by shape so that each group is one batched Gram (and one batched solve).
  const groups = new Map<string, { rows: number; cols: number; owners: number[] }>();
  layers.forEach((l, i) => {
    if (l.nonFinite || l.allZero) return;
    const key = `${l.rows}x${l.cols}`;
    const g = groups.get(key) ?? { rows: l.rows, cols: l.cols, owners: [] };
    g.owners.push(i);
    groups.set(key, g);
  });
  const rec = new Recorder(gpu);
  const jobs: { owners: number[]; n: number; out: Tensor }[] = [];
  const temps: Tensor[] = [];
  for (const g of groups.values()) {
    const batch = g.owners.reduce((s, i) => s + layers[i].slices.length, 0);
    const data = new Float32Array(batch * g.rows * g.cols);
    let off = 0;
    for (const i of g.owners) {
      for (const s of layers[i].slices) {
        data.set(s, off);
        off += s.length;
      }
    }
    const w = upload(gpu, data, [batch, g.rows, g.cols], "f32", `slices ${g.rows}x${g.cols}`);
    temps.push(w);
    const tall = g.rows >= g.cols;
    const gram = matmul(rec, w, w, tall ? { transA: true } : { transB: true });
    const n = Math.min(g.rows, g.cols);
    const out = useGpu ? eighJacobi(rec, gram) : gram;
    if (useGpu) temps.push(gram);
    temps.push(out);
    jobs.push({ owners: g.owners, n, out });
  }
  await rec.submit();
  const values = jobs.length ? await readback(gpu, ...jobs.map((j) => j.out)) : [];
  for (const t of temps) t.release();
  const result: (LayerEigs | null)[] = layers.map(() => null);
  jobs.forEach((job, jobIndex) => {
    const v = values[jobIndex];
    const n = job.n;
    let slice = 0;
    for (const i of job.owners) {
      const l = layers[i];
      const evals = new Float64Array(l.slices.length * n);
      let converged = true;
      for (let s = 0; s < l.slices.length; s++, slice++) {
        let e: ArrayLike<number>;
        if (useGpu) {
          const row = v.subarray(slice * (n + 1), (slice + 1) * (n + 1));
          if (row[n] < 0) converged = false;
          e = row.subarray(0, n);
        } else e = eigvalshRef(v.subarray(slice * n * n, (slice + 1) * n * n), n);
        for (let k = 0; k < n; k++) evals[s * n + k] = e[k] / (l.scale * l.scale);
      }
      result[i] = { evals, converged };
    }
  });
  return result;
}
