import { equal, ok } from "node:assert/strict";
import { layerMetrics, METRIC_COLUMNS } from "../../esd/metrics.ts";
import { assertNear } from "../_helpers.ts";

// Every metric column checked against its definition, computed here in float64 by hand on small
// spectra whose answers can be followed on paper.

const base = { name: "w", kind: "linear" as const, shape: [32, 16], N: 32, M: 16 };

Deno.test("layerMetrics(): every power-law and norm column from its definition (λ = 1…16, median fit)", () => {
  const evals = Array.from({ length: 16 }, (_, i) => 16 - i); // any order
  const row = layerMetrics(base, evals, { fit: "median" });
  // median: xmin = λ_(⌊16/2⌋) of the ascending list = 9; the tail is 9…16, n = 8.
  const tail = [9, 10, 11, 12, 13, 14, 15, 16];
  let logs = 0;
  for (const x of tail) logs += Math.log(x / 9);
  const alpha = 1 + 8 / logs; // Hill: 1 + n / Σ ln(λ/xmin) ≈ 4.214
  ok(alpha > 4.2 && alpha < 4.23, `hand alpha ${alpha}`);
  let D = 0;
  tail.forEach((x, k) => D = Math.max(D, Math.abs(1 - Math.pow(x / 9, 1 - alpha) - k / 8)));
  const sum = 136; // Σ 1…16
  let entropy = 0, alphaNorm = 0;
  for (let x = 1; x <= 16; x++) {
    entropy -= (x / sum) * Math.log(x / sum);
    alphaNorm += Math.pow(x, alpha);
  }
  const want: Record<string, number | null> = {
    N: 32,
    M: 16,
    Q: 2,
    num_evals: 16,
    lambda_max: 16,
    spectral_norm: 16,
    alpha,
    alphahat: alpha * Math.log10(16),
    alpha_weighted: alpha * Math.log10(16),
    xmin: 9,
    xmax: 16,
    D,
    sigma: (alpha - 1) / Math.sqrt(8),
    num_pl_spikes: 8,
    norm: sum,
    log_norm: Math.log10(sum),
    log_spectral_norm: Math.log10(16),
    log_alpha_norm: Math.log10(alphaNorm),
    stable_rank: sum / 16,
    norm_stable_rank: sum / 16,
    matrix_rank: 16,
    entropy: entropy / Math.log(16),
    bulk_max: null,
    num_spikes: null,
    mp_softrank: null,
    sigma_mp: null,
    rand_distance: null,
  };
  for (const c of METRIC_COLUMNS) {
    const got = row[c];
    if (want[c] === null) equal(got, null, c);
    else assertNear(c, [got as number], [want[c]!], 0, 1e-12);
  }
  equal(row.warning, "");
  // The regimes' warnings follow alpha: a steep tail is under-trained, a flat one over-trained.
  equal(layerMetrics(base, Array.from({ length: 16 }, (_, i) => 1 + i / 100)).warning, "under-trained");
  equal(layerMetrics(base, Array.from({ length: 16 }, (_, i) => 10 ** i)).warning, "over-trained");
});

Deno.test("layerMetrics(): matrix_rank's tolerance, zeros and filterZeros, stable rank of a rank-one spectrum", () => {
  // tol = √λmax · N · eps32 = 4 · 32 · 2⁻²³ ≈ 1.5e-5 on singular values: √1e-12 = 1e-6 is below it,
  // √1e-8 = 1e-4 above; exact zeros never count.
  const evals = [0, 0, 1e-12, 1e-8, 0.5, 1, 2, 4, 8, 16, 16, 16];
  const all = layerMetrics(base, evals);
  equal(all.matrix_rank, 9);
  equal(all.num_evals, 12);
  const positive = evals.filter((v) => v > 0), total = positive.reduce((s, v) => s + v, 0);
  const ent = -positive.reduce((s, v) => s + (v / total) * Math.log(v / total), 0) / Math.log(9);
  assertNear("entropy", [all.entropy!], [ent], 0, 1e-12);
  // filterZeros: the fit and the norms use λ > 1e-5 only (8 values); rank and entropy keep all.
  const used = evals.filter((v) => v > 1e-5);
  const f = layerMetrics(base, evals, { filterZeros: true, minEvals: 5 });
  equal(f.num_evals, used.length);
  assertNear("norm", [f.norm!], [used.reduce((s, v) => s + v, 0)], 0, 1e-15);
  assertNear("norm_stable_rank", [f.norm_stable_rank!], [f.norm! / used.length], 0, 1e-15);
  equal(f.matrix_rank, 9);
  assertNear("entropy (filtered)", [f.entropy!], [ent], 0, 1e-12);
  equal(f.xmin, used[Math.floor(used.length / 2)]);
  // A rank-one spectrum: stable rank 1, entropy 0 (one p = 1), and too few eigenvalues to fit.
  const one = layerMetrics(base, [0, 0, 0, 25]);
  equal(one.stable_rank, 1);
  equal(one.matrix_rank, 1);
  assertNear("entropy of rank one", [one.entropy!], [0], 1e-12, 0);
  equal(one.alpha, null);
  ok(/fewer than min_evals 10/.test(one.warning), one.warning);
});

/** The MP law's quantiles for ratio γ = M/N and scale s²: its eigenvalues as an ideal layer has them. */
function mpQuantiles(n: number, gamma: number, s2: number): number[] {
  const lo = (1 - Math.sqrt(gamma)) ** 2, hi = (1 + Math.sqrt(gamma)) ** 2;
  const steps = 200000, dx = (hi - lo) / steps;
  const cdf: number[] = [0];
  for (let i = 0; i < steps; i++) {
    const x = lo + (i + 0.5) * dx;
    cdf.push(cdf[i] + Math.sqrt((hi - x) * (x - lo)) / (2 * Math.PI * gamma * x) * dx);
  }
  const total = cdf[steps];
  const out: number[] = [];
  let j = 0;
  for (let k = 0; k < n; k++) {
    const q = (k + 0.5) / n * total;
    while (cdf[j + 1] < q) j++;
    out.push(s2 * (lo + (j + (q - cdf[j]) / (cdf[j + 1] - cdf[j])) * dx));
  }
  return out;
}

Deno.test("layerMetrics(mpFit): bulk edge, spikes, soft rank and entry scale of an ideal MP spectrum", () => {
  // N = 800, M = 200 (Q = 4): entries of variance 1/N give s² = N·var = 1, so the bulk is
  // [(1 − ½)², (1 + ½)²] = [0.25, 2.25] and sigma_mp = √(1/N). Three planted spikes lie above it.
  const N = 800, M = 200, s2 = 1, shape = { ...base, shape: [N, M], N, M };
  const bulkMax = s2 * (1 + Math.sqrt(M / N)) ** 2;
  // The fit's s² grid steps by 10^(2/240) ≈ 1.9%: a pure MP spectrum is recovered within half a step.
  const pure = layerMetrics(shape, mpQuantiles(M, M / N, s2), { mpFit: true });
  assertNear("bulk_max", [pure.bulk_max!], [bulkMax], 0, 0.01);
  assertNear("sigma_mp", [pure.sigma_mp!], [Math.sqrt(s2 / N)], 0, 0.01);
  equal(pure.num_spikes, 0);
  // Three planted spikes (1.5% of the mass) are counted; the bulk edge moves by little.
  const row = layerMetrics(shape, [...mpQuantiles(M - 3, M / N, s2), 10, 20, 30], { mpFit: true });
  equal(row.num_spikes, 3);
  assertNear("bulk_max (spiked)", [row.bulk_max!], [bulkMax], 0, 0.03);
  assertNear("mp_softrank", [row.mp_softrank!], [row.bulk_max! / 30], 0, 1e-12);
});
