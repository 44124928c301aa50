import { deepEqual, equal, ok } from "node:assert/strict";
import { bestAccuracy, finalAccuracy, type RunRecord, summarizeRuns } from "../../report/compare.ts";
import type { EpochMetrics } from "../../train/metrics.ts";

const ep = (epoch: number, acc: number | null, seconds = 10): EpochMetrics => ({
  epoch,
  train_loss: 1,
  train_acc: 0.5,
  test_loss: acc === null ? null : 1,
  test_acc: acc,
  lr: [0.1],
  seconds,
  images_per_s: 100,
});

Deno.test("summarizeRuns(): per method, in first-seen order, mean ± sample std of final, best and wall time", () => {
  const runs: RunRecord[] = [
    { method: "tb", seed: 1, history: [ep(1, 0.9), ep(2, 0.8)], layers: [] },
    { method: "cal", seed: 1, history: [ep(1, 0.5), ep(2, 0.7, 20)], layers: [] },
    { method: "tb", seed: 2, history: [ep(1, 0.6), ep(2, 0.9), ep(3, 0.7)], layers: [] },
    { method: "cal", seed: 2, history: [], layers: [] }, // not started: not counted
  ];
  const [tb, cal] = summarizeRuns(runs);
  deepEqual([tb.method, tb.runs, tb.epochs, cal.method, cal.runs, cal.epochs], ["tb", 2, 2, "cal", 1, 2]);
  // tb final 80 and 70 → mean 75, sd √50; best 90 and 90.
  ok(
    Math.abs(tb.final.mean - 75) < 1e-12 && Math.abs(tb.final.std - Math.sqrt(50)) < 1e-12,
    JSON.stringify(tb.final),
  );
  deepEqual(tb.best, { mean: 90, std: 0 });
  deepEqual(tb.seconds, { mean: 25, std: Math.sqrt(50) });
  deepEqual([cal.final.mean, cal.final.std, cal.seconds.mean], [70, 0, 30]);
});

Deno.test("final and best accuracy read only the evaluated epochs (--eval-every)", () => {
  const h = [ep(1, null), ep(2, 0.6), ep(3, null), ep(4, 0.55)];
  ok(Math.abs(finalAccuracy(h) - 55) < 1e-12);
  equal(bestAccuracy(h), 60);
  ok(Number.isNaN(finalAccuracy([ep(1, null)])) && Number.isNaN(bestAccuracy([])));
});
