/**
 * Trains a decoder language model on the GPU: ordered batches of a corpus, one submit per step
 * (forward, the LM loss, backward, the AdamW update with global-norm clipping), a per-step cosine
 * schedule, and one of three rate policies:
 * - `adam`: every parameter at the cosine rate (the reference's baseline);
 * - `tb`: TempBalance on every Linear (GPT-2's Conv1D included), norms tied to the Linear before
 *   them with `layernorm`; measured every `esdInterval` steps (and before the first step), rates
 *   held between measurements (the reference LM's `tb_update stage`);
 * - `tb-sigmoid`: Model Balancing's block-wise sigmoid map, rates set every step from the last
 *   measurement and the cosine rate.
 * After every epoch: validation and test perplexity, `metrics.jsonl`/`metrics.csv`, `layers.jsonl`,
 * the model as a Hugging Face folder (`model/`) and `checkpoint.safetensors` (model, Adam state and
 * the run's JSON state, written atomically), so a run killed at any point resumes from its last
 * finished epoch and continues bit for bit as if never stopped.
 * @module
 */
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { writeAtomic } from "../io/atomic.ts";
import { loadWeightFile } from "../io/load.ts";
import { Model } from "../models/model.ts";
import type { DecoderConfig } from "../models/transformer/config.ts";
import { Decoder } from "../models/transformer/decoder.ts";
import { hfNames, readVocabulary, saveDecoderFolder } from "../models/transformer/hf_folder.ts";
import { configFromHf } from "../models/transformer/config.ts";
import type { LmCorpus } from "../data/lm_corpus.ts";
import { AdamW } from "../optim/adamw.ts";
import { ModelBalancing } from "../optim/model_balancing.ts";
import type { ParamGroupSpec } from "../optim/sgd.ts";
import { TempBalance } from "../optim/tempbalance.ts";
import { OptionError, UserError } from "../util/errors.ts";
import { type CheckpointState, readCheckpoint, restoreCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { OrderedBatches } from "./lm_batches.ts";
import { lmTrainStep } from "./lm_step.ts";
import { lockRunFolder } from "./run_folder.ts";
import { perplexity } from "./lm_eval.ts";

/** The LM rate policies. */
export type LmMethod = "adam" | "tb" | "tb-sigmoid";

/** The LM rate policies, for flag validation. */
export const LM_METHODS: readonly LmMethod[] = ["adam", "tb", "tb-sigmoid"];

/** Options of {@link trainLm}. */
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

/** One epoch's record. */
export interface LmEpochMetrics {
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
  /** Each group's rate at the epoch's end. */
  lr: number[];
  /** Seconds of the epoch (training and evaluation). */
  seconds: number;
  /** Training tokens per second. */
  tokens_per_s: number;
  /** Seconds spent measuring spectra. */
  esd_seconds: number;
}

/** What {@link trainLm} returns. */
export interface LmRunResult {
  /** Every epoch. */
  history: LmEpochMetrics[];
  /** Parameters of the model. */
  parameters: number;
  /** The config trained. */
  config: DecoderConfig;
}

function cosineAt(o: LmRunOptions, total: number, step: number): number {
  if (o.warmup > 0 && step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const t = Math.min(1, (step - o.warmup) / Math.max(1, total - o.warmup));
  return o.lr * 0.5 * (1 + Math.cos(Math.PI * t));
}

/**
 * The run-defining options, recorded in the checkpoint and compared on resume; `epochs` is the
 * number the run trains (derived from `steps` when a step budget is set), as run folders expect.
 */
function recordOf(o: LmRunOptions, config: DecoderConfig, epochs: number): Record<string, unknown> {
  const { corpus: _c, out: _o, ...rest } = o;
  return { ...rest, epochs, config, corpus: o.corpus.name };
}

/**
 * Trains (or resumes) a run.
 * @param gpu The GPU.
 * @param o Options.
 * @param log Progress lines (default console.log).
 * @returns The history.
 */
export async function trainLm(
  gpu: Gpu,
  o: LmRunOptions,
  log: (s: string) => void = console.log,
): Promise<LmRunResult> {
  const corpus = o.corpus;
  let config: DecoderConfig = { ...o.config, vocab: corpus.vocab.tokens.length };
  if (o.init) {
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
    config = { ...hf, dropout: o.config.dropout };
  }
  if (o.seqLen > config.positions) {
    throw new OptionError(
      `Invalid --seq-len ${o.seqLen}: longer than the model's ${config.positions} positions`,
    );
  }
  const batches = new OrderedBatches(corpus.train, o.batch, o.seqLen);
  const perEpoch = batches.stepsPerEpoch;
  const total = o.steps ?? o.epochs * perEpoch;
  const epochs = Math.ceil(total / perEpoch);
  const decoder = new Decoder(gpu, config);
  const model = new Model(gpu, decoder, o.seed);
  decoder.state.seed = o.seed;
  if (o.init) {
    const { tensors } = await loadWeightFile(o.init);
    model.loadStateDict(hfNames(tensors, config));
  }
  const parameters = model.arena.params.reduce((s, p) => s + p.value.size, 0);
  const interval = o.esdInterval ?? perEpoch;
  const progressEvery = Math.max(1, Math.floor(perEpoch / 10));
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
  const groups: ParamGroupSpec[] = tb
    ? tb.groupSpecs(o.lr)
    : mb
    ? mb.groupSpecs(o.lr)
    : [{ params: model.arena.params }];
  const opt = new AdamW(model.arena, groups, { lr: o.lr, weightDecay: o.weightDecay, maxNorm: o.clip });
  const record = recordOf(o, config, epochs);
  const ckptFile = `${o.out}/checkpoint.safetensors`;
  let history: LmEpochMetrics[] = [];
  let startEpoch = 0;
  let elapsed = 0;
  await Deno.mkdir(o.out, { recursive: true });
  // One process per run folder: shards of a study skip a folder another live process holds.
  const unlock = await lockRunFolder(o.out);
  try {
    return await train();
  } finally {
    await unlock();
  }

  async function train(): Promise<LmRunResult> {
    let resumed = false;
    try {
      await Deno.stat(ckptFile);
      resumed = true;
    } catch { /* a new run */ }
    if (resumed) {
      const ckpt = await readCheckpoint(ckptFile);
      const saved = JSON.stringify(ckpt.state.config), now = JSON.stringify(record);
      if (saved !== now) {
        throw new UserError(
          `${o.out} holds a run with other settings: remove the folder or use another --out (saved ${saved}, now ${now})`,
        );
      }
      restoreCheckpoint(ckpt, model, opt);
      history = ckpt.state.history as unknown as LmEpochMetrics[];
      startEpoch = ckpt.state.epoch;
      elapsed = ckpt.state.elapsed;
      const ss = ckpt.state.scheduleState as {
        tb?: ReturnType<TempBalance["stateDict"]>;
        mb?: ReturnType<ModelBalancing["stateDict"]>;
      } | undefined;
      if (tb && ss?.tb) tb.loadStateDict(ss.tb);
      if (mb && ss?.mb) mb.loadStateDict(ss.mb);
      log(`resuming after epoch ${startEpoch} (step ${opt.steps})`);
    } else if (tb) {
      await tb.step(opt, cosineAt(o, total, 0)); // measured before the first step, as the reference
    } else if (mb) {
      await mb.measure();
    }
    for (let epoch = startEpoch + 1; epoch <= epochs && opt.steps < total; epoch++) {
      const t0 = performance.now();
      let lossSum = 0, tokens = 0, esd = 0, trainMs = 0;
      const first = opt.steps - (epoch - 1) * perEpoch;
      for (let s = first; s < perEpoch && opt.steps < total; s++) {
        const ts = performance.now();
        const step = opt.steps;
        const eta = cosineAt(o, total, step);
        if (!tb && !mb) { for (const g of opt.paramGroups) g.lr = eta; }
        if (mb) mb.apply(opt, eta);
        const B = o.batch, T = o.seqLen;
        const summed = await lmTrainStep(
          model,
          decoder,
          opt,
          { ...batches.at(s), batch: B, seqLen: T },
          step,
        );
        const lv = [summed];
        const loss = lv[0] / (B * T);
        if (!Number.isFinite(loss)) {
          throw new UserError(
            `The training loss is ${loss} at epoch ${epoch}, step ${
              step + 1
            }: training stopped; ${o.out}/checkpoint.safetensors holds epoch ${
              epoch - 1
            }. Lower --lr or set --clip`,
          );
        }
        lossSum += lv[0];
        tokens += B * T;
        trainMs += performance.now() - ts;
        if ((s + 1) % progressEvery === 0 && s + 1 < perEpoch) {
          log(
            `  step ${s + 1}/${perEpoch}  loss ${(lossSum / tokens).toFixed(4)}  ${
              (tokens / (trainMs / 1000)).toFixed(0)
            } tok/s`,
          );
        }
        const done = opt.steps;
        if (tb && done % interval === 0 && done < total) {
          const te = performance.now();
          await tb.step(opt, cosineAt(o, total, done));
          esd += (performance.now() - te) / 1000;
        }
        if (mb && done % interval === 0 && done < total) {
          const te = performance.now();
          await mb.measure();
          esd += (performance.now() - te) / 1000;
        }
      }
      const valid = await perplexity(model, corpus.valid, o.seqLen, o.batch);
      const test = await perplexity(model, corpus.test, o.seqLen, o.batch);
      const seconds = (performance.now() - t0) / 1000;
      elapsed += seconds;
      const m: LmEpochMetrics = {
        epoch,
        steps: opt.steps,
        train_loss: lossSum / tokens,
        valid_loss: valid.nll,
        valid_ppl: valid.perplexity,
        test_loss: test.nll,
        test_ppl: test.perplexity,
        lr: opt.getLastLr(),
        seconds,
        tokens_per_s: tokens / (trainMs / 1000),
        esd_seconds: esd,
      };
      history.push(m);
      log(
        `epoch ${epoch}/${epochs}  step ${opt.steps}  train loss ${m.train_loss.toFixed(4)}  valid ppl ${
          m.valid_ppl.toFixed(2)
        }  test ppl ${m.test_ppl.toFixed(2)}  lr ${eta(m.lr)}  ${seconds.toFixed(0)} s  ${
          m.tokens_per_s.toFixed(0)
        } tok/s${esd ? `  ESD ${esd.toFixed(1)} s` : ""}`,
      );
      await writeEpochFiles(o.out, history, tb, epoch, opt.steps);
      const state = await model.stateDict();
      await saveDecoderFolder(`${o.out}/model`, model, config, corpus.vocab.tokens);
      const ckState: CheckpointState = {
        version: 1,
        epoch,
        optimizerSteps: opt.steps,
        lrs: opt.paramGroups.map((g) => g.lr),
        config: record,
        history: history as unknown as Record<string, unknown>[],
        elapsed,
        schedule: { kind: o.method, total, perEpoch },
        rng: { seed: o.seed, nextEpoch: epoch + 1 },
        scheduleState: { tb: tb?.stateDict(), mb: mb?.stateDict() },
      };
      await saveCheckpoint(ckptFile, state, opt, ckState, model.metadata());
    }
    opt.release();
    model.release();
    return { history, parameters, config };
  }
}

function eta(lrs: number[]): string {
  const lo = Math.min(...lrs), hi = Math.max(...lrs);
  return lo === hi ? lo.toExponential(2) : `${lo.toExponential(2)}–${hi.toExponential(2)}`;
}

async function writeEpochFiles(
  out: string,
  history: LmEpochMetrics[],
  tb: TempBalance | null,
  epoch: number,
  steps: number,
): Promise<void> {
  await writeAtomic(`${out}/metrics.jsonl`, history.map((h) => JSON.stringify(h)).join("\n") + "\n");
  const cols = [
    "epoch",
    "steps",
    "train_loss",
    "valid_loss",
    "valid_ppl",
    "test_loss",
    "test_ppl",
    "seconds",
    "tokens_per_s",
    "esd_seconds",
  ] as const;
  await writeAtomic(
    `${out}/metrics.csv`,
    [cols.join(","), ...history.map((h) => cols.map((c) => h[c]).join(","))].join("\n") + "\n",
  );
  if (tb) {
    const line = JSON.stringify({ epoch, steps, layers: tb.lastLayers });
    let old = "";
    try {
      old = await Deno.readTextFile(`${out}/layers.jsonl`);
    } catch { /* first */ }
    // Keep one line per epoch (a resumed epoch replaces what a killed run may have left).
    const kept = old.split("\n").filter((l) => l && JSON.parse(l).epoch < epoch);
    await writeAtomic(`${out}/layers.jsonl`, [...kept, line].join("\n") + "\n");
  }
}
