/**
 * Our side of the peer benchmarks: matmul throughput, the adapter's FMA peak, and the cost of a
 * submit and of a dispatch.
 * @module
 */
import { conv2d, conv2dBackward } from "../kernels/nn/conv2d/conv2d.ts";
import { fill } from "../kernels/ops/fill.ts";
import { matmul, type MatmulVariant } from "../kernels/linalg/matmul.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { Tensor } from "../kernels/runtime/tensor.ts";
import { repsFor, slope } from "./_measure.ts";
export { fmaPeak } from "../kernels/runtime/probe.ts";

/** A matmul problem: C (M×N) = A (M×K) · B (K×N), A stored transposed when `transA`. */
export interface MatmulShape {
  /** Row label, e.g. `512x512x512` (M×K×N). */
  label: string;
  M: number;
  K: number;
  N: number;
  transA?: boolean;
}

async function sync(gpu: Gpu): Promise<void> {
  await gpu.device.queue.onSubmittedWorkDone();
}

/** GFLOPS of our matmul on one shape: many dispatches per submit, slope between two counts. */
export async function oursMatmul(gpu: Gpu, s: MatmulShape, variant: MatmulVariant = "auto"): Promise<number> {
  const a = new Tensor(gpu, s.transA ? [s.K, s.M] : [s.M, s.K]), b = new Tensor(gpu, [s.K, s.N]);
  const c = new Tensor(gpu, [s.M, s.N]);
  const init = new Recorder(gpu);
  fill(init, a, 0.5);
  fill(init, b, 0.25);
  await init.submit();
  const flops = 2 * s.M * s.N * s.K;
  const run = async (reps: number) => {
    const rec = new Recorder(gpu);
    for (let i = 0; i < reps; i++) matmul(rec, a, b, { transA: s.transA, out: c, variant });
    await rec.submit();
    await sync(gpu);
  };
  const r = repsFor(flops);
  const sec = await slope(run, Math.max(1, r >> 2), r);
  for (const t of [a, b, c]) t.release();
  return flops / sec / 1e9;
}

/** Runtime costs in µs: one CPU←GPU sync, one (amortised) submit, one extra dispatch. */
export async function runtimeCosts(gpu: Gpu): Promise<{ sync: number; submit: number; dispatch: number }> {
  const x = new Tensor(gpu, [64]);
  const one = async () => {
    const rec = new Recorder(gpu);
    fill(rec, x, 1);
    await rec.submit();
  };
  await one();
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) {
    await one();
    await sync(gpu);
  }
  const syncCost = (performance.now() - t0) / 20 * 1000;
  const submit = await slope(
    async (reps) => {
      for (let i = 0; i < reps; i++) await one();
      await sync(gpu);
    },
    50,
    250,
  ) * 1e6;
  const dispatch = await slope(
    async (reps) => {
      const rec = new Recorder(gpu);
      for (let i = 0; i < reps; i++) fill(rec, x, i);
      await rec.submit();
      await sync(gpu);
    },
    100,
    1100,
  ) * 1e6;
  x.release();
  return { sync: syncCost, submit, dispatch };
}

/** GFLOPS of our conv2d (3×3, padding 1, C→C) forward and backward (data + filter) at one shape. */
export async function oursConv(
  gpu: Gpu,
  B: number,
  C: number,
  H: number,
  W: number,
): Promise<{ fwd: number; bwd: number; data: number; filter: number }> {
  const x = new Tensor(gpu, [B, C, H, W]),
    w = new Tensor(gpu, [C, C, 3, 3]),
    dy = new Tensor(gpu, [B, C, H, W]);
  const init = new Recorder(gpu);
  fill(init, x, 0.5);
  fill(init, w, 0.01);
  fill(init, dy, 0.1);
  await init.submit();
  const flops = 2 * B * C * C * 9 * H * W;
  const fwd = await slope(
    async (reps) => {
      const rec = new Recorder(gpu);
      for (let i = 0; i < reps; i++) {
        const y = conv2d(rec, x, w, null, { padding: 1 });
        rec.after(() => y.release());
      }
      await rec.submit();
      await sync(gpu);
    },
    1,
    3,
    3,
  );
  const bwd = await slope(
    async (reps) => {
      const rec = new Recorder(gpu);
      for (let i = 0; i < reps; i++) {
        const g = conv2dBackward(rec, x, w, dy, { padding: 1 });
        rec.after(() => {
          g.dx!.release();
          g.dw.release();
        });
      }
      await rec.submit();
      await sync(gpu);
    },
    1,
    3,
    3,
  );
  // Backward-filter alone (no input gradient); backward-data is the difference of the slopes.
  const filter = await slope(
    async (reps) => {
      const rec = new Recorder(gpu);
      for (let i = 0; i < reps; i++) {
        const g = conv2dBackward(rec, x, w, dy, { padding: 1 }, { dx: false });
        rec.after(() => g.dw.release());
      }
      await rec.submit();
      await sync(gpu);
    },
    1,
    3,
    3,
  );
  for (const t of [x, w, dy]) t.release();
  return {
    fwd: flops / fwd / 1e9,
    bwd: (2 * flops) / bwd / 1e9,
    data: flops / Math.max(bwd - filter, 1e-9) / 1e9,
    filter: flops / filter / 1e9,
  };
}
