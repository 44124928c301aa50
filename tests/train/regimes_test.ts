import { equal, match, ok } from "node:assert/strict";
import { classifyRun, regimesCsv } from "../../report/regimes.ts";
import type { EpochMetrics } from "../../train/metrics.ts";
import { toyIdx } from "./_toy.ts";
import { runTask } from "../_task.ts";
import { gpuTest } from "../_helpers.ts";

const epoch = (e: number, loss: number, acc: number, eff = 10): EpochMetrics => ({
  epoch: e,
  train_loss: loss,
  train_acc: acc,
  test_loss: loss,
  test_acc: acc,
  lr: [0.1, 0],
  seconds: 1,
  images_per_s: 1,
  eff_grad_norm: eff,
});

Deno.test("classifyRun(): the stated rule — at chance → divergence, still falling → convergence, else chaotic equilibrium", () => {
  const falling = Array.from({ length: 8 }, (_, i) => epoch(i + 1, 2 * 0.6 ** i, 0.5 + 0.05 * i));
  equal(classifyRun(1e-4, falling, 10).regime, "convergence");
  const plateau = Array.from(
    { length: 8 },
    (_, i) => epoch(i + 1, i < 2 ? 2 : 0.8 + 0.01 * (i % 2), 0.7, 40),
  );
  const p = classifyRun(1e-2, plateau, 10);
  equal(p.regime, "chaotic equilibrium");
  equal(p.effGradNorm, 40);
  const chance = Array.from({ length: 8 }, (_, i) => epoch(i + 1, 9, 0.1, 1e4));
  equal(classifyRun(1e-1, chance, 10).regime, "divergence");
  equal(classifyRun(1, [], 10).regime, "divergence");
  match(
    regimesCsv([p]),
    /^elr,final_train_loss,final_test_acc,eff_grad_norm,regime\n0\.01,0\.81,0\.7,40,chaotic equilibrium\n$/,
  );
});

gpuTest(
  "deno task regimes: one run per ELR on the sphere, then plots, regimes.csv and regimes.md; reruns keep finished runs",
  async () => {
    const data = await toyIdx(), out = await Deno.makeTempDir();
    const task = new URL("../../tasks/regimes.ts", import.meta.url).pathname;
    const args = [
      "--elrs",
      "1e-3,1",
      "--width",
      "4",
      "--epochs",
      "2",
      "--data",
      data,
      "--batch-size",
      "32",
      "--out",
      out,
    ];
    const run = async () => {
      return await runTask(task, args);
    };
    const first = await run();
    equal(first.code, 0, first.err);
    for (
      const f of [
        "train_loss.svg",
        "test_error.svg",
        "eff_grad_norm.svg",
        "phase.svg",
        "regimes.csv",
        "regimes.md",
      ]
    ) {
      ok(await Deno.stat(`${out}/${f}`), f);
    }
    const csv = (await Deno.readTextFile(`${out}/regimes.csv`)).trim().split("\n");
    equal(csv.length, 3);
    match(csv[1], /^0\.001,[\d.e-]+,[\d.]+,[\d.e+-]+,(convergence|chaotic equilibrium|divergence)$/);
    match(
      await Deno.readTextFile(`${out}/regimes.md`),
      /- ELR 1: \*\*(convergence|chaotic equilibrium|divergence)\*\* — /,
    );
    const cfg = JSON.parse(
      await Deno.readTextFile(`${out}/elr_1e-3/metrics.jsonl`).then((t) => t.split("\n")[0]),
    );
    ok(Math.abs(cfg.elr - 1e-3) < 1e-8, `ELR in force ${cfg.elr}`);
    const again = await run();
    equal((again.out.match(/finished \(2 epochs\), kept/g) ?? []).length, 2);
    const bad = await runTask(task, ["--elrs", "1e-3,-1", "--out", out]);
    equal(bad.code, 1);
    match(bad.err, /Invalid --elrs value "-1": every rate must be a number > 0/);
  },
);
