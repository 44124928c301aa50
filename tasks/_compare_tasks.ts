/**
 * What `deno task compare --task …` needs to know of each training task: its trainer and flags, its
 * methods and which flags each takes, how an interrupted run resumes, which flags are settings of the
 * study, how its runs are described, and the metric (with its direction) the report compares.
 * @module
 */
import { parseArgs } from "node:util";
import { ACCURACY } from "../train/image_task.ts";
import { PERPLEXITY } from "../train/lm_task.ts";
import type { TaskMetric } from "../train/task.ts";
import { LM_METHODS } from "../train/lm_run.ts";
import { METHOD_PARAMS, type MethodName, METHODS, TB_METHODS } from "../train/methods.ts";
import type { FlagPair } from "../train/grid.ts";
import { LM_FLAGS, LM_METHOD_FLAGS, parseLmFlags } from "./_lm_flags.ts";
import { NRMSE } from "../train/pde_task.ts";
import { PDE_METHODS } from "../train/pde_run.ts";
import { parsePdeFlags, PDE_FLAGS, PDE_METHOD_FLAGS } from "./_pde_flags.ts";
import { parseTrainArgs, TRAIN_FLAGS } from "./_train_flags.ts";

/** A task compare can run. */
export interface CompareTask {
  /** Its `--task` name. */
  name: "cnn" | "lm" | "pde";
  /** Its trainer's command (for messages). */
  trainer: string;
  /** Its trainer's script, relative to `tasks/`. */
  script: string;
  /** Its trainer's flags (a parseArgs table). */
  flags: Record<string, { type: string }>;
  /** Its methods. */
  methods: readonly string[];
  /** `--methods` when not given. */
  defaultMethods: string;
  /** The baseline when `--baseline` is not given. */
  defaultBaseline(methods: string[]): string;
  /** The methods that take a flag, or null for a flag every method takes. */
  methodsOf(flag: string): readonly string[] | null;
  /** Throws when a run's flags would be refused by the trainer. */
  check(args: string[]): void;
  /** Whether `--data` is a setting of the study (a corpus), or only where files are (a data set's folder). */
  dataIsSetting: boolean;
  /** The trainer's arguments to resume a run folder. */
  resumeArgs(dir: string, forward: FlagPair[]): string[];
  /** The report's heading from a run's configuration. */
  describe(config: Record<string, unknown>): string;
  /** The metric compared. */
  metric: TaskMetric;
}

/** Image classification: `deno task train`, test accuracy. */
const CNN: CompareTask = {
  name: "cnn",
  trainer: "train",
  script: "./train.ts",
  flags: TRAIN_FLAGS,
  methods: METHODS,
  defaultMethods: "tb,cal,snr",
  defaultBaseline: (methods) =>
    methods.includes("cal")
      ? "cal"
      : methods.find((m) => !TB_METHODS.includes(m as MethodName)) ?? methods[0],
  methodsOf: (flag) => METHOD_PARAMS[flag]?.methods ?? null,
  check: (args) => void parseTrainArgs(args),
  dataIsSetting: false,
  resumeArgs: (dir, forward) => {
    const data = forward.find(([k]) => k === "data");
    return ["--resume", dir, ...(data ? [`--data=${data[1]}`] : [])];
  },
  describe: (c) => `${c.model ?? "?"} on ${c.dataset ?? "?"}`,
  metric: ACCURACY,
};

/** Language modelling: `deno task train-lm`, test perplexity. */
const LM: CompareTask = {
  name: "lm",
  trainer: "train-lm",
  script: "./train_lm.ts",
  flags: LM_FLAGS,
  methods: LM_METHODS,
  defaultMethods: "tb,adam",
  defaultBaseline: (methods) => (methods.includes("adam") ? "adam" : methods[0]),
  methodsOf: (flag) => LM_METHOD_FLAGS[flag] ?? null,
  check: (args) => void parseLmFlags(parseArgs({ args, options: LM_FLAGS }).values),
  dataIsSetting: true,
  resumeArgs: (dir) => ["--resume", dir],
  describe: (c) => {
    const m = c.config as { type?: string; layers?: number; dim?: number } | undefined;
    return `${m?.type ?? "?"} (${m?.layers ?? "?"} layers, width ${m?.dim ?? "?"}) on ${c.corpus ?? "?"}`;
  },
  metric: PERPLEXITY,
};

/** PDE regression: `deno task train-pde`, test nRMSE. */
const PDE: CompareTask = {
  name: "pde",
  trainer: "train-pde",
  script: "./train_pde.ts",
  flags: PDE_FLAGS,
  methods: PDE_METHODS,
  defaultMethods: "adam,tb",
  defaultBaseline: (methods) => (methods.includes("adam") ? "adam" : methods[0]),
  methodsOf: (flag) => PDE_METHOD_FLAGS[flag] ?? null,
  check: (args) => void parsePdeFlags(parseArgs({ args, options: PDE_FLAGS }).values),
  dataIsSetting: true,
  resumeArgs: (dir) => ["--resume", dir],
  describe: (c) => {
    const m = c.model as { model_type?: string } | undefined;
    return `${m?.model_type ?? "?"} on ${c.data ?? "?"}`;
  },
  metric: NRMSE,
};

/** The tasks by `--task` name. */
export const COMPARE_TASKS: Record<string, CompareTask> = { cnn: CNN, lm: LM, pde: PDE };
