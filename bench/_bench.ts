/**
 * Helpers shared by the `deno bench` files: a filled tensor, and a bench body that records work
 * `reps` times into one submit, after an untimed warm-up (pipeline compiles, pool fills).
 * @module
 */
import { fill } from "../kernels/ops/fill.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { Tensor } from "../kernels/runtime/tensor.ts";

/** A tensor of `shape` filled with `v`, once the fill has been submitted. */
export async function filled(gpu: Gpu, shape: number[], v: number): Promise<Tensor> {
  const t = new Tensor(gpu, shape);
  const rec = new Recorder(gpu);
  fill(rec, t, v);
  await rec.submit();
  return t;
}

/** Times `reps` recordings of `record` in one submit, waited, after one untimed warm-up. */
export async function timedSteps(
  gpu: Gpu,
  b: Deno.BenchContext,
  reps: number,
  record: (rec: Recorder) => void,
): Promise<void> {
  const warm = new Recorder(gpu);
  record(warm);
  await warm.submit();
  await gpu.device.queue.onSubmittedWorkDone();
  b.start();
  const rec = new Recorder(gpu);
  for (let i = 0; i < reps; i++) record(rec);
  await rec.submit();
  await gpu.device.queue.onSubmittedWorkDone();
  b.end();
}
