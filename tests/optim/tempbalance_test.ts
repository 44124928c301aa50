import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { assignRates } from "../../optim/tb_assign.ts";
import { modulesOfModel, modulesOfStateDict, spectralSlices } from "../../optim/tb_modules.ts";
import { Fno } from "../../models/operators/fno.ts";
import { planTempBalance } from "../../optim/tb_plan.ts";
import { TempBalance } from "../../optim/tempbalance.ts";
import { layerRates } from "../../optim/tb_measure.ts";
import { tempBalanceDefaults } from "../../optim/tb_options.ts";
import { ResNet, resnet18, smallResNet } from "../../models/resnet.ts";
import { VGG } from "../../models/vgg.ts";
import { Model } from "../../models/model.ts";
import { SGD } from "../../optim/sgd.ts";
import { writeSafetensors } from "../../io/safetensors.ts";
import { parseSafetensors } from "../../io/safetensors.ts";
import { assertNear, gpu, gpuTest, rng } from "../_helpers.ts";

Deno.test("assignRates(): each assign function on hand-computed alphas, and all-equal alphas", () => {
  const a = [2, 3, 4, 6], lr = 0.1;
  // linear: interp over [2, 6] → [0.05, 0.15].
  assertNear("linear", assignRates(a, lr), [0.05, 0.075, 0.1, 0.15], 1e-15, 0);
  assertNear("linear [0.6, 1.4]", assignRates(a, lr, "linear", 0.6, 1.4), [0.06, 0.08, 0.1, 0.14], 1e-15, 0);
  const sq = [Math.SQRT2, Math.sqrt(3), 2, Math.sqrt(6)], ssum = sq.reduce((s, x) => s + x);
  assertNear("sqrt", assignRates(a, lr, "sqrt"), sq.map((x) => 0.4 * x / ssum), 1e-15, 0);
  const lg = [1, Math.log2(3), 2, Math.log2(6)], lsum = lg.reduce((s, x) => s + x);
  assertNear("log2", assignRates(a, lr, "log2"), lg.map((x) => 0.4 * x / lsum), 1e-15, 0);
  // step: by rank r of the metric, lr·(0.5 + r/n): metrics [4, 2, 6, 3] have ranks [2, 0, 3, 1].
  assertNear("step", assignRates([4, 2, 6, 3], lr, "step"), [0.1, 0.05, 0.125, 0.075], 1e-15, 0);
  // All equal: linear gives η (the reference's np.interp would give lrMax·η); sqrt/log2 give η
  // by their formula; step ranks ties in layer order.
  assertNear("linear equal", assignRates([3, 3, 3], lr), [0.1, 0.1, 0.1], 0, 0);
  assertNear("sqrt equal", assignRates([3, 3, 3], lr, "sqrt"), [0.1, 0.1, 0.1], 1e-15, 0);
  assertNear("log2 equal", assignRates([3, 3, 3], lr, "log2"), [0.1, 0.1, 0.1], 1e-15, 0);
  assertNear(
    "step equal",
    assignRates([3, 3, 3], lr, "step"),
    [0.05, 0.05 + 0.1 / 3, 0.05 + 0.2 / 3],
    1e-15,
    0,
  );
  // log2 of alphas all 1 sums to 0: every layer keeps η rather than NaN.
  assertNear("log2 of ones", assignRates([1, 1], lr, "log2"), [0.1, 0.1], 0, 0);
  deepEqual(assignRates([], lr), []);
});

Deno.test("ResNet-18's TempBalance groups match the reference's structure (BN by name and by order)", () => {
  const mods = modulesOfModel(resnet18({ classes: 10 }));
  const byName = planTempBalance(mods);
  const layers = byName.layers;
  equal(layers.length, 21); // conv1, 16 block convs, 3 downsample convs, fc
  equal(layers[0].weight, "conv1.weight");
  equal(layers[20].weight, "fc.weight");
  deepEqual(layers.filter((l) => !l.tuned).map((l) => [l.weight, l.reason]), [
    ["conv1.weight", "first layer"],
    ["fc.weight", "last layer"],
  ]);
  // 19 tuned convs + 16 BNs tied by name (layerX.Y.bnK → layerX.Y.convK) + the untuned group.
  equal(byName.groups.length, 19 + 16 + 1);
  deepEqual(byName.groups.slice(0, 4), [
    { params: ["layer1.0.conv1.weight"], layer: "layer1.0.conv1" },
    { params: ["layer1.0.bn1.weight", "layer1.0.bn1.bias"], layer: "layer1.0.conv1" },
    { params: ["layer1.0.conv2.weight"], layer: "layer1.0.conv2" },
    { params: ["layer1.0.bn2.weight", "layer1.0.bn2.bias"], layer: "layer1.0.conv2" },
  ]);
  ok(byName.groups.some((g) => g.layer === "layer2.0.downsample.0"));
  const untuned = byName.groups[byName.groups.length - 1];
  equal(untuned.layer, null);
  deepEqual(untuned.params, [
    "conv1.weight",
    "bn1.weight",
    "bn1.bias",
    "layer2.0.downsample.1.weight",
    "layer2.0.downsample.1.bias",
    "layer3.0.downsample.1.weight",
    "layer3.0.downsample.1.bias",
    "layer4.0.downsample.1.weight",
    "layer4.0.downsample.1.bias",
    "fc.weight",
    "fc.bias",
  ]);
  // By order the shortcut BNs follow their 1×1 convs too; bn1 follows conv1, which is untuned.
  const byOrder = planTempBalance(mods, { batchnormType: "order" });
  equal(byOrder.groups.length, 19 + 19 + 1);
  deepEqual(byOrder.groups[byOrder.groups.length - 1].params, [
    "conv1.weight",
    "bn1.weight",
    "bn1.bias",
    "fc.weight",
    "fc.bias",
  ]);
  // Every parameter is in exactly one group.
  const all = byOrder.groups.flatMap((g) => g.params);
  equal(new Set(all).size, all.length);
  equal(all.length, mods.flatMap((m) => m.params).length);
});

Deno.test("VGG-16-BN: BN tied by name finds no conv (features.N), by order each BN follows its conv", () => {
  const mods = modulesOfModel(new VGG("vgg16", { classes: 100 }));
  const name = planTempBalance(mods);
  equal(name.layers.length, 14); // 13 convs + classifier
  equal(name.layers.filter((l) => l.tuned).length, 12);
  ok(name.layers.every((l) => l.batchNorms.length === 0));
  equal(name.groups.length, 12 + 1);
  const order = planTempBalance(mods, { batchnormType: "order" });
  deepEqual(order.layers[1].batchNorms, ["features.4"]); // features.3 conv → features.4 BN
  equal(order.groups.length, 12 + 12 + 1);
  deepEqual(order.groups[order.groups.length - 1].params, [
    "features.0.weight",
    "features.0.bias",
    "features.1.weight",
    "features.1.bias",
    "classifier.weight",
    "classifier.bias",
  ]);
  // --no-bn: every BN stays untuned.
  equal(planTempBalance(mods, { batchnorm: false, batchnormType: "order" }).groups.length, 13);
});

Deno.test("first/last removal, the eigs threshold, and an error when no layer is left to tune", () => {
  // Small ResNet: conv1 has 9 eigenvalues, the 1×1 downsample convs 8 and 16, fc 10.
  const mods = modulesOfModel(smallResNet({ classes: 10 }));
  const p = planTempBalance(mods);
  deepEqual(
    p.layers.map((l) => [l.weight, l.numEvals, l.tuned]),
    [
      ["conv1.weight", 9, false],
      ["layer1.0.conv1.weight", 72, true],
      ["layer1.0.conv2.weight", 72, true],
      ["layer2.0.conv1.weight", 72, true],
      ["layer2.0.conv2.weight", 144, true],
      ["layer2.0.downsample.0.weight", 8, false],
      ["layer3.0.conv1.weight", 144, true],
      ["layer3.0.conv2.weight", 288, true],
      ["layer3.0.downsample.0.weight", 16, false],
      ["fc.weight", 10, false],
    ],
  );
  equal(p.layers[5].reason, "8 eigenvalues < eigsThresh 50");
  const keep = planTempBalance(mods, { removeFirstLayer: false, removeLastLayer: false, eigsThresh: 1 });
  ok(keep.layers.every((l) => l.tuned));
  equal(planTempBalance(mods, { eigsThresh: 100 }).layers.filter((l) => l.tuned).length, 3);
  throws(
    () => planTempBalance(mods, { eigsThresh: 1000 }),
    /no layer is left to tune: conv1 \(first layer\), layer1\.0\.conv1 \(72 eigenvalues < eigsThresh 1000\)/,
  );
  const two = modulesOfModel(new ResNet([], [4], { classes: 3 }));
  throws(() => planTempBalance(two), /no layer is left to tune: conv1 \(first layer\), fc \(last layer\)/);
});

Deno.test("bad TempBalance options are rejected naming the option", () => {
  throws(
    () => tempBalanceDefaults({ lrMinRatio: 1.2, lrMaxRatio: 0.8 }),
    /lrMinRatio 1.2 is greater than lrMaxRatio 0.8/,
  );
  throws(() => tempBalanceDefaults({ metric: "beta" as "alpha" }), /unknown metric "beta"/);
  throws(() => tempBalanceDefaults({ fit: "best" as "gof" }), /unknown fit method "best"/);
  throws(() => tempBalanceDefaults({ assign: "cube" as "sqrt" }), /unknown assign function "cube"/);
  throws(() => tempBalanceDefaults({ eigsThresh: 0 }), /eigsThresh must be an integer ≥ 1, got 0/);
  throws(() => tempBalanceDefaults({ xminPos: 0.5 }), /xminPos must be a number ≥ 1/);
  throws(() => tempBalanceDefaults({ lrMinRatio: -1 }), /lrMinRatio must be a finite number ≥ 0/);
});

Deno.test("a NaN metric in a tuned layer keeps the untuned rate and a warning names the layer", () => {
  const plan = planTempBalance(modulesOfModel(smallResNet({ classes: 10 })));
  const warnings: string[] = [];
  const metrics = [5, 2, NaN, 4, null, 9, 3, 6, 9, 9];
  const rates = layerRates(plan, metrics, 0.1, {}, (m) => warnings.push(m));
  deepEqual(warnings.length, 2);
  ok(/"layer1\.0\.conv2\.weight" has metric NaN/.test(warnings[0]), warnings[0]);
  ok(/"layer2\.0\.conv2\.weight" has metric null/.test(warnings[1]), warnings[1]);
  // Tuned with a metric: layers 1, 3, 6, 7 with alphas 2, 4, 3, 6 → linear over [2, 6].
  assertNear("rates", rates, [0.1, 0.05, 0.1, 0.1, 0.1, 0.1, 0.075, 0.15, 0.1, 0.1], 1e-15, 0);
});

Deno.test("module order from a file: module_order metadata, else storage order; never sorted names", () => {
  const t = (name: string, shape: number[]) => ({
    name,
    shape,
    data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
  });
  // Stored sorted by name (as Python's safetensors writer does): fc first.
  const sorted = [
    t("bn1.bias", [8]),
    t("bn1.running_mean", [8]),
    t("bn1.running_var", [8]),
    t("bn1.weight", [8]),
    t("conv1.weight", [8, 3, 3, 3]),
    t("conv2.weight", [8, 8, 3, 3]),
    t("fc.weight", [10, 8]),
  ];
  const order = JSON.stringify(["conv1", "bn1", "conv2", "fc"]);
  const withMeta = parseSafetensors(writeSafetensors(sorted, { module_order: order }));
  const mods = modulesOfStateDict(withMeta.tensors, withMeta.metadata);
  deepEqual(mods.map((m) => [m.name, m.kind]), [["conv1", "conv"], ["bn1", "bn"], ["conv2", "conv"], [
    "fc",
    "linear",
  ]]);
  deepEqual(mods[1].params, ["bn1.bias", "bn1.weight"]);
  const noMeta = parseSafetensors(writeSafetensors(sorted));
  deepEqual(modulesOfStateDict(noMeta.tensors).map((m) => m.name), ["bn1", "conv1", "conv2", "fc"]);
  throws(
    () => modulesOfStateDict(withMeta.tensors, { module_order: "{oops" }, "x.safetensors"),
    /Invalid safetensors file "x\.safetensors": __metadata__\.module_order is "\{oops": expected a JSON array/,
  );
});

/** W = U·diag(s)·Vᵀ with random orthogonal U, V (Gram–Schmidt), as float32, shape (m, n). */
function planted(m: number, n: number, s: number[], seed: number): Float32Array {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const orth = (rows: number, k: number) => {
    const q: number[][] = [];
    for (let j = 0; j < k; j++) {
      let v = Array.from({ length: rows }, gauss);
      for (const u of q) {
        const d = v.reduce((acc, x, i) => acc + x * u[i], 0);
        v = v.map((x, i) => x - d * u[i]);
      }
      const nrm = Math.hypot(...v);
      q.push(v.map((x) => x / nrm));
    }
    return q;
  };
  const k = Math.min(m, n), U = orth(m, k), V = orth(n, k);
  const w = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) for (let c = 0; c < k; c++) w[i * n + j] += U[c][i] * s[c] * V[c][j];
  }
  return w;
}

gpuTest("planted heavy-tailed layers of a real model get the rates their alphas call for", async () => {
  const model = new Model(gpu, new ResNet([1, 1], [32, 64], { classes: 10, inChannels: 3 }), 5);
  const tb = new TempBalance(model, { onWarning: () => {} });
  const tuned = tb.plan.layers.filter((l) => l.tuned).map((l) => l.weight);
  // downsample.0 is 1×1 (64, 32): 32 eigenvalues < 50.
  deepEqual(tuned, [
    "layer1.0.conv1.weight",
    "layer1.0.conv2.weight",
    "layer2.0.conv1.weight",
    "layer2.0.conv2.weight",
  ]);
  // Plant heavy tails (singular values ∝ rank^-p: the steeper, the smaller alpha) in two layers,
  // slice by slice; the other layers keep their random (light-tailed, high-alpha) init.
  const plant = (name: string, p: number, seed: number) => {
    const w = model.arena.get(name)!;
    const [O, I, kh, kw] = w.value.shape;
    const full = new Float32Array(O * I * kh * kw);
    for (let s = 0; s < kh * kw; s++) {
      const sv = Array.from({ length: Math.min(O, I) }, (_, c) => 0.5 * (c + 1) ** -p);
      const slice = planted(O, I, sv, seed + s);
      for (let o = 0; o < O; o++) {
        for (let i = 0; i < I; i++) full[(o * I + i) * kh * kw + s] = slice[o * I + i];
      }
    }
    gpu.device.queue.writeBuffer(w.value.buffer, w.value.byteOffset, full);
  };
  plant("layer1.0.conv2.weight", 1.5, 100);
  plant("layer2.0.conv1.weight", 0.7, 200);
  const opt = new SGD(model.arena, tb.groupSpecs(0.1), { lr: 0.1, momentum: 0.9 });
  await tb.step(opt, 0.1);
  const by = Object.fromEntries(tb.lastLayers.map((l) => [l.name, l]));
  const a1 = by["layer1.0.conv2.weight"].alpha!, a2 = by["layer2.0.conv1.weight"].alpha!;
  const others = tuned.filter((n) => n !== "layer1.0.conv2.weight" && n !== "layer2.0.conv1.weight")
    .map((n) => by[n].alpha!);
  ok(a1 < a2 && a2 < Math.min(...others), `planted alphas ${a1}, ${a2} vs others ${others}`);
  // The steepest tail has the smallest alpha → lrMin·η; the highest alpha → lrMax·η; the
  // rest on the line between, as the linear map says.
  assertNear("lowest", [by["layer1.0.conv2.weight"].lr], [0.05], 1e-12, 0);
  const all = tuned.map((n) => by[n].alpha!), lo = Math.min(...all), hi = Math.max(...all);
  for (const n of tuned) {
    assertNear(`${n} rate`, [by[n].lr], [0.05 + 0.1 * (by[n].alpha! - lo) / (hi - lo)], 1e-12, 0);
  }
  // The optimizer's groups carry them: the layer's group and its BatchNorm's.
  const g = tb.plan.groups.findIndex((x) => x.layer === "layer2.0.conv1");
  equal(opt.paramGroups[g].lr, by["layer2.0.conv1.weight"].lr);
  equal(opt.paramGroups[g + 1].lr, by["layer2.0.conv1.weight"].lr); // layer2.0.bn1
  equal(opt.paramGroups[opt.paramGroups.length - 1].lr, 0.1);
  deepEqual(tb.getLastLr(), opt.getLastLr());
  // state_dict round trip: another scheduler reports the same rates.
  const other = new TempBalance(model, { onWarning: () => {} });
  other.loadStateDict(JSON.parse(JSON.stringify(tb.stateDict())));
  deepEqual(other.getLastLr(), tb.getLastLr());
  // An optimizer with other groups is refused.
  const plain = new SGD(model.arena, [{ params: model.arena.params }], { lr: 0.1 });
  await rejects(() => tb.step(plain, 0.1), /the optimizer has 1 groups, not the plan's/);
  opt.release();
  plain.release();
  model.release();
});

Deno.test("assignRates sigmoid: Model Balancing's tb_std_sigmoid per layer, η·10^φ around the mean metric", () => {
  // get_layer_temps(lr_min_ratio=0.5, lr_slope=1.5, 'tb_std_sigmoid', [2, 3, 7], 0.01, exp_temp=4), by hand:
  const alphas = [2, 3, 7], eta = 0.01, mean = 4;
  const want = alphas.map((a) => {
    const d = a - mean, s = 1 / (1 + Math.exp(-4 * d)) - 0.5;
    return eta * 10 ** ((d > 0 ? 1.5 : 0.5) * s);
  });
  const got = assignRates(alphas, eta, "sigmoid", 0, 0, { tau: 4, sigmoidMin: 0.5, sigmoidMax: 1.5 });
  got.forEach((r, i) => ok(Math.abs(r - want[i]) < 1e-15, `${r} vs ${want[i]}`));
  // Below the mean slower than η, above faster; equal metrics keep η.
  ok(got[0] < eta && got[2] > eta);
  deepEqual(assignRates([3, 3], eta, "sigmoid"), [eta, eta]);
});

Deno.test("spectralSlices: one real embedding [[Re, −Im], [Im, Re]] of Wᵀ per mode, its Gram eigenvalues |w|² twice", () => {
  // One input, one output, one mode: w = 3 + 4i → E = [[3, −4], [4, 3]], EᵀE = 25·I.
  const one = spectralSlices([[3, 4]], 1, 1);
  deepEqual(one.shape, [2, 2, 1, 1]);
  deepEqual([...one.values], [3, -4, 4, 3]);
  // in 2, out 3, two modes in weights1 and one tensor more (weights2): 4 slices of (6 × 4).
  const w1 = Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => Math.sin(i + 1));
  const w2 = Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => Math.cos(i + 1));
  const s = spectralSlices([w1, w2], 2, 3);
  deepEqual(s.shape, [6, 4, 1, 4]);
  // Slice 3 is weights2's mode 1; its entry (out 2, in 1) real part = Re w2[i=1, o=2, k=1].
  const at = (r: number, c: number, k: number) => s.values[(r * 4 + c) * 4 + k];
  const re = w2[((1 * 3 + 2) * 2 + 1) * 2], im = w2[((1 * 3 + 2) * 2 + 1) * 2 + 1];
  deepEqual([at(2, 1, 3), at(2, 2 + 1, 3), at(3 + 2, 1, 3), at(3 + 2, 2 + 1, 3)], [re, -im, im, re]);
});

gpuTest(
  "TempBalance with spectral: an FNO's Fourier layers are measured and tuned with both their weights",
  async () => {
    const model = new Model(
      gpu,
      new Fno({ dims: 2, numChannels: 1, modes: [2, 2], width: 4, initialStep: 1 }),
      3,
    );
    const off = new TempBalance(model, {
      removeFirstLayer: false,
      removeLastLayer: false,
      eigsThresh: 1,
      batchnorm: false,
    });
    ok(!off.plan.layers.some((l) => l.module.startsWith("conv")));
    const tb = new TempBalance(model, {
      removeFirstLayer: false,
      removeLastLayer: false,
      eigsThresh: 1,
      batchnorm: false,
      spectral: true,
      esd: "readback",
    });
    const conv0 = tb.plan.layers.find((l) => l.module === "conv0")!;
    equal(conv0.weight, "conv0.weights1");
    equal(conv0.numEvals, 2 * 2 * 2 * 8); // 8 slices (2×2 modes × 2 tensors) of 8 × 8
    const rates = await tb.measure(1e-3);
    const r0 = rates.find((r) => r.name === "conv0.weights1")!;
    ok(Number.isFinite(r0.alpha) && r0.alpha! > 1, `alpha ${r0.alpha}`);
    const group = tb.groupSpecs(1e-3).find((g) => g.params.some((p) => p.name === "conv0.weights1"))!;
    deepEqual(group.params.map((p) => p.name), ["conv0.weights1", "conv0.weights2"]);
    throws(
      () => new TempBalance(model, { spectral: true, esd: "live" }),
      /spectral weights are measured by the readback path/,
    );
    model.release();
  },
);

gpuTest("TempBalance on FNO1d: the 1×1 Conv1d layers are measured as width × width matrices", async () => {
  const model = new Model(gpu, new Fno({ dims: 1, numChannels: 1, modes: [3], width: 6, initialStep: 2 }), 2);
  const tb = new TempBalance(model, {
    removeFirstLayer: false,
    removeLastLayer: false,
    eigsThresh: 4,
    batchnorm: false,
  });
  deepEqual(tb.plan.layers.filter((l) => l.tuned).map((l) => l.weight), [
    "w0.weight",
    "w1.weight",
    "w2.weight",
    "w3.weight",
    "fc1.weight",
  ]);
  const rates = await tb.measure(1e-3);
  ok(rates.filter((r) => r.name.startsWith("w")).every((r) => Number.isFinite(r.alpha)));
  model.release();
});
