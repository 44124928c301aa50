/**
 * `deno bench bench/spectral_bench.ts`: the FNO's Fourier transforms, three ways, at the shapes of a
 * PDEBench FNO2d (width 20, 12 modes, batch 50): the truncated DFT the layers use (`contractAxis`:
 * only the kept modes), the same DFT as a batched matmul against its table, and a full radix-2 FFT
 * (`fftAxis`: every frequency, power-of-two lengths only — 64 points here, where PDEBench's padding
 * makes 34, 66 or 130), each along the grid's y axis (real input, 12 kept frequencies) and x axis
 * (complex, 24 kept frequencies); and a whole spectral layer forward + backward.
 * @module
 */
import { matmul } from "../kernels/linalg/matmul.ts";
import { fftAxis } from "../kernels/nn/fft.ts";
import {
  axisTable,
  contractAxis,
  dftTables,
  spectralConv2d,
  spectralConv2dBackward,
} from "../kernels/nn/spectral.ts";
import type { Recorder } from "../kernels/runtime/recorder.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { type Tensor, upload } from "../kernels/runtime/tensor.ts";
import { filled, timedSteps } from "./_bench.ts";

const gpu = await getGpu();
const B = 50, W = 20, M = 12;
const timed = (b: Deno.BenchContext, record: (rec: Recorder) => void) => timedSteps(gpu, b, 1, record);
const release = (rec: Recorder, t: Tensor) => rec.after(() => t.release());

for (const n of [64]) {
  // y axis: B·n rows of n points × W channels → 2·12 real rows (cos, sin of 12 frequencies).
  const x = await filled(gpu, [B * n, n, W], 0.5);
  const ty = dftTables("real", n, M), tx = dftTables("complex", n, M);
  const yTable = axisTable(gpu, ty.fwd, 2 * M, n, "y"), xTable = axisTable(gpu, tx.fwd, 4 * M, n, "x");
  const yMat = upload(gpu, Float32Array.from(ty.fwd), [2 * M, n]),
    xMat = upload(gpu, Float32Array.from(tx.fwd), [4 * M, n]);
  const xc = await filled(gpu, [B * n, n, W, 2], 0.5); // the same rows as complex for the FFT
  const gflop = (rows: number) => (2 * B * n * rows * n * W / 1e9).toFixed(3);
  const y = [
    ["truncated DFT (contractAxis)", (rec: Recorder) => release(rec, contractAxis(rec, yTable, x))],
    ["truncated DFT as batched matmul", (rec: Recorder) => release(rec, matmul(rec, yMat, x))],
    ["FFT, every frequency (fftAxis)", (rec: Recorder) => release(rec, fftAxis(rec, xc))],
  ] as const;
  for (const [name, f] of y) {
    Deno.bench({
      name: `y axis ${B}·${n} rows × ${n} points × ${W}: ${name} (DFT ${gflop(2 * M)} GFLOP)`,
      group: `fno y axis ${n}`,
      baseline: name.startsWith("truncated DFT (c"),
      n: 3,
      warmup: 1,
      fn: async (b) => await timed(b, (rec) => f(rec)),
    });
  }
  // x axis: B samples × n points × (12·W complex = 2·12·W real columns) → 2·24 rows.
  const a = await filled(gpu, [B, n, 2 * M * W], 0.5), ac = await filled(gpu, [B, n, M * W, 2], 0.5);
  const x2 = [
    ["truncated DFT (contractAxis)", (rec: Recorder) => release(rec, contractAxis(rec, xTable, a))],
    ["truncated DFT as batched matmul", (rec: Recorder) => release(rec, matmul(rec, xMat, a))],
    ["FFT, every frequency (fftAxis)", (rec: Recorder) => release(rec, fftAxis(rec, ac))],
  ] as const;
  for (const [name, f] of x2) {
    Deno.bench({
      name: `x axis ${B} × ${n} points × ${M}·${W} complex: ${name} (DFT ${
        (2 * B * 4 * M * n * 2 * M * W / 1e9).toFixed(3)
      } GFLOP)`,
      group: `fno x axis ${n}`,
      baseline: name.startsWith("truncated DFT (c"),
      n: 3,
      warmup: 1,
      fn: async (b) => await timed(b, (rec) => f(rec)),
    });
  }
}

// A whole Fourier layer of FNO2d on a 32² Darcy grid (34² padded), forward and backward.
{
  const x = await filled(gpu, [B, 34, 34, W], 0.5), w = await filled(gpu, [W, W, M, M, 2], 0.01);
  const dy = await filled(gpu, [B, 34, 34, W], 0.1);
  Deno.bench({
    name: `spectralConv2d fwd+bwd ${B}×34×34×${W}, ${M}×${M} modes`,
    group: "fno layer",
    n: 3,
    warmup: 1,
    fn: async (b) =>
      await timed(b, (rec) => {
        const f = spectralConv2d(rec, x, w, w);
        const g = spectralConv2dBackward(rec, f.saved, w, w, dy);
        rec.after(() => [f.y, f.saved.modes, g.dx, g.dw1, g.dw2].forEach((t) => t.release()));
      }),
  });
}
