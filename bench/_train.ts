/**
 * Our side of the training rows: images per second of whole training steps (forward, loss,
 * backward, SGD in one submit) on random batches.
 * @module
 */
import { fill } from "../kernels/ops/fill.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { Tensor, upload } from "../kernels/runtime/tensor.ts";
import { Model } from "../models/model.ts";
import { ResNet } from "../models/resnet.ts";
import { SGD } from "../optim/sgd.ts";
import { trainStep } from "../train/step.ts";

/** Median images/s over `steps` steps after one warm-up. */
export async function oursTrainThroughput(
  gpu: Gpu,
  blocks: number[],
  widths: number[],
  inC: number,
  size: number,
  classes: number,
  batch: number,
  steps: number,
): Promise<number> {
  const model = new Model(gpu, new ResNet(blocks, widths, { classes, inChannels: inC }), 0);
  const opt = new SGD(model.arena, [{ params: model.arena.params }], {
    lr: 0.01,
    momentum: 0.9,
    weightDecay: 5e-4,
  });
  const x = new Tensor(gpu, [batch, inC, size, size]);
  const r = new Recorder(gpu);
  fill(r, x, 0.5);
  await r.submit();
  const labels = upload(gpu, Array.from({ length: batch }, (_, i) => i % classes), [batch], "i32");
  await trainStep(model, opt, x, labels, 0);
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    await trainStep(model, opt, x, labels, s + 1);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  for (const t of [x, labels]) t.release();
  opt.release();
  model.release();
  return batch / (times[times.length >> 1] / 1000);
}
