import { deepEqual, equal, ok } from "node:assert/strict";
import { analyze } from "../../esd/analyze.ts";
import { layerMatrices } from "../../esd/matrices.ts";
import { layerMetrics, METRIC_COLUMNS } from "../../esd/metrics.ts";
import { fitPowerLaw } from "../../esd/plfit.ts";
import { writeSafetensors } from "../../io/safetensors.ts";
import type { WeightTensor } from "../../io/tensor.ts";
import { eigvalshRef, matmulRef, ref } from "../reference/kernels.ts";
import { assertNear, gpuTest, randArray } from "../_helpers.ts";

function tensor(name: string, shape: number[], data: ArrayLike<number>): WeightTensor {
  return { name, dtype: "F32", shape, isFloat: true, values: () => Float64Array.from(data) };
}

/** Independent float64 ESD: pooled squared singular values of the slices, via Gram + eigvalsh. */
function esd64(slices: Float32Array[], rows: number, cols: number): Float64Array {
  const out: number[] = [];
  for (const s of slices) {
    const w = ref(s, [rows, cols]);
    const g = rows >= cols ? matmulRef(w, w, { transA: true }) : matmulRef(w, w, { transB: true });
    out.push(...eigvalshRef(g.data, Math.min(rows, cols)));
  }
  return Float64Array.from(out).sort();
}

Deno.test("layerMatrices(): OIHW and HWIO give the same slices; ww transposes to rows ≥ cols; conv × sqrt(0.5)", () => {
  const [O, I, H, W] = [3, 5, 2, 2];
  const v = randArray(O * I * H * W, 4);
  const hwio = new Float64Array(v.length);
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) hwio[((y * W + x) * I + i) * O + o] = v[((o * I + i) * H + y) * W + x];
      }
    }
  }
  const a = layerMatrices(tensor("c", [O, I, H, W], v))!;
  const b = layerMatrices(tensor("c", [H, W, I, O], hwio), { layout: "tfjs" })!;
  equal(a.slices.length, 4);
  deepEqual([a.rows, a.cols], [3, 5]);
  a.slices.forEach((s, k) => assertNear(`slice ${k}`, s, b.slices[k], 0, 0));
  // Slice (y=1, x=0), element (o=2, i=4): w · sqrt(0.5) · scale, rounded to float32.
  equal(a.slices[2][2 * 5 + 4], Math.fround(v[((2 * I + 4) * H + 1) * W + 0] * Math.sqrt(0.5) * a.scale));
  // A Linear weight (its own fast path): w · scale as float32, in place.
  const lin = layerMatrices(tensor("fc", [3, 5], v.slice(0, 15)))!;
  deepEqual(Array.from(lin.slices[0]), Array.from(v.slice(0, 15), (x) => Math.fround(x * lin.scale)));
  const ww = layerMatrices(tensor("c", [O, I, H, W], v), { convention: "ww" })!;
  deepEqual([ww.rows, ww.cols], [5, 3]);
  equal(ww.slices[0][4 * 3 + 2], a.slices[0][2 * 5 + 4]);
  equal(layerMatrices({ ...tensor("b", [5], v), shape: [5] }), null);
  equal(layerMatrices({ ...tensor("i", [2, 2], [1, 2, 3, 4]), isFloat: false }), null);
});

gpuTest(
  "analyze() on the GPU matches an independent float64 computation: eigenvalues, alpha, metrics",
  async () => {
    const lin = randArray(96 * 40, 11), conv = randArray(24 * 16 * 3 * 3, 12);
    const bytes = writeSafetensors([
      { name: "conv1.weight", shape: [24, 16, 3, 3], data: conv },
      { name: "bn1.running_mean", shape: [24], data: new Float32Array(24) },
      { name: "fc.weight", shape: [96, 40], data: lin },
      { name: "fc.bias", shape: [96], data: new Float32Array(96) },
    ]);
    for (const solver of ["gpu", "cpu"] as const) {
      for (const fit of ["median", "gof"] as const) {
        const { layers, summary } = await analyze(bytes, { solver, fit });
        deepEqual(layers.map((l) => l.name), ["conv1.weight", "fc.weight"]);
        const mats = [
          layerMatrices(tensor("c", [24, 16, 3, 3], conv.map(Math.fround)))!,
          layerMatrices(tensor("f", [96, 40], lin))!,
        ];
        mats.forEach((m, k) => {
          const want = esd64(m.slices, m.rows, m.cols).map((x) => x / (m.scale * m.scale));
          const row = layers[k];
          const lmax = want[want.length - 1];
          assertNear(`${row.name} lambda_max [${solver}]`, [row.lambda_max!], [lmax], 1e-4 * lmax, 0);
          const f = fitPowerLaw(want.filter((x) => x > 0), { method: fit });
          ok(typeof row.alpha === "number" && row.alpha > 1, `${row.name}: alpha ${row.alpha}`);
          assertNear(`${row.name} alpha [${solver}, ${fit}]`, [row.alpha], [f.alpha], 1e-3, 0);
          // Every other column against the float64 eigenvalues (metrics_test checks layerMetrics
          // itself against the definitions): the fit's integers exactly, the rest to float32's ESD.
          const ref64 = layerMetrics(row, want, { fit });
          for (const c of METRIC_COLUMNS) {
            const [g, r] = [row[c], ref64[c]];
            if (r === null) equal(g, null, `${row.name} ${c}`);
            else if (["N", "M", "num_evals", "num_pl_spikes", "matrix_rank"].includes(c)) equal(g, r, c);
            else assertNear(`${row.name} ${c} [${solver}, ${fit}]`, [g as number], [r], 1e-6, 2e-3);
          }
          equal(row.num_evals, m.slices.length * Math.min(m.rows, m.cols));
        });
        ok(layers.every((l) => l.alpha !== null));
        assertNear("summary alpha", [summary.alpha!], [(layers[0].alpha! + layers[1].alpha!) / 2], 1e-12, 0);
      }
    }
  },
);

gpuTest(
  "analyze() gets the same alpha for weights scaled by 1e30 and 1e-30 (no float32 overflow)",
  async () => {
    const v = randArray(64 * 48, 21);
    const base = await analyze([tensor("w", [64, 48], v)], { solver: "gpu" });
    for (const s of [1e30, 1e-30]) {
      const { layers } = await analyze([tensor("w", [64, 48], Array.from(v, (x) => x * s))], {
        solver: "gpu",
      });
      assertNear(`alpha ×${s}`, [layers[0].alpha!], [base.layers[0].alpha!], 1e-4, 0); // float32 rounding differs
      assertNear(`lambda_max ×${s}`, [layers[0].lambda_max!], [base.layers[0].lambda_max! * s * s], 0, 1e-5);
    }
  },
);

gpuTest("analyze() reports troubled layers with a warning and no alpha, and analyses the rest", async () => {
  const good = randArray(32 * 32, 31);
  const nan = randArray(16 * 16, 32);
  nan[7] = NaN;
  const { layers } = await analyze([
    tensor("nan.weight", [16, 16], nan),
    tensor("zero.weight", [8, 8], new Float32Array(64)),
    tensor("row.weight", [1, 50], randArray(50, 33)),
    tensor("ok.weight", [32, 32], good),
  ], { solver: "gpu" });
  const by = Object.fromEntries(layers.map((l) => [l.name, l]));
  equal(by["nan.weight"].alpha, null);
  ok(/NaN or Infinity/.test(by["nan.weight"].warning));
  equal(by["zero.weight"].alpha, null);
  ok(/all weights are zero/.test(by["zero.weight"].warning));
  equal(by["row.weight"].alpha, null);
  ok(/1 eigenvalues, fewer than min_evals 10/.test(by["row.weight"].warning), by["row.weight"].warning);
  ok(by["ok.weight"].alpha! > 1, `alpha ${by["ok.weight"].alpha}`);
});

gpuTest("FARMS: conv block positions and linear windows match a float64 computation by hand", async () => {
  const { farmsGroups } = await import("../../esd/farms.ts");
  // Conv (out 2, in 8, 3, 3): slices (2, 8) made tall → (8, 2); q = 1 → blocks 2×2 at rows 0, 2, 4, 6.
  const conv = randArray(2 * 8 * 9, 41);
  const m = layerMatrices(tensor("c", [2, 8, 3, 3], conv), { convention: "ww" })!;
  const groups = farmsGroups(m);
  equal(groups.length, 4);
  deepEqual([groups[0].rows, groups[0].cols, groups[0].slices.length], [2, 2, 9]);
  const blockAlphas = groups.map((g) => {
    const ev = esd64(g.slices, 2, 2).map((x) => x / (m.scale * m.scale));
    return fitPowerLaw(ev, { method: "median" }).alpha;
  });
  const { layers } = await analyze([tensor("c", [2, 8, 3, 3], conv)], { farms: true, solver: "cpu" });
  assertNear(
    "FARMS conv alpha = mean over blocks",
    [layers[0].alpha!],
    [blockAlphas.reduce((s, a) => s + a) / 4],
    1e-6,
    0,
  );
  equal(layers[0].num_evals, 4 * 18);
  // Linear (30, 20), windows 10×10 on a 3×3 grid: rows 0, 10, 20; cols 0, 5, 10 → 9 windows.
  const lin = randArray(30 * 20, 42);
  const lm = layerMatrices(tensor("f", [30, 20], lin))!;
  const lg = farmsGroups(lm, { grid: 3, windowRows: 10 });
  equal(lg.length, 1);
  equal(lg[0].slices.length, 9);
  assertNear("window (r0 10, c0 5)", [lg[0].slices[4][0]], [lm.slices[0][10 * 20 + 5]], 0, 0);
  const ev = esd64(lg[0].slices, 10, 10).map((x) => x / (lm.scale * lm.scale));
  const res = await analyze([tensor("f", [30, 20], lin)], {
    farms: { grid: 3, windowRows: 10 },
    solver: "gpu",
  });
  equal(res.layers[0].num_evals, 90);
  assertNear(
    "FARMS linear alpha",
    [res.layers[0].alpha!],
    [fitPowerLaw(ev, { method: "median" }).alpha],
    1e-3,
    0,
  );
  assertNear(
    "norm_stable_rank",
    [res.layers[0].norm_stable_rank!],
    [ev.reduce((s, x) => s + x) / 90],
    0,
    1e-4,
  );
});

gpuTest(
  "analyze() takes a map of named arrays and rejects one whose data does not fill its shape",
  async () => {
    const w = randArray(40 * 30, 51);
    const fromMap = await analyze(new Map([["fc.weight", { shape: [40, 30], data: w }]]), { solver: "cpu" });
    const fromObj = await analyze({ "fc.weight": { shape: [40, 30], data: w } }, { solver: "cpu" });
    const fromList = await analyze([tensor("fc.weight", [40, 30], w)], { solver: "cpu" });
    equal(fromMap.layers[0].alpha, fromList.layers[0].alpha);
    equal(fromObj.layers[0].name, "fc.weight");
    await (async () => {
      try {
        await analyze({ bad: { shape: [4, 4], data: [1, 2] } });
        throw new Error("expected an error");
      } catch (e) {
        ok(
          /Tensor "bad": 2 values do not fill shape \[4,4\] \(16 expected\)/.test((e as Error).message),
          (e as Error).message,
        );
      }
    })();
  },
);

gpuTest("analyze() takes a model of ours: every Conv2d/Linear weight, PyTorch names", async () => {
  const { Model } = await import("../../models/model.ts");
  const { ResNet } = await import("../../models/resnet.ts");
  const { gpu } = await import("../_helpers.ts");
  const model = new Model(gpu, new ResNet([1, 1], [16, 32], { classes: 10 }), 3);
  const { layers } = await analyze(model, { solver: "cpu" });
  deepEqual(layers.map((l) => l.name), [
    "conv1.weight",
    "layer1.0.conv1.weight",
    "layer1.0.conv2.weight",
    "layer2.0.conv1.weight",
    "layer2.0.conv2.weight",
    "layer2.0.downsample.0.weight",
    "fc.weight",
  ]);
  ok(layers.every((l) => l.alpha === null || l.alpha > 1));
});

gpuTest(
  "analyze(): the CPU eigen path over 2 workers gives the same bits as on one thread; a bad workers count is refused",
  async () => {
    // Enough work (Σ n³ ≥ 2·10^7) that the pool starts its workers.
    const tensors = [
      tensor("fc.weight", [320, 300], randArray(320 * 300, 21)),
      tensor("conv.weight", [128, 128, 3, 3], randArray(128 * 128 * 9, 22)),
    ];
    const one = await analyze(tensors, { solver: "cpu", workers: 1, keepEvals: true });
    const two = await analyze(tensors, { solver: "cpu", workers: 2, keepEvals: true });
    deepEqual(two.layers, one.layers);
    deepEqual(two.evals!.map((e) => Array.from(e)), one.evals!.map((e) => Array.from(e)));
    for (const workers of [0, 1.5, NaN]) {
      await analyze(tensors, { workers }).then(
        () => ok(false, `workers ${workers} accepted`),
        (e) => ok(/workers must be a positive integer/.test(e.message), e.message),
      );
    }
  },
);

gpuTest(
  "a layer past the storage-binding limit (forced small) is tiled: the same eigenvalues as untiled, tall and wide, GPU and CPU solvers",
  async () => {
    const tensors = [
      tensor("tall.weight", [70, 45], randArray(70 * 45, 31)),
      tensor("wide.weight", [37, 90], randArray(37 * 90, 32)),
      tensor("conv.weight", [9, 20, 3, 3], randArray(9 * 20 * 9, 33)),
    ];
    for (const solver of ["cpu", "gpu"] as const) {
      const whole = await analyze(tensors, { solver, keepEvals: true });
      // 2 KiB a binding = 512 floats: tiles of 22×22, summed over blocks of 23 rows (the 45×45 Gram
      // in 3×3 tiles of 4 blocks, the 37×37 in 2×2 of 4); the conv's 9×20 slices still fit.
      const tiled = await analyze(tensors, { solver, keepEvals: true, bindingLimit: 2048 });
      for (let l = 0; l < tensors.length; l++) {
        const a = whole.evals![l], b = tiled.evals![l];
        equal(b.length, a.length);
        for (let i = 0; i < a.length; i++) {
          ok(
            Math.abs(a[i] - b[i]) <= 2e-5 * a[a.length - 1],
            `${solver} ${tensors[l].name} λ[${i}] ${b[i]} vs ${a[i]}`,
          );
        }
        for (const c of ["alpha", "spectral_norm", "stable_rank", "log_norm"] as const) {
          assertNear(
            `${solver} ${tensors[l].name} ${c}`,
            [tiled.layers[l][c] as number],
            [whole.layers[l][c] as number],
            0,
            1e-4,
          );
        }
      }
    }
    await analyze(tensors, { bindingLimit: 0 }).then(
      () => ok(false),
      (e) => ok(/bindingLimit must be/.test(e.message)),
    );
  },
);

gpuTest(
  "randomize shuffles the values whichever way they are read: a safetensors file (float32 view) = the same arrays",
  async () => {
    // Low rank plus noise: its ESD is far from the shuffled layer's.
    const [O, I] = [48, 40];
    const u = randArray(O, 41), v = randArray(I, 42), noise = randArray(O * I, 43);
    const w = Array.from({ length: O * I }, (_, k) => 3 * u[Math.floor(k / I)] * v[k % I] + 0.1 * noise[k]);
    const bytes = writeSafetensors([{ name: "fc.weight", shape: [O, I], data: w }]);
    const fromFile = await analyze(bytes, { randomize: true, solver: "cpu" });
    const fromArrays = await analyze({ "fc.weight": { shape: [O, I], data: Float32Array.from(w) } }, {
      randomize: true,
      solver: "cpu",
    });
    ok(fromFile.layers[0].rand_distance! > 0.05, `rand_distance ${fromFile.layers[0].rand_distance}`);
    equal(fromFile.layers[0].rand_distance, fromArrays.layers[0].rand_distance);
  },
);

gpuTest(
  "analyze({gram: 'cpu'}): Gram matrices formed in the workers (float64 sums) give the GPU-Gram eigenvalues, tiled layers included",
  async () => {
    const tensors = [
      tensor("tall.weight", [90, 45], randArray(90 * 45, 51)),
      tensor("wide.weight", [30, 75], randArray(30 * 75, 52)),
      tensor("conv.weight", [24, 20, 3, 3], randArray(24 * 20 * 9, 53)),
    ];
    for (const bindingLimit of [undefined, 2048]) {
      const a = await analyze(tensors, { solver: "cpu", gram: "gpu", keepEvals: true, bindingLimit });
      const b = await analyze(tensors, { solver: "cpu", gram: "cpu", keepEvals: true, bindingLimit });
      for (let l = 0; l < tensors.length; l++) {
        const [x, y] = [a.evals![l], b.evals![l]];
        for (let i = 0; i < x.length; i++) {
          ok(
            Math.abs(x[i] - y[i]) <= 2e-5 * x[x.length - 1],
            `${tensors[l].name} λ[${i}] ${y[i]} vs ${x[i]}`,
          );
        }
        assertNear(`${tensors[l].name} alpha`, [b.layers[l].alpha!], [a.layers[l].alpha!], 1e-3, 0);
      }
    }
  },
);
