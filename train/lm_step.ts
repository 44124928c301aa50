/**
 * One language-model training step — forward, the mean token negative log-likelihood, backward,
 * the optimizer's update — recorded into one command buffer and submitted once; only the summed
 * loss is read back. Every tensor the step makes is released after it, so a steady-state run
 * allocates nothing new (tests/models/steady_state_test.ts).
 * @module
 */
import { tokenIndex } from "../kernels/nn/embedding.ts";
import { tokenNll } from "../kernels/nn/lm_loss.ts";
import { sum } from "../kernels/ops/reduce.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import { readback, upload } from "../kernels/runtime/tensor.ts";
import type { Model } from "../models/model.ts";
import type { Decoder } from "../models/transformer/decoder.ts";
import type { Optimizer } from "../optim/optimizer.ts";

/** A batch of B sequences of T tokens: inputs and next-token targets, (B, T) row-major. */
export interface LmBatch {
  /** Input ids, B·T. */
  inputs: Int32Array;
  /** Target ids (each input's next token), B·T. */
  targets: Int32Array;
  /** Sequences B. */
  batch: number;
  /** Tokens per sequence T. */
  seqLen: number;
}

/**
 * Trains one step of a decoder.
 * @param model The model (its root `decoder`).
 * @param decoder The decoder (its step state: token index, dropout stream).
 * @param opt The optimizer over the model's arena.
 * @param b The batch.
 * @param step The optimizer's step count (dropout's stream).
 * @returns The summed negative log-likelihood of the batch's B·T targets (nats).
 */
export async function lmTrainStep(
  model: Model,
  decoder: Decoder,
  opt: Optimizer,
  b: LmBatch,
  step: number,
): Promise<number> {
  const gpu = model.gpu, n = b.batch * b.seqLen;
  const x = upload(gpu, b.inputs, [b.batch, b.seqLen], "i32", "lm.inputs");
  const y = upload(gpu, b.targets, [n], "i32", "lm.targets");
  const index = tokenIndex(gpu, b.inputs, decoder.config.vocab);
  decoder.state.index = index;
  decoder.state.step = step;
  try {
    const rec = new Recorder(gpu);
    const logits = model.forward(rec, x, true);
    const nll = tokenNll(rec, logits, y, 1 / n); // d(mean nll)/d(logits) written into logits
    const total = sum(rec, nll);
    model.backward(rec, logits);
    opt.step(rec);
    rec.after(() => [logits, nll].forEach((t) => t.release()));
    await rec.submit();
    const [v] = await readback(gpu, total);
    total.release();
    return v[0];
  } finally {
    for (const t of [x, y, index.order, index.offsets]) t.release();
    decoder.state.index = null;
  }
}
