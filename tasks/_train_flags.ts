/**
 * The flags of `deno task train`, parsed into a run's configuration without touching the disk or
 * the GPU, so that `deno task compare` can check every run of a grid before it starts one.
 * @module
 */
import { parseArgs } from "node:util";
import { OptionError } from "../util/errors.ts";
import { DATASET_NAMES } from "../data/registry.ts";
import { MODEL_NAMES } from "../models/zoo.ts";
import type { TrainConfig } from "../train/run.ts";
import { SCHEDULES } from "../train/schedule.ts";
import { METHOD_PARAMS, METHODS, resolveMethod } from "../train/methods.ts";
import { choice as choiceOf, numFlag } from "./_args.ts";

/** The usage text of `deno task train`. */
export const TRAIN_USAGE = `usage: deno task train [options]
  --model NAME        ${MODEL_NAMES.join(" | ")} (default small)
  --dataset NAME      ${DATASET_NAMES.join(" | ")} (default fashion-mnist)
  --data DIR          where the data set's files are (default: /usr/share/datasets/fashion-mnist
                      for fashion-mnist, ./data for the others)
  --epochs N          epochs (default 2 on fashion-mnist, 200 otherwise, as the reference runs)
  --steps N           a budget of N optimizer steps instead of --epochs: the epochs are derived from
                      the training set's size, the last one stops at step N, the cosine spans N steps
                      (and the rate is set every step)
  --eval-every K      evaluate on the test split every K epochs and after the last (default 1; with
                      --steps, about ten evaluations per run)
  --batch-size N      batch size (default 128)
  --lr X              initial learning rate (default 0.1, as the reference)
  --wd X              weight decay (default 5e-4)
  --momentum X        momentum (default 0.9)
  --width X           channel multiplier (default 1; small uses widths 8·X, 16·X, 32·X)
  --seed N            seed of initialisation, shuffling and augmentation (default 0)
  --subset N          train on the first N images only (quick trials)
  --schedule NAME     ${SCHEDULES.join(" | ")} (default cosine: lr·0.5·(1+cos(π·epoch/epochs)))
  --lr-update WHEN    epoch (the reference) | step (the schedule at fractional epochs, so short runs
                      anneal within an epoch); default step on fashion-mnist and with --steps, epoch
                      otherwise
  --no-augment        no random crop / flip
  --method NAME       ${METHODS.join(" | ")} (default cal: SGD + the schedule)
  --elr X             train the scale-invariant weights on the sphere at this fixed effective learning
                      rate (models convnet-si, convnet-si-af, resnet18-si; constant schedule)
  --fixed-lr X        …or at this fixed learning rate with --wd, no projection (the ELR drifts)
  --per-filter        on the sphere, keep every filter's norm instead of the joint one
  --noninv-lr X       rate of the non-scale-invariant parameters on the sphere (default 0: frozen)
  --out DIR           output folder (default runs/<model>-<dataset>-<time>)
  --resume DIR        continue the run saved in DIR (its checkpoint decides everything but --data)
  -h, --help          this text
method options (each only with the methods named; defaults are the reference code's):
${methodHelp()}`;

function methodHelp(): string {
  return Object.entries(METHOD_PARAMS).map(([flag, p]) => {
    const d = typeof p.default === "object"
      ? Object.entries(p.default).map(([m, v]) => `${v} (${m})`).join(", ")
      : String(p.default);
    const kind = Array.isArray(p.kind) ? p.kind.join("|") : p.kind === "bool" ? "" : "X";
    return `  --${flag}${kind ? ` ${kind}` : ""}`.padEnd(38) +
      `${p.help}; default ${d} [${p.methods.join(", ")}]`;
  }).join("\n");
}

/** The flags `deno task train` takes (a `node:util` parseArgs option table). */
export const TRAIN_FLAGS = {
  model: { type: "string" },
  dataset: { type: "string" },
  data: { type: "string" },
  epochs: { type: "string" },
  steps: { type: "string" },
  "eval-every": { type: "string" },
  "batch-size": { type: "string" },
  lr: { type: "string" },
  wd: { type: "string" },
  momentum: { type: "string" },
  width: { type: "string" },
  seed: { type: "string" },
  subset: { type: "string" },
  schedule: { type: "string" },
  "no-augment": { type: "boolean" },
  "lr-update": { type: "string" },
  out: { type: "string" },
  resume: { type: "string" },
  method: { type: "string" },
  elr: { type: "string" },
  "fixed-lr": { type: "string" },
  "per-filter": { type: "boolean" },
  "noninv-lr": { type: "string" },
  help: { type: "boolean", short: "h" },
  ...Object.fromEntries(
    Object.entries(METHOD_PARAMS).map((
      [k, p],
    ) => [k, { type: p.kind === "bool" ? "boolean" : "string" } as const]),
  ),
} as const satisfies Record<string, { type: "string" | "boolean"; short?: string }>;

const usageError = (msg: string) => new OptionError(`${msg}\n${TRAIN_USAGE}`);

const choice = <T extends string>(flag: string, value: string | undefined, valid: readonly T[], dflt: T): T =>
  choiceOf(flag, value, valid, dflt, TRAIN_USAGE);

const num = (
  flag: string,
  value: string | undefined,
  dflt: number,
  o: { int?: boolean; min: number; exclusive?: boolean },
): number => numFlag(flag, value, dflt, o, TRAIN_USAGE);

/** The sphere settings from the flags (undefined when training normally). */
function sphereConfig(
  a: Record<string, string | undefined>,
  raw: Record<string, string | boolean | undefined>,
): TrainConfig["sphere"] {
  const elr = a.elr, fixed = a["fixed-lr"];
  if (elr === undefined && fixed === undefined) {
    if (raw["per-filter"] || a["noninv-lr"] !== undefined) {
      throw usageError("--per-filter and --noninv-lr train on the sphere: give --elr X (or --fixed-lr X)");
    }
    return undefined;
  }
  if (elr !== undefined && fixed !== undefined) {
    throw usageError("Give one of --elr and --fixed-lr, not both");
  }
  const positive = (flag: string, v: string) => {
    const x = Number(v);
    if (v.trim() === "" || !(x > 0) || !Number.isFinite(x)) {
      throw usageError(`Invalid --${flag} "${v}": expected a number > 0`);
    }
    return x;
  };
  return {
    ...(elr !== undefined ? { elr: positive("elr", elr) } : { lr: positive("fixed-lr", fixed!) }),
    perFilter: raw["per-filter"] === true,
    noninvLr: num("noninv-lr", a["noninv-lr"], 0, { min: 0 }),
  };
}

/** What the flags ask for: the usage text, a resumed run, or a new run's configuration. */
export type TrainArgs =
  | { kind: "help" }
  | { kind: "resume"; dir: string; data?: string }
  | {
    kind: "new";
    /**
     * The run's settings. With `steps`, `epochs` is 0 until {@link deriveEpochs} has the training
     * set's size.
     */
    config: TrainConfig;
    /** `--out`, when given. */
    out?: string;
  };

/**
 * Parses and checks `deno task train`'s flags: names, values, combinations. Reads no file.
 * @param argv The flags.
 * @returns What to do.
 * @throws {OptionError} Naming the flag and value, followed by the usage text.
 */
export function parseTrainArgs(argv: string[]): TrainArgs {
  let raw: Record<string, string | boolean | undefined>;
  try {
    raw = parseArgs({ args: argv, options: TRAIN_FLAGS }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (e) {
    throw usageError((e as Error).message);
  }
  // Booleans are read from `raw`; every other flag is a string.
  const a = raw as Record<string, string | undefined>;
  if (raw.help) return { kind: "help" };
  if (a.resume !== undefined) {
    const fixed = Object.keys(raw).filter((k) => raw[k] !== undefined && !["resume", "data"].includes(k));
    if (fixed.length) {
      throw usageError(
        `--resume continues the saved run with its own settings: --${
          fixed.join(", --")
        } cannot be given with it`,
      );
    }
    return { kind: "resume", dir: a.resume, data: a.data };
  }
  const model = choice("model", a.model, MODEL_NAMES, "small");
  const dataset = choice("dataset", a.dataset, DATASET_NAMES, "fashion-mnist");
  const given = Object.fromEntries(Object.keys(METHOD_PARAMS).map((k) => [k, raw[k]]));
  let method;
  try {
    method = resolveMethod(a.method ?? "cal", given);
  } catch (e) {
    throw usageError((e as Error).message);
  }
  if (a.steps !== undefined && a.epochs !== undefined) {
    throw usageError("Give one of --epochs and --steps, not both");
  }
  const steps = a.steps === undefined ? undefined : num("steps", a.steps, 0, { int: true, min: 1 });
  const config: TrainConfig = {
    model,
    dataset,
    data: a.data,
    epochs: steps ? 0 : num("epochs", a.epochs, dataset === "fashion-mnist" ? 2 : 200, { int: true, min: 1 }),
    ...(steps ? { steps } : {}),
    ...(a["eval-every"] !== undefined
      ? { evalEvery: num("eval-every", a["eval-every"], 1, { int: true, min: 1 }) }
      : {}),
    batchSize: num("batch-size", a["batch-size"], 128, { int: true, min: 1 }),
    lr: num("lr", a.lr, 0.1, { min: 0 }),
    weightDecay: num("wd", a.wd, 5e-4, { min: 0 }),
    momentum: num("momentum", a.momentum, 0.9, { min: 0 }),
    width: num("width", a.width, 1, { min: 0, exclusive: true }),
    seed: num("seed", a.seed, 0, { int: true, min: 0 }),
    subset: a.subset === undefined ? undefined : num("subset", a.subset, 0, { int: true, min: 1 }),
    schedule: choice("schedule", a.schedule, SCHEDULES, "cosine") as TrainConfig["schedule"],
    augment: raw["no-augment"] !== true,
    method: method.method,
    methodOptions: method.options,
    sphere: sphereConfig(a, raw),
    stepwise: choice(
      "lr-update",
      a["lr-update"],
      ["epoch", "step"],
      dataset === "fashion-mnist" || steps ? "step" : "epoch",
    ) === "step",
  };
  return { kind: "new", config, out: a.out };
}

/**
 * Fills in the epochs of a step budget once the training set's size is known: as many epochs as
 * hold `steps` batches, and (unless `--eval-every` was given) about ten evaluations over them.
 * @param config A configuration from {@link parseTrainArgs}.
 * @param trainCount Images in the training split (after `--subset`).
 */
export function deriveEpochs(config: TrainConfig, trainCount: number): void {
  if (!config.steps) return;
  const perEpoch = Math.ceil(trainCount / config.batchSize);
  config.epochs = Math.ceil(config.steps / perEpoch);
  config.evalEvery ??= Math.max(1, Math.floor(config.epochs / 10));
}
