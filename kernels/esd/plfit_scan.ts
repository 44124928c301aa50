/**
 * Power-law fits on the GPU: for every xmin candidate i of an ascending ESD λ (length N),
 * alpha_i = 1 + n/Σ_{j≥i} ln(λ_j/λ_i) and the KS distance
 * D_i = max_{k<n} |1 − (λ_{i+k}/λ_i)^(1−alpha_i) − k/n| (n = N − i), all candidates in parallel.
 * The kernel reads the natural logs ℓ = ln λ, not λ: ratios become differences, so eigenvalues
 * far below float32's range (denormal-sized ones, or 1e-40 next to 1e+2) keep their place in
 * the sums instead of flushing to 0 and turning ln into −∞. Entries below the first candidate
 * (zero eigenvalues, whose ln is −∞) are never read.
 *
 * The tail of each candidate is cut into chunks of ≤ 8192 eigenvalues, each chunk one invocation
 * (so no loop passes the software driver's cap, see LOOP_CAP): pass 1 sums the logs of each chunk
 * (eight interleaved accumulators: ≤ 1024 sequential adds), pass 2 forms alpha, pass 3 takes each
 * chunk's KS maximum, pass 4 reduces them (D = 1 where alpha ≤ 1, as WeightWatcher's search does).
 * Candidates are a range [i0, i1), so `median` is one candidate and `gof` all N − 1.
 * @module
 */
import { requireDtype } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

const CHUNK = 8192;

const HEAD = `struct P { groups: u32, N: u32, i0: u32, nc: u32, nch: u32, off: u32 }
@group(0) @binding(0) var<uniform> p: P;`;

// Pass 1: part[c·nch + h] = Σ_{j in chunk h, j ≥ i} (ℓ_j − ℓ_i), candidate i = i0 + c.
const LOGSUM = `${HEAD}
@group(0) @binding(1) var<storage, read> ell: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let g = wid * 64u + t;
  if (g >= p.nc * p.nch) { return; }
  let c = g / p.nch; let h = g % p.nch;
  let i = p.i0 + c;
  let lo = max(i, h * ${CHUNK}u); let hi = min(p.N, (h + 1u) * ${CHUNK}u);
  let li = ell[p.off + i];
  var a = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
  var j = lo;
  for (; j + 8u <= hi; j += 8u) {
    a[0] += ell[p.off + j] - li; a[1] += ell[p.off + j + 1u] - li;
    a[2] += ell[p.off + j + 2u] - li; a[3] += ell[p.off + j + 3u] - li;
    a[4] += ell[p.off + j + 4u] - li; a[5] += ell[p.off + j + 5u] - li;
    a[6] += ell[p.off + j + 6u] - li; a[7] += ell[p.off + j + 7u] - li;
  }
  var tail = 0.0;
  for (; j < hi; j++) { tail += ell[p.off + j] - li; }
  part[g] = (((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))) + tail;
}`;

// Pass 2: alpha for each candidate.
const ALPHA = `${HEAD}
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> alpha: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let c = wid * 64u + t;
  if (c >= p.nc) { return; }
  var s = 0.0;
  for (var h = 0u; h < p.nch; h++) { s += part[c * p.nch + h]; }
  let n = f32(p.N - p.i0 - c);
  alpha[c] = 1.0 + n / s;
}`;

// Pass 3: part[c·nch + h] = max over chunk h of |1 − exp((1−alpha)(ℓ_j − ℓ_i)) − (j−i)/n|.
const KS = `${HEAD}
@group(0) @binding(1) var<storage, read> ell: array<f32>;
@group(0) @binding(2) var<storage, read> alpha: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let g = wid * 64u + t;
  if (g >= p.nc * p.nch) { return; }
  let c = g / p.nch; let h = g % p.nch;
  let i = p.i0 + c;
  let lo = max(i, h * ${CHUNK}u); let hi = min(p.N, (h + 1u) * ${CHUNK}u);
  let e = 1.0 - alpha[c];
  let n = f32(p.N - i);
  let li = ell[p.off + i];
  var d = 0.0;
  for (var j = lo; j < hi; j++) {
    let cdf = 1.0 - exp(e * (ell[p.off + j] - li));
    d = max(d, abs(cdf - f32(j - i) / n));
  }
  part[g] = d;
}`;

// Pass 4: D per candidate (1 where alpha ≤ 1 or not finite).
const DMAX = `${HEAD}
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read> alpha: array<f32>;
@group(0) @binding(3) var<storage, read_write> D: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let c = wid * 64u + t;
  if (c >= p.nc) { return; }
  var d = 0.0;
  for (var h = 0u; h < p.nch; h++) { d = max(d, part[c * p.nch + h]); }
  let a = alpha[c];
  D[c] = select(1.0, d, a > 1.0 && a < 3.0e38);
}`;

/** The per-candidate results of {@link powerLawScan}. */
export interface PowerLawScan {
  /** alpha for candidates i0 … i1−1. */
  alpha: Tensor;
  /** KS distance for the same candidates (1 where alpha ≤ 1). */
  D: Tensor;
}

/**
 * Records alpha and D for xmin candidates [i0, i1) of one ascending ESD, given as logs.
 * @param rec The recorder.
 * @param ell ln λ of the ascending eigenvalues (finite from index i0 on; any common shift, such
 *   as ln λ − ln λmax, gives the same result); element `offset` is ℓ_0.
 * @param N The ESD's length.
 * @param i0 First candidate.
 * @param i1 One past the last candidate (≤ N − 1).
 * @param offset Where the ESD starts in `ell` (to fit one row of a batched, sorted tensor).
 * @returns Tensors of i1 − i0 values each.
 */
export function powerLawScan(
  rec: Recorder,
  ell: Tensor,
  N: number,
  i0: number,
  i1: number,
  offset = 0,
): PowerLawScan {
  const op = `powerLawScan ell=${fmtShape(ell.shape)} N=${N} candidates=[${i0}, ${i1})`;
  requireDtype(op, "ell", ell);
  if (
    !(Number.isInteger(i0) && Number.isInteger(i1) && 0 <= i0 && i0 < i1 && i1 <= N - 1 &&
      offset + N <= ell.size)
  ) {
    throw new RangeError(`${op}: expected 0 ≤ i0 < i1 ≤ N − 1 and the ESD inside ell (${ell.size} values)`);
  }
  const nc = i1 - i0, nch = Math.ceil(N / CHUNK);
  const part = new Tensor(rec.gpu, [nc * nch], "f32", "plfit.part");
  const alpha = new Tensor(rec.gpu, [nc], "f32", "plfit.alpha");
  const D = new Tensor(rec.gpu, [nc], "f32", "plfit.D");
  const u = () => params(N, i0, nc, nch, offset);
  const g2 = Math.ceil((nc * nch) / 64), g1 = Math.ceil(nc / 64);
  rec.dispatch({ op, kernel: "plfit_logsum", code: LOGSUM, groups: g2, params: u(), tensors: [ell, part] });
  rec.dispatch({ op, kernel: "plfit_alpha", code: ALPHA, groups: g1, params: u(), tensors: [part, alpha] });
  rec.dispatch({ op, kernel: "plfit_ks", code: KS, groups: g2, params: u(), tensors: [ell, alpha, part] });
  rec.dispatch({ op, kernel: "plfit_dmax", code: DMAX, groups: g1, params: u(), tensors: [part, alpha, D] });
  rec.after(() => part.release());
  return { alpha, D };
}
