/**
 * The peer: TensorFlow.js with its WebGPU backend (npm `@tensorflow/tfjs-core` +
 * `@tensorflow/tfjs-backend-webgpu`), on the same adapter, measured the same way as ours.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import "@tensorflow/tfjs"; // registers the gradients tf.grad needs
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

/** GFLOPS of tfjs's conv2d (NHWC, 3×3 'same', C→C) forward, and backward (input and filter grads). */
export async function tfjsConv(
  B: number,
  C: number,
  H: number,
  W: number,
): Promise<{ fwd: number; bwd: number }> {
  const x = tf.randomNormal([B, H, W, C]) as tf.Tensor4D, w = tf.randomNormal([3, 3, C, C]) as tf.Tensor4D;
  const dy = tf.randomNormal([B, H, W, C]) as tf.Tensor4D;
  const flops = 2 * B * C * C * 9 * H * W;
  const fwd = await slope(
    async (reps) => {
      let y: tf.Tensor | null = null;
      for (let i = 0; i < reps; i++) {
        y?.dispose();
        y = tf.conv2d(x, w, 1, "same");
      }
      await y!.data();
      y!.dispose();
    },
    1,
    3,
    3,
  );
  const bwd = await slope(
    async (reps) => {
      let last: tf.Tensor[] = [];
      for (let i = 0; i < reps; i++) {
        last.forEach((t) => t.dispose());
        const dx = tf.conv2dTranspose(dy, w, x.shape, 1, "same");
        const dw = tf.tidy(() =>
          tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, ww as tf.Tensor4D, 1, "same"), dy)))(w)
        );
        last = [dx, dw];
      }
      await Promise.all(last.map((t) => t.data()));
      last.forEach((t) => t.dispose());
    },
    1,
    3,
    3,
  );
  for (const t of [x, w, dy]) t.dispose();
  return { fwd: flops / fwd / 1e9, bwd: (2 * flops) / bwd / 1e9 };
}
