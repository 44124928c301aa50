import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { meanStd, pairedDifference, tCdf, tQuantile } from "../../report/stats.ts";

const near = (a: number, b: number, tol: number, what: string) =>
  ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);

Deno.test("meanStd() gives the mean and the sample (n − 1) standard deviation", () => {
  deepEqual(meanStd([1, 2, 3]), { mean: 2, std: 1 });
  deepEqual(meanStd([5]), { mean: 5, std: 0 });
  const e = meanStd([]);
  ok(Number.isNaN(e.mean) && Number.isNaN(e.std));
  // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, sample variance 32/7.
  const r = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
  equal(r.mean, 5);
  near(r.std, Math.sqrt(32 / 7), 1e-15, "std");
});

Deno.test("tQuantile() matches Student's t table at 0.975 and the normal limit", () => {
  // Two-sided 95% critical values from the standard t table.
  const table: [number, number][] = [
    [1, 12.7062047362],
    [2, 4.30265272975],
    [3, 3.18244630528],
    [4, 2.7764451052],
    [9, 2.26215716274],
    [30, 2.04227245630],
  ];
  for (const [df, t] of table) near(tQuantile(0.975, df), t, 1e-8, `t(0.975, ${df})`);
  near(tQuantile(0.975, 1e7), 1.959963985, 1e-6, "normal limit");
  near(tQuantile(0.025, 4), -2.7764451052, 1e-8, "lower tail");
  near(tQuantile(0.5, 3), 0, 1e-12, "median");
  near(tCdf(2.7764451052, 4), 0.975, 1e-10, "cdf");
  // df = 1 is the Cauchy distribution: P(T ≤ t) = 1/2 + atan(t)/π.
  near(tCdf(3, 1), 0.5 + Math.atan(3) / Math.PI, 1e-12, "Cauchy");
  throws(() => tQuantile(1, 4), /Invalid probability 1/);
  throws(() => tQuantile(0.9, 0), /Invalid degrees of freedom 0/);
});

Deno.test("pairedDifference(): the paired t interval and sign count, computed by hand", () => {
  // Differences 1, 1, 2, 2, 3: mean 1.8, sd √0.7, t(0.975, 4) = 2.7764451052.
  const d = pairedDifference([1, 2, 3, 4, 6], [0, 1, 1, 2, 3]);
  equal(d.n, 5);
  near(d.mean, 1.8, 1e-15, "mean");
  near(d.std, Math.sqrt(0.7), 1e-15, "sd");
  const half = 2.7764451052 * Math.sqrt(0.7) / Math.sqrt(5);
  near(d.lo, 1.8 - half, 1e-9, "lo");
  near(d.hi, 1.8 + half, 1e-9, "hi");
  deepEqual([d.better, d.worse, d.level], [5, 0, 0.95]);
  // Signs and ties; one pair has no interval.
  const m = pairedDifference([1, 1, 1], [2, 1, 0]);
  deepEqual([m.better, m.worse, m.mean], [1, 1, 0]);
  const one = pairedDifference([3], [1]);
  ok(Number.isNaN(one.lo) && Number.isNaN(one.hi));
  equal(one.mean, 2);
  // A 90% interval is narrower.
  const ninety = pairedDifference([1, 2, 3, 4, 6], [0, 1, 1, 2, 3], 0.9);
  ok(ninety.hi - ninety.lo < d.hi - d.lo);
  throws(() => pairedDifference([1, 2], [1]), /differ in count: 2 vs 1/);
});
