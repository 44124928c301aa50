import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { getGpu } from "../../kernels/runtime/runtime.ts";
import { loadWeights } from "../../io/load.ts";
import { readCheckpoint } from "../../train/checkpoint.ts";
import type { EpochMetrics } from "../../train/metrics.ts";
import { metricsCsv, RUN_FILES } from "../../train/run_files.ts";
import { imageTask } from "../../train/image_task.ts";
import { createRun, type TrainConfig } from "../../train/run.ts";
import { makeSchedule } from "../../train/schedule.ts";
import { NonFiniteLossError } from "../../train/step.ts";
import { fit } from "../../train/loop.ts";
import { toySplits } from "./_toy.ts";
import { writeRunPlots } from "../../report/train_plots.ts";
import { gpuTest } from "../_helpers.ts";

const CONFIG: TrainConfig = {
  model: "small",
  dataset: "toy",
  epochs: 3,
  batchSize: 16,
  lr: 0.05,
  weightDecay: 5e-4,
  momentum: 0.9,
  width: 0.5,
  seed: 7,
  schedule: "cosine",
  augment: true,
};

async function train(out: string, epochs: number, resume = false, config = CONFIG) {
  const gpu = await getGpu();
  const data = toySplits();
  const run = createRun(gpu, config, data);
  const task = imageTask(run.model, data.train, data.test, {
    batchSize: CONFIG.batchSize,
    seed: CONFIG.seed,
    cropPadding: 2,
    flip: true,
    mean: [0.3],
    std: [0.3],
  });
  const r = await fit<EpochMetrics>({
    ...run.loop,
    task,
    epochs,
    stepwise: true,
    out,
    plots: writeRunPlots,
    resume,
  });
  run.model.release();
  run.optimizer.release();
  return r;
}

async function tensors(file: string): Promise<Map<string, Float64Array>> {
  return new Map((await loadWeights(file, "safetensors")).map((t) => [t.name, t.values()]));
}

gpuTest(
  "resume: 2 epochs straight equal 1 epoch + resume for 1 (weights, momentum, BN statistics, metrics)",
  async () => {
    const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
    const straight = await train(a, 2);
    const first = await train(b, 1);
    equal(first.history.length, 1);
    const resumed = await train(b, 2, true);
    equal(resumed.history.length, 2);
    const A = await tensors(`${a}/${RUN_FILES.checkpoint}`),
      B = await tensors(`${b}/${RUN_FILES.checkpoint}`);
    deepEqual([...A.keys()].sort(), [...B.keys()].sort());
    ok([...A.keys()].some((k) => k.startsWith("momentum.")) && A.has("bn1.running_var"));
    let worst = 0;
    for (const [name, va] of A) {
      const vb = B.get(name)!;
      for (let i = 0; i < va.length; i++) worst = Math.max(worst, Math.abs(va[i] - vb[i]));
    }
    // Deterministic kernels and (seed, epoch)-derived batches: the runs agree bit for bit.
    equal(worst, 0, `largest difference between the runs: ${worst}`);
    equal(A.get("bn1.num_batches_tracked")![0], 2 * 5);
    for (const k of ["train_loss", "train_acc", "test_loss", "test_acc", "lr"] as const) {
      deepEqual(resumed.history.map((m) => m[k]), straight.history.map((m) => m[k]), k);
    }
    ok(straight.history[1].train_loss < straight.history[0].train_loss * 1.5, "training diverged");
    const csv = await Deno.readTextFile(`${b}/${RUN_FILES.metricsCsv}`);
    equal(csv.trim().split("\n").length, 3);
    equal((await Deno.readTextFile(`${b}/${RUN_FILES.metricsJsonl}`)).trim().split("\n").length, 2);
    match(await Deno.readTextFile(`${b}/${RUN_FILES.lossPlot}`), /^<svg[\s\S]*train[\s\S]*test/);
    match(await Deno.readTextFile(`${b}/${RUN_FILES.accuracyPlot}`), /^<svg/);
    // The plain weights file is a PyTorch state dict (no optimizer state).
    const weights = await tensors(`${b}/${RUN_FILES.model}`);
    ok(weights.has("fc.weight") && ![...weights.keys()].some((k) => k.startsWith("momentum.")));
  },
);

gpuTest(
  "resume continues every layer-wise and stateful method bit for bit (TB, Model Balancing, LAMB, Lookahead, SGDP, SNR)",
  async () => {
    const methods: [TrainConfig["method"], Record<string, number | string | boolean>][] = [
      ["tb", { "tb-eigs-thresh": 10 }],
      ["tb-sigmoid", { "mb-interval": 3 }],
      ["lamb", {}],
      ["lookahead", { "look-k": 2 }],
      ["sgdp", {}],
      ["snr", { sg: 0.05 }],
    ];
    for (const [method, methodOptions] of methods) {
      const config = { ...CONFIG, method, methodOptions };
      const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
      const straight = await train(a, 2, false, config);
      await train(b, 1, false, config);
      const resumed = await train(b, 2, true, config);
      const A = await tensors(`${a}/${RUN_FILES.checkpoint}`),
        B = await tensors(`${b}/${RUN_FILES.checkpoint}`);
      deepEqual([...A.keys()].sort(), [...B.keys()].sort(), method);
      for (const [name, va] of A) {
        const vb = B.get(name)!;
        ok(va.every((x, i) => x === vb[i]), `${method}: ${name} differs after resume`);
      }
      deepEqual(
        resumed.history.map((m) => [m.train_loss, m.test_acc, m.lr]),
        straight.history.map((m) => [m.train_loss, m.test_acc, m.lr]),
        method,
      );
      // layers.jsonl: every layer after each epoch, the same in both runs.
      const la = await Deno.readTextFile(`${a}/${RUN_FILES.layersJsonl}`),
        lb = await Deno.readTextFile(`${b}/${RUN_FILES.layersJsonl}`);
      equal(lb, la, `${method}: layers.jsonl`);
      const rows = la.trim().split("\n").map((l) => JSON.parse(l));
      equal(rows.length, 2 * 10, `${method}: 10 Conv2d/Linear layers × 2 epochs`);
      deepEqual(Object.keys(rows[0]).sort(), ["alpha", "epoch", "layer", "lr", "metric", "tuned"]);
      match(await Deno.readTextFile(`${a}/${RUN_FILES.layerAlphaPlot}`), /^<svg/);
    }
  },
);

gpuTest(
  "every other method trains an epoch end to end: LARS, SGDR, TB+SNR, TB+SGDP, FARMS-driven TB, CAL",
  async () => {
    const methods: [TrainConfig["method"], Record<string, number | string | boolean>][] = [
      ["lars", {}],
      ["sgdr", { "sgdr-t0": 1 }],
      ["tb-snr", { "tb-eigs-thresh": 10 }],
      ["tb-sgdp", { "tb-eigs-thresh": 10 }],
      ["tb-farms", { "tb-eigs-thresh": 10 }],
      ["cal", {}],
    ];
    for (const [method, methodOptions] of methods) {
      const out = await Deno.makeTempDir();
      const r = await train(out, 1, false, {
        ...CONFIG,
        method,
        methodOptions,
        lr: method === "lars" ? 2 : CONFIG.lr,
      });
      ok(Number.isFinite(r.history[0].train_loss), `${method}: loss ${r.history[0].train_loss}`);
      const rows = (await Deno.readTextFile(`${out}/${RUN_FILES.layersJsonl}`)).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      equal(rows.length, 10, method);
      const tuned = rows.filter((x) => x.tuned).length;
      ok(method!.startsWith("tb") ? tuned > 0 : tuned === 0, `${method}: ${tuned} tuned layers`);
      if (method!.startsWith("tb")) {
        ok(
          new Set(r.history[0].lr).size > 1,
          `${method}: one rate for all groups`,
        );
      }
    }
  },
);

gpuTest("a NaN loss stops training with the step named and the last good checkpoint intact", async () => {
  const out = await Deno.makeTempDir();
  await train(out, 1);
  const before = await Deno.readFile(`${out}/${RUN_FILES.checkpoint}`);
  const gpu = await getGpu();
  const data = toySplits();
  const run = createRun(gpu, CONFIG, data);
  await rejects(
    fit({
      ...run.loop,
      // The saved schedule's description with an exploding rate.
      schedule: { spec: run.schedule.spec, lrAt: () => 1e38 },
      epochs: 2,
      out,
      resume: true,
    }),
    (e: Error) => {
      ok(e instanceof NonFiniteLossError, String(e));
      match(
        e.message,
        /Loss is (NaN|-?Infinity) at step \d+: training stopped \(the last checkpoint is intact/,
      );
      ok(e.step >= 5, `step ${e.step}: the resumed run counts on from epoch 1's 5 steps`);
      return true;
    },
  );
  deepEqual(await Deno.readFile(`${out}/${RUN_FILES.checkpoint}`), before);
  const state = (await readCheckpoint(`${out}/${RUN_FILES.checkpoint}`)).state;
  equal(state.epoch, 1);
  deepEqual(state.rng, { seed: 7, nextEpoch: 1 });
  deepEqual(state.schedule, { kind: "cosine", lr: 0.05, epochs: 3 });
  // A checkpoint does not resume into a run with another schedule, seed or configuration; a new run
  // into a folder that holds one is refused.
  const other = { ...run.loop, epochs: 2, out, resume: true };
  await rejects(
    fit({ ...other, schedule: makeSchedule({ kind: "constant", lr: 0.05 }) }),
    /Invalid checkpoint ".*checkpoint\.safetensors": its schedule \{"kind":"cosine","lr":0\.05,"epochs":3\} differs/,
  );
  await rejects(fit({ ...other, seed: 8 }), /its seed 7 differs from this run's 8/);
  await rejects(fit({ ...other, config: { ...CONFIG, lr: 0.5 } }), /holds a run with other settings/);
  await rejects(fit({ ...other, resume: false }), /already holds a run: continue it with --resume/);
  run.model.release();
  run.optimizer.release();
});

Deno.test("schedules: cosine as the reference, step, constant; bad parameters are refused", () => {
  const cos = makeSchedule({ kind: "cosine", lr: 0.1, epochs: 200 });
  equal(cos.lrAt(0), 0.1);
  ok(Math.abs(cos.lrAt(100) - 0.05) < 1e-15);
  ok(Math.abs(cos.lrAt(50) - 0.1 * 0.5 * (1 + Math.cos(Math.PI / 4))) < 1e-15);
  const step = makeSchedule({ kind: "step", lr: 1, stepSize: 30, gamma: 0.1 });
  deepEqual([0, 29, 30, 60, 90].map((e) => step.lrAt(e)), [1, 1, 0.1, 0.1 ** 2, 0.1 ** 3]);
  equal(makeSchedule({ kind: "constant", lr: 0.3 }).lrAt(77), 0.3);
  throws(() => makeSchedule({ kind: "cosine", lr: -1, epochs: 3 }), /Invalid learning rate -1/);
  throws(() => makeSchedule({ kind: "cosine", lr: 1, epochs: 0 }), /cosine period/);
  throws(() => makeSchedule({ kind: "warp" } as never), /Unknown schedule "warp"/);
});

Deno.test("metrics.csv has one lr column per parameter group, columns in the records' order", () => {
  const csv = metricsCsv([
    {
      epoch: 1,
      train_loss: 1,
      train_acc: 0.5,
      test_loss: 2,
      test_acc: 0.25,
      lr: [0.1, 0.05],
      seconds: 3,
      images_per_s: 9,
    },
    {
      epoch: 2,
      train_loss: 1,
      train_acc: 0.5,
      test_loss: null,
      test_acc: null,
      lr: [0.1],
      seconds: 3,
      elr: 4,
    },
  ]);
  equal(
    csv,
    "epoch,train_loss,train_acc,test_loss,test_acc,lr_0,lr_1,seconds,images_per_s,elr\n" +
      "1,1,0.5,2,0.25,0.1,0.05,3,9,\n" +
      "2,1,0.5,,,0.1,,3,,4\n",
  );
});

gpuTest(
  "fit(): after the first epochs no GPU buffer or pipeline is created (training and evaluation)",
  async () => {
    const gpu = await getGpu();
    const data = toySplits();
    const run = createRun(gpu, CONFIG, data);
    const seen: [number, number][] = [];
    await fit({
      ...run.loop,
      epochs: 4,
      seed: 1,
      onEpoch: () => void seen.push([gpu.pool.created, gpu.stats.pipelines]),
    });
    deepEqual(seen[3], seen[1], `buffers/pipelines after each epoch: ${JSON.stringify(seen)}`);
    run.model.release();
    run.optimizer.release();
  },
);
