/**
 * What this adapter can do, measured: its FMA peak (8 independent vec4 FMA chains per invocation)
 * and its copy bandwidth (a vec4 shader copy), the yardsticks of the step profiler; and the
 * timing helpers they share with the benchmarks (the slope of time over repeated work between two
 * syncs, so the fixed cost of a CPU←GPU sync — ~12 ms on lavapipe — drops out).
 * @module
 */
import { fill } from "../ops/fill.ts";
import { Recorder } from "./recorder.ts";
import type { Gpu } from "./runtime.ts";
import { Tensor } from "./tensor.ts";

/**
 * Median of a list of numbers.
 * @param xs The numbers.
 * @returns Their median (NaN for none).
 */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Seconds per unit of work: `run(r)` must do `r` units and wait for them. Times `run(r1)` and
 * `run(r2)` per trial (after one warm-up) and takes the median slope.
 * @param run Does `reps` units of work and waits for them.
 * @param r1 The smaller count.
 * @param r2 The larger count.
 * @param trials Trials (default 5).
 * @returns Seconds per unit.
 */
export async function slope(
  run: (reps: number) => Promise<void>,
  r1: number,
  r2: number,
  trials = 5,
): Promise<number> {
  await run(1); // warm-up: compile, allocate
  const out: number[] = [];
  for (let t = 0; t < trials; t++) {
    let s = performance.now();
    await run(r1);
    const t1 = performance.now() - s;
    s = performance.now();
    await run(r2);
    const t2 = performance.now() - s;
    out.push(Math.max(1e-9, (t2 - t1) / 1000 / (r2 - r1)));
  }
  return median(out);
}

async function sync(gpu: Gpu): Promise<void> {
  await gpu.device.queue.onSubmittedWorkDone();
}

const FMA_ITERS = 2048;
const FMA_CODE = `struct P { groups: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<vec4f>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x >= p.groups * 64u) { return; }
  let s = x[g.x];
  var c0 = s; var c1 = s + 1.0; var c2 = s + 2.0; var c3 = s + 3.0;
  var c4 = s + 4.0; var c5 = s + 5.0; var c6 = s + 6.0; var c7 = s + 7.0;
  let m = vec4f(0.999); let q = vec4f(0.001);
  for (var i = 0u; i < ${FMA_ITERS}u; i++) {
    c0 = fma(c0, m, q); c1 = fma(c1, m, q); c2 = fma(c2, m, q); c3 = fma(c3, m, q);
    c4 = fma(c4, m, q); c5 = fma(c5, m, q); c6 = fma(c6, m, q); c7 = fma(c7, m, q);
  }
  x[g.x] = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7;
}`;

/**
 * The adapter's FMA peak in GFLOPS: 8 independent vec4 FMA chains per invocation.
 * @param gpu The GPU.
 * @returns GFLOPS (an FMA counts 2).
 */
export async function fmaPeak(gpu: Gpu): Promise<number> {
  const groups = 256;
  const x = new Tensor(gpu, [groups * 64 * 4]);
  const run = async (reps: number) => {
    const rec = new Recorder(gpu);
    fill(rec, x, 0.5);
    for (let i = 0; i < reps; i++) {
      rec.dispatch({
        op: "fma-peak",
        kernel: "fma_peak",
        code: FMA_CODE,
        groups,
        params: new ArrayBuffer(16),
        tensors: [x],
      });
    }
    await rec.submit();
    await sync(gpu);
  };
  const sec = await slope(run, 2, 10);
  x.release();
  return (groups * 64 * FMA_ITERS * 8 * 4 * 2) / sec / 1e9;
}

const COPY_CODE = `struct P { groups: u32, n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4f>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(local_invocation_index) l: u32) {
  let i = (w.x + w.y * 65535u) * 256u + l;
  if (i < p.n) { dst[i] = src[i]; }
}`;

/**
 * The adapter's copy bandwidth in GB/s (bytes read + written per second) by a vec4 shader copy of
 * 64 MiB, the memory-bound yardstick of the step profiler.
 * @param gpu The GPU.
 * @returns GB/s.
 */
export async function copyBandwidth(gpu: Gpu): Promise<number> {
  const n = 1 << 22; // vec4s: 64 MiB
  const src = new Tensor(gpu, [4 * n]), dst = new Tensor(gpu, [4 * n]);
  const groups = n / 256;
  const run = async (reps: number) => {
    const rec = new Recorder(gpu);
    fill(rec, src, 1);
    for (let i = 0; i < reps; i++) {
      const params = new Uint32Array([0, n, 0, 0]);
      rec.dispatch({
        op: "copy-bandwidth",
        kernel: "probe_copy",
        code: COPY_CODE,
        groups,
        params: params.buffer,
        tensors: [src, dst],
      });
    }
    await rec.submit();
    await sync(gpu);
  };
  const sec = await slope(run, 1, 4, 3);
  src.release();
  dst.release();
  return (2 * 16 * n) / sec / 1e9;
}
