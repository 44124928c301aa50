/**
 * Layer-wise sparsity from heavy-tailed metrics (AlphaPruning, NeurIPS'24; FARMS, ICML'25), as
 * HUST-AI-HYZ/FARMS `LLM_Pruning/lib/prune.py` `ww_sparsity` computes it:
 * 1. with `mapping: "block"` (the reference's default `block_wise`), each layer's metric is replaced by
 *    the mean over its Transformer block (`layersPerBlock` consecutive layers);
 * 2. ratios linear in the metric: `r_i = (m_i − min)/(max − min)·(s2 − s1) + s1`, s1 = 1 − ε,
 *    s2 = 1 + ε — a higher alpha (a less trained layer) is pruned more;
 * 3. scaled so that the parameter-weighted mean is the target: `r_i · S·Σn / Σ(n·r)`;
 * 4. a ratio above 1 is clipped as the reference does, to 0.998 (0.99999 when S = 0.7).
 * Where we chose (the reference divides by zero or leaves the mean off target there):
 * - all metrics equal → every layer at S;
 * - a null metric (a layer that could not be fitted) → that layer at S, a warning naming it; the
 *   others are mapped among themselves and rescaled so the overall mean stays S;
 * - after the clip, the layers below the cap are rescaled (repeatedly, capping any the rescaling
 *   pushes past the cap) so that the
 *   parameter-weighted mean is S again; when that cannot be done — S too high for the cap — an
 *   error says so.
 * Ref: Lu et al., "AlphaPruning", NeurIPS 2024; Hu et al., "FARMS", ICML 2025.
 * @module
 */
import { OptionError } from "../util/errors.ts";

/** Options of {@link pruneAllocation}. */
export interface AllocationOptions {
  /** `block` (the reference's `block_wise`, default) or `layer` (each layer's own metric). */
  mapping?: "block" | "layer";
  /** Layers per block, in order (needed for `block`; the metrics' count must be a multiple). */
  layersPerBlock?: number;
  /** Layer names, for warnings (default `layer i`). */
  names?: string[];
  /** Where warnings go (default console.warn). */
  onWarning?: (message: string) => void;
}

/**
 * Each layer's sparsity.
 * @param metrics Each prunable layer's metric (alpha), in model order; null where none.
 * @param sizes Each layer's parameter count.
 * @param sparsity The target S in (0, 1): the parameter-weighted mean of the result.
 * @param epsilon ε in [0, 1): ratios span [1 − ε, 1 + ε] before scaling.
 * @param options Mapping, block size, names.
 * @returns Sparsities, one per layer, in [0, 1).
 * @throws {OptionError} On S outside (0, 1), ε outside [0, 1), mismatched lengths, or an S that
 *   the cap cannot reach.
 */
export function pruneAllocation(
  metrics: (number | null)[],
  sizes: number[],
  sparsity: number,
  epsilon: number,
  options: AllocationOptions = {},
): number[] {
  const n = metrics.length;
  if (!(sparsity > 0 && sparsity < 1)) {
    throw new OptionError(`Invalid --sparsity ${sparsity}: expected a number in (0, 1)`);
  }
  if (!(epsilon >= 0 && epsilon < 1)) {
    throw new OptionError(`Invalid --epsilon ${epsilon}: expected a number in [0, 1)`);
  }
  if (sizes.length !== n || !n) {
    throw new OptionError(`pruneAllocation: ${n} metrics for ${sizes.length} layer sizes`);
  }
  const name = (i: number) => options.names?.[i] ?? `layer ${i}`;
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  let m = metrics.map((v) => (v !== null && Number.isFinite(v) ? v : null));
  m.forEach((v, i) => {
    if (v === null) warn(`pruneAllocation: ${name(i)} has no metric: it is pruned at the target ${sparsity}`);
  });
  if ((options.mapping ?? "block") === "block") {
    const k = options.layersPerBlock ?? 1;
    if (!(Number.isInteger(k) && k >= 1) || n % k) {
      throw new OptionError(`pruneAllocation: ${n} layers do not split into blocks of ${k}`);
    }
    const blocks: (number | null)[] = [];
    for (let b = 0; b < n; b += k) {
      const vs = m.slice(b, b + k).filter((v): v is number => v !== null);
      blocks.push(vs.length ? vs.reduce((s, v) => s + v, 0) / vs.length : null);
    }
    // A layer without a metric keeps none; the others take their block's mean.
    m = m.map((v, i) => (v === null ? null : blocks[Math.floor(i / k)]));
  }
  const known = m.flatMap((v, i) => (v === null ? [] : [i]));
  const out = new Array<number>(n).fill(sparsity);
  if (!known.length) return out;
  const lo = Math.min(...known.map((i) => m[i]!)), hi = Math.max(...known.map((i) => m[i]!));
  if (hi === lo) return out;
  const s1 = 1 - epsilon, s2 = 1 + epsilon;
  const r = known.map((i) => ((m[i]! - lo) / (hi - lo)) * (s2 - s1) + s1);
  const total = known.reduce((s, i) => s + sizes[i], 0);
  const weighted = known.reduce((s, i, k) => s + sizes[i] * r[k], 0);
  let ratios = r.map((x) => (x * sparsity * total) / weighted);
  // The reference's cap for a ratio above 1, then the mean restored over the uncapped layers.
  const cap = sparsity === 0.7 ? 0.99999 : 0.998;
  const capped = new Set<number>();
  for (let round = 0; round < n + 1; round++) {
    ratios.forEach((x, k) => {
      // The reference clips ratios above 1; a ratio the restoring pushes past the cap is capped too.
      if (x > 1 || (x > cap && (round > 0 || capped.has(k)))) {
        ratios[k] = cap;
        capped.add(k);
      }
    });
    const want = sparsity * total - [...capped].reduce((s, k) => s + sizes[known[k]] * cap, 0);
    const free = ratios.reduce((s, x, k) => (capped.has(k) ? s : s + sizes[known[k]] * x), 0);
    if (Math.abs(free - want) <= 1e-12 * sparsity * total) break;
    if (!(free > 0) || want < 0) break;
    ratios = ratios.map((x, k) => (capped.has(k) ? x : (x * want) / free));
    if (ratios.every((x) => x <= cap)) break;
  }
  const mean = known.reduce((s, i, k) => s + sizes[i] * ratios[k], 0) / total;
  if (Math.abs(mean - sparsity) > 1e-9) {
    throw new OptionError(
      `Sparsity ${sparsity} with epsilon ${epsilon} cannot be allocated: layers capped at ${cap} leave a mean of ${
        mean.toFixed(6)
      }; lower --epsilon or --sparsity`,
    );
  }
  known.forEach((i, k) => (out[i] = ratios[k]));
  return out;
}
