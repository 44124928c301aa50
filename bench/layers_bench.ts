/**
 * `deno task bench` cases of the training kernels: conv2d forward/backward, BatchNorm train
 * forward/backward, max pooling, softmax cross-entropy and the fused SGD update, at the shapes of
 * the small Fashion-MNIST ResNet (batch 128) and a CIFAR ResNet-18 stage (batch 32). Each
 * iteration records the op `reps` times into one submit and waits once; a name ending in `×reps`
 * says how many passes one iteration times (and its GB or GFLOP count them all).
 * @module
 */
import { batchNorm, batchNormBackward } from "../kernels/nn/batchnorm.ts";
import { conv2d, conv2dBackward } from "../kernels/nn/conv2d/conv2d.ts";
import { crossEntropy } from "../kernels/nn/cross_entropy.ts";
import { maxPool2d } from "../kernels/nn/pooling.ts";
import { relu, reluBackward } from "../kernels/ops/relu.ts";
import type { Recorder } from "../kernels/runtime/recorder.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { type Tensor, upload } from "../kernels/runtime/tensor.ts";
import { ParameterArena } from "../models/params.ts";
import { SGD } from "../optim/sgd.ts";
import { filled as filledOn, timedSteps } from "./_bench.ts";

const gpu = await getGpu();

const filled = (shape: number[], v: number): Promise<Tensor> => filledOn(gpu, shape, v);
const timed = (b: Deno.BenchContext, reps: number, record: (rec: Recorder) => void) =>
  timedSteps(gpu, b, reps, record);

for (const [B, C, H] of [[128, 16, 28], [32, 128, 16]]) {
  const x = await filled([B, C, H, H], 0.5),
    w = await filled([C, C, 3, 3], 0.01),
    dy = await filled([B, C, H, H], 0.1);
  const gflop = (2 * B * C * C * 9 * H * H) / 1e9;
  const group = `layers B${B} C${C} ${H}×${H}`;
  Deno.bench({
    name: `conv2d fwd 3×3 (${gflop.toFixed(2)} GFLOP)`,
    group,
    baseline: true,
    n: 3,
    warmup: 1,
    fn: async (b) =>
      await timed(
        b,
        1,
        (rec) => rec.after(((y) => () => y.release())(conv2d(rec, x, w, null, { padding: 1 }))),
      ),
  });
  Deno.bench({
    name: `conv2d bwd data+filter (${(2 * gflop).toFixed(2)} GFLOP)`,
    group,
    n: 3,
    warmup: 1,
    fn: async (b) =>
      await timed(b, 1, (rec) => {
        const g = conv2dBackward(rec, x, w, dy, { padding: 1 });
        rec.after(() => [g.dx!, g.dw].forEach((t) => t.release()));
      }),
  });
  const st = { weight: await filled([C], 1), bias: await filled([C], 0), running: await filled([2, C], 1) };
  Deno.bench({
    name: `batchnorm train fwd+bwd ×4 (${((4 * B * C * H * H * 4 * 6) / 1e9).toFixed(2)} GB moved)`,
    group,
    n: 3,
    warmup: 1,
    fn: async (b) =>
      await timed(b, 4, (rec) => {
        const r = batchNorm(rec, x, st, true);
        const g = batchNormBackward(rec, x, dy, r.saved!, st.weight);
        rec.after(() => [r.y, r.saved!, g.dx, g.dweight!, g.dbias!].forEach((t) => t.release()));
      }),
  });
  // BatchNorm then ReLU as separate passes (forward and backward) against the fused BatchNorm.
  Deno.bench({
    name: "batchnorm + relu fwd+bwd, separate ×4",
    group: `${group} bn+relu`,
    baseline: true,
    n: 3,
    warmup: 1,
    fn: async (b) =>
      await timed(b, 4, (rec) => {
        const r = batchNorm(rec, x, st, true);
        const a = relu(rec, r.y);
        const d = reluBackward(rec, dy, r.y);
        const g = batchNormBackward(rec, x, d, r.saved!, st.weight);
        rec.after(() => [r.y, a, d, r.saved!, g.dx, g.dweight!, g.dbias!].forEach((t) => t.release()));
      }),
  });
  Deno.bench({
    name: "batchnorm + relu fwd+bwd, fused ×4",
    group: `${group} bn+relu`,
    n: 3,
    warmup: 1,
    fn: async (b) =>
      await timed(b, 4, (rec) => {
        const r = batchNorm(rec, x, { ...st, relu: true }, true);
        const g = batchNormBackward(rec, x, dy, r.saved!, st.weight, "bn", { relu: { bias: st.bias } });
        rec.after(() => [r.y, r.saved!, g.dx, g.dweight!, g.dbias!].forEach((t) => t.release()));
      }),
  });
  Deno.bench({
    name: "maxpool 2×2 ×4",
    group,
    n: 3,
    warmup: 1,
    fn: async (b) =>
      await timed(b, 4, (rec) => {
        const r = maxPool2d(rec, x, { kernel: 2 });
        rec.after(() => [r.y, r.argmax].forEach((t) => t.release()));
      }),
  });
}

const logits = await filled([1024, 100], 0.3),
  labels = upload(gpu, Array.from({ length: 1024 }, (_, i) => i % 100), [1024], "i32");
Deno.bench({
  name: "cross-entropy fwd+bwd 1024×100 ×16",
  group: "loss and update",
  n: 5,
  warmup: 1,
  fn: async (b) =>
    await timed(b, 16, (rec) => {
      const r = crossEntropy(rec, logits, labels);
      rec.after(() => [r.loss, r.correct, r.grad].forEach((t) => t.release()));
    }),
});
const arena = new ParameterArena(gpu, [{ name: "w", shape: [11_000_000] }]);
const opt = new SGD(arena, [{ params: arena.params }], { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
Deno.bench({
  name: "SGD fused update, 11M parameters (ResNet-18) ×4",
  group: "loss and update",
  n: 5,
  warmup: 1,
  fn: async (b) => await timed(b, 4, (rec) => opt.step(rec)),
});

// The convolution algorithms side by side (interleaved by deno bench): im2col at ResNet-18 stage
// shapes at batch 32 and its 1×1 stride-2 projection, direct at the small ResNet's narrow layers
// at batch 128 — the A/Bs behind conv2d's default choice.
const ALGORITHM_CASES: [number, number, number, number, number, number, "im2col" | "direct"][] = [
  [32, 64, 32, 64, 3, 1, "im2col"],
  [32, 256, 8, 256, 3, 1, "im2col"],
  [32, 128, 16, 256, 1, 2, "im2col"],
  [128, 8, 28, 8, 3, 1, "direct"],
  [128, 16, 14, 16, 3, 1, "direct"],
  [128, 32, 7, 32, 3, 1, "direct"],
  [128, 8, 28, 16, 3, 2, "direct"],
];
for (const [B, C, H, O, k, s, other] of ALGORITHM_CASES) {
  const OH = Math.floor((H + 2 * (k >> 1) - k) / s) + 1;
  const x = await filled([B, C, H, H], 0.5), w = await filled([O, C, k, k], 0.01);
  const dy = await filled([B, O, OH, OH], 0.1);
  const opts = { stride: s, padding: k >> 1 };
  const group = `conv2d algorithms ${B}×${C}×${H}² → ${O} k${k} s${s}`;
  for (const algorithm of ["implicit", other] as const) {
    Deno.bench({
      name: `fwd ${algorithm}`,
      group,
      baseline: algorithm === "implicit",
      n: 3,
      warmup: 1,
      fn: async (b) =>
        await timed(
          b,
          1,
          (rec) => rec.after(((y) => () => y.release())(conv2d(rec, x, w, null, { ...opts, algorithm }))),
        ),
    });
    Deno.bench({
      name: `bwd ${algorithm}`,
      group,
      n: 3,
      warmup: 1,
      fn: async (b) =>
        await timed(b, 1, (rec) => {
          const g = conv2dBackward(rec, x, w, dy, { ...opts, algorithm });
          rec.after(() => [g.dx!, g.dw].forEach((t) => t.release()));
        }),
    });
  }
}
