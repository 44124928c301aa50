import { ok, throws } from "node:assert/strict";
import { fitAt, fitPowerLaw, histogramPeak } from "../../esd/plfit.ts";
import { assertNear, rng } from "../_helpers.ts";

/** n Pareto(alpha) samples with xmin 1, ascending (inverse-CDF sampling). */
function pareto(n: number, alpha: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => Math.pow(1 - r(), -1 / (alpha - 1))).sort();
}

Deno.test("fitAt() matches the Hill formula and KS distance computed by hand", () => {
  const x = [1, 2, 4, 8];
  const f = fitAt(x, 1); // tail 2, 4, 8: n = 3
  const alpha = 1 + 3 / (Math.log(2) + Math.log(4) + Math.log(8) - 3 * Math.log(2));
  assertNear("alpha", [f.alpha], [alpha], 1e-12, 0);
  const D = Math.max(...[0, 1, 2].map((k) => Math.abs(1 - Math.pow(x[1 + k] / 2, 1 - alpha) - k / 3)));
  assertNear("D", [f.D], [D], 1e-12, 0);
  ok(f.xmin === 2 && f.xmax === 8 && f.n === 3);
});

Deno.test("every fit recovers a planted Pareto exponent", () => {
  // The Hill estimator's standard error is (alpha−1)/sqrt(n): ≈ 0.01–0.05 for the median fit's
  // 10000-sample tail, and a few times that for gof, whose tail can be short. 0.15 is ≥ 3
  // standard errors and far below the gap between HT-SR regimes (2 vs 4 vs 6).
  for (const alpha of [2, 3, 4.5]) {
    const x = pareto(20000, alpha, Math.round(alpha * 10));
    const small = pareto(4000, alpha, Math.round(alpha * 10) + 1); // gof/peak are O(N²)
    for (const method of ["median", "gof", "peak"] as const) {
      const f = fitPowerLaw(method === "median" ? x : small, { method });
      ok(Math.abs(f.alpha - alpha) < 0.15, `${method}: alpha ${f.alpha} vs planted ${alpha}`);
    }
    ok(Math.abs(fitPowerLaw(x, { method: "mid", xminPos: 4 }).alpha - alpha) < 0.15);
  }
});

Deno.test("gof picks the xmin where a power-law tail starts above a uniform bulk", () => {
  const r = rng(9);
  const bulk = Array.from({ length: 3000 }, () => 0.05 + 0.9 * r());
  const tail = Array.from(pareto(3000, 2.5, 4), (v) => v); // xmin 1
  const x = Float64Array.from([...bulk, ...tail]).sort();
  const f = fitPowerLaw(x, { method: "gof" });
  ok(f.xmin > 0.9 && f.xmin < 1.3, `xmin ${f.xmin}`);
  ok(Math.abs(f.alpha - 2.5) < 0.15, `alpha ${f.alpha}`);
});

Deno.test("histogramPeak() returns the left edge of the fullest log bin; bad input is rejected", () => {
  const x = Float64Array.from([1, 10, 10, 10, 100, 1000]);
  const p = histogramPeak(x);
  assertNear("peak", [Math.log10(p)], [0.99], 1e-9, 0); // bins of 0.03 decades: 10 falls in bin 33
  throws(() => fitPowerLaw([1]), /needs at least 2 eigenvalues, got 1/);
  throws(() => fitPowerLaw([1, 2, 3], { method: "nope" as "gof" }), /unknown fit method "nope"/);
});
