import { equal, ok, rejects } from "node:assert/strict";
import { upload } from "../kernels/runtime/tensor.ts";
import { Model } from "../models/model.ts";
import { ResNet } from "../models/resnet.ts";
import { SGD } from "../optim/sgd.ts";
import { NonFiniteLossError, trainStep } from "../train/step.ts";
import { gpu, rng } from "./_helpers.ts";
import { gpuTest } from "./_helpers.ts";

gpuTest("a training step is one submit, and 30 steps on a separable toy task cut the loss", async () => {
  const model = new Model(gpu, new ResNet([1, 1], [8, 16], { classes: 2, inChannels: 1 }), 1);
  const opt = new SGD(model.arena, [{ params: model.arena.params }], {
    lr: 0.05,
    momentum: 0.9,
    weightDecay: 5e-4,
  });
  // Class 0: bright top half; class 1: bright bottom half.
  const r = rng(3), N = 16;
  const xs = new Float32Array(N * 64), ys: number[] = [];
  for (let n = 0; n < N; n++) {
    const y = n % 2;
    ys.push(y);
    for (let i = 0; i < 64; i++) xs[n * 64 + i] = ((i < 32) === (y === 0) ? 1 : 0) + 0.3 * (r() - 0.5);
  }
  const x = upload(gpu, xs, [N, 1, 8, 8]), labels = upload(gpu, ys, [N], "i32");
  const before = gpu.stats.submits;
  const first = await trainStep(model, opt, x, labels, 0);
  equal(gpu.stats.submits - before, 2); // the step, and the readback of loss and accuracy
  let last = first;
  let created = 0;
  for (let s = 1; s < 30; s++) {
    last = await trainStep(model, opt, x, labels, s);
    if (s === 2) created = gpu.pool.created;
  }
  equal(gpu.pool.created, created, "no GPU buffer is allocated in steady state");
  ok(last.loss < first.loss * 0.5, `loss ${first.loss} → ${last.loss}`);
  ok(last.correct === N, `correct ${last.correct}/${N}`);
});

gpuTest("a NaN loss stops the step with an error naming the step", async () => {
  const model = new Model(gpu, new ResNet([1], [4], { classes: 3, inChannels: 1 }), 2);
  const opt = new SGD(model.arena, [{ params: model.arena.params }], { lr: 0.1 });
  const xs = new Float32Array(2 * 16).fill(1);
  xs[5] = NaN;
  const err = await rejects(
    () => trainStep(model, opt, upload(gpu, xs, [2, 1, 4, 4]), upload(gpu, [0, 1], [2], "i32"), 41),
    (e: Error) => e instanceof NonFiniteLossError && /Loss is NaN at step 41/.test(e.message),
  );
  void err;
});
