/**
 * Prunes a decoder checkpoint layer by layer into a new folder of the same form: every input
 * weight file is copied byte for byte (header, `__metadata__` with `module_order`, shard layout,
 * dtypes), then each prunable tensor's bytes are read, the weights to zero are chosen
 * ({@link pruneMask}) and the zeroed bytes written back over the copy. Memory follows the largest
 * layer, not the file; the input is only read. The other files of the folder (config.json,
 * vocab.txt, tokenizer files) are copied.
 * @module
 */
import { safetensorsLayout } from "../io/safetensors.ts";
import { checkpointPath, loadWeightFile } from "../io/load.ts";
import { writeAtomic } from "../io/atomic.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { analyze, type AnalyzeOptions } from "../esd/analyze.ts";
import { OptionError } from "../util/errors.ts";
import { pruneAllocation } from "./allocation.ts";
import { type PrunableLayer, prunableLayers } from "./layers.ts";
import { pruneMask, type PruneScore } from "./select.ts";

/** How layer sparsities are allocated. */
export type Allocation = "uniform" | "alpha" | "farms";

/** FARMS' sampling for `farms` (the `LLM_Pruning` main runs: 2000 rows, Q 1, 15 windows per side). */
export interface FarmsSampling {
  /** Window rows, capped at the matrix's smaller side (default 2000). */
  rows?: number;
  /** Aspect ratio Q (default 1). */
  q?: number;
  /** Window starts per dimension (default 15). */
  windows?: number;
}

/** Options of {@link pruneCheckpoint}. */
export interface PruneOptions {
  /** Target S in (0, 1): the parameter-weighted mean sparsity of the prunable layers. */
  sparsity: number;
  /** `uniform`, `alpha` (alpha_peak) or `farms` (alpha_peak by FARMS). */
  allocation: Allocation;
  /** ε (default 0.2, the reference's default). */
  epsilon?: number;
  /** `magnitude` (default) or `wanda`. */
  score?: PruneScore;
  /** `block` (default, the reference's block_wise) or `layer`. */
  mapping?: "block" | "layer";
  /** Wanda: calibration norms by tensor name. */
  norms?: Map<string, Float32Array>;
  /** FARMS' sampling. */
  farms?: FarmsSampling;
  /** Progress: layers done of the total in the current phase (ESD, then pruning), and what is being done. */
  onProgress?: (done: number, total: number, what: string) => void;
  /** Warnings (default console.warn). */
  onWarning?: (message: string) => void;
}

/** One layer of `sparsity.json`. */
export interface SparsityLayer {
  /** The weight's name. */
  name: string;
  /** Its metric (alpha), or null (uniform, or not fitted). */
  metric: number | null;
  /** Its parameter count. */
  params: number;
  /** The assigned sparsity. */
  sparsity: number;
  /** The fraction of its weights that are zero after pruning. */
  achieved: number;
}

/**
 * The results a pruning writes into its folder (`perplexity.json` by `deno task prune --eval`): never
 * copied from the input folder, and removed from the output folder before a new pruning.
 */
export const RESULT_FILES: readonly string[] = ["sparsity.json", "perplexity.json"];

/** `sparsity.json`. */
export interface SparsityReport {
  /** The target S. */
  target: number;
  /** The allocation. */
  allocation: Allocation;
  /** ε. */
  epsilon: number;
  /** How weights were scored within a layer: magnitude or Wanda. */
  score: PruneScore;
  /** How metrics became ratios: per Transformer block (the reference's default) or per layer. */
  mapping: "block" | "layer";
  /** The fraction of all prunable weights that are zero. */
  achieved: number;
  /** Per layer, in the reference's order. */
  layers: SparsityLayer[];
}

/** The weight files of a checkpoint: the index (if sharded) and the safetensors files. */
async function weightFiles(dir: string): Promise<{ index: string | null; files: string[]; base: string }> {
  const path = checkpointPath(dir);
  if (path.endsWith(".index.json")) {
    const base = path.slice(0, path.lastIndexOf("/") + 1);
    let map: Record<string, string>;
    try {
      map = JSON.parse(await Deno.readTextFile(path)).weight_map;
    } catch (e) {
      throw new OptionError(`${path}: not a safetensors index (${(e as Error).message})`);
    }
    if (typeof map !== "object" || map === null) {
      throw new OptionError(`${path}: no "weight_map" (expected {"weight_map": {tensor name: shard file}})`);
    }
    return { index: path, files: [...new Set(Object.values(map))].sort().map((f) => base + f), base };
  }
  if (!path.endsWith(".safetensors")) {
    throw new OptionError(
      `${dir}: pruning reads safetensors checkpoints (a file, a folder or an index), got ${path}`,
    );
  }
  return { index: null, files: [path], base: path.slice(0, path.lastIndexOf("/") + 1) };
}

/**
 * Each prunable layer's metric: alpha of its full ESD, or FARMS' alpha over its windows, both fitted
 * with `xmin_peak` as FARMS' `net_esd_estimator(_farms)` does (the reference's lower bound, zeros
 * kept, TempBalance's convention).
 */
async function layerMetrics(
  layers: PrunableLayer[],
  allocation: Allocation,
  farms: FarmsSampling,
  onProgress?: (done: number, total: number, what: string) => void,
): Promise<(number | null)[]> {
  const options: AnalyzeOptions = {
    fit: "peak",
    peakBound: "reference",
    fitDevice: "cpu", // float64 fits: the allocation is computed once, its inputs should be exact

    convention: "tb",
    farms: allocation === "farms"
      ? { q: farms.q ?? 1, windowRows: farms.rows ?? 2000, grid: farms.windows ?? 15, capToSmallerSide: true }
      : false,
    onProgress: (done, total, current) => onProgress?.(done, total, `ESD ${current ?? "done"}`),
  };
  const { layers: rows } = await analyze(layers.map((l) => l.tensor), options);
  const byName = new Map(rows.map((r) => [r.name, r.alpha]));
  return layers.map((l) => {
    const a = byName.get(l.name);
    return a === undefined || a === null || !Number.isFinite(a) ? null : a;
  });
}

/**
 * Prunes a checkpoint.
 * @param gpu The GPU.
 * @param dir The checkpoint: a folder (model.safetensors or a sharded index), an index or a file.
 * @param out The output folder (created; must not be the input's).
 * @param options Target, allocation, score.
 * @returns What `sparsity.json` holds (also written to `out/sparsity.json`).
 * @throws {OptionError} On a bad option, no prunable layer, an output folder that is the input's.
 */
export async function pruneCheckpoint(
  gpu: Gpu,
  dir: string,
  out: string,
  options: PruneOptions,
): Promise<SparsityReport> {
  const { sparsity, allocation, epsilon = 0.2, score = "magnitude", mapping = "block" } = options;
  if (!(sparsity > 0 && sparsity < 1)) {
    throw new OptionError(`Invalid --sparsity ${sparsity}: expected a number in (0, 1)`);
  }
  if (!["uniform", "alpha", "farms"].includes(allocation)) {
    throw new OptionError(`Invalid --allocation ${allocation}: expected uniform, alpha or farms`);
  }
  const { index, files, base } = await weightFiles(dir);
  const inDir = await Deno.realPath(base.replace(/\/$/, "") || ".");
  await Deno.mkdir(out, { recursive: true });
  if (await Deno.realPath(out) === inDir) {
    throw new OptionError(
      `--out ${out} is the input's folder: the input is never overwritten; choose another folder`,
    );
  }
  // A previous run's results in this folder would describe another pruning: gone before this one.
  for (const f of RESULT_FILES) await Deno.remove(`${out}/${f}`).catch(() => {});
  const { tensors } = await loadWeightFile(index ?? files[0]);
  const layers = prunableLayers(tensors);
  if (!layers.length) {
    throw new OptionError(
      `${dir}: no linear layers to prune (expected attention/MLP projection weights inside Transformer blocks, such as model.layers.0.self_attn.q_proj.weight or transformer.h.0.attn.c_attn.weight)`,
    );
  }
  if (score === "wanda") {
    const missing = layers.find((l) => !options.norms?.has(l.name));
    if (missing) throw new OptionError(`Wanda: no calibration norms for layer ${missing.name}`);
  }
  const sizes = layers.map((l) => l.out * l.in);
  let metrics: (number | null)[] = layers.map(() => null);
  let assigned: number[];
  if (allocation === "uniform") {
    assigned = layers.map(() => sparsity);
  } else {
    if (!(epsilon >= 0 && epsilon < 1)) {
      throw new OptionError(`Invalid --epsilon ${epsilon}: expected a number in [0, 1)`);
    }
    const perBlock = new Map<number, number>();
    for (const l of layers) perBlock.set(l.block, (perBlock.get(l.block) ?? 0) + 1);
    const counts = [...perBlock.values()];
    if (mapping === "block" && counts.some((n) => n !== counts[0])) {
      throw new OptionError(
        `--mapping block needs the same number of prunable layers in every block (${
          [...perBlock].map(([b, n]) => `block ${b}: ${n}`).join(", ")
        }): use --mapping layer`,
      );
    }
    metrics = await layerMetrics(layers, allocation, options.farms ?? {}, options.onProgress);
    assigned = pruneAllocation(metrics, sizes, sparsity, epsilon, {
      mapping,
      layersPerBlock: counts[0],
      names: layers.map((l) => l.name),
      onWarning: options.onWarning,
    });
  }
  const byName = new Map(layers.map((l, i) => [l.name, i]));
  const zeros = new Array<number>(layers.length).fill(0);
  let done = 0;
  for (const file of files) {
    const name = file.slice(file.lastIndexOf("/") + 1);
    const target = `${out}/${name}`, tmp = `${target}.tmp-${Deno.pid}`;
    await Deno.copyFile(file, tmp);
    try {
      const layout = await safetensorsLayout(file);
      const f = await Deno.open(tmp, { read: true, write: true });
      try {
        for (const span of layout.spans) {
          const i = byName.get(span.name);
          if (i === undefined) continue;
          const l = layers[i];
          options.onProgress?.(done++, layers.length, `pruning ${l.name}`);
          zeros[i] = await pruneSpan(
            gpu,
            f,
            layout.dataStart,
            span,
            layout.elementSize(span.dtype),
            l,
            assigned[i],
            {
              score,
              norms: options.norms?.get(l.name),
            },
          );
        }
      } finally {
        f.close();
      }
      await Deno.rename(tmp, target);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
  }
  if (index) await Deno.copyFile(index, `${out}/${index.slice(index.lastIndexOf("/") + 1)}`);
  // The folder's other files (config, vocabulary, tokenizer), when the input is a folder.
  if ((await Deno.stat(dir)).isDirectory) {
    const weights = new Set(
      [...files, ...(index ? [index] : [])].map((p) => p.slice(p.lastIndexOf("/") + 1)),
    );
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && !weights.has(e.name) && !RESULT_FILES.includes(e.name)) {
        await Deno.copyFile(`${dir}/${e.name}`, `${out}/${e.name}`);
      }
    }
  }
  const total = sizes.reduce((s, n) => s + n, 0);
  const report: SparsityReport = {
    target: sparsity,
    allocation,
    epsilon,
    score,
    mapping,
    achieved: zeros.reduce((s, z) => s + z, 0) / total,
    layers: layers.map((l, i) => ({
      name: l.name,
      metric: metrics[i],
      params: sizes[i],
      sparsity: assigned[i],
      achieved: zeros[i] / sizes[i],
    })),
  };
  await writeAtomic(`${out}/sparsity.json`, JSON.stringify(report, null, 2) + "\n");
  return report;
}

/** Reads one tensor's bytes from the copy, zeroes the chosen weights, writes them back; returns its zeros. */
async function pruneSpan(
  gpu: Gpu,
  f: Deno.FsFile,
  dataStart: number,
  span: { begin: number; end: number; dtype: string; name: string },
  size: number,
  l: PrunableLayer,
  sparsity: number,
  o: { score: PruneScore; norms?: Float32Array },
): Promise<number> {
  const bytes = new Uint8Array(span.end - span.begin);
  await f.seek(dataStart + span.begin, Deno.SeekMode.Start);
  for (let got = 0; got < bytes.length;) {
    const n = await f.read(bytes.subarray(got));
    if (n === null) throw new OptionError(`${l.name}: the file ends inside the tensor`);
    got += n;
  }
  // (out, in), or (in, out) for Conv1D; F64 weights are compared in float32 too.
  const stored = l.tensor.float32?.() ?? Float32Array.from(l.tensor.values());
  const w = l.transposed ? transpose(stored, l.in, l.out) : stored;
  const mask = await pruneMask(gpu, w, l.out, l.in, sparsity, {
    score: o.score,
    norms: o.norms,
    name: l.name,
  });
  let zeros = 0;
  for (let r = 0; r < l.out; r++) {
    for (let c = 0; c < l.in; c++) {
      const m = r * l.in + c;
      const s = l.transposed ? c * l.out + r : m; // the element's place in storage order
      if (mask[m]) bytes.fill(0, s * size, (s + 1) * size);
      if (mask[m] || w[m] === 0) zeros++;
    }
  }
  await f.seek(dataStart + span.begin, Deno.SeekMode.Start);
  for (let put = 0; put < bytes.length;) put += await f.write(bytes.subarray(put));
  return zeros;
}

/** (rows, cols) → (cols, rows). */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}
