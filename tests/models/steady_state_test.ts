/**
 * Steady state of every model family: after two warm-up steps, further training steps (and
 * evaluation passes) create no new GPU buffer and the pool's byte count stays flat — every tensor a
 * step makes is given back (the ownership rule of `models/module.ts`).
 */
import { equal } from "node:assert/strict";
import { upload } from "../../kernels/runtime/tensor.ts";
import { Model, predict } from "../../models/model.ts";
import { decoderConfig } from "../../models/transformer/config.ts";
import { Decoder } from "../../models/transformer/decoder.ts";
import { buildNetwork } from "../../models/zoo.ts";
import { AdamW } from "../../optim/adamw.ts";
import { SGD } from "../../optim/sgd.ts";
import { perplexity } from "../../train/lm_eval.ts";
import { lmTrainStep } from "../../train/lm_step.ts";
import { trainStep } from "../../train/step.ts";
import { gpu, gpuTest, randArray } from "../_helpers.ts";
import { Recorder } from "../../kernels/runtime/recorder.ts";
import { buildOperator, type OperatorConfig } from "../../models/operators/config.ts";
import { mseLoss } from "../../train/pde_task.ts";

/** Runs `step` 2 times to warm up, then 3 more; the pool must not grow over the last 3. */
async function assertFlat(what: string, step: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < 2; i++) await step(i);
  const created = gpu.pool.created, bytes = gpu.pool.bytes;
  for (let i = 2; i < 5; i++) await step(i);
  equal(gpu.pool.created - created, 0, `${what}: GPU buffers created after warm-up`);
  equal(gpu.pool.bytes - bytes, 0, `${what}: pool bytes grown after warm-up`);
}

const CNNS: [string, number, number][] = [
  // name, width, input size
  ["small", 1, 28],
  ["resnet18", 1 / 16, 32],
  ["vgg11", 1 / 16, 32],
  ["wrn16_8", 1 / 8, 32],
  ["convnet-si", 1 / 8, 32],
  ["convnet-si-af", 1 / 8, 32],
  ["resnet18-si", 1 / 16, 32],
];

for (const [name, width, size] of CNNS) {
  gpuTest(`${name}: training steps and evaluations allocate nothing after two warm-up steps`, async () => {
    const inC = size === 28 ? 1 : 3, B = 3;
    const model = new Model(gpu, buildNetwork(name, { classes: 4, inChannels: inC, size, width }), 1);
    const opt = new SGD(model.arena, [{ params: model.arena.params }], {
      lr: 0.01,
      momentum: 0.9,
      weightDecay: 5e-4,
    });
    const xs = randArray(B * inC * size * size, 5);
    await assertFlat(`${name} train`, async (i) => {
      const x = upload(gpu, xs, [B, inC, size, size]), y = upload(gpu, [0, 1, 3], [B], "i32");
      await trainStep(model, opt, x, y, i);
      x.release();
      y.release();
    });
    await assertFlat(`${name} eval`, async () => {
      const x = upload(gpu, xs, [B, inC, size, size]);
      await predict(model, x);
      x.release();
    });
    opt.release?.();
    model.release();
  });
}

const DECODERS: [string, Parameters<typeof decoderConfig>[0]][] = [
  ["GPT-2, dropout", { type: "gpt2", dropout: 0.1 }],
  ["GPT-2, no dropout", { type: "gpt2", dropout: 0 }],
  ["LLaMA, dropout", { type: "llama", dropout: 0.1 }],
  ["LLaMA, no dropout, tied", { type: "llama", dropout: 0, tied: true }],
  ["LLaMA GQA (4 heads, 2 kv), dropout", { type: "llama", kvHeads: 2, dropout: 0.1 }],
  ["LLaMA GQA (4 heads, 1 kv), no dropout", { type: "llama", kvHeads: 1, dropout: 0 }],
];

for (const [tag, partial] of DECODERS) {
  gpuTest(`${tag}: training steps and perplexity allocate nothing after two warm-up steps`, async () => {
    const V = 37, B = 3, T = 8;
    const c = decoderConfig({ vocab: V, positions: T, dim: 16, layers: 2, heads: 4, ffn: 24, ...partial });
    const decoder = new Decoder(gpu, c);
    const model = new Model(gpu, decoder, 1);
    const opt = new AdamW(model.arena, [{ params: model.arena.params }], { lr: 1e-3, maxNorm: 0.25 });
    const stream = Int32Array.from({ length: 200 }, (_, i) => (i * i + 7 * i) % V);
    await assertFlat(`${tag} train`, async (i) => {
      const inputs = stream.slice(i * 10, i * 10 + B * T);
      const targets = stream.slice(i * 10 + 1, i * 10 + 1 + B * T);
      await lmTrainStep(model, decoder, opt, { inputs, targets, batch: B, seqLen: T }, i);
    });
    await assertFlat(`${tag} perplexity`, async () => {
      await perplexity(model, stream.subarray(0, 50), T, 2);
    });
    opt.release?.();
    model.release();
  });
}

const OPERATORS: [string, OperatorConfig, number[], number[]][] = [
  ["fno2d", { model_type: "fno2d", num_channels: 1, modes1: 3, modes2: 3, width: 4, initial_step: 1 }, [
    3,
    10,
    12,
    3,
  ], [
    3,
    10,
    12,
    1,
  ]],
  ["fno1d", { model_type: "fno1d", num_channels: 1, modes: 4, width: 4, initial_step: 3 }, [3, 20, 4], [
    3,
    20,
    1,
  ]],
  ["unet2d", { model_type: "unet2d", in_channels: 1, out_channels: 1, init_features: 2 }, [2, 1, 16, 16], [
    2,
    1,
    16,
    16,
  ]],
];

for (const [name, config, xShape, yShape] of OPERATORS) {
  gpuTest(`${name}: training steps and evaluations allocate nothing after two warm-up steps`, async () => {
    const model = new Model(gpu, buildOperator(config), 1);
    const opt = new AdamW(model.arena, [{ params: model.arena.params }], {
      lr: 1e-3,
      weightDecay: 1e-4,
      decoupled: false,
    });
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    const xs = randArray(size(xShape), 6), ys = randArray(size(yShape), 7);
    await assertFlat(`${name} train`, async () => {
      const rec = new Recorder(gpu);
      const x = upload(gpu, xs, xShape), y = upload(gpu, ys, yShape);
      const pred = model.forward(rec, x, true);
      const l = mseLoss(rec, pred, y);
      model.backward(rec, l.grad);
      opt.step(rec);
      await rec.submit();
      for (const t of [x, y, pred, l.loss, l.grad]) t.release();
    });
    await assertFlat(`${name} eval`, async () => {
      const x = upload(gpu, xs, xShape);
      await predict(model, x);
      x.release();
    });
    opt.release();
    model.release();
  });
}
