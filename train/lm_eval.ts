/**
 * Perplexity of a causal language model on a token stream t₀…t_{N−1}: consecutive windows whose
 * inputs are t[i…i+L) and targets t[i+1…i+L] (the last window shorter), so every token after the
 * first is predicted exactly once with at most L tokens of context. Windows of full length go in
 * batches; the per-token negative log-likelihoods are read back and summed in float64.
 * @module
 */
import { tokenNll } from "../kernels/nn/lm_loss.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import { readback, upload } from "../kernels/runtime/tensor.ts";
import type { Model } from "../models/model.ts";
import { Decoder } from "../models/transformer/decoder.ts";
import { OptionError } from "../util/errors.ts";

/** What {@link perplexity} returns (the `--json` schema of `deno task perplexity`). */
export interface PerplexityResult {
  /** Predicted tokens: N − 1. */
  tokens: number;
  /** Mean negative log-likelihood, nats. */
  nll: number;
  /** exp(nll). */
  perplexity: number;
}

/**
 * Evaluates a model on a token stream.
 * @param model The model (its root a `Decoder`).
 * @param ids The stream (N ≥ 2 ids in the model's vocabulary).
 * @param seqLen Window length L (≤ the model's positions).
 * @param batch Windows per forward (default 8).
 * @param onProgress Called after each forward with the windows done and in all.
 * @returns Tokens, mean nll and perplexity.
 * @throws {OptionError} With fewer than 2 tokens or a bad window length.
 * @throws {RangeError} When an id is outside the model's vocabulary (naming it and its position).
 */
export async function perplexity(
  model: Model,
  ids: Int32Array,
  seqLen: number,
  batch = 8,
  onProgress?: (done: number, total: number) => void,
): Promise<PerplexityResult> {
  const N = ids.length;
  if (N < 2) throw new OptionError(`Perplexity needs at least 2 tokens, got ${N}`);
  if (!(model.root instanceof Decoder)) throw new TypeError(`perplexity() needs a decoder model`);
  // The embedding would clamp an id past the vocabulary and the loss read past its row: refuse it.
  const V = model.root.config.vocab;
  const bad = ids.findIndex((t) => !(Number.isInteger(t) && t >= 0 && t < V));
  if (bad >= 0) {
    throw new RangeError(
      `Token id ${ids[bad]} at position ${bad} is outside the model's vocabulary of ${V} tokens (ids 0…${
        V - 1
      })`,
    );
  }
  if (!(Number.isInteger(seqLen) && seqLen >= 1)) {
    throw new OptionError(`--seq-len must be an integer ≥ 1, got ${seqLen}`);
  }
  const starts: number[] = [];
  for (let i = 0; i < N - 1; i += seqLen) starts.push(i);
  let total = 0;
  for (let w = 0; w < starts.length;) {
    const L = Math.min(seqLen, N - 1 - starts[w]);
    // Windows of the same length go together (all but possibly the last are full).
    const group: number[] = [];
    while (w < starts.length && group.length < batch && Math.min(seqLen, N - 1 - starts[w]) === L) {
      group.push(starts[w++]);
    }
    const B = group.length;
    const x = new Int32Array(B * L), y = new Int32Array(B * L);
    group.forEach((s, b) => {
      x.set(ids.subarray(s, s + L), b * L);
      y.set(ids.subarray(s + 1, s + 1 + L), b * L);
    });
    const gpu = model.gpu;
    const xt = upload(gpu, x, [B, L], "i32", "ppl.inputs"),
      yt = upload(gpu, y, [B * L], "i32", "ppl.targets");
    const rec = new Recorder(gpu);
    const logits = model.forward(rec, xt, false);
    const nll = tokenNll(rec, logits, yt);
    await rec.submit();
    const [v] = await readback(gpu, nll);
    for (const e of v) total += e;
    for (const t of [xt, yt, logits, nll]) t.release();
    onProgress?.(w, starts.length);
  }
  const mean = total / (N - 1);
  return { tokens: N - 1, nll: mean, perplexity: Math.exp(mean) };
}
