/**
 * The peer: TensorFlow.js with its WebGPU backend (npm `@tensorflow/tfjs-core` +
 * `@tensorflow/tfjs-backend-webgpu`), on the same adapter, measured the same way as ours.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import type { MatmulShape } from "./_ours.ts";
import { repsFor, slope } from "./_measure.ts";

/** Starts tfjs on its WebGPU backend; returns the backend name it got. */
export async function initTfjs(): Promise<string> {
  await tf.setBackend("webgpu");
  await tf.ready();
  return tf.getBackend();
}

/** GFLOPS of tfjs's matMul on one shape (dispatches queued, one sync per run). */
export async function tfjsMatmul(s: MatmulShape): Promise<number> {
  const a = tf.fill(s.transA ? [s.K, s.M] : [s.M, s.K], 0.5), b = tf.fill([s.K, s.N], 0.25);
  const flops = 2 * s.M * s.N * s.K;
  const run = async (reps: number) => {
    let c: tf.Tensor | null = null;
    for (let i = 0; i < reps; i++) {
      c?.dispose();
      c = tf.matMul(a, b, s.transA, false);
    }
    await c!.data();
    c!.dispose();
  };
  const r = repsFor(flops);
  const sec = await slope(run, Math.max(1, r >> 2), r);
  a.dispose();
  b.dispose();
  return flops / sec / 1e9;
}
