/**
 * The spectral convolutions against float64 references written from torch.fft's definitions, and
 * their backward passes against central differences of those references; odd grids, the Nyquist
 * column, the smallest grids, zeros and large values.
 * @module
 */
import { ok, throws } from "node:assert/strict";
import { Recorder } from "../../../kernels/runtime/recorder.ts";
import { upload } from "../../../kernels/runtime/tensor.ts";
import {
  axisTable,
  CONTRACT_TUNING,
  contractAxis,
  spectralConv1d,
  spectralConv1dBackward,
  spectralConv2d,
  spectralConv2dBackward,
} from "../../../kernels/nn/spectral.ts";
import { spectralConv1dRef, spectralConv2dRef } from "../../reference/spectral.ts";
import { fftAxis } from "../../../kernels/nn/fft.ts";
import { centralDiff, dot } from "../../_fd.ts";
import { assertClose, gpu, gpuTest, randArray, read } from "../../_helpers.ts";

type Case2 = {
  B: number;
  n1: number;
  n2: number;
  C: number;
  O: number;
  m1: number;
  m2: number;
  scale?: number;
};

async function run2d(c: Case2, x: Float32Array, w1: Float32Array, w2: Float32Array, dy: Float32Array) {
  const rec = new Recorder(gpu);
  const xt = upload(gpu, x, [c.B, c.n1, c.n2, c.C]);
  const wt1 = upload(gpu, w1, [c.C, c.O, c.m1, c.m2, 2]), wt2 = upload(gpu, w2, [c.C, c.O, c.m1, c.m2, 2]);
  const dyt = upload(gpu, dy, [c.B, c.n1, c.n2, c.O]);
  const { y, saved } = spectralConv2d(rec, xt, wt1, wt2);
  const g = spectralConv2dBackward(rec, saved, wt1, wt2, dyt);
  await rec.submit();
  const out = { y: await read(y), dx: await read(g.dx), dw1: await read(g.dw1), dw2: await read(g.dw2) };
  for (const t of [xt, wt1, wt2, dyt, y, saved.modes, g.dx, g.dw1, g.dw2]) t.release();
  return out;
}

const CASES2: Case2[] = [
  { B: 2, n1: 7, n2: 9, C: 3, O: 2, m1: 2, m2: 3 }, // odd grid
  { B: 1, n1: 8, n2: 8, C: 2, O: 3, m1: 4, m2: 5 }, // every kx, and the Nyquist column
  { B: 3, n1: 2, n2: 1, C: 1, O: 1, m1: 1, m2: 1 }, // the smallest grid
  { B: 1, n1: 6, n2: 5, C: 2, O: 2, m1: 1, m2: 2, scale: 1e3 }, // large values
  { B: 5, n1: 6, n2: 7, C: 9, O: 9, m1: 2, m2: 2 }, // batch and channel blocks with remainders
];

for (const c of CASES2) {
  gpuTest(
    `spectralConv2d ${c.B}×${c.n1}×${c.n2}×${c.C}→${c.O}, ${c.m1}×${c.m2} modes: forward and FD backward`,
    async () => {
      const s = c.scale ?? 1;
      const nx = c.B * c.n1 * c.n2 * c.C, nw = c.C * c.O * c.m1 * c.m2 * 2;
      const x = randArray(nx, 1, -s, s), w1 = randArray(nw, 2), w2 = randArray(nw, 3);
      const dy = randArray(c.B * c.n1 * c.n2 * c.O, 4);
      const got = await run2d(c, x, w1, w2, dy);
      const shape: [number, number, number, number] = [c.B, c.n1, c.n2, c.C];
      const ref = (xv: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>) =>
        spectralConv2dRef(xv, shape, a, b, c.O, c.m1, c.m2);
      const y = ref(x, w1, w2);
      const mag = Math.max(...y.map(Math.abs));
      assertClose("y", got.y, y, 2e-5 * mag, 1e-4);
      const X = Float64Array.from(x), W1 = Float64Array.from(w1), W2 = Float64Array.from(w2);
      const loss = () => dot(dy, ref(X, W1, W2));
      const h = 1e-3 * s;
      const fdx = centralDiff(X, loss, h);
      assertClose("dx", got.dx, fdx, 2e-5 * Math.max(...fdx.map(Math.abs)), 1e-4);
      const fw1 = centralDiff(W1, loss, 1e-3), fw2 = centralDiff(W2, loss, 1e-3);
      const wmag = Math.max(...fw1.map(Math.abs), ...fw2.map(Math.abs));
      assertClose("dweights1", got.dw1, fw1, 2e-5 * wmag, 1e-4);
      assertClose("dweights2", got.dw2, fw2, 2e-5 * wmag, 1e-4);
    },
  );
}

gpuTest("spectralConv2d: zeros in, zeros out; modes that do not fit are refused", async () => {
  const c = { B: 1, n1: 5, n2: 6, C: 2, O: 2, m1: 2, m2: 3 };
  const nw = c.C * c.O * c.m1 * c.m2 * 2;
  const got = await run2d(c, new Float32Array(60), randArray(nw, 5), randArray(nw, 6), randArray(60, 7));
  ok(got.y.every((v) => v === 0) && got.dw1.every((v) => v === 0));
  const rec = new Recorder(gpu);
  const x = upload(gpu, new Float32Array(5 * 6 * 2), [1, 5, 6, 2]);
  const w = upload(gpu, new Float32Array(2 * 2 * 3 * 3 * 2), [2, 2, 3, 3, 2]);
  throws(() => spectralConv2d(rec, x, w, w, "conv0"), /conv0: 3×3 modes do not fit a 5×6 grid/);
  x.release();
  w.release();
});

for (
  const c of [{ B: 2, n: 11, C: 3, O: 2, m: 4 }, { B: 1, n: 8, C: 2, O: 2, m: 5 }, {
    B: 2,
    n: 1,
    C: 1,
    O: 2,
    m: 1,
  }]
) {
  gpuTest(`spectralConv1d ${c.B}×${c.n}×${c.C}→${c.O}, ${c.m} modes: forward and FD backward`, async () => {
    const x = randArray(c.B * c.n * c.C, 11), w = randArray(c.C * c.O * c.m * 2, 12);
    const dy = randArray(c.B * c.n * c.O, 13);
    const rec = new Recorder(gpu);
    const xt = upload(gpu, x, [c.B, c.n, c.C]), wt = upload(gpu, w, [c.C, c.O, c.m, 2]);
    const dyt = upload(gpu, dy, [c.B, c.n, c.O]);
    const { y, saved } = spectralConv1d(rec, xt, wt);
    const g = spectralConv1dBackward(rec, saved, wt, dyt);
    await rec.submit();
    const shape: [number, number, number] = [c.B, c.n, c.C];
    const X = Float64Array.from(x), W = Float64Array.from(w);
    const yref = spectralConv1dRef(X, shape, W, c.O, c.m);
    assertClose("y", await read(y), yref, 2e-5 * Math.max(...yref.map(Math.abs)), 1e-4);
    const loss = () => dot(dy, spectralConv1dRef(X, shape, W, c.O, c.m));
    const fdx = centralDiff(X, loss, 1e-3), fdw = centralDiff(W, loss, 1e-3);
    assertClose("dx", await read(g.dx), fdx, 2e-5 * Math.max(...fdx.map(Math.abs)), 1e-4);
    assertClose("dweights1", await read(g.dw), fdw, 2e-5 * Math.max(...fdw.map(Math.abs)), 1e-4);
    for (const t of [xt, wt, dyt, y, saved.modes, g.dx, g.dw]) t.release();
  });
}

gpuTest(
  "contractAxis: a table along the middle axis, K not a multiple of the blocking, C with and without vec4, both blockings",
  async () => {
    const software = { ...CONTRACT_TUNING.software };
    const cases = [
      [3, 5, 7, 4, 0],
      [2, 13, 34, 6, 0],
      [1, 1, 1, 1, 0],
      [4, 24, 9, 20, 0],
      [3, 29, 11, 44, 0],
      [
        2,
        13,
        34,
        6,
        1,
      ],
      [4, 29, 9, 20, 1],
    ];
    for (const [A, K, N, C, blocking] of cases) {
      // Blocking 1: the hardware adapters' (light invocations), run here on the software adapter.
      Object.assign(CONTRACT_TUNING.software, blocking ? CONTRACT_TUNING.hardware : software);
      const tv = randArray(K * N, 31), xv = randArray(A * N * C, 32);
      const rec = new Recorder(gpu);
      const t = axisTable(gpu, tv, K, N, "t"), x = upload(gpu, xv, [A, N, C]);
      const y = contractAxis(rec, t, x);
      await rec.submit();
      const want = new Float64Array(A * K * C);
      for (let a = 0; a < A; a++) {
        for (let k = 0; k < K; k++) {
          for (let c = 0; c < C; c++) {
            for (let m = 0; m < N; m++) want[(a * K + k) * C + c] += tv[k * N + m] * xv[(a * N + m) * C + c];
          }
        }
      }
      assertClose(`contract ${A}×${K}×${N}×${C} blocking ${blocking}`, await read(y), want, 1e-5, 1e-5);
      for (const z of [t.t, x, y]) z.release();
    }
    Object.assign(CONTRACT_TUNING.software, software);
  },
);

gpuTest(
  "fftAxis: torch.fft.fft / ifft along the middle axis, lengths 1 … 64, against a float64 DFT; non-powers of two refused",
  async () => {
    for (const [A, N, C] of [[2, 1, 3], [1, 2, 1], [3, 8, 5], [2, 64, 3]]) {
      const xv = randArray(A * N * C * 2, 41);
      for (const inverse of [false, true]) {
        const rec = new Recorder(gpu);
        const x = upload(gpu, xv, [A, N, C, 2]);
        const y = fftAxis(rec, x, inverse);
        await rec.submit();
        const want = new Float64Array(xv.length), sign = inverse ? 1 : -1;
        for (let a = 0; a < A; a++) {
          for (let c = 0; c < C; c++) {
            for (let k = 0; k < N; k++) {
              let re = 0, im = 0;
              for (let m = 0; m < N; m++) {
                const at = ((a * N + m) * C + c) * 2, ang = (sign * 2 * Math.PI * ((k * m) % N)) / N;
                re += xv[at] * Math.cos(ang) - xv[at + 1] * Math.sin(ang);
                im += xv[at] * Math.sin(ang) + xv[at + 1] * Math.cos(ang);
              }
              const o = ((a * N + k) * C + c) * 2, s = inverse ? 1 / N : 1;
              want[o] = re * s;
              want[o + 1] = im * s;
            }
          }
        }
        assertClose(`fft ${A}×${N}×${C}${inverse ? " inverse" : ""}`, await read(y), want, 2e-5 * N, 1e-4);
        x.release();
        y.release();
      }
    }
    const rec = new Recorder(gpu);
    const odd = upload(gpu, new Float32Array(2 * 34 * 2), [2, 34, 1, 2]);
    throws(() => fftAxis(rec, odd), /the length 34 is not a power of two/);
    odd.release();
  },
);
