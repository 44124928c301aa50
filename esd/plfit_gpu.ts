/**
 * The power-law fits of many ESDs on the GPU in one submit. Each ESD is sorted in float64, its xmin
 * candidates are chosen by the same rule as the float64 fit ({@link xminCandidates}), and its
 * logs ln(λ/λmax) go to the GPU, where every candidate gets alpha and D in parallel
 * (`kernels/esd/plfit_scan.ts`); the best candidate is taken on the CPU from one batched readback
 * ({@link bestCandidate}, also shared). Zeros stay in the ESD (they count in N, as in the
 * reference) but are never xmin.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { powerLawScan } from "../kernels/esd/plfit_scan.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { readback, type Tensor, upload } from "../kernels/runtime/tensor.ts";
import {
  bestCandidate,
  checkFitOptions,
  type FitOptions,
  type PowerLawFit,
  xminCandidates,
} from "./plfit.ts";

/**
 * Fits every ESD on the GPU.
 * @param gpu The GPU.
 * @param esds The eigenvalues of each layer (any order, ≥ 0; negative round-off counts as 0), at
 *   least 2 each.
 * @param options The xmin method (default `median`) and position.
 * @returns One fit per ESD; xmin and xmax are the float64 eigenvalues at the chosen index. A
 *   `median`/`mid` index that falls on a zero eigenvalue gives alpha NaN (as the float64 fit).
 * @throws {OptionError} On an ESD with fewer than 2 eigenvalues, an unknown method or xminPos < 1.
 */
export async function fitPowerLawsGpu(
  gpu: Gpu,
  esds: ArrayLike<number>[],
  options: FitOptions = {},
): Promise<PowerLawFit[]> {
  checkFitOptions(options, "fitPowerLawsGpu");
  const rec = new Recorder(gpu);
  const temps: Tensor[] = [];
  const jobs = esds.map((e) => {
    const sorted = Float64Array.from(e, (v) => Math.max(0, v)).sort();
    const N = sorted.length;
    if (N < 2) throw new OptionError(`fitPowerLawsGpu: needs at least 2 eigenvalues, got ${N}`);
    const { i0, i1 } = xminCandidates(sorted, options);
    if (!(sorted[i0] > 0)) return { sorted, i0, scan: null };
    // NOTE: logs relative to λmax are ≤ 0 and of modest size even for λ around 1e±300, where
    // λ itself would overflow or flush to zero in float32. Entries below i0 are never read.
    const top = Math.log(sorted[N - 1]);
    const ell = upload(gpu, Float32Array.from(sorted, (v, j) => (j < i0 ? 0 : Math.log(v) - top)), [N]);
    const scan = powerLawScan(rec, ell, N, i0, i1);
    temps.push(ell, scan.alpha, scan.D);
    return { sorted, i0, scan };
  });
  await rec.submit();
  const scanned = jobs.filter((j) => j.scan);
  const values = await readback(gpu, ...scanned.flatMap((j) => [j.scan!.alpha, j.scan!.D]));
  for (const t of temps) t.release();
  return jobs.map((j) => {
    const N = j.sorted.length;
    if (!j.scan) {
      return { alpha: NaN, xmin: j.sorted[j.i0], xmax: j.sorted[N - 1], D: NaN, index: j.i0, n: N - j.i0 };
    }
    const k = scanned.indexOf(j);
    const alpha = values[2 * k], D = values[2 * k + 1];
    const best = bestCandidate(alpha, D);
    const i = j.i0 + best;
    return { alpha: alpha[best], xmin: j.sorted[i], xmax: j.sorted[N - 1], D: D[best], index: i, n: N - i };
  });
}
