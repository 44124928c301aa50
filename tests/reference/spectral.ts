/**
 * Float64 references of PDEBench's spectral convolutions, written from the definitions of
 * `torch.fft.rfft2`/`irfft2` (direct sums, no tables shared with the kernels), and the FNOs built on them.
 * @module
 */
import { actRef, linearRef } from "./transformer.ts";

/** One complex number. */
type Cx = [number, number];

/** rfft2 of one channel (n1 × n2, row-major) at frequency (kx, ky): Σ x·e^{−2πi(kx·i/n1 + ky·j/n2)}. */
function dft2(x: (i: number, j: number) => number, n1: number, n2: number, kx: number, ky: number): Cx {
  let re = 0, im = 0;
  for (let i = 0; i < n1; i++) {
    for (let j = 0; j < n2; j++) {
      const a = -2 * Math.PI * ((kx * i) / n1 + (ky * j) / n2);
      const v = x(i, j);
      re += v * Math.cos(a);
      im += v * Math.sin(a);
    }
  }
  return [re, im];
}

/**
 * `irfft2(F, s=(n1, n2))` of a spectrum F (n1 × (⌊n2/2⌋+1) complex, row-major, interleaved): the
 * inverse complex DFT over the first axis, then the real inverse over the second, which drops the
 * imaginary parts of the zero and Nyquist columns.
 * @returns The n1 × n2 real signal.
 */
function irfft2(F: Float64Array, n1: number, n2: number): Float64Array {
  const half = Math.floor(n2 / 2), cols = half + 1;
  const G = new Float64Array(n1 * cols * 2); // after the inverse over x
  for (let i = 0; i < n1; i++) {
    for (let ky = 0; ky < cols; ky++) {
      let re = 0, im = 0;
      for (let kx = 0; kx < n1; kx++) {
        const fr = F[(kx * cols + ky) * 2], fi = F[(kx * cols + ky) * 2 + 1];
        if (fr === 0 && fi === 0) continue;
        const a = (2 * Math.PI * kx * i) / n1;
        re += fr * Math.cos(a) - fi * Math.sin(a);
        im += fr * Math.sin(a) + fi * Math.cos(a);
      }
      G[(i * cols + ky) * 2] = re / n1;
      G[(i * cols + ky) * 2 + 1] = im / n1;
    }
  }
  const y = new Float64Array(n1 * n2);
  for (let i = 0; i < n1; i++) {
    for (let j = 0; j < n2; j++) {
      let s = 0;
      for (let ky = 0; ky < cols; ky++) {
        const b = (2 * Math.PI * ky * j) / n2;
        const edge = ky === 0 || 2 * ky === n2;
        const re = G[(i * cols + ky) * 2], im = G[(i * cols + ky) * 2 + 1];
        s += (edge ? 1 : 2) * (re * Math.cos(b) - (edge ? 0 : im * Math.sin(b)));
      }
      y[i * n2 + j] = s / n2;
    }
  }
  return y;
}

/**
 * PDEBench's `SpectralConv2d_fast` on channels-last input.
 * @param x (B, n1, n2, C).
 * @param w1 (C, O, m1, m2, 2) for kx < m1; w2 likewise for kx ≥ n1 − m1.
 * @returns y (B, n1, n2, O).
 */
export function spectralConv2dRef(
  x: ArrayLike<number>,
  shape: [number, number, number, number],
  w1: ArrayLike<number>,
  w2: ArrayLike<number>,
  O: number,
  m1: number,
  m2: number,
): Float64Array {
  const [B, n1, n2, C] = shape;
  const cols = Math.floor(n2 / 2) + 1;
  const kept = [...Array(m1).keys(), ...Array.from({ length: m1 }, (_, k) => n1 - m1 + k)];
  const y = new Float64Array(B * n1 * n2 * O);
  for (let b = 0; b < B; b++) {
    const xs: Cx[][][] = []; // [c][q][ky] over kept modes
    for (let c = 0; c < C; c++) {
      xs.push(
        kept.map((kx) =>
          Array.from({ length: m2 }, (_, ky) =>
            dft2(
              (i, j) => x[((b * n1 + i) * n2 + j) * C + c],
              n1,
              n2,
              kx,
              ky,
            ))
        ),
      );
    }
    for (let o = 0; o < O; o++) {
      const F = new Float64Array(n1 * cols * 2);
      kept.forEach((kx, q) => {
        const w = q < m1 ? w1 : w2, kk = q % m1;
        for (let ky = 0; ky < m2; ky++) {
          let re = 0, im = 0;
          for (let c = 0; c < C; c++) {
            const [xr, xi] = xs[c][q][ky];
            const at = (((c * O + o) * m1 + kk) * m2 + ky) * 2;
            re += xr * w[at] - xi * w[at + 1];
            im += xr * w[at + 1] + xi * w[at];
          }
          F[(kx * cols + ky) * 2] = re;
          F[(kx * cols + ky) * 2 + 1] = im;
        }
      });
      const sig = irfft2(F, n1, n2);
      for (let p = 0; p < n1 * n2; p++) y[(b * n1 * n2 + p) * O + o] = sig[p];
    }
  }
  return y;
}

/**
 * PDEBench's `SpectralConv1d` on channels-last input: irfft(W · rfft(x)[:m], n).
 * @param x (B, n, C).
 * @param w (C, O, m, 2).
 * @returns y (B, n, O).
 */
export function spectralConv1dRef(
  x: ArrayLike<number>,
  shape: [number, number, number],
  w: ArrayLike<number>,
  O: number,
  m: number,
): Float64Array {
  const [B, n, C] = shape;
  const y = new Float64Array(B * n * O);
  for (let b = 0; b < B; b++) {
    const X: Cx[][] = [];
    for (let c = 0; c < C; c++) {
      X.push(Array.from({ length: m }, (_, k) => dft2((i) => x[(b * n + i) * C + c], n, 1, k, 0)));
    }
    for (let o = 0; o < O; o++) {
      const F: Cx[] = Array.from({ length: m }, (_, k) => {
        let re = 0, im = 0;
        for (let c = 0; c < C; c++) {
          const [xr, xi] = X[c][k];
          const at = ((c * O + o) * m + k) * 2;
          re += xr * w[at] - xi * w[at + 1];
          im += xr * w[at + 1] + xi * w[at];
        }
        return [re, im];
      });
      const spectrum = new Float64Array((Math.floor(n / 2) + 1) * 2);
      F.forEach(([re, im], k) => spectrum.set([re, im], 2 * k));
      const sig = irfft2(spectrum, 1, n);
      for (let i = 0; i < n; i++) y[(b * n + i) * O + o] = sig[i];
    }
  }
  return y;
}

/** Float64 parameters of an FNO by PDEBench name; complex weights as (…, 2) real pairs. */
export type FnoRefParams = Map<string, Float64Array>;

/**
 * PDEBench's `FNO1d`/`FNO2d` forward in float64: fc0 on [u, grid], zero padding by 2 at the end of
 * each axis, four (spectral + 1×1) layers with exact GELU between them, crop, fc1, GELU, fc2.
 * @param p Parameters by PDEBench name.
 * @param x Input, channels-last (B, n1, [n2,] inC).
 * @param shape B, the spatial sizes, inC.
 * @param cfg width, modes, output channels.
 * @returns (B, n1, [n2,] outC).
 */
export function fnoRef(
  p: FnoRefParams,
  x: ArrayLike<number>,
  shape: number[],
  cfg: { width: number; modes: number[]; outC: number },
): Float64Array {
  const B = shape[0], spatial = shape.slice(1, -1), inC = shape[shape.length - 1];
  const W = cfg.width, pad = 2;
  const padded = spatial.map((n) => n + pad);
  const points = spatial.reduce((a, b) => a * b, 1), pPoints = padded.reduce((a, b) => a * b, 1);
  const lin = (
    v: ArrayLike<number>,
    _rows: number,
    inF: number,
    w: Float64Array,
    b: Float64Array,
    outF: number,
  ) => linearRef(v, w, inF, outF, b, false);
  const gelu = (v: number) => actRef("gelu", v);
  const lifted = lin(x, B * points, inC, p.get("fc0.weight")!, p.get("fc0.bias")!, W);
  // Pad at the end of every spatial axis.
  let h = new Float64Array(B * pPoints * W);
  for (let b = 0; b < B; b++) {
    for (let q = 0; q < points; q++) {
      const i = spatial.length === 2 ? Math.floor(q / spatial[1]) : q,
        j = spatial.length === 2 ? q % spatial[1] : 0;
      const dst = spatial.length === 2 ? i * padded[1] + j : i;
      for (let c = 0; c < W; c++) h[(b * pPoints + dst) * W + c] = lifted[(b * points + q) * W + c];
    }
  }
  for (let l = 0; l < 4; l++) {
    const s = spatial.length === 2
      ? spectralConv2dRef(
        h,
        [B, padded[0], padded[1], W],
        p.get(`conv${l}.weights1`)!,
        p.get(`conv${l}.weights2`)!,
        W,
        cfg.modes[0],
        cfg.modes[1],
      )
      : spectralConv1dRef(h, [B, padded[0], W], p.get(`conv${l}.weights1`)!, W, cfg.modes[0]);
    const pw = lin(h, B * pPoints, W, p.get(`w${l}.weight`)!, p.get(`w${l}.bias`)!, W);
    h = s.map((v, i) => v + pw[i]);
    if (l < 3) h = h.map((v) => gelu(v));
  }
  const cropped = new Float64Array(B * points * W);
  for (let b = 0; b < B; b++) {
    for (let q = 0; q < points; q++) {
      const i = spatial.length === 2 ? Math.floor(q / spatial[1]) : q,
        j = spatial.length === 2 ? q % spatial[1] : 0;
      const src = spatial.length === 2 ? i * padded[1] + j : i;
      for (let c = 0; c < W; c++) cropped[(b * points + q) * W + c] = h[(b * pPoints + src) * W + c];
    }
  }
  const f1 = lin(cropped, B * points, W, p.get("fc1.weight")!, p.get("fc1.bias")!, 128).map((v) => gelu(v));
  return lin(f1, B * points, 128, p.get("fc2.weight")!, p.get("fc2.bias")!, cfg.outC);
}
