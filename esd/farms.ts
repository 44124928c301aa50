/**
 * FARMS (fixed-aspect-ratio matrix subsampling): a layer's ESD is measured on submatrices of one
 * fixed aspect ratio Q, removing the bias that the layer's own shape puts on alpha.
 *
 * - Conv: each kh·kw slice made tall (rows ≥ cols). Q ≤ 1: blocks of `cols × ⌊cols·Q⌋` at rows
 *   [i·cols, (i+1)·cols), first columns; Q > 1: blocks of `⌊cols/Q⌋ × cols` at rows
 *   [i·⌊cols/Q⌋, …). In both cases i < rows // cols, as the reference code does. Each block
 *   position pools its block from every slice into one ESD; the layer's metrics are the means
 *   over block positions.
 * - Linear `(out, in)`: windows of `r × ⌊r·Q⌋` (r = `windowRows`, default 100) on a fixed grid of
 *   at most `grid × grid` start positions (default 9 per dimension), steps
 *   max(1, ⌊(size − window)/(grid − 1)⌋), clamped to the matrix; all windows pooled into one ESD.
 * Ref: the FARMS paper's reference code (net_esd_estimator_farms, fixed_sampling).
 * @module
 */
import { OptionError } from "../util/errors.ts";
import type { LayerMatrices } from "./matrices.ts";

/** FARMS options. */
export interface FarmsOptions {
  /** Aspect ratio of the submatrices (default 1). */
  q?: number;
  /** Start positions per dimension for linear windows (default 9). */
  grid?: number;
  /** Rows of a linear window (default 100). */
  windowRows?: number;
  /**
   * Cap a linear window's rows at the matrix's smaller side, as FARMS' `LLM_Pruning` sampling does
   * (`num_row_samples = min(num_row_samples, rows, cols)`, columns `int(rows·q)`), so that a
   * 2000-row window of a 2048×5632 projection is 2000×2000 and of a 128×512 one 128×128. Default
   * false (the image-classification code's windows: rows min(rows, windowRows)).
   */
  capToSmallerSide?: boolean;
}

function sub(m: Float32Array, cols: number, r0: number, c0: number, nr: number, nc: number): Float32Array {
  const out = new Float32Array(nr * nc);
  for (let i = 0; i < nr; i++) for (let j = 0; j < nc; j++) out[i * nc + j] = m[(r0 + i) * cols + c0 + j];
  return out;
}

/**
 * The ESD groups FARMS measures for one layer: one group per conv block position, or one group of
 * all linear windows. Each group is a LayerMatrices whose slices are the submatrices.
 * @param m The layer's matrices: conv slices oriented tall, linear as (out, in).
 * @param options Aspect ratio and linear grid.
 * @returns The groups (empty when the layer is too small to cut).
 */
export function farmsGroups(m: LayerMatrices, options: FarmsOptions = {}): LayerMatrices[] {
  const { q = 1, grid = 9, windowRows = 100, capToSmallerSide = false } = options;
  if (!(q > 0)) throw new OptionError(`FARMS: aspect ratio q must be > 0, got ${q}`);
  const group = (slices: Float32Array[], rows: number, cols: number): LayerMatrices => ({
    ...m,
    slices,
    rows,
    cols,
  });
  if (m.kind === "conv2d") {
    const { rows, cols } = m;
    const nr = q > 1 ? Math.max(1, Math.floor(cols / q)) : cols;
    const nc = q > 1 ? cols : Math.max(1, Math.floor(cols * q));
    const division = Math.floor(rows / cols);
    return Array.from(
      { length: division },
      (_, i) => group(m.slices.map((s) => sub(s, cols, i * nr, 0, nr, nc)), nr, nc),
    );
  }
  const { rows, cols } = m;
  const cap = capToSmallerSide ? Math.min(rows, cols, windowRows) : windowRows;
  const nr = Math.min(rows, cap), nc = Math.min(cols, Math.max(1, Math.floor(cap * q)));
  const steps = (size: number, win: number) => {
    const step = Math.max(1, Math.floor((size - win) / Math.max(1, grid - 1)));
    const count = Math.min(grid, Math.max(1, Math.floor((size - win) / step) + 1));
    return Array.from({ length: count }, (_, i) => Math.min(i * step, size - win));
  };
  const windows: Float32Array[] = [];
  for (const r0 of steps(rows, nr)) {
    for (const c0 of steps(cols, nc)) windows.push(sub(m.slices[0], cols, r0, c0, nr, nc));
  }
  return [group(windows, nr, nc)];
}
