/**
 * Kernels of the live-weights ESD (`esd/live.ts`): a layer's weight, read where it lives in the
 * parameter arena, packed into the vectors the Jacobi solver orthogonalises; and the logs of a
 * sorted ESD relative to its largest eigenvalue, for the power-law scan.
 * @module
 */
import { requireDtype } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

// out[s][a][b] for s < kh·kw slices, a < cPad vectors, b < rPad components.
const PACK =
  `struct P { groups: u32, n: u32, out_: u32, in_: u32, khw: u32, cPad: u32, rPad: u32, tall: u32, mul: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let i = wid * 256u + t;
  if (i >= p.n) { return; }
  let b = i % p.rPad; let a = (i / p.rPad) % p.cPad; let s = i / (p.rPad * p.cPad);
  // Tall slices (out ≥ in): vector a is input column a, component b is output row b.
  let o = select(a, b, p.tall == 1u); let c = select(b, a, p.tall == 1u);
  var v = 0.0;
  if (o < p.out_ && c < p.in_) { v = w[(o * p.in_ + c) * p.khw + s] * p.mul; }
  x[i] = v;
}`;

/**
 * Records the packing of one weight (PyTorch layout (out, in, kh, kw) or (out, in)) into Jacobi
 * vectors: kh·kw slices (out, in) × `mul`, each as min(out, in) vectors of length max(out, in),
 * padded with zeros to (cPad, rPad).
 * @param rec The recorder.
 * @param w The weight (a view into the arena).
 * @param cPad Padded vector count (a multiple of 8 ≥ min(out, in)).
 * @param rPad Padded vector length (a multiple of 4 ≥ max(out, in)).
 * @param mul Factor of every element (sqrt(convNorm) for convs).
 * @returns (kh·kw, cPad, rPad).
 */
export function packSlices(rec: Recorder, w: Tensor, cPad: number, rPad: number, mul: number): Tensor {
  const op = `packSlices w=[${w.shape}]`;
  requireDtype(op, "w", w);
  const [out, inp, kh = 1, kw = 1] = w.shape;
  const S = kh * kw;
  if (cPad < Math.min(out, inp) || rPad < Math.max(out, inp)) {
    throw new RangeError(`${op}: padding (${cPad}, ${rPad}) is smaller than the slices (${out}, ${inp})`);
  }
  const x = new Tensor(rec.gpu, [S, cPad, rPad], "f32", "esd.slices");
  const n = S * cPad * rPad;
  rec.dispatch({
    op,
    kernel: "esd_pack",
    code: PACK,
    groups: Math.ceil(n / 256),
    params: params(n, out, inp, S, cPad, rPad, out >= inp ? 1 : 0, { f: mul }),
    tensors: [w, x],
  });
  return x;
}

const LOGS = `struct P { groups: u32, n: u32, off: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> lam: array<f32>;
@group(0) @binding(2) var<storage, read_write> ell: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) t: u32) {
  ${WID}
  let j = wid * 256u + t;
  if (j >= p.n) { return; }
  let top = lam[p.off + p.n - 1u];
  let v = lam[p.off + j];
  ell[j] = select(0.0, log(v) - log(top), v > 0.0 && top > 0.0);
}`;

/**
 * Records ℓ_j = ln(λ_j) − ln(λ_max) for an ascending ESD stored at `lam[off .. off + n)`
 * (0 where λ_j ≤ 0: such entries are never an xmin candidate's tail).
 * @param rec The recorder.
 * @param lam Sorted eigenvalues.
 * @param off Where the ESD starts.
 * @param n Its length.
 * @returns ℓ, (n).
 */
export function logRelative(rec: Recorder, lam: Tensor, off: number, n: number): Tensor {
  const ell = new Tensor(rec.gpu, [n], "f32", "esd.logs");
  rec.dispatch({
    op: `logRelative n=${n}`,
    kernel: "esd_logs",
    code: LOGS,
    groups: Math.ceil(n / 256),
    params: params(n, off),
    tensors: [lam, ell],
  });
  return ell;
}
