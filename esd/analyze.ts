/**
 * `analyze()`: WeightWatcher-style layer-wise spectral diagnosis of a model's weights, on the GPU.
 * @module
 */
import { getGpu } from "../kernels/runtime.ts";
import { loadWeights, type WeightFormat } from "../io/load.ts";
import type { WeightTensor } from "../io/tensor.ts";
import { type EigSolver, layerEigenvalues } from "./eigs.ts";
import { type LayerMatrices, layerMatrices, type Layout } from "./matrices.ts";
import { layerMetrics, type LayerRow, type MetricOptions, summarize } from "./metrics.ts";

/** Options of {@link analyze}, with the reference defaults. */
export interface AnalyzeOptions extends MetricOptions {
  /** Axis layout of the weights (default: `tfjs` for tfjs manifests, else `torch`). */
  layout?: Layout;
  /** Conv slices are multiplied by sqrt(convNorm) (default 0.5). */
  convNorm?: number;
  /** Where eigenvalues are solved (default `auto`). */
  solver?: EigSolver;
  /** File format override. */
  format?: WeightFormat;
}

/** The result: one row per layer in file order, and the mean of each metric. */
export interface AnalyzeResult {
  /** One row per Conv2d/Linear weight. */
  layers: LayerRow[];
  /** Mean of each numeric metric over the layers that have it. */
  summary: Record<string, number | null>;
}

/**
 * Analyses every Conv2d (rank-4) and Linear (rank-2) floating-point weight: ESD, power-law fit,
 * and WeightWatcher's metrics. Other tensors (biases, BatchNorm, integers) are skipped.
 * @param source A weight file path, its bytes, or tensors.
 * @param options Convention, fit, filtering, solver.
 * @returns Rows named by the tensors' names, and a summary.
 * @example
 * ```ts
 * import { analyze } from "./analyze.ts";
 * import { writeSafetensors } from "../io/safetensors.ts";
 * const w = Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i * 12.9898) * 0.1);
 * const bytes = writeSafetensors([{ name: "fc.weight", shape: [64, 32], data: w }]);
 * const { layers } = await analyze(bytes, { fit: "median" });
 * console.log(layers[0].alpha);
 * ```
 */
export async function analyze(
  source: string | Uint8Array | WeightTensor[],
  options: AnalyzeOptions = {},
): Promise<AnalyzeResult> {
  const tensors = Array.isArray(source) ? source : await loadWeights(source, options.format);
  const mats: LayerMatrices[] = [];
  for (const t of tensors) {
    const m = layerMatrices(t, {
      convention: options.convention,
      layout: options.layout,
      convNorm: options.convNorm,
    });
    if (m) mats.push(m);
  }
  const gpu = await getGpu();
  const eigs = await layerEigenvalues(gpu, mats, options.solver);
  const layers = mats.map((m, i): LayerRow => {
    const base = {
      name: m.name,
      kind: m.kind,
      shape: m.shape,
      N: Math.max(m.rows, m.cols),
      M: Math.min(m.rows, m.cols),
    };
    if (m.nonFinite) return layerMetrics(base, [], options, "not analysed: weights contain NaN or Infinity");
    if (m.allZero) return layerMetrics(base, [], options, "not analysed: all weights are zero");
    const e = eigs[i]!;
    const row = layerMetrics(base, e.evals, options);
    if (!e.converged) {
      row.warning = [row.warning, "eigenvalue solver did not converge"].filter((s) => s).join("; ");
    }
    return row;
  });
  return { layers, summary: summarize(layers) };
}
