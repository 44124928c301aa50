/**
 * Our side of the FNO2d training-step peer row: PDEBench's FNO2d (modes 12, width 20) on a batch of
 * Darcy-shaped inputs ([ν, x, y] per grid point), MSE loss, Adam with L2 decay — what `train-pde` runs.
 * @module
 */
import { Recorder } from "../kernels/runtime/recorder.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { readback, upload } from "../kernels/runtime/tensor.ts";
import { Model } from "../models/model.ts";
import { buildOperator } from "../models/operators/config.ts";
import { AdamW } from "../optim/adamw.ts";
import { mseLoss } from "../train/pde_task.ts";
import { mulberry32 } from "../util/random.ts";

/** An FNO2d training shape: batch and grid side. */
export interface FnoShape {
  /** Row label. */
  label: string;
  /** Samples per step. */
  batch: number;
  /** Grid side (before PDEBench's padding by 2). */
  side: number;
}

/** The shapes the peers bench measures: PDEBench's batch 50 at 32² (the Darcy study's grid). */
export const FNO_SHAPES: FnoShape[] = [{ label: "FNO2d m12 w20, 50x32x32", batch: 50, side: 32 }];

/**
 * Median samples/s of FNO2d training steps (upload, forward, loss, backward, Adam, one submit, the
 * loss read back).
 * @param gpu The GPU.
 * @param s The shape.
 * @param steps Timed steps (after one warm-up).
 * @returns Samples per second.
 */
export async function oursFnoSamplesPerS(gpu: Gpu, s: FnoShape, steps: number): Promise<number> {
  const model = new Model(
    gpu,
    buildOperator({
      model_type: "fno2d",
      num_channels: 1,
      modes1: 12,
      modes2: 12,
      width: 20,
      initial_step: 1,
    }),
    0,
  );
  const opt = new AdamW(model.arena, [{ params: model.arena.params }], {
    lr: 1e-3,
    weightDecay: 1e-4,
    decoupled: false,
  });
  const r = mulberry32(1), n = s.batch * s.side * s.side;
  const xv = Float32Array.from({ length: 3 * n }, r), yv = Float32Array.from({ length: n }, r);
  const times: number[] = [];
  for (let k = 0; k <= steps; k++) {
    const t0 = performance.now();
    const x = upload(gpu, xv, [s.batch, s.side, s.side, 3]),
      y = upload(gpu, yv, [s.batch, s.side, s.side, 1]);
    const rec = new Recorder(gpu);
    const pred = model.forward(rec, x, true);
    const l = mseLoss(rec, pred, y);
    model.backward(rec, l.grad);
    opt.step(rec);
    await rec.submit();
    await readback(gpu, l.loss);
    for (const t of [x, y, pred, l.loss, l.grad]) t.release();
    if (k > 0) times.push(performance.now() - t0);
  }
  opt.release();
  model.release();
  times.sort((a, b) => a - b);
  return s.batch / (times[times.length >> 1] / 1000);
}
