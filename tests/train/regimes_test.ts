import { equal, match, ok } from "node:assert/strict";
import { classifyRun, regimesCsv } from "../../report/regimes.ts";
import type { EpochMetrics } from "../../train/metrics.ts";
import { toyIdx } from "./_toy.ts";
import { writeSafetensors } from "../../io/safetensors.ts";
import { STATE_KEY } from "../../train/checkpoint.ts";
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

/** A finished run folder whose checkpoint and metrics hold this history. */
async function fakeRegimeRun(dir: string, h: EpochMetrics[]): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const state = {
    version: 1,
    epoch: h.length,
    optimizerSteps: 0,
    lrs: [0.1, 0],
    config: { model: "convnet-si", width: 0.125, dataset: "fashion-mnist", epochs: h.length, batchSize: 32 },
    history: h,
    elapsed: 0,
    schedule: {},
    rng: { seed: 0, nextEpoch: h.length },
  };
  await Deno.writeFile(
    `${dir}/checkpoint.safetensors`,
    writeSafetensors([], { [STATE_KEY]: JSON.stringify(state) }),
  );
  await Deno.writeTextFile(`${dir}/metrics.jsonl`, h.map((m) => JSON.stringify(m) + "\n").join(""));
}

Deno.test("deno task regimes on finished runs: the regime and numbers of each ELR; another --epochs is refused", async () => {
  const out = await Deno.makeTempDir();
  const task = new URL("../../tasks/regimes.ts", import.meta.url).pathname;
  await fakeRegimeRun(
    `${out}/elr_1e-4`,
    Array.from({ length: 8 }, (_, i) => epoch(i + 1, 2 * 0.6 ** i, 0.5 + 0.05 * i, 12)),
  );
  await fakeRegimeRun(
    `${out}/elr_1e-2`,
    Array.from({ length: 8 }, (_, i) => epoch(i + 1, i < 2 ? 2 : 0.8 + 0.01 * (i % 2), 0.7, 40)),
  );
  await fakeRegimeRun(`${out}/elr_1`, Array.from({ length: 8 }, (_, i) => epoch(i + 1, 9, 0.1, 1e4)));
  const args = ["--elrs", "1e-4,1e-2,1", "--epochs", "8", "--width", "4", "--out", out];
  const r = await runTask(task, args);
  equal(r.code, 0, r.err);
  equal((r.out.match(/finished \(8 epochs\), kept/g) ?? []).length, 3);
  const rows = (await Deno.readTextFile(`${out}/regimes.csv`)).trim().split("\n").slice(1).map((l) =>
    l.split(",")
  );
  // Final train loss 2·0.6⁷, accuracy 0.85, last-quarter effective gradient norm 12.
  equal(rows[0][0], "0.0001");
  ok(Math.abs(Number(rows[0][1]) - 2 * 0.6 ** 7) < 1e-12, rows[0][1]);
  ok(Math.abs(Number(rows[0][2]) - 0.85) < 1e-12, rows[0][2]);
  equal(rows[0].slice(3).join(","), "12,convergence");
  equal(rows[1].join(","), "0.01,0.81,0.7,40,chaotic equilibrium");
  equal(rows[2].join(","), "1,9,0.1,10000,divergence");
  match(
    await Deno.readTextFile(`${out}/regimes.md`),
    /- ELR 1: \*\*divergence\*\* — test accuracy 10\.0% is at chance/,
  );
  // The flags are recorded: another --epochs would mix runs of two settings, and is refused.
  const other = await runTask(task, ["--elrs", "1e-4,1e-2,1", "--epochs", "9", "--width", "4", "--out", out]);
  equal(other.code, 1);
  match(other.err, /holds runs made with other train flags \(flags \[.*"--epochs=8"/);
});
