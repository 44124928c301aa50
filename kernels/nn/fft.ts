/**
 * A complex FFT along the middle axis of a batch, for power-of-two lengths: radix-2, decimation in
 * time, one invocation per transform in private memory. The FNO's spectral layers do not use it: they
 * need only a few modes of grids padded to 34, 66 or 130 points, which truncated DFTs
 * (`spectral.ts`) compute for any length at a fraction of the work; it is here to measure that choice
 * (`bench/spectral_bench.ts`) and for transforms that need every frequency.
 * @module
 */
import { requireDtype, requireRank } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

/** The longest transform (the private buffer of one invocation). */
export const FFT_MAX = 1024;

function fftCode(n: number): string {
  return `struct P { groups: u32, n: u32, N: u32, C: u32, logN: u32, sign: f32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec2<f32>>;
var<private> buf: array<vec2<f32>, ${n}>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 64u + li;
  if (i >= p.n) { return; }
  let c = i % p.C;
  let a = i / p.C;
  let base = a * p.N * p.C + c;
  // Load in bit-reversed order.
  for (var k = 0u; k < p.N; k++) {
    let r = reverseBits(k) >> (32u - p.logN);
    buf[r] = x[base + k * p.C];
  }
  // Butterflies: spans 1, 2, 4, …; twiddle e^(sign·2πi·j/(2·span)).
  for (var span = 1u; span < p.N; span = span * 2u) {
    let step = p.sign * 3.14159265358979323846 / f32(span);
    for (var start = 0u; start < p.N; start = start + 2u * span) {
      for (var j = 0u; j < span; j++) {
        let ang = step * f32(j);
        let w = vec2<f32>(cos(ang), sin(ang));
        let u = buf[start + j];
        let v0 = buf[start + j + span];
        let v = vec2<f32>(v0.x * w.x - v0.y * w.y, v0.x * w.y + v0.y * w.x);
        buf[start + j] = u + v;
        buf[start + j + span] = u - v;
      }
    }
  }
  for (var k = 0u; k < p.N; k++) { y[base + k * p.C] = buf[k] * p.scale; }
}`;
}

/**
 * Records the DFT along axis 1 of complex data (A, N, C, 2) — (real, imaginary) last — as
 * `torch.fft.fft(x, dim=1)` (or `ifft` with `inverse`, scaled by 1/N).
 * @param rec The recorder.
 * @param x (A, N, C, 2), N a power of two ≤ {@link FFT_MAX}.
 * @param inverse The inverse transform.
 * @returns (A, N, C, 2).
 */
export function fftAxis(rec: Recorder, x: Tensor, inverse = false): Tensor {
  const op = `fftAxis x=${fmtShape(x.shape)}${inverse ? " inverse" : ""}`;
  requireDtype(op, "x", x);
  requireRank(op, "x", x, 4);
  const [A, N, C, two] = x.shape;
  if (two !== 2) throw new TypeError(`${op}: expected (real, imaginary) pairs in the last axis`);
  if (N < 1 || N > FFT_MAX || (N & (N - 1)) !== 0) {
    throw new RangeError(`${op}: the length ${N} is not a power of two ≤ ${FFT_MAX}`);
  }
  const y = new Tensor(rec.gpu, x.shape, "f32", "fft.out");
  const n = A * C, size = Math.max(2, N);
  rec.dispatch({
    op,
    kernel: `fft_axis_${size}`,
    code: fftCode(size),
    groups: Math.ceil(n / 64),
    params: params(n, N, C, Math.log2(N), { f: inverse ? 1 : -1 }, { f: inverse ? 1 / N : 1 }),
    tensors: [x, y],
    work: { kind: "fft", shape: `${A}×${N}×${C}`, flops: 5 * A * C * N * Math.max(1, Math.log2(N)) },
  });
  return y;
}
