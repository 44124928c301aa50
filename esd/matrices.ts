/**
 * From a weight tensor to the matrices whose eigenvalues make its ESD.
 *
 * - Linear `(out, in)`: one matrix.
 * - Conv `(out, in, kh, kw)` (PyTorch OIHW; tfjs/Keras HWIO is permuted first): `kh·kw` slices
 *   `(out, in)`, each multiplied by sqrt(convNorm) (0.5 by default, as TempBalance and
 *   WeightWatcher's conv2d_norm).
 * - `tb` convention (default): slices as they are; `ww`: each slice transposed so that rows ≥
 *   columns (WeightWatcher's N ≥ M). Either way a slice contributes min(rows, cols) eigenvalues.
 * Layers are the floating-point tensors of rank 2 or 4; anything else returns null.
 * @module
 */
import type { WeightTensor } from "../io/tensor.ts";

/** Which orientation and filtering rules to follow. */
export type Convention = "tb" | "ww";

/** Where a conv kernel's axes are: PyTorch OIHW, or tfjs/Keras HWIO. Linear: (out, in) or (in, out). */
export type Layout = "torch" | "tfjs";

/** A layer's matrices, oriented and scaled, ready for Gram matrices. */
export interface LayerMatrices {
  /** The weight tensor's name. */
  name: string;
  /** `conv2d` or `linear`. */
  kind: "conv2d" | "linear";
  /** The weight's shape as stored. */
  shape: number[];
  /** Rows of each slice. */
  rows: number;
  /** Columns of each slice. */
  cols: number;
  /**
   * The slices, each rows×cols row-major, multiplied by `scale` (and sqrt(convNorm) for convs) and
   * rounded to float32, as the GPU reads them (half the memory of float64 copies).
   */
  slices: Float32Array[];
  /** The power of two the slices were multiplied by (undo with λ / scale²). */
  scale: number;
  /** Whether any weight is NaN or ±Infinity (then the slices are not usable). */
  nonFinite: boolean;
  /** Whether every weight is zero. */
  allZero: boolean;
}

/** Options for {@link layerMatrices}. */
export interface MatrixOptions {
  /** `tb` (default) or `ww`. */
  convention?: Convention;
  /** Axis layout (default: the tensor's own hint — `tfjs` for tfjs manifests — else `torch`). */
  layout?: Layout;
  /** Conv slices are multiplied by sqrt(convNorm) (default 0.5). */
  convNorm?: number;
}

/**
 * Tensors a Hugging Face checkpoint stores that are buffers, not layers: GPT-2's causal masks
 * (`h.0.attn.bias`, (1, 1, T, T); `attn.masked_bias`) and LLaMA's `rotary_emb.inv_freq`.
 */
const NOT_LAYERS = /(^|\.)attn\.(masked_)?bias$|rotary_emb\.inv_freq$/;

/**
 * Builds a layer's matrices, or returns null for tensors that are not layers.
 * NOTE: the slices are multiplied by a power of two that brings max|w| near 1, so that squares of
 * weights around 1e±30 neither overflow nor underflow float32 on the GPU; eigenvalues are divided
 * by scale² afterwards, in float64.
 * @param t The weight tensor.
 * @param options Convention, layout, conv normalisation.
 * @returns The matrices, or null.
 */
export function layerMatrices(t: WeightTensor, options: MatrixOptions = {}): LayerMatrices | null {
  const { convention = "tb", convNorm = 0.5 } = options;
  const layout = options.layout ?? t.layout ?? "torch";
  if (
    !t.isFloat || (t.shape.length !== 2 && t.shape.length !== 4) || t.shape.some((d) => d === 0) ||
    NOT_LAYERS.test(t.name)
  ) {
    return null;
  }
  // Float32 where the file's values fit it exactly (half the memory), else float64.
  const v: Float32Array | Float64Array = t.float32?.() ?? t.values();
  let maxAbs = 0, nonFinite = false;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (!Number.isFinite(a)) nonFinite = true;
    else if (a > maxAbs) maxAbs = a;
  }
  const scale = maxAbs > 0 ? 2 ** -Math.round(Math.log2(maxAbs)) : 1;
  let out: number, inp: number, kh = 1, kw = 1;
  const at: (o: number, i: number, y: number, x: number) => number = (() => {
    if (t.shape.length === 2) {
      if (layout === "torch") {
        [out, inp] = t.shape;
        return (o, i) => v[o * inp + i];
      }
      [inp, out] = t.shape;
      return (o, i) => v[i * out + o];
    }
    if (layout === "torch") {
      [out, inp, kh, kw] = t.shape;
      return (o, i, y, x) => v[((o * inp + i) * kh + y) * kw + x];
    }
    [kh, kw, inp, out] = t.shape;
    return (o, i, y, x) => v[((y * kw + x) * inp + i) * out + o];
  })();
  const conv = t.shape.length === 4;
  const mul = scale * (conv ? Math.sqrt(convNorm) : 1);
  const flip = convention === "ww" && out! < inp!;
  const rows = flip ? inp! : out!, cols = flip ? out! : inp!;
  const slices: Float32Array[] = [];
  if (!conv && !flip && layout === "torch") {
    // A Linear weight as stored: one pass, no index arithmetic; a fresh float32 array is scaled in
    // place (exact: the scale is a power of two, chosen so that nothing leaves float32's range).
    const m = v instanceof Float32Array ? v : new Float32Array(v.length);
    for (let k = 0; k < v.length; k++) m[k] = v[k] * mul;
    slices.push(m);
  } else {
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        const m = new Float32Array(rows * cols);
        for (let o = 0; o < out!; o++) {
          for (let i = 0; i < inp!; i++) m[flip ? i * cols + o : o * cols + i] = at(o, i, y, x) * mul;
        }
        slices.push(m);
      }
    }
  }
  return {
    name: t.name,
    kind: conv ? "conv2d" : "linear",
    shape: [...t.shape],
    rows,
    cols,
    slices,
    scale,
    nonFinite,
    allZero: maxAbs === 0 && !nonFinite,
  };
}
