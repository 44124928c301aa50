/**
 * `analyze()`: WeightWatcher-style layer-wise spectral diagnosis of a model's weights, on the GPU.
 * @module
 */
import { OptionError, type UserError } from "../util/errors.ts";
import { WeightFileError } from "../io/tensor.ts";
import { getGpu, type Gpu } from "../kernels/runtime/runtime.ts";
import { loadWeights, type WeightFormat } from "../io/load.ts";
import type { WeightTensor } from "../io/tensor.ts";
import type { TensorToWrite } from "../io/safetensors.ts";
import { type EigSolver, type EsdTimings, layerEigenvalues, type LayerEigs } from "./eigs.ts";
import { EigPool } from "./eig_pool.ts";
import { type LayerMatrices, layerMatrices, type Layout } from "./matrices.ts";
import {
  fitInput,
  layerMetrics,
  type LayerRow,
  METRIC_COLUMNS,
  type MetricOptions,
  summarize,
} from "./metrics.ts";
import { checkFitOptions, type PowerLawFit } from "./plfit.ts";
import { fitPowerLawsGpu } from "./plfit_gpu.ts";
import { farmsGroups, type FarmsOptions } from "./farms.ts";
import { jensenShannon, shuffled } from "./mp.ts";

/** Options of {@link analyze}, with the reference defaults. */
export interface AnalyzeOptions extends MetricOptions {
  /** Axis layout of the weights (default: `tfjs` for tfjs manifests, else `torch`). */
  layout?: Layout;
  /** Conv slices are multiplied by sqrt(convNorm) (default 0.5). */
  convNorm?: number;
  /** Where eigenvalues are solved (default `auto`). */
  solver?: EigSolver;
  /**
   * Workers for the CPU eigen path (default `navigator.hardwareConcurrency`; 1 solves on the
   * calling thread). Results do not depend on it.
   */
  workers?: number;
  /** Workers to use instead of a pool of `workers` made for this call (left open). */
  pool?: EigPool;
  /** Where the CPU eigen path forms Gram matrices (see `LayerEigenOptions.gram`; default `auto`). */
  gram?: "auto" | "gpu" | "cpu";
  /**
   * Bytes one GPU storage binding may hold (default, and at most, the device's
   * `maxStorageBufferBindingSize`). A slice larger than that has its Gram matrix formed in tiles
   * and solved on the CPU; a smaller value caps the GPU memory of each step.
   */
  bindingLimit?: number;
  /** File format override. */
  format?: WeightFormat;
  /** Only the layers whose tensor name this matches (a RegExp or its source; default all). */
  layers?: RegExp | string;
  /**
   * Budget of a chunk of layers, counted at 8 bytes a weight (twice with `randomize`; default
   * 256 MiB): layers are read, solved and dropped in chunks under it (at least one layer per
   * chunk), so memory follows this budget and the largest layer, not the model. Results do not
   * depend on it.
   */
  memoryBudget?: number;
  /**
   * A chunk also ends at the layer that brings it to this many matrices (a conv layer counts its
   * kh·kw slices; default: no limit). Smaller chunks report progress and write rows more often;
   * about twice the number of workers keeps every worker busy. Results do not depend on it.
   */
  chunkMatrices?: number;
  /**
   * Rows already measured, by tensor name (a resumed run): those layers are not read again, their
   * rows take their place in the result (no eigenvalues with `keepEvals`).
   */
  done?: Map<string, LayerRow>;
  /** Called with each chunk's new rows as soon as they are measured (e.g. to append them to a file). */
  onLayers?: (rows: LayerRow[]) => void | Promise<void>;
  /**
   * Progress: layers done of the total, and the layer being read next (null at the end). Called
   * before each chunk and once when all are done.
   */
  onProgress?: (done: number, total: number, current: string | null) => void;
  /** Measure each layer by FARMS (true for the defaults, or its options). Default false. */
  farms?: boolean | FarmsOptions;
  /** Where the power-law fits run: `gpu` (default) or `cpu` (float64). */
  fitDevice?: "gpu" | "cpu";
  /** Keep each layer's eigenvalues in the result (for plots). Default false. */
  keepEvals?: boolean;
  /**
   * Also measure each layer with its elements shuffled (seeded) and report `rand_distance`, the
   * Jensen–Shannon distance between the two ESDs. `true` uses seed 1. Default false.
   */
  randomize?: boolean | { seed?: number };
}

/** A tensor given by value: its shape and row-major values (PyTorch layout unless `layout` says). */
export interface NamedArray {
  /** Shape. */
  shape: number[];
  /** Values, row-major. */
  data: ArrayLike<number>;
  /** Axis layout (default `torch`). */
  layout?: "torch" | "tfjs";
}

/** Whether {@link layerMatrices} makes a layer of a tensor (without reading its values). */
function isLayer(t: WeightTensor): boolean {
  return t.isFloat && (t.shape.length === 2 || t.shape.length === 4) && !t.shape.some((d) => d === 0);
}

/** The `layers` option as a RegExp (a string is its source); a bad pattern is a usage error. */
function layerFilter(layers: RegExp | string | undefined): RegExp | null {
  if (layers === undefined || layers instanceof RegExp) return layers ?? null;
  try {
    return new RegExp(layers);
  } catch (e) {
    throw new OptionError(`Invalid layers pattern "${layers}": ${(e as Error).message}`);
  }
}

function namedTensors(entries: [string, NamedArray][]): WeightTensor[] {
  return entries.map(([name, a]) => {
    const n = a.shape.reduce((p, d) => p * d, 1);
    if (!Array.isArray(a.shape) || a.data?.length !== n) {
      throw new OptionError(
        `Tensor "${name}": ${a.data?.length} values do not fill shape [${a.shape}] (${n} expected)`,
      );
    }
    return {
      name,
      dtype: "F64",
      shape: a.shape,
      isFloat: true,
      layout: a.layout,
      values: () => Float64Array.from(a.data),
    };
  });
}

/** The result: one row per layer in file order, and the mean of each metric. */
export interface AnalyzeResult {
  /** One row per Conv2d/Linear weight. */
  layers: LayerRow[];
  /** With `keepEvals`: each layer's pooled eigenvalues, ascending (empty when not analysed). */
  evals?: Float64Array[];
  /** Mean of each numeric metric over the layers that have it. */
  summary: Record<string, number | null>;
  /** Seconds spent reading, forming Gram matrices, solving and fitting (this call's layers). */
  timings: EsdTimings;
}

/**
 * A model whose weights live elsewhere (on the GPU): anything with PyTorch's `state_dict()`, such
 * as our `Model`. Its float32 tensors are analyzed.
 */
export interface StateDictSource {
  /** Reads every parameter and buffer, with PyTorch's names. */
  stateDict(): Promise<TensorToWrite[]>;
}

function isStateDictSource(s: unknown): s is StateDictSource {
  return typeof s === "object" && s !== null && !Array.isArray(s) && !(s instanceof Map) &&
    typeof (s as { stateDict?: unknown }).stateDict === "function";
}

/**
 * Analyses every Conv2d (rank-4) and Linear (rank-2) floating-point weight: ESD, power-law fit,
 * and WeightWatcher's metrics. Other tensors (biases, BatchNorm, integers) are skipped.
 * @param source A weight file path, its bytes, tensors, a map of names to `{shape, data}`, or a
 *   {@link StateDictSource} such as our `Model` (its parameters are read back from the GPU).
 * @param options Convention, fit, filtering, solver.
 * @returns Rows named by the tensors' names, and a summary.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { analyze } from "./analyze.ts";
 * import { writeSafetensors } from "../io/safetensors.ts";
 * const w = Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i * 12.9898) * 0.1);
 * const bytes = writeSafetensors([{ name: "fc.weight", shape: [64, 32], data: w }]);
 * const { layers } = await analyze(bytes, { fit: "median" });
 * ok(layers[0].name === "fc.weight" && layers[0].num_evals === 32);
 * ok(layers[0].alpha !== null && layers[0].alpha > 1, `alpha ${layers[0].alpha}`);
 * ```
 */
export async function analyze(
  source:
    | string
    | Uint8Array
    | WeightTensor[]
    | Map<string, NamedArray>
    | Record<string, NamedArray>
    | StateDictSource,
  options: AnalyzeOptions = {},
): Promise<AnalyzeResult> {
  const tensors = isStateDictSource(source)
    ? (await source.stateDict()).filter((t) => (t.dtype ?? "F32") === "F32").map((t): WeightTensor => ({
      name: t.name,
      dtype: "F32",
      shape: t.shape,
      isFloat: true,
      values: () => Float64Array.from(t.data),
    }))
    : typeof source === "string" || source instanceof Uint8Array
    ? await loadWeights(source, options.format)
    : Array.isArray(source)
    ? source
    : namedTensors(source instanceof Map ? [...source] : Object.entries(source));
  checkFitOptions({ method: options.fit, xminPos: options.xminPos }, "analyze");
  const only = layerFilter(options.layers);
  // Only tensors that make layers (biases, BatchNorm vectors and integers make none).
  const chosen = tensors.filter((t) => isLayer(t) && (!only || only.test(t.name)));
  // Layers in chunks of at most `memoryBudget` bytes at 8 a weight (at least one layer each): a
  // chunk's matrices are solved together, then dropped before the next is read.
  const budget = options.memoryBudget ?? 256 * 2 ** 20;
  const layers: LayerRow[] = [];
  const evals: Float64Array[] = [];
  let chunk: WeightTensor[] = [], bytes = 0, randomIndex = 0, matrices = 0;
  const maxMatrices = options.chunkMatrices ?? Infinity;
  if (!(maxMatrices >= 1)) throw new OptionError(`chunkMatrices must be at least 1, got ${maxMatrices}`);
  const total = chosen.length;
  if (options.workers !== undefined && !(Number.isInteger(options.workers) && options.workers >= 1)) {
    throw new OptionError(`workers must be a positive integer, got ${options.workers}`);
  }
  if (options.bindingLimit !== undefined && !(options.bindingLimit >= 16)) {
    throw new OptionError(`bindingLimit must be at least 16 bytes, got ${options.bindingLimit}`);
  }
  const pool = options.pool ?? new EigPool(options.workers);
  const timings: EsdTimings = { read: 0, gram: 0, eigen: 0, fit: 0 };
  const flush = async () => {
    if (!chunk.length) return;
    options.onProgress?.(layers.length, total, chunk[0].name);
    const r = await analyzeChunk(chunk, options, randomIndex, pool, timings);
    randomIndex += r.randomCount;
    layers.push(...r.layers);
    evals.push(...r.evals);
    await options.onLayers?.(r.layers);
    chunk = [];
    bytes = 0;
    matrices = 0;
  };
  try {
    for (const t of chosen) {
      const prior = options.done?.get(t.name);
      if (prior) {
        await flush();
        layers.push(prior);
        evals.push(new Float64Array(0));
        // Its shuffled copy keeps its seed, so later layers' rand_distance do not move.
        if (options.randomize) randomIndex++;
        continue;
      }
      const size = 8 * t.shape.reduce((p, d) => p * d, 1) * (options.randomize ? 2 : 1);
      if (chunk.length && bytes + size > budget) await flush();
      chunk.push(t);
      bytes += size;
      matrices += t.shape.length === 4 ? t.shape[2] * t.shape[3] : 1;
      if (matrices >= maxMatrices) await flush();
    }
    await flush();
  } finally {
    if (!options.pool) pool.close();
  }
  options.onProgress?.(layers.length, total, null);
  return options.keepEvals
    ? { layers, summary: summarize(layers), evals, timings }
    : { layers, summary: summarize(layers), timings };
}

/** A chunk's tensors as matrices: the layers, and with randomize their shuffled copies. */
async function readChunk(
  tensors: WeightTensor[],
  options: AnalyzeOptions,
  randomIndex: number,
  farms: FarmsOptions | null,
): Promise<{ mats: LayerMatrices[]; random: LayerMatrices[] }> {
  const mats: LayerMatrices[] = [];
  const random: LayerMatrices[] = [];
  const seed = options.randomize ? (options.randomize === true ? 1 : options.randomize.seed ?? 1) : 0;
  for (const t of tensors) {
    // Bytes that come asynchronously (a browser Blob) are fetched here, one tensor at a time.
    await t.load?.();
    try {
      // With randomize, the values to shuffle are read first (float32() may take the loaded bytes).
      const own = options.randomize && isLayer(t) ? t.values() : null;
      const m = layerMatrices(t, { // FARMS cuts conv slices made tall, as WeightWatcher orients them.
        convention: farms && t.shape.length === 4 ? "ww" : options.convention,
        layout: options.layout,
        convNorm: options.convNorm,
      });
      if (m) mats.push(m);
      if (own) {
        // The shuffled layer (one group): its own values, never the file's float32 view.
        const v = shuffled(own, seed + randomIndex + random.length);
        random.push(
          layerMatrices({ ...t, values: () => v, float32: undefined }, {
            convention: options.convention,
            layout: options.layout,
            convNorm: options.convNorm,
          })!,
        );
      }
    } finally {
      t.unload?.();
    }
  }
  return { mats, random };
}

/** Power-law fits of every ESD with enough eigenvalues, on the GPU in one submit (else none: the CPU fits). */
async function fitChunk(
  gpu: Gpu,
  flat: LayerMatrices[],
  eigs: (LayerEigs | null)[],
  options: AnalyzeOptions,
): Promise<(PowerLawFit | undefined)[]> {
  const minEvals = options.minEvals ?? 10;
  const inputs = flat.map((_, k) => (eigs[k] ? fitInput(eigs[k]!.evals, options).used : null));
  const fittable = inputs.map((u, k) =>
    u !== null && u.length >= Math.max(2, minEvals) && u[u.length - 1] > 0 &&
    !(options.convention === "ww" && Math.min(flat[k].rows, flat[k].cols) > (options.maxEvals ?? 15000))
  );
  const fits: (PowerLawFit | undefined)[] = flat.map(() => undefined);
  if ((options.fitDevice ?? "gpu") === "gpu") {
    // The same eigenvalues as the float64 fit, zeros included: they count in N (the median's
    // index) exactly as they do there.
    const idx = fittable.flatMap((ok, k) => (ok ? [k] : []));
    const done = await fitPowerLawsGpu(gpu, idx.map((k) => inputs[k]!), {
      method: options.fit,
      xminPos: options.xminPos,
      peakBound: options.peakBound,
    });
    idx.forEach((k, n) => fits[k] = done[n]);
  }
  return fits;
}

/** One layer's row from its groups' eigenvalues (a FARMS layer: the mean of its groups' rows). */
function layerRow(
  m: LayerMatrices,
  groups: LayerMatrices[],
  parts: (LayerEigs | null)[],
  fits: (PowerLawFit | undefined)[],
  randEigs: LayerEigs | null | undefined,
  options: AnalyzeOptions,
): LayerRow {
  const base = {
    name: m.name,
    kind: m.kind,
    shape: m.shape,
    N: Math.max(m.rows, m.cols),
    M: Math.min(m.rows, m.cols),
  };
  if (m.nonFinite) return layerMetrics(base, [], options, "not analysed: weights contain NaN or Infinity");
  if (m.allZero) {
    // Every eigenvalue is exactly 0: the count, λmax and Σλ are known; only the fit is not.
    const row = layerMetrics(base, new Float64Array(m.slices.length * Math.min(m.rows, m.cols)), options);
    row.warning = "not analysed: all weights are zero";
    return row;
  }
  if (parts.length === 0) return layerMetrics(base, [], options, "not analysed: too small for FARMS blocks");
  const rows = parts.map((e, k) => {
    const g = groups[k];
    const dims = { ...base, N: Math.max(g.rows, g.cols), M: Math.min(g.rows, g.cols) };
    const row = layerMetrics(dims, e!.evals, options, undefined, fits[k]);
    if (!e!.converged) {
      row.warning = [row.warning, "eigenvalue solver did not converge"].filter((x) => x).join("; ");
    }
    return row;
  });
  const row = rows.length === 1 ? rows[0] : meanRow(base, rows);
  if (options.randomize && randEigs) {
    row.rand_distance = jensenShannon(parts.flatMap((e) => Array.from(e!.evals)), randEigs.evals);
  }
  return row;
}

/** A layer's pooled eigenvalues (all its groups'), ascending. */
function pooledEvals(parts: (LayerEigs | null)[]): Float64Array {
  const kept = parts.filter((e) => e !== null);
  const all = new Float64Array(kept.reduce((s, e) => s + e!.evals.length, 0));
  let o = 0;
  for (const e of kept) {
    all.set(e!.evals, o);
    o += e!.evals.length;
  }
  return all.sort();
}

/** {@link analyze} on one chunk of tensors; `randomIndex` numbers the shuffled layers across chunks. */
async function analyzeChunk(
  tensors: WeightTensor[],
  options: AnalyzeOptions,
  randomIndex: number,
  pool: EigPool,
  timings: EsdTimings,
): Promise<{ layers: LayerRow[]; evals: Float64Array[]; randomCount: number }> {
  let t0 = performance.now();
  const farms = options.farms ? (options.farms === true ? {} : options.farms) : null;
  const { mats, random } = await readChunk(tensors, options, randomIndex, farms);
  // Every ESD to measure: the layer itself, or its FARMS groups; then, with randomize, the
  // shuffled layers (one group each).
  const groups = mats.map((m) => (farms && !m.nonFinite && !m.allZero ? farmsGroups(m, farms) : [m]));
  const gpu = await getGpu();
  timings.read += (performance.now() - t0) / 1000;
  // Each chunk's shapes differ: buffers kept for reuse by the last chunk would only hold memory.
  gpu.pool.trim();
  const flat = groups.flat();
  const eigs = await layerEigenvalues(gpu, [...flat, ...random], options.solver, {
    pool,
    timings,
    bindingLimit: options.bindingLimit,
    gram: options.gram,
  });
  t0 = performance.now();
  const randEigs = eigs.slice(flat.length);
  const fits = await fitChunk(gpu, flat, eigs, options);
  // Each layer's groups are consecutive in `flat` (and so in `eigs` and `fits`).
  const starts = groups.map((_, li) => groups.slice(0, li).reduce((s, g) => s + g.length, 0));
  const partsOf = (li: number) => eigs.slice(starts[li], starts[li] + groups[li].length);
  const layers = mats.map((m, li) =>
    layerRow(
      m,
      groups[li],
      partsOf(li),
      fits.slice(starts[li], starts[li] + groups[li].length),
      randEigs[li],
      options,
    )
  );
  const evals = options.keepEvals ? mats.map((_, li) => pooledEvals(partsOf(li))) : [];
  timings.fit += (performance.now() - t0) / 1000;
  return { layers, evals, randomCount: random.length };
}

/**
 * The refusal `deno task analyze` (and the web page) gives an analysis that found no layer: the
 * `layers` pattern matched none, or the file has no Conv2d/Linear float tensor. Null when it found
 * some.
 * @param result The analysis.
 * @param file The file's name, for the message.
 * @param layers The `--layers` pattern given, if any.
 */
export function noLayersError(
  result: Pick<AnalyzeResult, "layers">,
  file: string,
  layers?: string,
): UserError | null {
  if (result.layers.length) return null;
  if (layers !== undefined) {
    return new OptionError(`--layers "${layers}" matches no Conv2d or Linear tensor of "${file}"`);
  }
  return new WeightFileError(
    "weight",
    file,
    "no Conv2d (rank 4) or Linear (rank 2) floating-point tensors found",
  );
}

/** FARMS: the layer's row as the mean of its block rows (null where any block has none). */
function meanRow(base: Pick<LayerRow, "name" | "kind" | "shape" | "N" | "M">, rows: LayerRow[]): LayerRow {
  const out: LayerRow = { ...rows[0], ...base };
  for (const c of METRIC_COLUMNS) {
    if (c === "N" || c === "M") continue;
    const v = rows.map((r) => r[c]);
    (out as unknown as Record<string, number | null>)[c] = v.every((x) => typeof x === "number")
      ? (v as number[]).reduce((s, x) => s + x, 0) / v.length
      : null;
  }
  out.Q = rows[0].Q;
  out.num_evals = rows.reduce((s, r) => s + r.num_evals, 0);
  const warnings = [...new Set(rows.map((r) => r.warning).filter((w) => w && !/trained$/.test(w)))];
  const a = out.alpha;
  out.warning = warnings.length
    ? warnings.join("; ")
    : a === null
    ? ""
    : a < 2
    ? "over-trained"
    : a > 6
    ? "under-trained"
    : "";
  return out;
}
