/**
 * Plain float64 references of the optimizer kernels, written from the reference implementations'
 * formulas (TempBalance's `SGDSNR`, `LARS`, `LAMB`; AdamP's `SGDP`; torch_optimizer's
 * `Lookahead`), one parameter at a time. Used by tests only.
 * @module
 */
import { snrStart } from "../../kernels/optim/spectral_reg.ts";

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

const dot = (x: ArrayLike<number>, y: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
};
const norm = (x: ArrayLike<number>) => Math.sqrt(dot(x, x));

/**
 * One LARS step of one parameter (in place), as `lars_optim.LARS.step`.
 * @param p The parameter.
 * @param g Its gradient.
 * @param buf Its momentum buffer (null before the first step with momentum; returned).
 * @param h Hyper-parameters.
 * @returns The momentum buffer.
 */
export function larsStepRef(
  p: Float64Array,
  g: ArrayLike<number>,
  buf: Float64Array | null,
  h: { lr: number; momentum: number; wd: number; eeta: number; eps: number },
): Float64Array | null {
  const wn = norm(p), gn = norm(g);
  let trust = wn > 0 && gn > 0 ? h.eeta * wn / (gn + h.wd * wn + h.eps) : 1;
  trust = Math.min(50, Math.max(0, trust));
  let d: Float64Array = Float64Array.from(g, (x, i) => Math.min(10, Math.max(-10, x + h.wd * p[i])));
  if (h.momentum !== 0) {
    buf = buf === null ? Float64Array.from(d) : buf.map((b, i) => h.momentum * b + d[i]);
    d = buf;
  }
  for (let i = 0; i < p.length; i++) p[i] -= h.lr * trust * d[i];
  return buf;
}

/**
 * One LAMB step of every parameter (in place), as `lars_optim.LAMB.step` (bias_correction off):
 * global grad-norm clip, moments, trust ratio where wd ≠ 0.
 * @param ps The parameters.
 * @param gs Their gradients.
 * @param m First moments (updated).
 * @param v Second moments (updated).
 * @param h Hyper-parameters (one lr and wd for all).
 */
export function lambStepRef(
  ps: Float64Array[],
  gs: ArrayLike<number>[],
  m: Float64Array[],
  v: Float64Array[],
  h: { lr: number; wd: number; beta1: number; beta2: number; eps: number; maxNorm: number },
): void {
  const total = Math.sqrt(gs.reduce((s, g) => s + norm(g) ** 2, 0));
  const c = Math.min(1, h.maxNorm / (total + 1e-6));
  ps.forEach((p, k) => {
    const u = new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) {
      const g = c * gs[k][i];
      m[k][i] = h.beta1 * m[k][i] + (1 - h.beta1) * g;
      v[k][i] = h.beta2 * v[k][i] + (1 - h.beta2) * g * g;
      u[i] = m[k][i] / (Math.sqrt(v[k][i]) + h.eps);
      if (h.wd !== 0) u[i] += h.wd * p[i];
    }
    let trust = 1;
    if (h.wd !== 0) {
      const wn = norm(p), un = norm(u);
      trust = wn > 0 && un > 0 ? wn / un : 1;
    }
    for (let i = 0; i < p.length; i++) p[i] -= h.lr * trust * u[i];
  });
}

/**
 * One SGDP step of one parameter (in place), as AdamP's `SGDP.step`.
 * @param p The parameter (flat, row-major).
 * @param shape Its shape.
 * @param g Its gradient.
 * @param buf Its momentum buffer (starts at zeros; updated).
 * @param h Hyper-parameters.
 */
export function sgdpStepRef(
  p: Float64Array,
  shape: number[],
  g: ArrayLike<number>,
  buf: Float64Array,
  h: {
    lr: number;
    momentum: number;
    dampening: number;
    wd: number;
    nesterov: boolean;
    eps: number;
    delta: number;
    wdRatio: number;
  },
): void {
  for (let i = 0; i < p.length; i++) buf[i] = h.momentum * buf[i] + (1 - h.dampening) * g[i];
  const d = h.nesterov ? Float64Array.from(g, (x, i) => x + h.momentum * buf[i]) : Float64Array.from(buf);
  let ratio = 1;
  if (shape.length > 1) {
    const cos = (x: ArrayLike<number>, y: ArrayLike<number>) =>
      Math.abs(dot(x, y)) / Math.max(norm(x) * norm(y), h.eps);
    for (const rows of [shape[0], 1]) {
      const len = p.length / rows;
      const view = (x: ArrayLike<number>, r: number) =>
        Array.prototype.slice.call(x, r * len, (r + 1) * len) as number[];
      let maxCos = 0;
      for (let r = 0; r < rows; r++) maxCos = Math.max(maxCos, cos(view(g, r), view(p, r)));
      if (maxCos < h.delta / Math.sqrt(len)) {
        for (let r = 0; r < rows; r++) {
          const pr = view(p, r), n = norm(pr) + h.eps;
          const pn = pr.map((x) => x / n);
          const s = dot(pn, view(d, r));
          for (let j = 0; j < len; j++) d[r * len + j] -= pn[j] * s;
        }
        ratio = h.wdRatio;
        break;
      }
    }
  }
  const shrink = h.wd > 0 ? 1 - h.lr * h.wd * ratio / (1 - h.momentum) : 1;
  for (let i = 0; i < p.length; i++) p[i] = p[i] * shrink - h.lr * d[i];
}

/**
 * One AdamW step of every parameter (in place), as `torch.optim.AdamW` after
 * `clip_grad_norm_(maxNorm)` (maxNorm 0: no clip); `lr` and `wd` per parameter.
 * @param ps The parameters.
 * @param gs Their gradients.
 * @param m First moments (updated).
 * @param v Second moments (updated).
 * @param t The step number (from 1).
 * @param h Hyper-parameters.
 */
export function adamwStepRef(
  ps: Float64Array[],
  gs: ArrayLike<number>[],
  m: Float64Array[],
  v: Float64Array[],
  t: number,
  h: {
    lr: number[];
    wd: number[];
    beta1: number;
    beta2: number;
    eps: number;
    maxNorm: number;
    /** torch.optim.Adam's L2 (decay added to the gradient) instead of AdamW's decoupled decay. */
    l2?: boolean;
    /** Tensors that are complex ((re, im) pairs): v is |g|² of the pair (g·conj(g)). */
    complex?: boolean[];
  },
): void {
  const total = Math.sqrt(gs.reduce((s, g) => s + norm(g) ** 2, 0));
  const c = h.maxNorm > 0 ? Math.min(1, h.maxNorm / (total + 1e-6)) : 1;
  const bc1 = 1 - h.beta1 ** t, bc2 = 1 - h.beta2 ** t;
  ps.forEach((p, k) => {
    const g = Float64Array.from(p, (w, i) => c * gs[k][i] + (h.l2 ? h.wd[k] * w : 0));
    for (let i = 0; i < p.length; i++) {
      const sq = h.complex?.[k] ? g[i - (i % 2)] ** 2 + g[i - (i % 2) + 1] ** 2 : g[i] * g[i];
      m[k][i] = h.beta1 * m[k][i] + (1 - h.beta1) * g[i];
      v[k][i] = h.beta2 * v[k][i] + (1 - h.beta2) * sq;
      if (!h.l2) p[i] *= 1 - h.lr[k] * h.wd[k];
      p[i] -= (h.lr[k] / bc1) * m[k][i] / (Math.sqrt(v[k][i]) / Math.sqrt(bc2) + h.eps);
    }
  });
}
