/**
 * A language-model run from its options: the decoder (new, or a model folder to fine-tune), AdamW
 * with global-norm clipping, and the rate policy (`train/lm_schedule.ts`): `adam` (every parameter
 * at the per-step cosine rate, the reference's baseline), `tb` (TempBalance on every Linear, GPT-2's
 * Conv1D included, norms tied to the Linear before them with `layernorm`) or `tb-sigmoid` (Model
 * Balancing). The run trains through the one loop ({@link fit}) as the LM task (`lm_task.ts`):
 * after every epoch validation and test perplexity, `metrics.jsonl`/`.csv`, `layers.jsonl`, the model
 * as a Hugging Face folder (`model/`) and the checkpoint, so a killed run resumes bit for bit.
 * @module
 */
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { loadWeightFile } from "../io/load.ts";
import { Model } from "../models/model.ts";
import type { DecoderConfig } from "../models/transformer/config.ts";
import { Decoder } from "../models/transformer/decoder.ts";
import { hfNames, readVocabulary } from "../models/transformer/hf_folder.ts";
import { configFromHf } from "../models/transformer/config.ts";
import type { LmCorpus } from "../data/lm_corpus.ts";
import { AdamW } from "../optim/adamw.ts";
import { ModelBalancing } from "../optim/model_balancing.ts";
import type { ParamGroupSpec } from "../optim/groups.ts";
import { TempBalance } from "../optim/tempbalance.ts";
import { OptionError } from "../util/errors.ts";
import {
  EsdClock,
  type LayerMonitor,
  modelBalancingMonitor,
  tempBalanceMonitor,
  watchMonitor,
} from "./layer_schedules.ts";
import { lmSchedule } from "./lm_schedule.ts";
import { lmTask } from "./lm_task.ts";
import type { FitOptions } from "./loop.ts";
import type { TrainTask } from "./task.ts";
import type { EpochRecord } from "./run_files.ts";
import type { LrSchedule } from "./schedule.ts";
/** The LM rate policies. */
export type LmMethod = "adam" | "tb" | "tb-sigmoid";

/** The LM rate policies, for flag validation. */
export const LM_METHODS: readonly LmMethod[] = ["adam", "tb", "tb-sigmoid"];

/** Options of {@link createLmRun}. */
export interface LmRunOptions {
  /** The corpus. */
  corpus: LmCorpus;
  /** The model's shape (its vocab is set to the corpus's). */
  config: DecoderConfig;
  /** Rate policy. */
  method: LmMethod;
  /** Peak learning rate. */
  lr: number;
  /** Decoupled weight decay (0: Adam, as the reference). */
  weightDecay: number;
  /** Global gradient-norm clip (0: none; the reference 0.25). */
  clip: number;
  /** Epochs (passes over the training stream). */
  epochs: number;
  /** Total optimizer steps instead (the last epoch is cut); null: epochs × steps per epoch. */
  steps: number | null;
  /** Linear warm-up steps before the cosine (default 0). */
  warmup: number;
  /** Sequences per batch B. */
  batch: number;
  /** Tokens per sequence T. */
  seqLen: number;
  /** Seed: initialisation and dropout. */
  seed: number;
  /** TB/Model Balancing: steps between measurements (null: once per epoch). */
  esdInterval: number | null;
  /** TB: the rate range × η. */
  lrMinRatio: number;
  /** TB: the rate range's upper end × η. */
  lrMaxRatio: number;
  /** TB: tie norms to the Linear before them (the reference's `--layernorm`). */
  layernorm: boolean;
  /** TB: layers with fewer eigenvalues stay untuned (the reference's 50). */
  eigsThresh: number;
  /** A model folder to start from (fine-tuning); its vocabulary must be the corpus's. */
  init: string | null;
  /** The run folder. */
  out: string;
}

/** One epoch's record of a language-model run. */
export interface LmEpochMetrics extends EpochRecord {
  /** Epoch, from 1. */
  epoch: number;
  /** Optimizer steps at its end. */
  steps: number;
  /** Mean training loss (nats per token). */
  train_loss: number;
  /** Validation loss and perplexity. */
  valid_loss: number;
  /** exp(valid_loss). */
  valid_ppl: number;
  /** Test loss. */
  test_loss: number;
  /** exp(test_loss). */
  test_ppl: number;
  /** Each group's rate at the epoch's first step. */
  lr: number[];
  /** Seconds of the epoch (training and evaluation). */
  seconds: number;
  /** Training tokens per second. */
  tokens_per_s: number;
  /** Seconds spent measuring spectra. */
  esd_seconds: number;
}

/** The parts of a language-model run. */
export interface LmRun {
  /** The model. */
  model: Model;
  /** Its root. */
  decoder: Decoder;
  /** The configuration trained (the corpus's vocabulary; `--init`'s shape). */
  config: DecoderConfig;
  /** AdamW over the policy's groups. */
  optimizer: AdamW;
  /** The rates. */
  schedule: LrSchedule;
  /** Every layer after each epoch (`layers.jsonl`); absent when no layer can be measured. */
  monitor?: LayerMonitor;
  /** Seconds spent measuring spectra. */
  esdClock: EsdClock;
  /** The task for the loop. */
  task: TrainTask;
  /** Parameters of the model. */
  parameters: number;
  /** Steps of the run. */
  total: number;
  /** Epochs of the run (the last may be cut by a step budget). */
  epochs: number;
  /** The run-defining options, stored in the checkpoint and compared on resume. */
  record: Record<string, unknown>;
  /** What {@link fit} needs from the run: `fit({ ...run.loop, out, resume, … })`. */
  loop: Pick<
    FitOptions<LmEpochMetrics>,
    "task" | "optimizer" | "schedule" | "monitor" | "esdClock" | "epochs" | "steps" | "seed" | "config"
  >;
}

/**
 * The run-defining options; `epochs` is the number the run trains (derived from `steps` when a step
 * budget is set), as run folders expect.
 */
function recordOf(o: LmRunOptions, config: DecoderConfig, epochs: number): Record<string, unknown> {
  const { corpus: _c, out: _o, ...rest } = o;
  return { ...rest, epochs, config, corpus: o.corpus.name };
}

/** The configuration to train: the flags' shape, or `--init`'s (its vocabulary must be the corpus's). */
async function configOf(o: LmRunOptions): Promise<DecoderConfig> {
  const corpus = o.corpus;
  if (!o.init) return { ...o.config, vocab: corpus.vocab.tokens.length };
  const v = await readVocabulary(`${o.init}/vocab.txt`);
  if (
    v.tokens.length !== corpus.vocab.tokens.length || v.tokens.some((t, i) => t !== corpus.vocab.tokens[i])
  ) {
    throw new OptionError(
      `--init ${o.init}: its vocab.txt (${v.tokens.length} tokens) is not the corpus's vocabulary (${corpus.vocab.tokens.length} tokens)`,
    );
  }
  const hf = configFromHf(
    JSON.parse(await Deno.readTextFile(`${o.init}/config.json`)),
    `${o.init}/config.json`,
  );
  return { ...hf, dropout: o.config.dropout };
}

/** The monitor of a policy: its own scheduler's measurements, or a watching TempBalance for Adam. */
function monitorOf(model: Model, tb: TempBalance | null, mb: ModelBalancing | null, clock: EsdClock) {
  if (tb) return tempBalanceMonitor(tb, clock);
  if (mb) return modelBalancingMonitor(mb, clock);
  return watchMonitor(model, clock, { batchnorm: false });
}

/**
 * Builds a run: model (initialised from the seed, or loaded from `init`), optimizer, schedule, task.
 * @param gpu The GPU.
 * @param o The options.
 * @param log Warnings of the schedulers.
 * @returns The run's parts.
 * @throws {OptionError} When `--init`'s vocabulary is not the corpus's, or `seqLen` exceeds the positions.
 */
export async function createLmRun(
  gpu: Gpu,
  o: LmRunOptions,
  log: (s: string) => void = console.log,
): Promise<LmRun> {
  const config = await configOf(o);
  if (o.seqLen > config.positions) {
    throw new OptionError(
      `Invalid --seq-len ${o.seqLen}: longer than the model's ${config.positions} positions`,
    );
  }
  const decoder = new Decoder(gpu, config);
  const model = new Model(gpu, decoder, o.seed);
  decoder.state.seed = o.seed;
  if (o.init) model.loadStateDict(hfNames((await loadWeightFile(o.init)).tensors, config));
  const task = lmTask(model, decoder, config, o.corpus, { batch: o.batch, seqLen: o.seqLen });
  const perEpoch = task.stepsPerEpoch;
  const total = o.steps ?? o.epochs * perEpoch;
  const epochs = Math.ceil(total / perEpoch);
  const tb = o.method === "tb"
    ? new TempBalance(model, {
      lrMinRatio: o.lrMinRatio,
      lrMaxRatio: o.lrMaxRatio,
      layernorm: o.layernorm,
      eigsThresh: o.eigsThresh,
      batchnorm: false,
      onWarning: log,
    })
    : null;
  const mb = o.method === "tb-sigmoid" ? new ModelBalancing(model, { onWarning: log }) : null;
  const groups: ParamGroupSpec[] = tb?.groupSpecs(o.lr) ?? mb?.groupSpecs(o.lr) ??
    [{ params: model.arena.params }];
  const optimizer = new AdamW(model.arena, groups, { lr: o.lr, weightDecay: o.weightDecay, maxNorm: o.clip });
  const esdClock = new EsdClock();
  const schedule = lmSchedule({
    lr: o.lr,
    warmup: o.warmup,
    total,
    perEpoch,
    interval: o.esdInterval ?? perEpoch,
    policy: o.method,
    tb,
    mb,
    clock: esdClock,
  });
  const monitor = monitorOf(model, tb, mb, esdClock), record = recordOf(o, config, epochs);
  return {
    model,
    decoder,
    config,
    optimizer,
    schedule,
    monitor,
    esdClock,
    task,
    parameters: model.arena.params.reduce((s, p) => s + p.value.size, 0),
    total,
    epochs,
    record,
    loop: {
      task,
      optimizer,
      schedule,
      monitor,
      esdClock,
      epochs,
      steps: total,
      seed: o.seed,
      config: record,
    },
  };
}
