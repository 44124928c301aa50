/**
 * Causal language modelling as a {@link TrainTask}: ordered batches of a corpus's training stream
 * (a step's batch depends on the step alone), one-submit steps ({@link lmTrainStep}), validation
 * and test perplexity, and the model saved as a Hugging Face folder (`model/`: config.json,
 * model.safetensors with HF names, vocab.txt).
 * @module
 */
import type { TensorToWrite } from "../io/safetensors.ts";
import type { LmCorpus } from "../data/lm_corpus.ts";
import type { Model } from "../models/model.ts";
import type { DecoderConfig } from "../models/transformer/config.ts";
import type { Decoder } from "../models/transformer/decoder.ts";
import { saveDecoderFolder } from "../models/transformer/hf_folder.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import { OrderedBatches } from "./lm_batches.ts";
import { perplexity } from "./lm_eval.ts";
import { lmTrainStep } from "./lm_step.ts";
import type { StepOutcome, TaskMetric, TrainTask } from "./task.ts";

/**
 * Test perplexity, lower is better; a run's "best" is its test perplexity at the epoch with the
 * lowest validation perplexity (early stopping).
 */
export const PERPLEXITY: TaskMetric = {
  key: "test_ppl",
  label: "test perplexity",
  higherIsBetter: false,
  selectBy: "valid_ppl",
};

/** The folder inside a run folder that holds the model. */
export const LM_MODEL_DIR = "model";

/**
 * The language-modelling task.
 * @param model The model (root `decoder`).
 * @param decoder The decoder.
 * @param config Its configuration (saved in `model/config.json`).
 * @param corpus The corpus (its vocabulary is the model's).
 * @param o Sequences per batch and tokens per sequence (also the evaluation window).
 * @returns The task.
 */
export function lmTask(
  model: Model,
  decoder: Decoder,
  config: DecoderConfig,
  corpus: LmCorpus,
  o: { batch: number; seqLen: number },
): TrainTask {
  const batches = new OrderedBatches(corpus.train, o.batch, o.seqLen);
  return {
    model,
    stepsPerEpoch: batches.stepsPerEpoch,
    items: "tokens",
    metric: PERPLEXITY,
    evalKeys: ["valid_loss", "valid_ppl", "test_loss", "test_ppl"],
    startEpoch() {},
    async step(opt: Optimizer, s: number, step: number): Promise<StepOutcome> {
      const b = { ...batches.at(s), batch: o.batch, seqLen: o.seqLen };
      return { lossSum: await lmTrainStep(model, decoder, opt, b, step), items: o.batch * o.seqLen };
    },
    trainMetrics: ({ lossSum, items }) => ({ train_loss: lossSum / items }),
    async evaluate() {
      const valid = await perplexity(model, corpus.valid, o.seqLen, o.batch);
      const test = await perplexity(model, corpus.test, o.seqLen, o.batch);
      return {
        valid_loss: valid.nll,
        valid_ppl: valid.perplexity,
        test_loss: test.nll,
        test_ppl: test.perplexity,
      };
    },
    async saveModel(out: string, state: TensorToWrite[]) {
      await saveDecoderFolder(`${out}/${LM_MODEL_DIR}`, model, config, corpus.vocab.tokens, state);
    },
  };
}
