import { deepEqual, ok } from "node:assert/strict";
import { fitAt, fitPowerLaw } from "../../../esd/plfit.ts";
import { fitPowerLawsGpu } from "../../../esd/plfit_gpu.ts";
import { powerLawScan } from "../../../kernels/esd/plfit_scan.ts";
import { Recorder } from "../../../kernels/runtime/recorder.ts";
import { sortRows } from "../../../kernels/ops/sort.ts";
import { readback, upload } from "../../../kernels/runtime/tensor.ts";
import { assertNear, gpu, gpuTest, randArray, rng } from "../../_helpers.ts";

function pareto(n: number, alpha: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => Math.fround(Math.pow(1 - r(), -1 / (alpha - 1))));
}

gpuTest("sortRows() sorts rows of odd lengths ascending, padding with +Infinity and NaN last", async () => {
  for (const [rows, n] of [[1, 1], [1, 3], [3, 5], [2, 1000], [1, 4096]]) {
    const v = randArray(rows * n, rows * 31 + n, -1e30, 1e30);
    const rec = new Recorder(gpu);
    const s = sortRows(rec, upload(gpu, v, [rows, n]));
    await rec.submit();
    const [got] = await readback(gpu, s);
    const P = s.shape[1];
    for (let r = 0; r < rows; r++) {
      const want = Float64Array.from(v.subarray(r * n, (r + 1) * n)).sort();
      assertNear(`row ${r} of ${rows}x${n}`, got.subarray(r * P, r * P + n), want, 0, 0);
      ok(got.subarray(r * P + n, (r + 1) * P).every((x) => x === Infinity));
    }
  }
  const rec = new Recorder(gpu);
  const s = sortRows(rec, upload(gpu, [3, NaN, -Infinity, 0, -0.5], [5]));
  await rec.submit();
  const [got] = await readback(gpu, s);
  deepEqual(Array.from(got.subarray(0, 4)), [-Infinity, -0.5, 0, 3]);
  ok(Number.isNaN(got[7]), `NaN sorts last: ${got}`);
});

gpuTest(
  "powerLawScan() on ln λ matches float64 alpha and D for every candidate, across chunks of 8192",
  async () => {
    for (const [N, alpha, seed] of [[50, 2.5, 1], [3000, 3, 2], [20000, 2, 3]]) {
      const x = pareto(N, alpha, seed).sort();
      const rec = new Recorder(gpu);
      const lam = upload(gpu, Float64Array.from(x, Math.log), [N]);
      const cands = N > 5000 ? [[0, 40], [N / 2, N / 2 + 40], [N - 41, N - 1]] : [[0, N - 1]];
      const scans = cands.map(([i0, i1]) => powerLawScan(rec, lam, N, i0, i1));
      await rec.submit();
      const values = await readback(gpu, ...scans.flatMap((s) => [s.alpha, s.D]));
      cands.forEach(([i0, i1], k) => {
        const want = Array.from({ length: i1 - i0 }, (_, c) => fitAt(x, i0 + c));
        assertNear(`alpha N=${N} [${i0}, ${i1})`, values[2 * k], want.map((f) => f.alpha), 1e-3, 0);
        assertNear(
          `D N=${N} [${i0}, ${i1})`,
          values[2 * k + 1],
          want.map((f) => (f.alpha > 1 ? f.D : 1)),
          1e-3,
          0,
        );
      });
    }
  },
);

gpuTest("fitPowerLawsGpu() picks the same xmin and alpha as the float64 fit for every method", async () => {
  const esds = [pareto(4000, 2.5, 7), pareto(1000, 4, 8), pareto(300, 2, 9)];
  for (const method of ["median", "gof", "peak"] as const) {
    const fits = await fitPowerLawsGpu(gpu, esds, { method });
    esds.forEach((e, k) => {
      const want = fitPowerLaw(Float64Array.from(e).sort(), { method });
      assertNear(`${method} alpha #${k}`, [fits[k].alpha], [want.alpha], 1e-3, 0);
      ok(
        Math.abs(fits[k].index - want.index) <= 2,
        `${method} #${k}: xmin index ${fits[k].index} vs ${want.index}`,
      );
    });
  }
});
