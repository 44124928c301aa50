import { deepEqual, equal, ok } from "node:assert/strict";
import { bestValue, finalValue, type RunRecord } from "../../report/compare.ts";
import { studyMarkdown, summarizeStudy, verdict } from "../../report/study.ts";
import { pairedDifference } from "../../report/stats.ts";
import { ACCURACY } from "../../train/image_task.ts";
import { PERPLEXITY } from "../../train/lm_task.ts";
import type { EpochRecord } from "../../train/run_files.ts";

const ep = (epoch: number, acc: number | null, seconds = 10): EpochRecord => ({
  epoch,
  train_loss: 1,
  train_acc: 0.5,
  test_loss: acc === null ? null : 1,
  test_acc: acc,
  lr: [0.1],
  seconds,
  images_per_s: 100,
});

const lm = (epoch: number, valid: number, test: number): EpochRecord => ({
  epoch,
  train_loss: 1,
  valid_ppl: valid,
  test_ppl: test,
  lr: [1e-3],
  seconds: 5,
});

Deno.test("summarizeStudy(): per method, mean ± sample std of final, best and wall time; unfinished runs not counted", () => {
  const runs: RunRecord[] = [
    { method: "tb", seed: 1, history: [ep(1, 0.9), ep(2, 0.8)], layers: [] },
    { method: "cal", seed: 1, history: [ep(1, 0.5), ep(2, 0.7, 20)], layers: [] },
    { method: "tb", seed: 2, history: [ep(1, 0.6), ep(2, 0.9), ep(3, 0.7)], layers: [] },
    { method: "cal", seed: 2, history: [], layers: [] }, // not started: not counted
  ];
  const spec = { axes: [], methods: ["tb", "cal"], seeds: [1, 2], baseline: "cal", title: "t", budget: "b" };
  const { rows, gains } = summarizeStudy(runs, { ...spec, metric: ACCURACY });
  const [tb, cal] = rows;
  deepEqual([tb.method, tb.runs, tb.epochs, cal.method, cal.runs, cal.epochs], ["tb", 2, 2, "cal", 1, 2]);
  // tb final 80 and 70 → mean 75, sd √50; best 90 and 90.
  ok(Math.abs(tb.final.mean - 75) < 1e-12 && Math.abs(tb.final.std - Math.sqrt(50)) < 1e-12);
  deepEqual(tb.best, { mean: 90, std: 0 });
  deepEqual(tb.seconds, { mean: 25, std: Math.sqrt(50) });
  deepEqual([cal.final.mean, cal.final.std, cal.seconds.mean], [70, 0, 30]);
  // One pair (seed 1): tb − cal = 80 − 70, better in 1 of 1.
  deepEqual([gains[0].final.n, gains[0].final.mean, gains[0].final.better], [1, 10, 1]);
});

Deno.test("final and best values read only the evaluated epochs (--eval-every)", () => {
  const h = [ep(1, null), ep(2, 0.6), ep(3, null), ep(4, 0.55)];
  ok(Math.abs(finalValue(h, ACCURACY) - 55) < 1e-12);
  equal(bestValue(h, ACCURACY), 60);
  ok(Number.isNaN(finalValue([ep(1, null)], ACCURACY)) && Number.isNaN(bestValue([], ACCURACY)));
});

Deno.test("perplexity is lower-is-better everywhere: best epoch, better counts, verdict and table direction", () => {
  // Best = test ppl at the lowest validation ppl (epoch 2), not the lowest test ppl.
  const h = [lm(1, 50, 40), lm(2, 30, 33), lm(3, 31, 31)];
  equal(bestValue(h, PERPLEXITY), 33);
  equal(finalValue(h, PERPLEXITY), 31);
  // tb has a lower perplexity than adam in all three seeds: tb is better.
  const runs: RunRecord[] = [1, 2, 3].flatMap((seed) => [
    { method: "tb", seed, history: [lm(1, 20, 20 + seed * 0.1)], layers: [] },
    { method: "adam", seed, history: [lm(1, 25, 25 + seed * 0.3)], layers: [] },
  ]);
  const spec = {
    axes: [],
    methods: ["tb", "adam"],
    seeds: [1, 2, 3],
    baseline: "adam",
    title: "t",
    budget: "b",
    metric: PERPLEXITY,
  };
  const s = summarizeStudy(runs, spec);
  const g = s.gains[0].final;
  ok(g.mean < 0 && g.hi < 0, JSON.stringify(g));
  deepEqual([g.better, g.worse], [3, 0]);
  const md = studyMarkdown(s, spec);
  ok(md.includes("tb better: the 95% CI excludes 0"), md);
  ok(md.includes("3 of 3 seeds"), md);
  ok(md.includes("(lower is better)"), md);
  ok(md.includes("test ppl at best valid_ppl epoch"), md);
  // The same numbers read as accuracy would be the other way round.
  equal(
    verdict(pairedDifference([1, 1.1, 1.2], [2, 2.2, 2.3]), "tb", "cal", true),
    "tb worse: the 95% CI excludes 0",
  );
  equal(
    verdict(pairedDifference([1, 1.1, 1.2], [2, 2.2, 2.3]), "tb", "adam", false),
    "tb better: the 95% CI excludes 0",
  );
});
