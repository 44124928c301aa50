/**
 * The flags of `deno task train-lm`, parsed into a run's options without touching the disk or the
 * GPU, so that `deno task compare --task lm` can check every run of a grid before one starts.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { type DecoderConfig, decoderConfig } from "../models/transformer/config.ts";
import { LM_METHODS, type LmMethod, type LmRunOptions } from "../train/lm_run.ts";
import { choice, numFlag } from "./_args.ts";
import { CORPUS_FLAGS, CORPUS_USAGE } from "./_lm_data.ts";

/** The usage text of `deno task train-lm`. */
export const LM_USAGE: string = `usage: deno task train-lm [options]
data
${CORPUS_USAGE}
model
  --arch gpt2|llama      layout and Hugging Face names (default gpt2)
  --layers N --heads N --dim N --ffn N     (defaults 2, 4, 128, 4·dim for gpt2 / 8·dim/3 for llama)
  --seq-len T            tokens per training sequence and evaluation window (default 64)
  --positions N          the model's positions (default: --seq-len)
  --kv-heads N           llama: key/value heads, dividing --heads (grouped-query attention; default --heads)
  --tied                 llama: share the token embedding with lm_head (gpt2 always does)
  --dropout X            dropout on embeddings and residual branches (default 0.1)
  --init DIR             start from this model folder (fine-tuning): its shape from its config.json (no
                         shape flag with it), its vocab.txt must be the corpus's
training
  --method NAME          adam (default) | tb (TempBalance) | tb-sigmoid (Model Balancing)
  --lr X                 peak learning rate (default 1e-3), cosine to 0 per step
  --warmup N             linear warm-up steps (default 0)
  --wd X                 decoupled weight decay (default 0: Adam, as the reference)
  --clip X               global gradient-norm clip (default 0.25, as the reference; 0: none)
  --epochs N             passes over the training stream (default 3)
  --steps N              a budget of N steps instead of --epochs
  --batch N              sequences per step (default 32)
  --seed N               initialisation and dropout (default 43)
  --esd-interval N       tb, tb-sigmoid: steps between spectra (default: once per epoch); the next four
                         flags are tb's only (refused with another method)
  --lr-min-ratio X       tb: rate range [X, Y]·lr (default 1, the reference LM's lr_min_ratio 1.0)
  --lr-max-ratio Y       tb: (default 2: lr_min_ratio + lr_slope, 1.0 + 1.0)
  --layernorm            tb: norms take the rate of the Linear before them (the reference's --layernorm)
  --eigs-thresh N        tb: layers with fewer eigenvalues stay untuned (default 50)
  --out DIR              run folder (default runs/lm-<arch>-<method>-seed<seed>)
  --resume DIR           continue the run in DIR with its saved flags`;

/** The flags `deno task train-lm` takes (a `node:util` parseArgs option table). */
export const LM_FLAGS = {
  ...CORPUS_FLAGS,
  arch: { type: "string" },
  layers: { type: "string" },
  heads: { type: "string" },
  "kv-heads": { type: "string" },
  dim: { type: "string" },
  ffn: { type: "string" },
  "seq-len": { type: "string" },
  positions: { type: "string" },
  tied: { type: "boolean" },
  dropout: { type: "string" },
  init: { type: "string" },
  method: { type: "string" },
  lr: { type: "string" },
  warmup: { type: "string" },
  wd: { type: "string" },
  clip: { type: "string" },
  epochs: { type: "string" },
  steps: { type: "string" },
  batch: { type: "string" },
  seed: { type: "string" },
  "esd-interval": { type: "string" },
  "lr-min-ratio": { type: "string" },
  "lr-max-ratio": { type: "string" },
  layernorm: { type: "boolean" },
  "eigs-thresh": { type: "string" },
  out: { type: "string" },
  resume: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Parsed flag values. */
export type LmFlags = Record<string, string | boolean | undefined>;

/**
 * The method options of `train-lm`: each flag and the methods that take it. A flag given to a
 * method that does not take it is refused (by `train-lm` and, per run, by `compare --task lm`).
 */
export const LM_METHOD_FLAGS: Readonly<Record<string, readonly LmMethod[]>> = {
  "esd-interval": ["tb", "tb-sigmoid"],
  "lr-min-ratio": ["tb"],
  "lr-max-ratio": ["tb"],
  "layernorm": ["tb"],
  "eigs-thresh": ["tb"],
};

/** Whether a flag applies to a method (compare passes method options only to their methods). */
export function lmFlagApplies(flag: string, method: string): boolean {
  return !(flag in LM_METHOD_FLAGS) || LM_METHOD_FLAGS[flag].includes(method as LmMethod);
}

/** Shape flags that `--init DIR` takes from `DIR/config.json` instead. */
const SHAPE_FLAGS = ["arch", "layers", "heads", "kv-heads", "dim", "ffn", "positions", "tied"];

/**
 * Parses a new run's flags (not `--resume`).
 * @param v Flag values.
 * @returns The run's options (without the corpus) and model config.
 * @throws {OptionError} Naming the flag and what was expected.
 */
export function parseLmFlags(
  v: LmFlags,
): { opts: Omit<LmRunOptions, "corpus" | "config">; config: DecoderConfig } {
  const str = (k: string) => v[k] as string | undefined;
  const num = (k: string, d: number, o: Parameters<typeof numFlag>[3] = {}) => numFlag(k, str(k), d, o);
  const arch = choice("arch", str("arch"), ["gpt2", "llama"] as const, "gpt2", LM_USAGE);
  const method = choice("method", str("method"), LM_METHODS, "adam", LM_USAGE) as LmMethod;
  const seqLen = num("seq-len", 64, { int: true, min: 1 });
  const dim = num("dim", 128, { int: true, min: 1 });
  const config = decoderConfig({
    type: arch,
    dim,
    layers: num("layers", 2, { int: true, min: 1 }),
    heads: num("heads", 4, { int: true, min: 1 }),
    kvHeads: str("kv-heads") === undefined ? undefined : num("kv-heads", 0, { int: true, min: 1 }),
    ffn: str("ffn") === undefined ? undefined : num("ffn", 0, { int: true, min: 1 }),
    positions: num("positions", seqLen, { int: true, min: 1 }),
    tied: v.tied === true,
    dropout: num("dropout", 0.1, { min: 0 }),
  });
  const seed = num("seed", 43, { int: true, min: 0 });
  const out = str("out") ?? `runs/lm-${arch}-${method}-seed${seed}`;
  for (const k of Object.keys(LM_METHOD_FLAGS)) {
    if (v[k] !== undefined && !lmFlagApplies(k, method)) {
      throw new OptionError(
        `--${k} applies to --method ${LM_METHOD_FLAGS[k].join(", ")}, not to --method ${method}`,
      );
    }
  }
  const shape = SHAPE_FLAGS.filter((k) => v[k] !== undefined);
  if (str("init") !== undefined && shape.length) {
    throw new OptionError(
      `--init ${str("init")} takes the model's shape from its config.json: --${
        shape[0]
      } cannot be given with it`,
    );
  }
  const lrMinRatio = num("lr-min-ratio", 1, { min: 0 }), lrMaxRatio = num("lr-max-ratio", 2, { min: 0 });
  if (lrMinRatio > lrMaxRatio) {
    throw new OptionError(`Invalid --lr-min-ratio ${lrMinRatio}: greater than --lr-max-ratio ${lrMaxRatio}`);
  }
  const epochs = num("epochs", 3, { int: true, min: 1 });
  const steps = str("steps") === undefined ? null : num("steps", 0, { int: true, min: 1 });
  const esdInterval = str("esd-interval") === undefined
    ? null
    : num("esd-interval", 0, { int: true, min: 1 });
  const opts = {
    method,
    lr: num("lr", 1e-3, { min: 0, exclusive: true }),
    weightDecay: num("wd", 0, { min: 0 }),
    clip: num("clip", 0.25, { min: 0 }),
    epochs,
    steps,
    warmup: num("warmup", 0, { int: true, min: 0 }),
    batch: num("batch", 32, { int: true, min: 1 }),
    seqLen,
    seed,
    esdInterval,
    lrMinRatio,
    lrMaxRatio,
    layernorm: v.layernorm === true,
    eigsThresh: num("eigs-thresh", 50, { int: true, min: 1 }),
    init: str("init") ?? null,
    out,
  };
  return { opts, config };
}
