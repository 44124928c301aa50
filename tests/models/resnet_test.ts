import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { crossEntropy } from "../../kernels/nn/cross_entropy.ts";
import { Recorder } from "../../kernels/runtime/recorder.ts";
import { ref } from "../reference/kernels.ts";
import { readback, upload } from "../../kernels/runtime/tensor.ts";
import { parseSafetensors, writeSafetensors } from "../../io/safetensors.ts";
import { Model } from "../../models/model.ts";
import { ResNet, resnet18 } from "../../models/resnet.ts";
import { VGG } from "../../models/vgg.ts";
import { WideResNet } from "../../models/wrn.ts";
import { assertNear, gpu, gpuTest, randArray } from "../_helpers.ts";
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
  // Each gradient within tolerance × its own largest magnitude — floored at 1e-3 of the largest
  // gradient anywhere, since some are exactly zero in exact arithmetic (a conv bias before
  // BatchNorm) and float32 leaves ~1e-7 there.
  const globalMax = Math.max(...model.arena.params.map((p) => absMax(net.grads.get(p.name)!)));
  model.arena.params.forEach((p, i) => {
    const want = net.grads.get(p.name)!;
    const scale = Math.max(absMax(want), 1e-3 * globalMax);
    assertNear(`grad ${p.name}`, got[2 + i], want, tolerance * scale, 0);
  });
}

gpuTest("a small ResNet's forward and backward match the float64 reference network", async () => {
  const model = new Model(gpu, new ResNet([1, 1], [4, 8], { classes: 5, inChannels: 3 }), 7);
  // Tolerance: 1e-3 of each tensor's largest magnitude (float32 through ~10 layers with BatchNorm).
  await compare(model, [3, 3, 8, 8], [0, 4, 2], 1e-3);
});

gpuTest("ResNet-18 (CIFAR, full width) forward + backward on a tiny batch matches float64", async () => {
  const model = new Model(gpu, resnet18({ classes: 10 }), 3);
  equal(model.arena.params.length, 62);
  // 2 images of 16×16: every stage runs (16 → 8 → 4 → 2). Tolerance 2e-3 of each tensor's max.
  await compare(model, [2, 3, 16, 16], [3, 8], 2e-3);
});

gpuTest("VGG-11 (narrow) and WRN-10-2 forward + backward match float64; names as PyTorch", async () => {
  const vgg = new Model(gpu, new VGG("vgg11", { classes: 4, width: 1 / 16 }), 5);
  ok(
    vgg.arena.get("features.0.weight") && vgg.arena.get("features.1.weight") &&
      vgg.arena.get("classifier.weight"),
  );
  await compare(vgg, [2, 3, 32, 32], [1, 3], 1e-3);
  const wrn = new Model(gpu, new WideResNet(10, 2, { classes: 3 }), 6);
  ok(
    wrn.arena.get("block1.layer.0.bn1.weight") && wrn.arena.get("block2.layer.0.convShortcut.weight") &&
      wrn.arena.get("fc.weight"),
  );
  await compare(wrn, [2, 3, 8, 8], [0, 2], 1e-3);
});

gpuTest(
  "Bottleneck blocks (identity and projection shortcuts) match float64 inside a Sequential",
  async () => {
    const { Bottleneck } = await import("../../models/resnet.ts");
    const { Sequential } = await import("../../models/module.ts");
    const { GlobalAvgPool, Linear } = await import("../../models/layers.ts");
    const net = new Sequential(
      new Bottleneck(3, 2, 2),
      new Bottleneck(8, 2, 1),
      new GlobalAvgPool(),
      new Linear(8, 3),
    );
    const model = new Model(gpu, net, 4);
    ok(model.arena.get("0.downsample.0.weight") && model.arena.get("1.conv3.weight"));
    await compare(model, [2, 3, 6, 6], [0, 2], 1e-3);
  },
);

gpuTest(
  "state dict: PyTorch names and shapes, round trip through safetensors, strict errors list every problem",
  async () => {
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
  },
);

gpuTest(
  "saveModel()/loadModel() round-trip through a safetensors file; WRN-16-8 and 28-10 build with PyTorch sizes",
  async () => {
    const { loadModel, saveModel } = await import("../../models/io.ts");
    const dir = await Deno.makeTempDir();
    const a = new Model(gpu, new ResNet([1], [8], { classes: 3 }), 1),
      b = new Model(gpu, new ResNet([1], [8], { classes: 3 }), 2);
    await saveModel(a, `${dir}/m.safetensors`);
    await loadModel(b, `${dir}/m.safetensors`);
    const [sa, sb] = [await a.stateDict(), await b.stateDict()];
    sa.forEach((t, i) => assertNear(t.name, sb[i].data, t.data, 0, 0));
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["m.safetensors"]); // no temporary file left
    await Deno.remove(dir, { recursive: true });
    const count = (m: Model) => m.arena.params.reduce((s, p) => s + p.value.size, 0);
    const w168 = new Model(gpu, new WideResNet(16, 8, { classes: 10 }), 0);
    equal(count(w168), 10961370); // PyTorch's WRN-16-8 on CIFAR-10
    w168.release();
    const r18 = new Model(gpu, resnet18({ classes: 10 }), 0);
    equal(count(r18), 11173962); // torchvision-style CIFAR ResNet-18
    r18.release();
  },
);

gpuTest(
  "only a convolution that reads the input batch first skips dL/dx (Module.readsNetworkInput)",
  async () => {
    const { Bottleneck } = await import("../../models/resnet.ts");
    const { Sequential } = await import("../../models/module.ts");
    const { BatchNorm2d, Conv2d, GlobalAvgPool, Linear } = await import("../../models/layers.ts");
    const { ResNet18SI } = await import("../../models/resnet_si.ts");
    const skipped = (root: import("../../models/module.ts").Module) => {
      const model = new Model(gpu, root, 1);
      const names = model.modules.filter((m) => m instanceof Conv2d && !m.inputGrad).map((m) => m.name);
      model.release();
      return names;
    };
    deepEqual(skipped(new ResNet([1, 1], [4, 8], { classes: 3, inChannels: 3 })), ["conv1"]);
    deepEqual(skipped(new WideResNet(10, 1, { classes: 3 })), ["conv1"]);
    deepEqual(skipped(new ResNet18SI({ channels: 4 })), ["conv1"]);
    // A residual block reads its input twice (main path and shortcut): every gradient is kept.
    deepEqual(skipped(new Sequential(new Bottleneck(3, 2, 2), new GlobalAvgPool(), new Linear(8, 3))), []);
    // A BatchNorm first: the convolution after it reads the BN's output, whose gradient BN needs.
    deepEqual(
      skipped(new Sequential(new BatchNorm2d(3), new Conv2d(3, 4, 3, 1, 1), new GlobalAvgPool())),
      [],
    );
    deepEqual(skipped(new Sequential(new Sequential(new Conv2d(3, 4, 3, 1, 1)), new GlobalAvgPool())), [
      "0.0",
    ]);
  },
);
