/**
 * The language-model training rows (`train-lm-*`): tokens per second of whole training steps of
 * the GPT-2-layout decoder (forward, LM loss, backward, AdamW with global-norm clipping, one
 * submit), ours and TensorFlow.js's on the same adapter; PyTorch's comes from torch_peers.py.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { tokenIndex } from "../kernels/nn/embedding.ts";
import { tokenNll } from "../kernels/nn/lm_loss.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { readback, upload } from "../kernels/runtime/tensor.ts";
import { sum } from "../kernels/ops/reduce.ts";
import { Model } from "../models/model.ts";
import { decoderConfig } from "../models/transformer/config.ts";
import { Decoder } from "../models/transformer/decoder.ts";
import { AdamW } from "../optim/adamw.ts";

/** A benchmarked LM shape. */
export interface LmShape {
  /** Row name (`train-lm-gpt2-d128-b32`). */
  op: string;
  /** Row label. */
  label: string;
  /** Vocabulary. */
  vocab: number;
  /** Width. */
  dim: number;
  /** Blocks. */
  layers: number;
  /** Heads. */
  heads: number;
  /** Batch. */
  batch: number;
  /** Sequence length. */
  seq: number;
}

/** The shapes: the documented Brown model (`deno task train-lm` defaults) and a quicker one. */
export const LM_SHAPES: LmShape[] = [
  {
    op: "train-lm-gpt2-d128-b32",
    label: "gpt2 V10000 d128 L2 H4, 32x64",
    vocab: 10000,
    dim: 128,
    layers: 2,
    heads: 4,
    batch: 32,
    seq: 64,
  },
  {
    op: "train-lm-gpt2-d64-b8",
    label: "gpt2 V10000 d64 L2 H2, 8x64",
    vocab: 10000,
    dim: 64,
    layers: 2,
    heads: 2,
    batch: 8,
    seq: 64,
  },
];

const ids = (s: LmShape) => Array.from({ length: s.batch * s.seq }, (_, i) => (i * 7919) % s.vocab);

/** Median tokens/s of our training steps (after one warm-up). */
export async function oursLmTokensPerS(gpu: Gpu, s: LmShape, steps: number): Promise<number> {
  const c = decoderConfig({
    type: "gpt2",
    vocab: s.vocab,
    positions: s.seq,
    dim: s.dim,
    layers: s.layers,
    heads: s.heads,
  });
  const dec = new Decoder(gpu, c);
  const model = new Model(gpu, dec, 0);
  const opt = new AdamW(model.arena, [{ params: model.arena.params }], { lr: 1e-3, maxNorm: 0.25 });
  const v = ids(s);
  const times: number[] = [];
  for (let k = 0; k <= steps; k++) {
    const t0 = performance.now();
    // Per step, as the trainer does: upload the batch and its token index, one submit, read the loss.
    const x = upload(gpu, v, [s.batch, s.seq], "i32"), y = upload(gpu, v, [s.batch * s.seq], "i32");
    dec.state.index = tokenIndex(gpu, v, s.vocab);
    const rec = new Recorder(gpu);
    const logits = model.forward(rec, x, true);
    const nll = tokenNll(rec, logits, y, 1 / (s.batch * s.seq));
    const total = sum(rec, nll);
    model.backward(rec, logits);
    opt.step(rec);
    await rec.submit();
    await readback(gpu, total);
    for (const t of [x, y, logits, nll, total, dec.state.index.order, dec.state.index.offsets]) t.release();
    if (k > 0) times.push(performance.now() - t0);
  }
  opt.release();
  model.release();
  times.sort((a, b) => a - b);
  return (s.batch * s.seq) / (times[times.length >> 1] / 1000);
}

/**
 * Median tokens/s of the same model's training steps in TensorFlow.js (tf.variableGrads, Adam,
 * clipping by global norm), written with tfjs-core ops: pre-norm blocks, causal attention by a
 * band mask, tanh GELU, a tied head.
 */
export async function tfjsLmTokensPerS(s: LmShape, steps: number): Promise<number> {
  const D = s.dim, H = s.heads, hd = D / H, T = s.seq, B = s.batch, F = 4 * D;
  const rnd = (shape: number[]) => tf.variable(tf.randomNormal(shape, 0, 0.02));
  const wte = rnd([s.vocab, D]), wpe = rnd([T, D]);
  const blocks = Array.from({ length: s.layers }, () => ({
    g1: tf.variable(tf.ones([D])),
    b1: tf.variable(tf.zeros([D])),
    wqkv: rnd([D, 3 * D]),
    bqkv: tf.variable(tf.zeros([3 * D])),
    wo: rnd([D, D]),
    bo: tf.variable(tf.zeros([D])),
    g2: tf.variable(tf.ones([D])),
    b2: tf.variable(tf.zeros([D])),
    wf: rnd([D, F]),
    bf: tf.variable(tf.zeros([F])),
    wp: rnd([F, D]),
    bp: tf.variable(tf.zeros([D])),
  }));
  const gf = tf.variable(tf.ones([D])), bfin = tf.variable(tf.zeros([D]));
  const ln = (x: tf.Tensor2D, g: tf.Variable, b: tf.Variable) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).div(variance.add(1e-5).sqrt()).mul(g).add(b) as tf.Tensor2D;
  };
  const gelu = (x: tf.Tensor) =>
    x.mul(0.5).mul(tf.tanh(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1));
  const mask = tf.linalg.bandPart(tf.ones([T, T]), -1, 0).sub(1).mul(1e9); // 0 on/below the diagonal, −1e9 above
  const xIds = tf.tensor1d(ids(s), "int32"), yIds = tf.tensor1d(ids(s), "int32");
  const opt = tf.train.adam(1e-3);
  const loss = () => {
    let x = tf.gather(wte, xIds).reshape([B, T, D]).add(wpe).reshape([B * T, D]) as tf.Tensor2D;
    for (const p of blocks) {
      const qkv = ln(x, p.g1, p.b1).matMul(p.wqkv).add(p.bqkv).reshape([B, T, 3, H, hd]);
      const part = (i: number) =>
        qkv.slice([0, 0, i, 0, 0], [B, T, 1, H, hd]).reshape([B, T, H, hd]).transpose([0, 2, 1, 3]);
      const [q, k, v] = [part(0), part(1), part(2)] as tf.Tensor4D[];
      const att = tf.softmax(tf.matMul(q, k, false, true).div(Math.sqrt(hd)).add(mask));
      const o = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([B * T, D]) as tf.Tensor2D;
      x = x.add(o.matMul(p.wo).add(p.bo));
      x = x.add(gelu(ln(x, p.g2, p.b2).matMul(p.wf).add(p.bf)).matMul(p.wp).add(p.bp));
    }
    const logits = ln(x, gf, bfin).matMul(wte, false, true);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(yIds, s.vocab), logits) as tf.Scalar;
  };
  const vars = [wte, wpe, gf, bfin, ...blocks.flatMap((p) => Object.values(p))];
  const times: number[] = [];
  for (let k = 0; k <= steps; k++) {
    const t0 = performance.now();
    const l = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(loss, vars);
      // clip_grad_norm_(0.25): tfjs has no global-norm clip, so it is written out.
      const names = Object.keys(grads);
      const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n])))));
      const c = tf.minimum(1, tf.div(0.25, norm.add(1e-6)));
      const clipped: tf.NamedTensorMap = {};
      for (const n of names) clipped[n] = grads[n].mul(c);
      opt.applyGradients(clipped as unknown as Parameters<typeof opt.applyGradients>[0]);
      return value;
    });
    await l.data();
    l.dispose();
    if (k > 0) times.push(performance.now() - t0);
  }
  for (const v of vars) v.dispose();
  opt.dispose();
  times.sort((a, b) => a - b);
  return (B * T) / (times[times.length >> 1] / 1000);
}
