/**
 * The power-law fits of many ESDs on the GPU in one submit: each ESD is uploaded, sorted
 * (bitonic), and every xmin candidate its method allows gets alpha and D in parallel
 * (`kernels/plfit.ts`); the argmin of D is taken on the CPU from one batched readback.
 * `median`/`mid` have one candidate; `gof` all N − 1; `peak` those within [0.95·p, 1.5·p] of the
 * histogram peak p (computed on the CPU, as in `plfit.ts`).
 * @module
 */
import { powerLawScan } from "../kernels/plfit.ts";
import { Recorder } from "../kernels/recorder.ts";
import type { Gpu } from "../kernels/runtime.ts";
import { sortRows } from "../kernels/sort.ts";
import { readback, type Tensor, upload } from "../kernels/tensor.ts";
import { type FitOptions, histogramPeak, type PowerLawFit } from "./plfit.ts";

/**
 * Fits every ESD (positive eigenvalues, any order, at least 2 each) on the GPU.
 * @param gpu The GPU.
 * @param esds The eigenvalues of each layer (positive).
 * @param options The xmin method (default `median`) and position.
 * @returns One fit per ESD; xmin and xmax are the float64 eigenvalues at the chosen index.
 */
export async function fitPowerLawsGpu(
  gpu: Gpu,
  esds: Float64Array[],
  options: FitOptions = {},
): Promise<PowerLawFit[]> {
  const { method = "median", xminPos = 2 } = options;
  const rec = new Recorder(gpu);
  const temps: Tensor[] = [];
  const jobs = esds.map((e) => {
    const N = e.length;
    if (N < 2) throw new RangeError(`fitPowerLawsGpu: needs at least 2 eigenvalues, got ${N}`);
    const sorted = Float64Array.from(e).sort();
    let i0 = 0, i1 = N - 1;
    if (method === "median" || method === "mid") {
      i0 = Math.min(N - 2, Math.floor(N / xminPos));
      i1 = i0 + 1;
    } else if (method === "peak") {
      const p = histogramPeak(sorted);
      const first = sorted.findIndex((v) => v >= 0.95 * p);
      let last = first;
      while (last < N - 1 && sorted[last] <= 1.5 * p) last++;
      if (first >= 0 && first < N - 1 && last > first) [i0, i1] = [first, last];
    }
    // NOTE: alpha and D are scale-free; dividing by λmax keeps eigenvalues of weights around 1e±30
    // (λ up to 1e±60) inside float32.
    const top = sorted[N - 1] > 0 ? sorted[N - 1] : 1;
    const t = upload(gpu, Float32Array.from(e, (v) => v / top), [N], "f32", "esd");
    const s = sortRows(rec, t);
    const scan = powerLawScan(rec, s, N, i0, i1);
    temps.push(t, s, scan.alpha, scan.D);
    return { sorted, i0, scan };
  });
  await rec.submit();
  const values = await readback(gpu, ...jobs.flatMap((j) => [j.scan.alpha, j.scan.D]));
  for (const t of temps) t.release();
  return jobs.map((j, k) => {
    const alpha = values[2 * k], D = values[2 * k + 1];
    let best = 0;
    for (let c = 1; c < D.length; c++) if (D[c] < D[best]) best = c;
    const i = j.i0 + best, N = j.sorted.length;
    return { alpha: alpha[best], xmin: j.sorted[i], xmax: j.sorted[N - 1], D: D[best], index: i, n: N - i };
  });
}
