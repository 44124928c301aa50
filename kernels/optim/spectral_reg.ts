/**
 * Spectral-norm regularisation (SNR) of weight gradients, as the TempBalance reference's `SGDSNR`:
 * for each weight W reshaped to (m = out, n = numel/out), a few power iterations from a random
 * start u₀ (1×m) — v = uW/‖uW‖, u = vWᵀ/‖vWᵀ‖ — give the top singular triple (σ₁ = u·Wv, u, v),
 * and the gradient gains sg·σ₁·uᵀv (the gradient of sg·σ₁²/2).
 * All weights are handled together: a layer table drives every pass, so one regularisation is
 * 2 + 4·iterations dispatches however many layers there are, recorded into the training step.
 * NOTE: u₀ is drawn on the GPU from a counter-based generator keyed by (seed, step, layer, row), so
 * a run is reproducible and resumable; torch draws it from its global generator, so the two agree
 * in distribution, not bit for bit. A zero weight (‖uW‖ = 0) gets no term instead of torch's NaN.
 * Ref: Yoshida & Miyato, "Spectral norm regularization for improving the generalizability of deep
 * learning", 2017.
 * @module
 */
import { params } from "../runtime/params.ts";
import { type ChunkRange, chunkRows } from "./chunk_table.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor, upload } from "../runtime/tensor.ts";
import type { Gpu } from "../runtime/runtime.ts";

/** One regularised weight: where it lives in the arena and its matrix shape. */
export interface SnrLayer {
  /** First element in the value/gradient arenas. */
  offset: number;
  /** Rows (the weight's first dimension). */
  m: number;
  /** Columns (the product of the other dimensions). */
  n: number;
}

/** WGSL and TypeScript share this hash (PCG-RXS-M-XS), so the reference draws the same u₀. */
const PCG = `fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}`;

function pcg(v: number): number {
  const s = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  return ((w >>> 22) ^ w) >>> 0;
}

/**
 * The start vector's entry: a standard normal from (seed, step, layer, row), Box–Muller on two
 * 24-bit uniforms — the float64 twin of the GPU's draw.
 */
export function snrStart(seed: number, step: number, layer: number, row: number): number {
  const h1 = pcg((row + pcg((layer + pcg((step + pcg(seed >>> 0)) >>> 0)) >>> 0)) >>> 0);
  const h2 = pcg(h1);
  const u1 = ((h1 >>> 8) + 0.5) / 16777216, u2 = ((h2 >>> 8) + 0.5) / 16777216;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

// Layer table rows: (offset, m, n, uOff), (vOff, 0, 0, 0).
const HEAD = `struct P { groups: u32, L: u32, per: u32, seed: u32, step: u32, sg: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> layers: array<vec4u>;`;

const INIT = `${HEAD}
@group(0) @binding(2) var<storage, read_write> u: array<f32>;
${PCG}
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let l = wid / p.per; let i = (wid % p.per) * 64u + t;
  let a = layers[2u * l];
  if (i >= a.y) { return; }
  let h1 = pcg(i + pcg(l + pcg(p.step + pcg(p.seed))));
  let h2 = pcg(h1);
  let u1 = (f32(h1 >> 8u) + 0.5) / 16777216.0; let u2 = (f32(h2 >> 8u) + 0.5) / 16777216.0;
  u[a.w + i] = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}`;

// v_j = Σ_i u_i W_ij (one invocation per column).
const VT = `${HEAD}
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> u: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let l = wid / p.per; let j = (wid % p.per) * 64u + t;
  let a = layers[2u * l]; let vOff = layers[2u * l + 1u].x;
  if (j >= a.z) { return; }
  var s = 0.0;
  for (var i = 0u; i < a.y; i++) { s += u[a.w + i] * w[a.x + i * a.z + j]; }
  v[vOff + j] = s;
}`;

// u_i = Σ_j W_ij v_j (one invocation per row).
const UW = `${HEAD}
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> u: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let l = wid / p.per; let i = (wid % p.per) * 64u + t;
  let a = layers[2u * l]; let vOff = layers[2u * l + 1u].x;
  if (i >= a.y) { return; }
  var s = 0.0;
  let row = a.x + i * a.z;
  for (var j = 0u; j < a.z; j++) { s += w[row + j] * v[vOff + j]; }
  u[a.w + i] = s;
}`;

// Normalises each layer's vector in place (one workgroup per layer); records the norm.
// which = 0: v (length n at vOff); 1: u (length m at uOff).
const NORM = `${HEAD}
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> norms: array<f32>;
var<workgroup> part: array<f32, 64>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let l = min(wid, p.L - 1u);
  let a = layers[2u * l]; let b = layers[2u * l + 1u];
  let off = select(a.w, b.x, p.per == 0u); let len = select(a.y, a.z, p.per == 0u);
  var s = 0.0;
  for (var k = t; k < len; k += 64u) { s += x[off + k] * x[off + k]; }
  part[t] = s;
  workgroupBarrier();
  for (var h = 32u; h > 0u; h >>= 1u) {
    if (t < h) { part[t] += part[t + h]; }
    workgroupBarrier();
  }
  let nrm = sqrt(part[0]);
  if (wid >= p.groups) { return; }
  let inv = select(0.0, 1.0 / nrm, nrm > 0.0);
  for (var k = t; k < len; k += 64u) { x[off + k] = x[off + k] * inv; }
  if (t == 0u) { norms[l] = nrm; }
}`;

// g_ij += sg · σ · u_i · v_j over a chunk table (offset, length, layer).
const APPLY = `${HEAD}
@group(0) @binding(2) var<storage, read_write> g: array<f32>;
@group(0) @binding(3) var<storage, read> u: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read> sigma: array<f32>;
@group(0) @binding(6) var<storage, read> chunks: array<vec4u>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  let ch = chunks[wid];
  let a = layers[2u * ch.z]; let vOff = layers[2u * ch.z + 1u].x;
  let c = p.sg * sigma[ch.z];
  for (var k = t; k < ch.y; k += 256u) {
    let e = ch.x + k;
    let local = e - a.x;
    let i = local / a.z; let j = local - i * a.z;
    g[e] = g[e] + c * u[a.w + i] * v[vOff + j];
  }
}`;

/** The GPU state of an SNR regulariser: tables and vectors, allocated once. */
export class SpectralReg {
  /** The layers, in table order. */
  readonly layers: SnrLayer[];
  #table: Tensor;
  #chunks: Tensor;
  #u: Tensor;
  #v: Tensor;
  #sigma: Tensor;
  #scratch: Tensor;
  #maxM: number;
  #maxN: number;

  /**
   * Builds the tables.
   * @param gpu The GPU.
   * @param layers Each weight's arena offset and (m, n).
   * @throws {RangeError} With no layers, or a row longer than a shader loop may run.
   */
  constructor(gpu: Gpu, layers: SnrLayer[]) {
    if (!layers.length) throw new RangeError("SpectralReg: no weight to regularise");
    this.layers = layers;
    const table = new Uint32Array(layers.length * 8);
    let uo = 0, vo = 0;
    const ranges: ChunkRange[] = [];
    layers.forEach((l, k) => {
      if (l.n > 60000 || l.m > 60000) {
        throw new RangeError(`SpectralReg: weight ${k} is ${l.m}×${l.n}: rows and columns must be ≤ 60000`);
      }
      table.set([l.offset, l.m, l.n, uo, vo], 8 * k);
      uo += l.m;
      vo += l.n;
      ranges.push({ offset: l.offset, length: l.m * l.n, index: k });
    });
    this.#table = upload(gpu, table, [table.length], "u32", "snr.layers");
    const chunks = chunkRows(ranges);
    this.#chunks = upload(gpu, chunks, [chunks.length], "u32", "snr.chunks");
    this.#u = new Tensor(gpu, [uo], "f32", "snr.u");
    this.#v = new Tensor(gpu, [vo], "f32", "snr.v");
    this.#sigma = new Tensor(gpu, [layers.length], "f32", "snr.sigma");
    this.#scratch = new Tensor(gpu, [layers.length], "f32", "snr.norms");
    this.#maxM = Math.max(...layers.map((l) => l.m));
    this.#maxN = Math.max(...layers.map((l) => l.n));
  }

  /**
   * Records the regulariser: power iterations on the weights, then g += sg·σ·uᵀv.
   * @param rec The step's recorder.
   * @param values Parameter arena.
   * @param grads Gradient arena (updated in place).
   * @param o The strength sg, power iterations, seed and step (for the start vector).
   */
  record(
    rec: Recorder,
    values: Tensor,
    grads: Tensor,
    o: { sg: number; iterations: number; seed: number; step: number },
  ): void {
    const L = this.layers.length, op = `spectralReg (${L} weights)`;
    const perM = Math.ceil(this.#maxM / 64), perN = Math.ceil(this.#maxN / 64);
    const u = (per: number) => params(L, per, o.seed >>> 0, o.step >>> 0, { f: o.sg });
    rec.dispatch({
      op,
      kernel: "snr_init",
      code: INIT,
      groups: L * perM,
      params: u(perM),
      tensors: [this.#table, this.#u],
    });
    for (let it = 0; it < o.iterations; it++) {
      const last = it === o.iterations - 1;
      rec.dispatch({
        op,
        kernel: "snr_vt",
        code: VT,
        groups: L * perN,
        params: u(perN),
        tensors: [this.#table, values, this.#u, this.#v],
      });
      rec.dispatch({
        op,
        kernel: "snr_norm",
        code: NORM,
        groups: L,
        params: u(0),
        tensors: [this.#table, this.#v, this.#scratch],
      });
      rec.dispatch({
        op,
        kernel: "snr_uw",
        code: UW,
        groups: L * perM,
        params: u(perM),
        tensors: [this.#table, values, this.#v, this.#u],
      });
      // After the last iteration u = Wv/‖Wv‖, so σ₁ = u·Wv = ‖Wv‖: the norm just taken.
      rec.dispatch({
        op,
        kernel: "snr_norm",
        code: NORM,
        groups: L,
        params: u(1),
        tensors: [this.#table, this.#u, last ? this.#sigma : this.#scratch],
      });
    }
    rec.dispatch({
      op,
      kernel: "snr_apply",
      code: APPLY,
      groups: this.#chunks.size / 4,
      params: u(0),
      tensors: [this.#table, grads, this.#u, this.#v, this.#sigma, this.#chunks],
    });
  }

  /** Frees the tables and vectors. */
  release(): void {
    for (const t of [this.#table, this.#chunks, this.#u, this.#v, this.#sigma, this.#scratch]) t.release();
  }
}
