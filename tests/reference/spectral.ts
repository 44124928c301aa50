/**
 * Float64 references of PDEBench's spectral convolutions, written from the definitions of
 * `torch.fft.rfft2`/`irfft2` (direct sums, no tables shared with the kernels).
 * @module
 */

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
 * `irfft2(F, s=(n1, n2))` of a spectrum F given on (n1 × (⌊n2/2⌋+1)), evaluated at (i, j): the
 * inverse complex DFT over the first axis, then the real inverse over the second, which drops the
 * imaginary parts of the zero and Nyquist columns.
 */
function irfft2At(F: (kx: number, ky: number) => Cx, n1: number, n2: number, i: number, j: number): number {
  const half = Math.floor(n2 / 2);
  let s = 0;
  for (let ky = 0; ky <= half; ky++) {
    // column ky after the inverse over x
    let re = 0, im = 0;
    for (let kx = 0; kx < n1; kx++) {
      const [fr, fi] = F(kx, ky);
      if (fr === 0 && fi === 0) continue;
      const a = (2 * Math.PI * kx * i) / n1;
      re += fr * Math.cos(a) - fi * Math.sin(a);
      im += fr * Math.sin(a) + fi * Math.cos(a);
    }
    re /= n1;
    im /= n1;
    const b = (2 * Math.PI * ky * j) / n2;
    const edge = ky === 0 || 2 * ky === n2;
    s += (edge ? 1 : 2) * (re * Math.cos(b) - (edge ? 0 : im * Math.sin(b)));
  }
  return s / n2;
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
  const y = new Float64Array(B * n1 * n2 * O);
  for (let b = 0; b < B; b++) {
    // out_ft[o][kx][ky]
    const out = new Map<string, Cx>();
    const xs: Cx[][][] = []; // [c][kx][ky] over kept modes
    const kept = [...Array(m1).keys(), ...Array.from({ length: m1 }, (_, k) => n1 - m1 + k)];
    for (let c = 0; c < C; c++) {
      xs.push(kept.map((kx) =>
        Array.from({ length: m2 }, (_, ky) => dft2((i, j) => x[((b * n1 + i) * n2 + j) * C + c], n1, n2, kx, ky))
      ));
    }
    for (let o = 0; o < O; o++) {
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
          out.set(`${o},${kx},${ky}`, [re, im]);
        }
      });
      for (let i = 0; i < n1; i++) {
        for (let j = 0; j < n2; j++) {
          y[((b * n1 + i) * n2 + j) * O + o] = irfft2At((kx, ky) => out.get(`${o},${kx},${ky}`) ?? [0, 0], n1, n2, i, j);
        }
      }
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
      for (let i = 0; i < n; i++) {
        y[(b * n + i) * O + o] = irfft2At((kx, ky) => (kx === 0 && ky < m ? F[ky] : [0, 0]), 1, n, 0, i);
      }
    }
  }
  return y;
}
