/**
 * The page's analysis worker: opens the chosen files as Blobs (`io/blob.ts`) and runs the same
 * `analyze()` as `deno task analyze`, posting progress per chunk of layers and then the rows, the
 * summary and each layer's eigenvalues. The page cancels by terminating it.
 * @module
 */
import { analyze, type AnalyzeOptions, noLayersError } from "../esd/analyze.ts";
import { EigPool } from "../esd/eig_pool.ts";
import { openWeightBlobs } from "../io/blob.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";

interface Scope {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as Scope;

/** What the page sends: the chosen files and `deno task analyze`'s options. */
export interface Job {
  files: File[];
  options: Pick<
    AnalyzeOptions,
    "fit" | "xminPos" | "convention" | "maxEvals" | "filterZeros" | "farms" | "mpFit" | "randomize" | "layers"
  >;
}

scope.onmessage = async (ev: MessageEvent) => {
  const { files, options } = ev.data as Job;
  try {
    const gpu = await getGpu();
    scope.postMessage({ type: "adapter", description: gpu.description });
    const t0 = performance.now();
    const { tensors, file } = await openWeightBlobs(files);
    const pool = new EigPool(navigator.hardwareConcurrency || 1, new URL("./eig_worker.js", import.meta.url));
    try {
      const result = await analyze(tensors, {
        ...options,
        keepEvals: true,
        pool,
        // Chunks of about two matrices per worker and at most 64 MiB of layer matrices: the bar moves
        // often, and memory stays near the largest tensor, not the file.
        chunkMatrices: 2 * pool.size,
        memoryBudget: 64 * 2 ** 20,
        onProgress: (done, total, current) => scope.postMessage({ type: "progress", done, total, current }),
      });
      // The same refusals as `deno task analyze`.
      const none = noLayersError(
        result,
        file,
        options.layers === undefined ? undefined : String(options.layers),
      );
      if (none) throw none;
      const evals = result.evals ?? [];
      scope.postMessage({
        type: "result",
        file,
        layers: result.layers,
        summary: result.summary,
        timings: result.timings,
        seconds: (performance.now() - t0) / 1000,
        evals,
      }, evals.map((e) => e.buffer as ArrayBuffer));
    } finally {
      pool.close();
    }
  } catch (e) {
    scope.postMessage({ type: "error", message: e instanceof Error ? e.message : String(e) });
  }
};
