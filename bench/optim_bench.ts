/**
 * `deno task bench` cases of the optimizers: one recorded update of a ResNet-18-like set of
 * parameters (ResNet-18's 62 tensors, 11.2M values) by each optimizer the training methods use —
 * SGD (the baseline), SGD with spectral-norm regularisation, LARS, LAMB, SGDP, Lookahead(SGD) and
 * SphereSGD — each iteration `reps` updates in one submit.
 * @module
 */
import { getGpu } from "../kernels/runtime/runtime.ts";
import { ParameterArena } from "../models/params.ts";
import { resnet18 } from "../models/resnet.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import { LAMB } from "../optim/lamb.ts";
import { LARS } from "../optim/lars.ts";
import { Lookahead } from "../optim/lookahead.ts";
import { SGD } from "../optim/sgd.ts";
import { SGDP } from "../optim/sgdp.ts";
import { SphereSGD } from "../optim/sphere.ts";
import { timedSteps } from "./_bench.ts";

const gpu = await getGpu();
const specs = resnet18({ classes: 10 }).modules("").flatMap((m) =>
  m.paramSpecs().map((s) => ({ name: m.qualified(s.name), shape: s.shape }))
);
const arena = new ParameterArena(gpu, specs);
const fillArena = (t: typeof arena.values, v: number) =>
  gpu.device.queue.writeBuffer(t.buffer, t.byteOffset, new Float32Array(t.size).fill(v));
fillArena(arena.values, 0.01);
fillArena(arena.grads, 0.001);
const all = [{ params: arena.params }];
const convs = arena.params.filter((p) => p.value.shape.length === 4);
const makers: [string, () => Optimizer][] = [
  ["SGD (momentum 0.9, wd)", () => new SGD(arena, all, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 })],
  [
    "SGD + SNR (5 power iterations)",
    () => new SGD(arena, all, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, spectralReg: { sg: 0.01 } }),
  ],
  ["LARS", () => new LARS(arena, all, { lr: 1, weightDecay: 5e-4 })],
  ["LAMB", () => new LAMB(arena, all, { lr: 0.01, weightDecay: 5e-4 })],
  ["SGDP", () => new SGDP(arena, all, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 })],
  [
    "Lookahead(SGD), k 1",
    () => new Lookahead(arena, new SGD(arena, all, { lr: 0.1, momentum: 0.9 }), { k: 1, alpha: 0.8 }),
  ],
  ["SphereSGD (fixed ELR, conv weights)", () => new SphereSGD(arena, convs, { elr: 1e-3, siNormSq: 1000 })],
];
for (const [name, make] of makers) {
  const opt = make();
  Deno.bench({
    name,
    group: "optimizer step, ResNet-18 parameters",
    baseline: name.startsWith("SGD ("),
    n: 3,
    warmup: 1,
    fn: async (b) => await timedSteps(gpu, b, 4, (rec) => opt.step(rec)),
  });
}
