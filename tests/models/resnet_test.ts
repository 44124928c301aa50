import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { crossEntropy } from "../../kernels/cross_entropy.ts";
import { Recorder } from "../../kernels/recorder.ts";
import { ref } from "../../kernels/reference.ts";
import { readback, upload } from "../../kernels/tensor.ts";
import { parseSafetensors, writeSafetensors } from "../../io/safetensors.ts";
import { Model } from "../../models/model.ts";
import { ResNet, resnet18 } from "../../models/resnet.ts";
import { assertNear, gpu, randArray } from "../_helpers.ts";
import { crossEntropyRef, RefNet } from "./_refnet.ts";

async function compare(model: Model, xShape: number[], labels: number[], tolerance: number): Promise<void> {
  const xv = randArray(xShape.reduce((a, b) => a * b), 5);
  const x = upload(gpu, xv, xShape);
  const rec = new Recorder(gpu);
  const logits = model.forward(rec, x, true);
  const ce = crossEntropy(rec, logits, upload(gpu, labels, [labels.length], "i32"));
  model.backward(rec, ce.grad);
  await rec.submit();
  const got = await readback(gpu, logits, ce.loss, ...model.arena.params.map((p) => p.grad));
  // The float64 network with the same (float32-rounded) parameters.
  const values = await readback(gpu, ...model.arena.params.map((p) => p.value));
  const params = new Map(model.arena.params.map((p, i) => [p.name, ref(values[i], [...p.value.shape])]));
  const net = new RefNet(params);
  const z = net.forward(model.root, ref(xv, xShape));
  const { loss, grad } = crossEntropyRef(z, labels);
  net.backward(model.root, grad);
  const absMax = (a: ArrayLike<number>) => {
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
    return m;
  };
  const zmax = absMax(z.data);
  assertNear("logits", got[0], z.data, tolerance * zmax, 0);
  assertNear("loss", got[1], [loss], tolerance * loss, 0);
  model.arena.params.forEach((p, i) => {
    const want = net.grads.get(p.name)!;
    const scale = Math.max(absMax(want), 1e-12);
    assertNear(`grad ${p.name}`, got[2 + i], want, tolerance * scale, 0);
  });
}

Deno.test("a small ResNet's forward and backward match the float64 reference network", async () => {
  const model = new Model(gpu, new ResNet([1, 1], [4, 8], { classes: 5, inChannels: 3 }), 7);
  // Tolerance: 1e-3 of each tensor's largest magnitude (float32 through ~10 layers with BatchNorm).
  await compare(model, [3, 3, 8, 8], [0, 4, 2], 1e-3);
});

Deno.test("ResNet-18 (CIFAR, full width) forward + backward on a tiny batch matches float64", async () => {
  const model = new Model(gpu, resnet18({ classes: 10 }), 3);
  equal(model.arena.params.length, 62);
  // 2 images of 16×16: every stage runs (16 → 8 → 4 → 2). Tolerance 2e-3 of each tensor's max.
  await compare(model, [2, 3, 16, 16], [3, 8], 2e-3);
});

Deno.test("state dict: PyTorch names and shapes, round trip through safetensors, strict errors list every problem", async () => {
  const model = new Model(gpu, new ResNet([1, 1], [4, 8], { classes: 5 }), 1);
  const state = await model.stateDict();
  const names = state.map((t) => t.name);
  ok(
    names.includes("conv1.weight") && names.includes("layer2.0.downsample.0.weight") &&
      names.includes("layer1.0.bn1.running_mean"),
  );
  ok(names.includes("layer2.0.downsample.1.num_batches_tracked") && names.includes("fc.bias"));
  deepEqual(state.find((t) => t.name === "fc.weight")!.shape, [5, 8]);
  const bytes = writeSafetensors(state);
  const other = new Model(gpu, new ResNet([1, 1], [4, 8], { classes: 5 }), 2);
  other.loadStateDict(parseSafetensors(bytes).tensors);
  const a = await model.stateDict(), b = await other.stateDict();
  a.forEach((t, i) => assertNear(t.name, b[i].data, t.data, 0, 0));
  const broken = parseSafetensors(bytes).tensors.filter((t) => t.name !== "fc.bias").map((t) =>
    t.name === "conv1.weight" ? { ...t, shape: [4, 3, 1, 1] } : t
  );
  broken.push({ ...broken[0], name: "extra.weight" });
  throws(
    () => other.loadStateDict(broken),
    /missing: fc\.bias \| unexpected: extra\.weight \| wrong shape: conv1\.weight: expected \[4,3,3,3\], got \[4,3,1,1\]/,
  );
  other.loadStateDict(broken.filter((t) => t.name !== "conv1.weight"), { strict: false });
});
