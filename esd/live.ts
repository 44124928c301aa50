/**
 * The TempBalance ESD of weights that live on the GPU (a training model's parameter arena), with
 * only the metrics read back: each weight is packed into Jacobi vectors in place (× sqrt(convNorm)
 * for convs), its slices solved by the blocked one-sided Jacobi (`kernels/linalg/svd_jacobi.ts`, whose
 * only readbacks are its per-matrix convergence counters), the pooled eigenvalues sorted on the
 * GPU, their logs scanned at the median (or `mid`) xmin, and per layer three numbers come back:
 * alpha, λmax and λ at xmin.
 * NOTE: the padding rows the solver needs add exact zeros; after sorting, the smallest
 * kh·kw·(cPad − c) values are dropped — all zeros, since at least that many are zero — so N and
 * the median index are the layer's own. Only the `median`/`mid` fits run here (one candidate, no
 * histogram); the others need the sorted ESD on the CPU.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { logRelative, packSlices } from "../kernels/esd/slice_pack.ts";
import { powerLawScan } from "../kernels/esd/plfit_scan.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { sortRows } from "../kernels/ops/sort.ts";
import { jacobiSvdMany, paddedRows } from "../kernels/linalg/svd_jacobi.ts";
import { readback, Tensor } from "../kernels/runtime/tensor.ts";
import { checkFitOptions, medianXminIndex } from "./plfit.ts";

/** One layer's live measurement. */
export interface LiveMetrics {
  /** alpha (null when the median eigenvalue is 0). */
  alpha: number | null;
  /** λmax. */
  spectral_norm: number;
  /** alpha · log10(λmax). */
  alphahat: number | null;
  /** False when the solver hit its sweep limit on some slice. */
  converged: boolean;
}

/**
 * Why a measurement cannot run on the live path, or null when it can: the one rule the scheduler's
 * option check, its `auto` choice and {@link liveLayerMetrics} share. Live runs the median/mid fit
 * on whole layers: the other fits need the ESD on the CPU, FARMS needs submatrices, and zero
 * filtering needs the eigenvalues themselves.
 * @param o The fit, and whether FARMS or zero filtering is asked for.
 * @returns The reason, or null.
 */
export function liveUnsupported(o: { fit?: string; farms?: unknown; filterZeros?: boolean }): string | null {
  const fit = o.fit ?? "median";
  if (fit !== "median" && fit !== "mid") {
    return `fit "${fit}" needs the ESD on the CPU: only median and mid run live`;
  }
  if (o.farms) return "FARMS needs the ESD of submatrices: it does not run live";
  if (o.filterZeros) return "filterZeros needs the eigenvalues on the CPU: it does not run live";
  return null;
}

/**
 * Measures weights in place on the GPU.
 * @param gpu The GPU.
 * @param weights The weights (PyTorch layout, rank 2 or 4), e.g. arena views.
 * @param o Conv normalisation and the median/mid fit.
 * @returns One entry per weight.
 * @throws {OptionError} For a fit other than median/mid, or a weight that is not rank 2 or 4.
 */
export async function liveLayerMetrics(
  gpu: Gpu,
  weights: Tensor[],
  o: { convNorm?: number; fit?: "median" | "mid"; xminPos?: number } = {},
): Promise<LiveMetrics[]> {
  const { method, xminPos } = checkFitOptions({ method: o.fit, xminPos: o.xminPos }, "liveLayerMetrics");
  const unsupported = liveUnsupported({ fit: method });
  if (unsupported) throw new OptionError(`liveLayerMetrics: ${unsupported}`);
  if (!weights.length) return [];
  const convNorm = o.convNorm ?? 0.5;
  const rec0 = new Recorder(gpu);
  const layers = weights.map((w) => {
    if (w.shape.length !== 2 && w.shape.length !== 4) {
      throw new OptionError(
        `liveLayerMetrics: weight "${w.name}" has shape [${w.shape}]: expected rank 2 or 4`,
      );
    }
    const [out, inp, kh = 1, kw = 1] = w.shape;
    const c = Math.min(out, inp), r = Math.max(out, inp), S = kh * kw;
    const cPad = paddedRows(c), rPad = Math.ceil(r / 4) * 4;
    const x = packSlices(rec0, w, cPad, rPad, w.shape.length === 4 ? Math.sqrt(convNorm) : 1);
    return { x, S, c, cPad };
  });
  await rec0.submit(); // the packed slices, before the solver's own submits
  const solved = await jacobiSvdMany(gpu, layers.map((l) => l.x), { keepOnGpu: true });
  const rec = solved[0].rec!;
  const temps: Tensor[] = [];
  const pick = new Tensor(gpu, [Math.max(1, 2 * layers.length)], "f32", "esd.pick");
  const scans = layers.map((l, k) => {
    const norms = solved[k].tensor!;
    temps.push(norms, l.x);
    const sorted = sortRows(rec, norms.view(0, [l.S * l.cPad]));
    temps.push(sorted);
    const off = l.S * (l.cPad - l.c), N = l.S * l.c;
    const i = medianXminIndex(N, xminPos);
    rec.copyRange(sorted, off + i, pick, 2 * k, 1);
    rec.copyRange(sorted, off + N - 1, pick, 2 * k + 1, 1);
    if (N < 2) return null; // too few eigenvalues for a fit
    const ell = logRelative(rec, sorted, off, N);
    const scan = powerLawScan(rec, ell, N, i, i + 1);
    temps.push(ell, scan.alpha, scan.D);
    return scan.alpha;
  });
  await rec.submit();
  const fitted = scans.filter((t): t is Tensor => t !== null);
  const values = await readback(gpu, pick, ...fitted);
  for (const t of temps) t.release();
  pick.release();
  return layers.map((_, k) => {
    const scan = scans[k];
    const xmin = values[0][2 * k], top = values[0][2 * k + 1];
    const a = scan ? values[1 + fitted.indexOf(scan)][0] : NaN;
    const alpha = scan && xmin > 0 && Number.isFinite(a) ? a : null;
    return {
      alpha,
      spectral_norm: top,
      alphahat: alpha === null || !(top > 0) ? null : alpha * Math.log10(top),
      converged: solved[k].sweeps.every((s) => s >= 0),
    };
  });
}
