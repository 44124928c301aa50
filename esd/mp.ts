/**
 * Marchenko–Pastur (MP) fit of an ESD and the spectral distance to a randomised layer.
 *
 * MP fit: for an N×M matrix (N ≥ M) with i.i.d. entries, the eigenvalues of WᵀW fill
 * [s²(1−1/√Q)², s²(1+1/√Q)²], Q = N/M, s² = N·var(w), with the MP density. We choose s² by
 * minimising the Kolmogorov–Smirnov distance between the ESD and the MP law over a log-spaced grid
 * (WeightWatcher fits a kernel-density estimate by least squares instead; KS needs no bandwidth
 * and is invariant to the binning). From s²: the bulk edge `bulk_max`, `num_spikes` (eigenvalues
 * above it), `mp_softrank` = bulk_max / λmax and `sigma_mp` = sqrt(s²/N).
 *
 * Randomisation: `rand_distance` is the Jensen–Shannon distance (natural log, as scipy's
 * `jensenshannon`) between histograms, over shared log10-spaced bins (√n of them, 10…100), of the
 * layer's ESD and the ESD of its element-shuffled weights. Ref: Martin & Mahoney, JMLR 22 (2021), §5.
 * @module
 */

/** The MP fit of one ESD. */
export interface MpFit {
  /** The bulk edge s²(1 + 1/√Q)². */
  bulk_max: number;
  /** The lower edge s²(1 − 1/√Q)². */
  bulk_min: number;
  /** Eigenvalues above the bulk edge. */
  num_spikes: number;
  /** bulk_max / λmax. */
  mp_softrank: number;
  /** Entry standard deviation implied by the fit, sqrt(s²/N). */
  sigma_mp: number;
}

/** MP cumulative distribution (continuous part) at x for ratio γ = M/N ≤ 1 and scale s², by Simpson's rule. */
function mpCdfTable(gamma: number, points = 2001): { x: Float64Array; F: Float64Array } {
  const lo = (1 - Math.sqrt(gamma)) ** 2, hi = (1 + Math.sqrt(gamma)) ** 2;
  const x = new Float64Array(points), F = new Float64Array(points);
  const pdf = (
    t: number,
  ) => (t <= lo || t >= hi ? 0 : Math.sqrt((hi - t) * (t - lo)) / (2 * Math.PI * gamma * t));
  for (let i = 0; i < points; i++) x[i] = lo + ((hi - lo) * i) / (points - 1);
  for (let i = 1; i < points; i++) {
    const a = x[i - 1], b = x[i], m = (a + b) / 2;
    F[i] = F[i - 1] + ((b - a) / 6) * (pdf(a) + 4 * pdf(m) + pdf(b));
  }
  const total = F[points - 1];
  for (let i = 0; i < points; i++) F[i] /= total;
  return { x, F };
}

/**
 * Fits the MP law to an ESD.
 * @param sorted Eigenvalues, ascending (zeros allowed; they are ignored when Q > 1).
 * @param N The larger dimension of a slice.
 * @param M The smaller dimension of a slice.
 * @returns The fit.
 */
export function fitMp(sorted: Float64Array, N: number, M: number): MpFit {
  const gamma = M / N;
  const ev = gamma < 1 ? sorted.filter((v) => v > 0) : sorted;
  const n = ev.length;
  const { x, F } = mpCdfTable(gamma);
  const cdf = (t: number) => {
    if (t <= x[0]) return 0;
    if (t >= x[x.length - 1]) return 1;
    let a = 0, b = x.length - 1;
    while (b - a > 1) {
      const m = (a + b) >> 1;
      if (x[m] <= t) a = m;
      else b = m;
    }
    return F[a] + ((F[b] - F[a]) * (t - x[a])) / (x[b] - x[a]);
  };
  let mean = 0;
  for (const v of ev) mean += v;
  mean /= n;
  let best = { s2: mean, D: Infinity };
  for (let k = 0; k <= 240; k++) {
    const s2 = mean * 10 ** (-1.5 + (2 * k) / 240); // 0.03·mean … 3·mean
    let D = 0;
    for (let i = 0; i < n; i++) {
      const f = cdf(ev[i] / s2);
      D = Math.max(D, Math.abs(f - i / n), Math.abs(f - (i + 1) / n));
    }
    if (D < best.D) best = { s2, D };
  }
  const bulk_max = best.s2 * (1 + Math.sqrt(gamma)) ** 2, bulk_min = best.s2 * (1 - Math.sqrt(gamma)) ** 2;
  const lmax = sorted[sorted.length - 1];
  return {
    bulk_max,
    bulk_min,
    num_spikes: ev.filter((v) => v > bulk_max).length,
    mp_softrank: bulk_max / lmax,
    sigma_mp: Math.sqrt(best.s2 / N),
  };
}

/**
 * Jensen–Shannon distance (natural log) between two ESDs' histograms over shared log10-spaced
 * bins of their positive eigenvalues.
 * @param a One ESD.
 * @param b The other.
 * @param bins Number of bins (default √n clamped to 10…100, n the smaller ESD: enough counts per
 *   bin that two samples of one law come out close).
 * @returns The distance in [0, sqrt(ln 2)].
 */
export function jensenShannon(a: ArrayLike<number>, b: ArrayLike<number>, bins?: number): number {
  const pa = Array.from(a).filter((v) => v > 0), pb = Array.from(b).filter((v) => v > 0);
  bins ??= Math.min(100, Math.max(10, Math.round(Math.sqrt(Math.min(pa.length, pb.length)))));
  const all = [...pa, ...pb].map(Math.log10);
  let lo = Infinity, hi = -Infinity;
  for (const v of all) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const w = (hi - lo) / bins || 1;
  const hist = (xs: number[]) => {
    const h = new Array<number>(bins).fill(0);
    for (const v of xs) h[Math.min(bins - 1, Math.floor((Math.log10(v) - lo) / w))] += 1 / xs.length;
    return h;
  };
  const ha = hist(pa), hb = hist(pb);
  let js = 0;
  for (let i = 0; i < bins; i++) {
    const m = (ha[i] + hb[i]) / 2;
    if (ha[i] > 0) js += 0.5 * ha[i] * Math.log(ha[i] / m);
    if (hb[i] > 0) js += 0.5 * hb[i] * Math.log(hb[i] / m);
  }
  return Math.sqrt(Math.max(0, js));
}

/** Shuffles a layer's elements (Fisher–Yates, seeded), returning a new array. */
export function shuffled(values: Float64Array, seed: number): Float64Array {
  const out = Float64Array.from(values);
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
