/**
 * PDEBench's UNet2d: forward and every parameter's gradient against the float64 reference network,
 * state-dict names as PyTorch's `UNet2d`, save → load identical.
 * @module
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { Recorder } from "../../kernels/runtime/recorder.ts";
import { readback, upload } from "../../kernels/runtime/tensor.ts";
import { parseSafetensors, writeSafetensors } from "../../io/safetensors.ts";
import { Model } from "../../models/model.ts";
import { UNet2d } from "../../models/operators/unet.ts";
import { ref } from "../reference/kernels.ts";
import { RefNet } from "./_refnet.ts";
import { assertNear, gpu, gpuTest, randArray } from "../_helpers.ts";

function absMax(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

gpuTest(
  "UNet2d forward and every parameter's gradient match the float64 reference (train mode, batch statistics)",
  async () => {
    const model = new Model(gpu, new UNet2d(2, 1, 2), 4);
    const xShape = [2, 2, 16, 32];
    const xv = randArray(xShape.reduce((a, b) => a * b), 21);
    const dyv = randArray(2 * 16 * 32, 22);
    const rec = new Recorder(gpu);
    const x = upload(gpu, xv, xShape), dy = upload(gpu, dyv, [2, 1, 16, 32]);
    const y = model.forward(rec, x, true);
    model.backward(rec, dy);
    await rec.submit();
    const [got, ...grads] = await readback(gpu, y, ...model.arena.params.map((p) => p.grad));
    const values = await readback(gpu, ...model.arena.params.map((p) => p.value));
    const net = new RefNet(
      new Map(model.arena.params.map((p, i) => [p.name, ref(values[i], [...p.value.shape])])),
    );
    const z = net.forward(model.root, ref(xv, xShape));
    net.backward(model.root, ref(dyv, [2, 1, 16, 32]));
    assertNear("y", got, z.data, 1e-4 * absMax(z.data), 0);
    const globalMax = Math.max(...model.arena.params.map((p) => absMax(net.grads.get(p.name)!)));
    model.arena.params.forEach((p, i) => {
      const want = net.grads.get(p.name)!;
      assertNear(`grad ${p.name}`, grads[i], want, 2e-3 * Math.max(absMax(want), 1e-3 * globalMax), 0);
    });
    for (const t of [x, dy, y]) t.release();
    model.release();
  },
);

gpuTest(
  "UNet2d: PyTorch's state-dict names, BatchNorm buffers, save → load identical; bad grids refused",
  async () => {
    const a = new Model(gpu, new UNet2d(1, 1, 4), 1);
    const names = a.stateEntries().map((e) => e.name);
    equal(names.length, 4 * 2 * 6 + 2 * 6 + 4 * 2 + 4 * 2 * 6 + 2);
    deepEqual(names.slice(0, 7), [
      "encoder1.enc1conv1.weight",
      "encoder1.enc1norm1.weight",
      "encoder1.enc1norm1.bias",
      "encoder1.enc1norm1.running_mean",
      "encoder1.enc1norm1.running_var",
      "encoder1.enc1norm1.num_batches_tracked",
      "encoder1.enc1conv2.weight",
    ]);
    ok(names.includes("bottleneck.bottleneckconv2.weight") && names.includes("upconv4.weight"));
    ok(names.includes("decoder1.dec1norm2.running_var") && names.at(-1) === "conv.bias");
    deepEqual(a.stateEntries().find((e) => e.name === "upconv4.weight")!.shape, [64, 32, 2, 2]);
    const state = await a.stateDict();
    const b = new Model(gpu, new UNet2d(1, 1, 4), 2);
    b.loadStateDict(parseSafetensors(writeSafetensors(state), "unet.safetensors").tensors);
    (await b.stateDict()).forEach((t, i) => deepEqual(Array.from(t.data), Array.from(state[i].data), t.name));
    const rec = new Recorder(gpu);
    const x = upload(gpu, new Float32Array(24 * 24), [1, 1, 24, 24]);
    throws(
      () => a.forward(rec, x, false),
      /UNet2d: expected input \(B, 1, H, W\) with H and W multiples of 16, got \[1,1,24,24\]/,
    );
    x.release();
    a.release();
    b.release();
  },
);
