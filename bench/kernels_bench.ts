/**
 * `deno task bench`: kernel timings on this adapter. Each iteration records `reps` dispatches into
 * one submit and waits once, so the ~11 ms sync is amortised; the name gives the work per
 * iteration, so GFLOP/s = GFLOP ÷ time and GB/s = GB ÷ time. Peer comparisons (tfjs-webgpu) are
 * in `deno task bench:peers`.
 * @module
 */
import { add } from "../kernels/ops/binary.ts";
import { addRelu, relu } from "../kernels/ops/relu.ts";
import { fill } from "../kernels/ops/fill.ts";
import { transpose } from "../kernels/ops/gather.ts";
import { matmul, type MatmulVariant } from "../kernels/linalg/matmul.ts";
import type { Recorder } from "../kernels/runtime/recorder.ts";
import { sum } from "../kernels/ops/reduce.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import type { Tensor } from "../kernels/runtime/tensor.ts";
import { filled as filledOn, timedSteps } from "./_bench.ts";

const gpu = await getGpu();

const filled = (shape: number[], v: number): Promise<Tensor> => filledOn(gpu, shape, v);
const timed = (b: Deno.BenchContext, record: (rec: Recorder) => void) => timedSteps(gpu, b, 1, record);

for (const n of [64, 128, 256, 512, 1024]) {
  const reps = Math.max(2, Math.round(1e9 / (2 * n ** 3)));
  const a = await filled([n, n], 0.5), c = await filled([n, n], 0);
  for (const variant of ["direct", "scalar", "tiled"] as MatmulVariant[]) {
    Deno.bench({
      name: `matmul ${variant} ${n}³ ×${reps} (${(2 * n ** 3 * reps / 1e9).toFixed(2)} GFLOP)`,
      group: `matmul ${n}`,
      baseline: variant === "direct",
      n: 5,
      warmup: 1,
      fn: async (b) =>
        await timed(b, (rec) => {
          for (let i = 0; i < reps; i++) matmul(rec, a, a, { out: c, variant });
        }),
    });
  }
}

// A Gram matrix AᵀA (the analyzer's CPU path): every tile against the lower-triangle tiles only
// (`lower`, visited in scattered order), at a TinyLlama MLP shape cut to 2816×1024.
{
  const [K, n] = [2816, 1024];
  const w = await filled([K, n], 0.5);
  const g = await filled([n, n], 0);
  for (const lower of [false, true]) {
    Deno.bench({
      name: `gram ${K}×${n} ${lower ? "lower" : "full"} (${(2 * K * n * n / 1e9).toFixed(2)} GFLOP full)`,
      group: "gram",
      baseline: !lower,
      n: 5,
      warmup: 1,
      fn: async (b) => await timed(b, (rec) => void matmul(rec, w, w, { transA: true, out: g, lower })),
    });
  }
}

// The residual sum and its ReLU: two passes (in-place add, then relu) against the fused one, at the
// size of ResNet-18's first stage at batch 32 (32×64×32×32).
{
  const n = 1 << 21, reps = 8;
  const h = await filled([n], 0.5), sc = await filled([n], -0.25);
  Deno.bench({
    name: `residual add + relu, two passes ×${reps}`,
    group: "residual add + relu",
    baseline: true,
    n: 5,
    warmup: 1,
    fn: async (b) =>
      await timed(b, (rec) => {
        for (let i = 0; i < reps; i++) {
          add(rec, h, sc, h);
          rec.after(((y) => () => y.release())(relu(rec, h)));
        }
      }),
  });
  Deno.bench({
    name: `residual add + relu, fused (addRelu) ×${reps}`,
    group: "residual add + relu",
    n: 5,
    warmup: 1,
    fn: async (b) =>
      await timed(b, (rec) => {
        for (let i = 0; i < reps; i++) rec.after(((y) => () => y.release())(addRelu(rec, h, sc)));
      }),
  });
}

for (const n of [1 << 16, 1 << 20, 1 << 22]) {
  const x = await filled([n], 1), y = await filled([n], 2), z = await filled([n], 0);
  const reps = Math.max(2, Math.round(2 ** 26 / n));
  Deno.bench({
    name: `add ${n} ×${reps} (${(12 * n * reps / 1e9).toFixed(2)} GB)`,
    group: "elementwise",
    n: 5,
    warmup: 1,
    fn: async (b) =>
      await timed(b, (rec) => {
        for (let i = 0; i < reps; i++) add(rec, x, y, z);
      }),
  });
  Deno.bench({
    name: `sum ${n} ×${reps} (${(4 * n * reps / 1e9).toFixed(2)} GB)`,
    group: "reduce",
    n: 5,
    warmup: 1,
    fn: async (b) =>
      await timed(b, (rec) => {
        for (let i = 0; i < reps; i++) rec.after(((t) => () => t.release())(sum(rec, x)));
      }),
  });
}

const m = await filled([1024, 1024], 1);
Deno.bench({
  name: "transpose 1024² ×16 (0.13 GB)",
  group: "gather",
  n: 5,
  warmup: 1,
  fn: async (b) =>
    await timed(b, (rec) => {
      for (let i = 0; i < 16; i++) rec.after(((t) => () => t.release())(transpose(rec, m)));
    }),
});

const x1 = await filled([64], 0);
Deno.bench({
  name: "submit: one 1-dispatch step, waited",
  group: "runtime",
  n: 20,
  warmup: 2,
  fn: async (b) => await timed(b, (rec) => fill(rec, x1, 0)),
});
Deno.bench({
  name: "dispatch: 1000 dispatches in one step, waited",
  group: "runtime",
  n: 5,
  warmup: 1,
  fn: async (b) =>
    await timed(b, (rec) => {
      for (let i = 0; i < 1000; i++) fill(rec, x1, i);
    }),
});
