/**
 * `deno task bench:tb`: what one TempBalance step costs next to an epoch of training, for the
 * small ResNet (Fashion-MNIST, 60000 images) and CIFAR ResNet-18 (CIFAR-10, 50000 images), both
 * at batch 128: the TB step (ESD of every Conv2d/Linear layer and the rates) timed by both ESD
 * paths — `readback` (weights read back, float64 CPU eigenvalues on software adapters) and `live`
 * (GPU Jacobi on the arena, metrics read back) — against the epoch time projected from the median
 * training step. Flags: `--skip-resnet18`, `--steps N` (timed steps, default 3).
 * @module
 */
import { parseArgs } from "node:util";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { Model } from "../models/model.ts";
import { resnet18, smallResNet } from "../models/resnet.ts";
import { TempBalance } from "../optim/tempbalance.ts";
import { SGD } from "../optim/sgd.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import { fill } from "../kernels/ops/fill.ts";
import { Tensor, upload } from "../kernels/runtime/tensor.ts";
import { trainStep } from "../train/step.ts";
import { median } from "./_measure.ts";

const a = parseArgs({ options: { "skip-resnet18": { type: "boolean" }, steps: { type: "string" } } }).values;
const steps = Number(a.steps ?? 3);
const gpu = await getGpu();
console.log(`device: ${gpu.description}`);

async function row(name: string, model: Model, shape: number[], images: number, batch = 128) {
  const tbTimes: Record<string, number> = {};
  for (const esd of ["readback", "live"] as const) {
    const tb = new TempBalance(model, { esd, onWarning: () => {} });
    const opt = new SGD(model.arena, tb.groupSpecs(0.1), { lr: 0.1, momentum: 0.9 });
    await tb.step(opt, 0.1); // warm-up (compiles)
    const t: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      // A step's cost: a fresh ESD (no cache key) and the rates (setting them on the groups is free).
      await tb.measure(0.1);
      t.push((performance.now() - t0) / 1000);
    }
    tbTimes[esd] = median(t);
    opt.release();
  }
  const opt = new SGD(model.arena, [{ params: model.arena.params }], { lr: 0.01, momentum: 0.9 });
  const x = new Tensor(gpu, [batch, ...shape]);
  const r = new Recorder(gpu);
  fill(r, x, 0.5);
  await r.submit();
  const labels = upload(gpu, Array.from({ length: batch }, (_, i) => i % 10), [batch], "i32");
  await trainStep(model, opt, x, labels, 0);
  const st: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    await trainStep(model, opt, x, labels, s + 1);
    st.push((performance.now() - t0) / 1000);
  }
  const step = median(st), epoch = step * Math.ceil(images / batch);
  const pct = (s: number) => `${(100 * s / (epoch + s)).toFixed(3)}%`;
  console.log(
    `${name}: step ${step.toFixed(3)} s → epoch ≈ ${epoch.toFixed(0)} s; TB step readback ${
      tbTimes.readback.toFixed(2)
    } s ` +
      `(${pct(tbTimes.readback)} of an epoch), live ${tbTimes.live.toFixed(2)} s (${pct(tbTimes.live)})`,
  );
  for (const t of [x, labels]) t.release();
  opt.release();
  model.release();
}

await row("small ResNet, Fashion-MNIST", new Model(gpu, smallResNet({ classes: 10 }), 0), [1, 28, 28], 60000);
if (!a["skip-resnet18"]) {
  await row("ResNet-18, CIFAR-10", new Model(gpu, resnet18({ classes: 10 }), 0), [3, 32, 32], 50000);
}
