import { deepEqual, equal } from "node:assert/strict";
import { fitPowerLaw } from "../../esd/plfit.ts";
import { farmsGroups } from "../../esd/farms.ts";
import type { LayerMatrices } from "../../esd/matrices.ts";
import { assertNear, randArray, rng } from "../_helpers.ts";

/**
 * FARMS' `analysis_esd` with `fix_fingers='xmin_peak'` transcribed in float64: a 100-bin histogram
 * of log10 λ (torch.histc), xmin2 = 10^(left edge of the fullest bin), candidates skipped while
 * λ < log10(0.95·xmin2), stopped past 1.5·xmin2, alpha/D per candidate (D = 1 where alpha ≤ 1 or
 * skipped), argmin D.
 */
function alphaPeakReference(evals: number[]): number {
  const e = [...evals].sort((a, b) => a - b), N = e.length, logs = e.map(Math.log);
  const h = e.map(Math.log10), lo = h[0], hi = h[N - 1];
  const counts = new Array(100).fill(0);
  for (const v of h) counts[Math.min(99, Math.floor(((v - lo) / (hi - lo)) * 100))]++;
  let ih = 0;
  for (let b = 1; b < 100; b++) if (counts[b] > counts[ih]) ih = b;
  const xmin2 = 10 ** (lo + (ih * (hi - lo)) / 100);
  const xminMin = Math.log10(0.95 * xmin2), xminMax = 1.5 * xmin2;
  const alphas = new Array(N - 1).fill(0), Ds = new Array(N - 1).fill(1);
  for (let i = 0; i < N - 1; i++) {
    const xmin = e[i];
    if (xmin < xminMin) continue;
    if (xmin > xminMax) break;
    const n = N - i;
    let s = 0;
    for (let j = i; j < N; j++) s += logs[j];
    const alpha = 1 + n / (s - n * logs[i]);
    alphas[i] = alpha;
    if (alpha > 1) {
      let D = 0;
      for (let k = 0; k < n; k++) D = Math.max(D, Math.abs(1 - (e[i + k] / xmin) ** (1 - alpha) - k / n));
      Ds[i] = D;
    }
  }
  let best = 0;
  for (let i = 1; i < N - 1; i++) if (Ds[i] < Ds[best]) best = i;
  return alphas[best];
}

Deno.test("alpha_peak with the reference's bound equals FARMS' xmin_peak loop transcribed in float64", () => {
  const r = rng(5);
  for (const [n, a, scale] of [[200, 2.5, 1], [300, 4, 0.01], [128, 3, 50], [64, 2.2, 3e-3]]) {
    // A Marchenko–Pastur-like bulk with a power-law tail, at several scales.
    const ev = Array.from(
      { length: n },
      (_, i) => scale * (i < n * 0.7 ? 0.2 + r() : Math.pow(1 - r(), -1 / (a - 1))),
    );
    const want = alphaPeakReference(ev);
    const got = fitPowerLaw(Float64Array.from(ev).sort(), { method: "peak", peakBound: "reference" }).alpha;
    assertNear(`n ${n} alpha ${a} scale ${scale}`, [got], [want], 1e-12, 1e-12);
  }
});

Deno.test("FARMS windows for LLM pruning: rows capped at the smaller side, square (Q 1), 15 starts per side", () => {
  const mat = (rows: number, cols: number): LayerMatrices => ({
    name: "w",
    kind: "linear",
    shape: [rows, cols],
    rows,
    cols,
    N: Math.max(rows, cols),
    M: Math.min(rows, cols),
    scale: 1,
    slices: [randArray(rows * cols, rows + cols)],
  } as unknown as LayerMatrices);
  // 128 × 512 (a GPT-2 c_fc seen (out, in) = (512, 128) or stored (128, 512)): windows 128 × 128.
  const g = farmsGroups(mat(128, 512), { windowRows: 2000, q: 1, grid: 15, capToSmallerSide: true });
  equal(g.length, 1);
  deepEqual([g[0].rows, g[0].cols], [128, 128]);
  // Rows: one start (no room); cols: step (512 − 128) // 14 = 27 → 15 starts.
  equal(g[0].slices.length, 15);
  // Without the cap the image-classification rule keeps 128 × 2000 → 128 × 512: one window.
  const h = farmsGroups(mat(128, 512), { windowRows: 2000, q: 1, grid: 15 });
  deepEqual([h[0].rows, h[0].cols, h[0].slices.length], [128, 512, 1]);
  // 4 × 6 with a 3-row cap: 3 × 3 windows, 2 row starts × 4 col starts.
  const k = farmsGroups(mat(4, 6), { windowRows: 3, q: 1, grid: 15, capToSmallerSide: true });
  deepEqual([k[0].rows, k[0].cols, k[0].slices.length], [3, 3, 2 * 4]);
});
