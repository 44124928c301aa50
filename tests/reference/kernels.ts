/**
 * Plain-TypeScript float64 references of every kernel, with the same argument order as the GPU
 * ops. Used by tests only: simple loops, no tricks.
 * @module
 */

/** A dense row-major array with its shape. */
export interface Ref {
  /** Values, row-major. */
  data: Float64Array;
  /** Shape. */
  shape: number[];
}

/** Wraps values as a {@link Ref}. */
export function ref(data: ArrayLike<number>, shape: number[]): Ref {
  return { data: Float64Array.from(data), shape: [...shape] };
}

/** `alpha·op(A)·op(B) + beta·C` over an optional batch; 2-D operands broadcast. */
export function matmulRef(
  a: Ref,
  b: Ref,
  o: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number; c?: Ref } = {},
): Ref {
  const { transA = false, transB = false, alpha = 1, beta = 0 } = o;
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const M = transA ? ac : ar, K = transA ? ar : ac, N = transB ? br : bc;
  const batch = Math.max(a.shape.length === 3 ? a.shape[0] : 1, b.shape.length === 3 ? b.shape[0] : 1);
  const threeD = a.shape.length === 3 || b.shape.length === 3;
  const out = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const ao = a.shape.length === 3 ? z * M * K : 0, bo = b.shape.length === 3 ? z * K * N : 0;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a.data[ao + (transA ? k * M + m : m * K + k)];
          const bv = b.data[bo + (transB ? n * K + k : k * N + n)];
          s += av * bv;
        }
        const i = z * M * N + m * N + n;
        out[i] = alpha * s + (beta !== 0 && o.c ? beta * o.c.data[i] : 0);
      }
    }
  }
  return { data: out, shape: threeD ? [batch, M, N] : [M, N] };
}

/** Applies `f` element-wise over same-shape inputs. */
export function mapRef(f: (...v: number[]) => number, ...xs: Ref[]): Ref {
  const out = new Float64Array(xs[0].data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(...xs.map((x) => x.data[i]));
  return { data: out, shape: [...xs[0].shape] };
}

/** ReLU keeping NaN. */
export const reluRef = (x: Ref): Ref => mapRef((v) => (v <= 0 ? 0 : v), x);
/** ReLU backward as PyTorch's threshold_backward. */
export const reluBackwardRef = (dy: Ref, x: Ref): Ref => mapRef((g, v) => (v <= 0 ? 0 : g), dy, x);

/** `x + b` with b broadcast along `axis`. */
export function addBiasRef(x: Ref, b: Ref, axis = -1): Ref {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const inner = x.shape.slice(ax + 1).reduce((p, d) => p * d, 1);
  const C = x.shape[ax];
  return { data: x.data.map((v, i) => v + b.data[Math.floor(i / inner) % C]), shape: [...x.shape] };
}

/** Reduction along `axis` (or everything) of kind sum, sumsq or max; NaN propagates. */
export function reduceRef(x: Ref, kind: "sum" | "sumsq" | "max", axis?: number): Ref {
  const r = x.shape.length;
  const ax = axis === undefined ? -1 : axis < 0 ? axis + r : axis;
  const outer = ax < 0 ? 1 : x.shape.slice(0, ax).reduce((p, d) => p * d, 1);
  const L = ax < 0 ? x.data.length : x.shape[ax];
  const inner = ax < 0 ? 1 : x.shape.slice(ax + 1).reduce((p, d) => p * d, 1);
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let acc = kind === "max" ? -Infinity : 0;
      for (let l = 0; l < L; l++) {
        const v = x.data[(o * L + l) * inner + j];
        if (kind === "max") acc = Number.isNaN(v) || Number.isNaN(acc) ? NaN : Math.max(acc, v);
        else acc += kind === "sumsq" ? v * v : v;
      }
      out[o * inner + j] = acc;
    }
  }
  const shape = ax < 0 ? [1] : x.shape.filter((_, i) => i !== ax);
  return { data: out, shape: shape.length ? shape : [1] };
}

/** Argmax along the last axis: first index of the max; the first NaN wins. */
export function argmaxRef(x: Ref): Ref {
  const L = x.shape[x.shape.length - 1], rows = x.data.length / L;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let bi = 0;
    for (let l = 1; l < L; l++) {
      const v = x.data[r * L + l], b = x.data[r * L + bi];
      if (Number.isNaN(b)) break;
      if (Number.isNaN(v) || v > b) bi = l;
    }
    out[r] = bi;
  }
  return { data: out, shape: x.shape.length > 1 ? x.shape.slice(0, -1) : [1] };
}

function unravel(i: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

function ravel(idx: number[], shape: number[]): number {
  return idx.reduce((acc, v, d) => acc * shape[d] + v, 0);
}

/** Axis permutation. */
export function transposeRef(x: Ref, perm?: number[]): Ref {
  const p = perm ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  const shape = p.map((d) => x.shape[d]);
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const oi = unravel(i, shape);
    const src = new Array<number>(shape.length);
    p.forEach((d, k) => (src[d] = oi[k]));
    out[i] = x.data[ravel(src, x.shape)];
  }
  return { data: out, shape };
}

/** numpy-style strided slice with `start:end:step` ranges (step ≥ 1). */
export function sliceRef(x: Ref, ranges: { start?: number; end?: number; step?: number }[]): Ref {
  const axes = x.shape.map((n, d) => {
    const r = ranges[d] ?? {};
    const norm = (v: number) => Math.min(n, Math.max(0, v < 0 ? v + n : v));
    const idx: number[] = [];
    for (let i = norm(r.start ?? 0); i < norm(r.end ?? n); i += r.step ?? 1) idx.push(i);
    return idx;
  });
  const shape = axes.map((a) => a.length);
  const out = new Float64Array(shape.reduce((p, d) => p * d, 1));
  for (let i = 0; i < out.length; i++) {
    const oi = unravel(i, shape);
    out[i] = x.data[ravel(oi.map((v, d) => axes[d][v]), x.shape)];
  }
  return { data: out, shape };
}

/**
 * Eigenvalues of a symmetric n×n matrix in float64, ascending: Householder tridiagonalisation
 * then implicit QL with Wilkinson shifts (tred2/tqli without vectors).
 * Ref: Press et al., Numerical Recipes §11.2–11.3.
 */
export function eigvalshRef(a: ArrayLike<number>, n: number): Float64Array {
  const A: number[][] = [];
  for (let i = 0; i < n; i++) A.push(Array.from({ length: n }, (_, j) => a[i * n + j]));
  const d = new Float64Array(n), e = new Float64Array(n);
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    let h = 0, scale = 0;
    if (l > 0) {
      for (let k = 0; k <= l; k++) scale += Math.abs(A[i][k]);
      if (scale === 0) e[i] = A[i][l];
      else {
        for (let k = 0; k <= l; k++) {
          A[i][k] /= scale;
          h += A[i][k] * A[i][k];
        }
        let f = A[i][l];
        const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        A[i][l] = f - g;
        f = 0;
        for (let j = 0; j <= l; j++) {
          let gg = 0;
          for (let k = 0; k <= j; k++) gg += A[j][k] * A[i][k];
          for (let k = j + 1; k <= l; k++) gg += A[k][j] * A[i][k];
          e[j] = gg / h;
          f += e[j] * A[i][j];
        }
        const hh = f / (h + h);
        for (let j = 0; j <= l; j++) {
          const ff = A[i][j];
          const gg = e[j] - hh * ff;
          e[j] = gg;
          for (let k = 0; k <= j; k++) A[j][k] -= ff * e[k] + gg * A[i][k];
        }
      }
    } else e[i] = A[i][l];
    d[i] = h;
  }
  for (let i = 0; i < n; i++) d[i] = A[i][i];
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  if (n > 0) e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iter = 0, m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m !== l) {
        if (iter++ === 60) throw new Error("eigvalshRef: no convergence");
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
        let s = 1, c = 1, p = 0;
        let i: number;
        for (i = m - 1; i >= l; i--) {
          let f = s * e[i];
          const b = c * e[i];
          e[i + 1] = r = Math.hypot(f, g);
          if (r === 0) {
            d[i + 1] -= p;
            e[m] = 0;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          d[i + 1] = g + (p = s * r);
          g = c * r - b;
          f = 0;
        }
        if (r === 0 && i >= l) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
  return d.sort();
}

/** conv2d (cross-correlation) in float64: x (N, C, H, W), w (O, C, KH, KW), optional bias. */
export function conv2dRef(
  x: Ref,
  w: Ref,
  bias: Ref | null,
  stride: [number, number],
  pad: [number, number],
): Ref {
  const [B, C, H, W] = x.shape, [O, , KH, KW] = w.shape;
  const OH = Math.floor((H + 2 * pad[0] - KH) / stride[0]) + 1,
    OW = Math.floor((W + 2 * pad[1] - KW) / stride[1]) + 1;
  const out = new Float64Array(B * O * OH * OW);
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < O; o++) {
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let s = bias ? bias.data[o] : 0;
          for (let c = 0; c < C; c++) {
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * stride[0] - pad[0] + kh;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * stride[1] - pad[1] + kw;
                if (iw < 0 || iw >= W) continue;
                s += w.data[((o * C + c) * KH + kh) * KW + kw] * x.data[((b * C + c) * H + ih) * W + iw];
              }
            }
          }
          out[((b * O + o) * OH + oh) * OW + ow] = s;
        }
      }
    }
  }
  return { data: out, shape: [B, O, OH, OW] };
}

/** conv2d backward in float64: dx, dw, db for upstream gradient dy. */
export function conv2dBackwardRef(
  x: Ref,
  w: Ref,
  dy: Ref,
  stride: [number, number],
  pad: [number, number],
): { dx: Ref; dw: Ref; db: Ref } {
  const [B, C, H, W] = x.shape, [O, , KH, KW] = w.shape, [, , OH, OW] = dy.shape;
  const dx = new Float64Array(x.data.length), dw = new Float64Array(w.data.length), db = new Float64Array(O);
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < O; o++) {
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          const g = dy.data[((b * O + o) * OH + oh) * OW + ow];
          db[o] += g;
          for (let c = 0; c < C; c++) {
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * stride[0] - pad[0] + kh;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * stride[1] - pad[1] + kw;
                if (iw < 0 || iw >= W) continue;
                const xi = ((b * C + c) * H + ih) * W + iw, wi = ((o * C + c) * KH + kh) * KW + kw;
                dx[xi] += g * w.data[wi];
                dw[wi] += g * x.data[xi];
              }
            }
          }
        }
      }
    }
  }
  return {
    dx: { data: dx, shape: [...x.shape] },
    dw: { data: dw, shape: [...w.shape] },
    db: { data: db, shape: [O] },
  };
}

/** BatchNorm train-mode forward in float64: y, batch mean and biased variance per channel. */
export function batchNormRef(
  x: Ref,
  gamma: Ref | null,
  beta: Ref | null,
  eps = 1e-5,
): { y: Ref; mean: Float64Array; varB: Float64Array } {
  const [N, C] = x.shape, HW = x.shape.length === 4 ? x.shape[2] * x.shape[3] : 1, m = N * HW;
  const mean = new Float64Array(C), varB = new Float64Array(C);
  const at = (b: number, c: number, k: number) => (b * C + c) * HW + k;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let b = 0; b < N; b++) for (let k = 0; k < HW; k++) s += x.data[at(b, c, k)];
    mean[c] = s / m;
    let v = 0;
    for (let b = 0; b < N; b++) for (let k = 0; k < HW; k++) v += (x.data[at(b, c, k)] - mean[c]) ** 2;
    varB[c] = v / m;
  }
  const y = new Float64Array(x.data.length);
  for (let b = 0; b < N; b++) {
    for (let c = 0; c < C; c++) {
      for (let k = 0; k < HW; k++) {
        const i = at(b, c, k);
        y[i] = ((x.data[i] - mean[c]) / Math.sqrt(varB[c] + eps)) * (gamma ? gamma.data[c] : 1) +
          (beta ? beta.data[c] : 0);
      }
    }
  }
  return { y: { data: y, shape: [...x.shape] }, mean, varB };
}

/** BatchNorm train-mode backward in float64. */
export function batchNormBackwardRef(
  x: Ref,
  gamma: Ref | null,
  dy: Ref,
  eps = 1e-5,
): { dx: Ref; dgamma: Float64Array; dbeta: Float64Array } {
  const [N, C] = x.shape, HW = x.shape.length === 4 ? x.shape[2] * x.shape[3] : 1, m = N * HW;
  const { mean, varB } = batchNormRef(x, null, null, eps);
  const dx = new Float64Array(x.data.length), dgamma = new Float64Array(C), dbeta = new Float64Array(C);
  const at = (b: number, c: number, k: number) => (b * C + c) * HW + k;
  for (let c = 0; c < C; c++) {
    const inv = 1 / Math.sqrt(varB[c] + eps), g = gamma ? gamma.data[c] : 1;
    let sdy = 0, sdyx = 0;
    for (let b = 0; b < N; b++) {
      for (let k = 0; k < HW; k++) {
        const i = at(b, c, k);
        sdy += dy.data[i];
        sdyx += dy.data[i] * (x.data[i] - mean[c]) * inv;
      }
    }
    dgamma[c] = sdyx;
    dbeta[c] = sdy;
    for (let b = 0; b < N; b++) {
      for (let k = 0; k < HW; k++) {
        const i = at(b, c, k), xh = (x.data[i] - mean[c]) * inv;
        dx[i] = (g * inv / m) * (m * dy.data[i] - sdy - xh * sdyx);
      }
    }
  }
  return { dx: { data: dx, shape: [...x.shape] }, dgamma, dbeta };
}

/** Max or average pooling in float64 (average counts padding), with backward for dy. */
export function poolRef(
  x: Ref,
  kind: "max" | "avg",
  k: number,
  s: number,
  pad: number,
  dy?: Ref,
): { y: Ref; dx: Ref | null } {
  const [N, C, H, W] = x.shape;
  const OH = Math.floor((H + 2 * pad - k) / s) + 1, OW = Math.floor((W + 2 * pad - k) / s) + 1;
  const y = new Float64Array(N * C * OH * OW), dx = dy ? new Float64Array(x.data.length) : null;
  for (let pl = 0; pl < N * C; pl++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let best = -Infinity, bi = -1, sum = 0;
        const cells: number[] = [];
        for (let kh = 0; kh < k; kh++) {
          for (let kw = 0; kw < k; kw++) {
            const ih = oh * s + kh - pad, iw = ow * s + kw - pad;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const i = (pl * H + ih) * W + iw;
            cells.push(i);
            sum += x.data[i];
            if (bi < 0 || x.data[i] > best) [best, bi] = [x.data[i], i];
          }
        }
        const o = (pl * OH + oh) * OW + ow;
        y[o] = kind === "max" ? best : sum / (k * k);
        if (dx && dy) {
          if (kind === "max") dx[bi] += dy.data[o];
          else for (const i of cells) dx[i] += dy.data[o] / (k * k);
        }
      }
    }
  }
  return { y: { data: y, shape: [N, C, OH, OW] }, dx: dx ? { data: dx, shape: [...x.shape] } : null };
}
