import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { Recorder } from "../../kernels/runtime/recorder.ts";
import { readback, upload } from "../../kernels/runtime/tensor.ts";
import { fill } from "../../kernels/ops/fill.ts";
import { ConvNetSI } from "../../models/convnet_si.ts";
import { ResNet18SI } from "../../models/resnet_si.ts";
import { Model } from "../../models/model.ts";
import { type Parameter, ParameterArena } from "../../models/params.ts";
import { checkScaleInvariant, siParameters } from "../../models/si.ts";
import { SGD } from "../../optim/sgd.ts";
import { SphereSGD } from "../../optim/sphere.ts";
import { trainStep } from "../../train/step.ts";
import { compareOptimizer } from "./_harness.ts";
import { gpu, gpuTest, randArray } from "../_helpers.ts";

function batch(n: number, seed: number) {
  const x = upload(gpu, randArray(n * 28 * 28, seed), [n, 1, 28, 28]);
  const y = upload(gpu, Array.from({ length: n }, (_, i) => i % 10), [n], "i32");
  return { x, y };
}

/**
 * Loss and SI gradients of one batch (a frozen step), then again with the SI weights × 3.7.
 * NOTE: BatchNorm's eps (1e-5, as PyTorch and the reference) makes the invariance inexact by about
 * eps/var (~2e-5 of the loss here).
 */
async function scaledPair(model: Model, si: Parameter[], seed: number) {
  const { x, y } = batch(6, seed);
  const frozen = new SGD(model.arena, [{ params: model.arena.params, lr: 0 }], { lr: 0 });
  const a = await trainStep(model, frozen, x, y, 0);
  const gradsA = await readback(gpu, ...si.map((p) => p.grad));
  const values = await readback(gpu, ...si.map((p) => p.value));
  si.forEach((p, i) =>
    gpu.device.queue.writeBuffer(
      p.value.buffer,
      p.value.byteOffset,
      Float32Array.from(values[i], (v) => v * 3.7),
    )
  );
  const b = await trainStep(model, frozen, x, y, 1);
  const gradsB = await readback(gpu, ...si.map((p) => p.grad));
  for (const t of [x, y]) t.release();
  frozen.release();
  ok(Math.abs(a.loss - b.loss) <= 1e-4 * Math.abs(a.loss), `loss ${a.loss} vs scaled ${b.loss}`);
  return { gradsA, gradsB };
}

gpuTest(
  "ConvNetSI: the loss is unchanged when the SI weights are scaled by 3.7, and their gradient shrinks by 3.7",
  async () => {
    const model = new Model(gpu, new ConvNetSI({ classes: 10, inChannels: 1, size: 28, channels: 4 }), 3);
    const si = siParameters(model);
    deepEqual(si.map((p) => p.name), [
      "conv_layers.0.weight",
      "conv_layers.3.weight",
      "conv_layers.7.weight",
      "conv_layers.11.weight",
    ]);
    // The last layer starts at norm 10.
    const [fc] = await readback(gpu, model.arena.get("linear_layers.2.weight")!.value);
    ok(Math.abs(Math.hypot(...fc) - 10) < 1e-4, `last layer norm ${Math.hypot(...fc)}`);
    const { gradsA, gradsB } = await scaledPair(model, si, 1);
    si.forEach((p, i) => {
      const na = Math.hypot(...gradsA[i]), nb = Math.hypot(...gradsB[i]);
      ok(Math.abs(nb * 3.7 - na) <= 1e-3 * na, `${p.name}: ‖∇‖ ${na} vs scaled ${nb}·3.7`);
    });
    model.release();
  },
);

gpuTest(
  "ResNet18SI: every convolution is SI, jointly: the loss is unchanged when all of them are scaled by 3.7",
  async () => {
    const model = new Model(gpu, new ResNet18SI({ classes: 10, inChannels: 1, channels: 4 }), 6);
    const si = siParameters(model);
    equal(si.length, 20); // stem, 16 block convs, 3 shortcut convs
    ok(
      si.some((p) => p.name === "layer2.0.shortcut.1.weight") &&
        si.every((p) => !p.name.startsWith("linear")),
    );
    await scaledPair(model, si, 2);
    model.release();
  },
);

gpuTest(
  "SphereSGD (fixed ELR): ‖w_SI‖ stays ρ0 to 1e-5, the ELR in force is the requested one, the fixed last layer does not move",
  async () => {
    const model = new Model(gpu, new ConvNetSI({ classes: 10, inChannels: 1, size: 28, channels: 4 }), 4);
    const si = siParameters(model);
    const opt = await SphereSGD.create(model.arena, si, { elr: 1e-2, momentum: 0.9 });
    const fc0 = await readback(
      gpu,
      model.arena.get("linear_layers.2.weight")!.value,
      model.arena.get("linear_layers.2.bias")!.value,
    );
    for (let s = 0; s < 4; s++) {
      const { x, y } = batch(8, 10 + s);
      await trainStep(model, opt, x, y, s);
      x.release();
      y.release();
      const vals = await readback(gpu, ...si.map((p) => p.value));
      const norm = Math.sqrt(vals.reduce((t, v) => t + Array.from(v).reduce((u, z) => u + z * z, 0), 0));
      ok(Math.abs(norm - opt.rho0) <= 1e-5 * opt.rho0, `step ${s}: ‖w_SI‖ ${norm} vs ρ0 ${opt.rho0}`);
      const elr = await opt.elrInForce();
      ok(Math.abs(elr - 1e-2) <= 1e-5 * 1e-2, `step ${s}: ELR ${elr}`);
    }
    const fc1 = await readback(
      gpu,
      model.arena.get("linear_layers.2.weight")!.value,
      model.arena.get("linear_layers.2.bias")!.value,
    );
    deepEqual(fc1, fc0);
    opt.release();
    model.release();
  },
);

gpuTest(
  "SphereSGD matches SGD then one common rescale in float64; per filter, every filter keeps ρ_f",
  async () => {
    // SI: p0 (conv-like) and p2; p1 is a frozen non-SI tensor.
    const shapes = [[6, 4, 3, 3], [5], [9, 7]];
    const elr = 0.05;
    let S = 0;
    await compareOptimizer(
      shapes,
      (arena) => {
        const si = [arena.params[0], arena.params[2]];
        // ‖w_SI‖² of the harness's float32 initial values.
        S = [0, 2].reduce(
          (t, k) => t + randArray(arena.params[k].value.size, 100 + k).reduce((u, z) => u + z * z, 0),
          0,
        );
        return new SphereSGD(arena, si, { elr, siNormSq: S });
      },
      (p, g) => {
        const lr = elr * S;
        for (const k of [0, 2]) for (let i = 0; i < p[k].length; i++) p[k][i] -= lr * g[k][i];
        const n = Math.sqrt([0, 2].reduce((t, k) => t + p[k].reduce((u, z) => u + z * z, 0), 0));
        for (const k of [0, 2]) for (let i = 0; i < p[k].length; i++) p[k][i] *= Math.sqrt(S) / n;
      },
      { atol: 2e-6, rtol: 2e-5 },
    );
    // Per filter: every output channel of every SI tensor at sqrt(S / filters).
    const arena = new ParameterArena(gpu, shapes.map((s, i) => ({ name: `p${i}`, shape: s })));
    arena.params.forEach((p, i) =>
      gpu.device.queue.writeBuffer(
        p.value.buffer,
        p.value.byteOffset,
        Float32Array.from(randArray(p.value.size, 7 + i)),
      )
    );
    const si = [arena.params[0], arena.params[2]];
    const opt = await SphereSGD.create(arena, si, { elr, perFilter: true });
    const rec = new Recorder(gpu);
    fill(rec, arena.grads, 0.3);
    opt.step(rec);
    await rec.submit();
    const [a, b] = await readback(gpu, si[0].value, si[1].value);
    for (const [v, len] of [[a, 36], [b, 7]] as const) {
      for (let r = 0; r < v.length / len; r++) {
        const n = Math.hypot(...v.subarray(r * len, (r + 1) * len));
        ok(Math.abs(n - opt.rho0) <= 1e-5 * opt.rho0, `filter ${r}: ${n} vs ${opt.rho0}`);
      }
    }
    opt.release();
    arena.release();
  },
);

gpuTest("SphereSGD and the SI check refuse bad input with the option or parameter named", () => {
  const model = new Model(gpu, new ConvNetSI({ classes: 10, inChannels: 1, size: 28, channels: 4 }), 5);
  const si = siParameters(model);
  throws(() => new SphereSGD(model.arena, si, { elr: 0, siNormSq: 1 }), /elr must be a number > 0, got 0/);
  throws(() => new SphereSGD(model.arena, si, { elr: -1e-3, siNormSq: 1 }), /elr must be a number > 0/);
  throws(
    () => new SphereSGD(model.arena, si, { elr: 1e-3, lr: 0.1, siNormSq: 1 }),
    /exactly one of elr .* and lr/,
  );
  throws(
    () => checkScaleInvariant(model, ["conv_layers.0.weight", "linear_layers.2.weight"]),
    /Parameter "linear_layers\.2\.weight" is not scale-invariant: only the weight of a bias-free Conv2d followed by a BatchNorm2d/,
  );
  equal(checkScaleInvariant(model, ["conv_layers.3.weight"])[0].name, "conv_layers.3.weight");
  model.release();
});

gpuTest("SphereSGD.forModel() refuses a non-SI parameter in the SI group, naming it", async () => {
  const model = new Model(gpu, new ConvNetSI({ classes: 10, inChannels: 1, size: 28, channels: 4 }), 5);
  await rejects(
    () => SphereSGD.forModel(model, { elr: 1e-3 }, ["conv_layers.0.weight", "linear_layers.2.bias"]),
    /Parameter "linear_layers\.2\.bias" is not scale-invariant/,
  );
  const opt = await SphereSGD.forModel(model, { elr: 1e-3 });
  equal(opt.si.length, 4);
  opt.release();
  model.release();
});

gpuTest("new SphereSGD() without ρ0² says how to get it", () => {
  const model = new Model(gpu, new ConvNetSI({ classes: 10, inChannels: 1, size: 28, channels: 4 }), 5);
  throws(
    () => new SphereSGD(model.arena, siParameters(model), { elr: 1e-3 }),
    /SphereSGD: give siNormSq \(ρ0²\), or build it with SphereSGD\.create\(\) \/ forModel\(\)/,
  );
  model.release();
});
