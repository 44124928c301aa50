import { equal } from "node:assert/strict";
import type { LmEpochMetrics } from "../../train/lm_run.ts";
import { bestValidTestPpl, lmStudyMarkdown, summarizeLmStudy } from "../../report/lm_study.ts";
import { assertNear } from "../_helpers.ts";
import { tQuantile } from "../../report/stats.ts";

const epoch = (valid: number, test: number): LmEpochMetrics => ({
  epoch: 1,
  steps: 1,
  train_loss: 1,
  valid_loss: Math.log(valid),
  valid_ppl: valid,
  test_loss: Math.log(test),
  test_ppl: test,
  lr: [1e-3],
  seconds: 1,
  tokens_per_s: 1,
  esd_seconds: 0,
});

Deno.test("summarizeLmStudy() pairs seeds against the baseline: means, paired t interval, lower-is-better counts", () => {
  // Final test ppl: adam 100, 110, 120; tb 95, 112, 110 → differences −5, +2, −10.
  const runs = [[43, 100, 95], [37, 110, 112], [13, 120, 110]].flatMap(([seed, a, t]) => [
    { cell: "frac=0.01", method: "adam", seed, history: [epoch(90, 150), epoch(80, a)] },
    { cell: "frac=0.01", method: "tb", seed, history: [epoch(70, 140), epoch(80, t)] },
  ]);
  const rows = summarizeLmStudy(runs, "adam");
  equal(rows.length, 2);
  assertNear("adam mean", [rows[0].final.mean], [110]);
  assertNear("adam std", [rows[0].final.std], [10]);
  const d = rows[1].diff!;
  const mean = -13 / 3, sd = Math.sqrt(((-5 - mean) ** 2 + (2 - mean) ** 2 + (-10 - mean) ** 2) / 2);
  assertNear("Δ mean", [d.mean], [mean]);
  assertNear("Δ hi", [d.hi], [mean + tQuantile(0.975, 2) * sd / Math.sqrt(3)], 1e-9);
  equal(d.better, 2);
  // Early stopping: tb's best validation is epoch 1 (70 < 80), whose test ppl is 140.
  equal(bestValidTestPpl(runs[1].history), 140);
  // Against adam's best-validation epochs (epoch 2: 100, 110, 120): 40, 30, 20.
  assertNear("Δ best", [rows[1].diffBest!.mean], [30]);
  equal(lmStudyMarkdown(rows, "adam").split("\n").length, 5);
});
