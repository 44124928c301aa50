/**
 * 1D viscous Burgers, ∂u/∂t + ∂(u²/2)/∂x = (ν/π)·∂²u/∂x², periodic on [0, 1], as PDEBench generates
 * it: its random initial conditions and its scheme (finite volumes, MUSCL reconstruction with the
 * monotonised-central limiter, a local Lax–Friedrichs flux, central diffusion, a two-stage
 * midpoint step at CFL 0.25), in float64. Frames every `dtSave` up to `tEnd`.
 * @module
 */
import { mulberry32 } from "../../util/random.ts";
import { cellCentres } from "./darcy.ts";

/** Options of {@link solveBurgers}. */
export interface BurgersOptions {
  /** PDEBench's ν (the file name's `Nu`); the diffusion coefficient is ν/π (default 0.01). */
  nu?: number;
  /** Time between frames (default 0.01). */
  dtSave?: number;
  /** Final time (default 2). */
  tEnd?: number;
  /** CFL number (default 0.25). */
  cfl?: number;
}

/** Frames saved: PDEBench's `ceil((tEnd − 0)/dtSave) + 1`. */
export function burgersFrames(o: BurgersOptions = {}): number {
  return Math.ceil((o.tEnd ?? 2) / (o.dtSave ?? 0.01) - 1e-9) + 1;
}

/** The monotonised-central ("VL", α = 2) limited slope of PDEBench's `VLlimiter`. */
function limited(a: number, b: number, c: number): number {
  if (a * b <= 0) return 0;
  return Math.sign(c) * Math.min(2 * Math.min(Math.abs(a), Math.abs(b)), Math.abs(c));
}

/**
 * Evolves one initial condition and returns its frames.
 * @param u0 u at the cell centres at t = 0 (its length is the resolution).
 * @param o ν, frame spacing, final time, CFL.
 * @returns frames × n values, frame-major (frame 0 is `u0`).
 */
export function solveBurgers(u0: ArrayLike<number>, o: BurgersOptions = {}): Float32Array {
  const n = u0.length;
  const dx = 1 / n;
  const eps = (o.nu ?? 0.01) / Math.PI;
  const dtSave = o.dtSave ?? 0.01, tEnd = o.tEnd ?? 2, cfl = o.cfl ?? 0.25;
  const frames = burgersFrames(o);
  const out = new Float32Array(frames * n);
  let u = Float64Array.from(u0);
  out.set(u, 0);
  const mid = new Float64Array(n);
  let next = new Float64Array(n);
  const flux = new Float64Array(n + 1);
  const pad = new Float64Array(n + 4);
  const uL = new Float64Array(n + 4), uR = new Float64Array(n + 4);
  const dtDiff = (cfl * 0.5 * dx * dx) / (eps + 1e-8);
  // The flux through each cell's left face (face i between cells i−1 and i; face n = face 0).
  const fluxes = (v: Float64Array) => {
    pad.set(v, 2);
    pad[0] = v[n - 2], pad[1] = v[n - 1], pad[n + 2] = v[0], pad[n + 3] = v[1];
    for (let p = 1; p <= n + 2; p++) {
      const g = limited(pad[p] - pad[p - 1], pad[p + 1] - pad[p], 0.5 * (pad[p + 1] - pad[p - 1]));
      uL[p] = pad[p] - 0.5 * g;
      uR[p] = pad[p] + 0.5 * g;
    }
    for (let m = 0; m <= n; m++) {
      const l = uR[m + 1], r = uL[m + 2]; // the states left and right of the face
      flux[m] = 0.5 * (0.5 * l * l + 0.5 * r * r - 0.5 * Math.abs(r + l) * (r - l)) -
        (eps * (pad[m + 2] - pad[m + 1])) / dx;
    }
  };
  const step = (from: Float64Array, at: Float64Array, dt: number, to: Float64Array) => {
    fluxes(at);
    for (let i = 0; i < n; i++) to[i] = from[i] - (dt / dx) * (flux[i + 1] - flux[i]);
  };
  let t = 0;
  for (let f = 1; f < frames; f++) {
    const tSave = Math.min(f * dtSave, tEnd);
    while (tSave - t > 1e-8) {
      let umax = 0;
      for (let i = 0; i < n; i++) umax = Math.max(umax, Math.abs(u[i]));
      const dt = Math.min((cfl * dx) / (umax + 1e-8), dtDiff, tSave - t);
      step(u, u, 0.5 * dt, mid);
      step(u, mid, dt, next);
      [u, next] = [next, u];
      t += dt;
    }
    t = tSave;
    out.set(u, f * n);
  }
  return out;
}

/**
 * Draws PDEBench's Burgers initial conditions (`init_multi`, k_tot = 4, two wave numbers chosen per
 * sample): Σ_k a_k·sin(k_k·x + φ_k) over k = 1…4, where a chosen k contributes 2πk/(x_last − x_first)
 * (twice that if chosen twice) and an unchosen one a constant a_k·sin(φ_k); then |·| with
 * probability 0.1, a random sign, and with probability 0.1 a tanh window on [x_L, x_R].
 * @param n Cells.
 * @param count Samples.
 * @param seed The seed.
 * @returns count × n values, sample-major.
 */
export function burgersInitial(n: number, count: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const xc = cellCentres(n);
  const span = xc[n - 1] - xc[0];
  const out = new Float32Array(count * n);
  for (let s = 0; s < count; s++) {
    const chosen = [0, 0, 0, 0];
    for (let c = 0; c < 2; c++) chosen[Math.min(3, Math.floor(rand() * 4))]++;
    const amp = chosen.map(() => rand()), phase = chosen.map(() => 2 * Math.PI * rand());
    const absolute = rand() < 0.1, sign = rand() < 0.5 ? 1 : -1;
    const windowed = rand() < 0.1, xl = 0.1 + 0.35 * rand(), xr = 0.55 + 0.35 * rand();
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let k = 0; k < 4; k++) {
        v += amp[k] * Math.sin(((2 * Math.PI * (k + 1) * chosen[k]) / span) * xc[i] + phase[k]);
      }
      if (absolute) v = Math.abs(v);
      v *= sign;
      if (windowed) v *= 0.5 * (Math.tanh((xc[i] - xl) / 0.01) - Math.tanh((xc[i] - xr) / 0.01));
      out[s * n + i] = v;
    }
  }
  return out;
}
