/**
 * Plain float64 references of the optimizer kernels, written from the reference implementations'
 * formulas (TempBalance's `SGDSNR`, `LARS`, `LAMB`; AdamP's `SGDP`; torch_optimizer's
 * `Lookahead`), one parameter at a time. Used by tests only.
 * @module
 */
import { snrStart } from "./spectral_reg.ts";

/**
 * SNR's gradient term for one weight: power iterations from the same start vector the GPU draws,
 * then sg·σ₁·uᵀv.
 * @param w The weight, row-major (m, n).
 * @param m Rows.
 * @param n Columns.
 * @param o Strength, iterations, and the (seed, step, layer) of the start vector.
 * @returns The term to add to the gradient, (m, n).
 */
export function snrTermRef(
  w: ArrayLike<number>,
  m: number,
  n: number,
  o: { sg: number; iterations: number; seed: number; step: number; layer: number },
): Float64Array {
  let u: number[] = Array.from({ length: m }, (_, i) => snrStart(o.seed, o.step, o.layer, i));
  let v: number[] = [], sigma = 0;
  const normalize = (x: number[]) => {
    const s = Math.hypot(...x);
    return { x: x.map((e) => (s > 0 ? e / s : 0)), s };
  };
  for (let it = 0; it < o.iterations; it++) {
    v = new Array(n).fill(0);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) v[j] += u[i] * w[i * n + j];
    v = normalize(v).x;
    const t: number[] = new Array(m).fill(0);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[i] += w[i * n + j] * v[j];
    const r = normalize(t);
    u = r.x;
    sigma = 0;
    for (let i = 0; i < m; i++) sigma += u[i] * t[i]; // u·Wv, as the reference computes σ
  }
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[i * n + j] = o.sg * sigma * u[i] * v[j];
  return out;
}
