/**
 * `deno task compare --methods tb,cal --seeds 43,37,13 [--grid FLAG=V1,V2,…]… --out DIR [train flags]`:
 * trains every grid cell × method × seed with `deno task train` (finished runs are kept, an
 * interrupted one resumes), then writes the study's report into DIR. `--shard I/N` (or a Slurm job
 * array, or a Kubernetes Indexed Job) runs one slice of the runs; `--report DIR` writes the report
 * from whatever has finished.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { METHOD_PARAMS, type MethodName, METHODS, TB_METHODS } from "../train/methods.ts";
import {
  cellName,
  type FlagPair,
  type GridAxis,
  parseGrid,
  type PlannedRun,
  planRuns,
  resolveShard,
  shardRuns,
} from "../train/grid.ts";
import { runHolder, runLogs, type RunStatus, runStatus } from "../train/run_folder.ts";
import type { RunRecord } from "../report/compare.ts";
import { type StudySpec, writeStudyReport } from "../report/study.ts";
import { readSettings, recordSettings } from "../train/run_record.ts";
import { runTrain } from "./_args.ts";
import { parseTrainArgs, TRAIN_FLAGS } from "./_train_flags.ts";
import { LM_FLAGS, LM_TB_FLAGS, lmFlagApplies, parseLmFlags } from "./_lm_flags.ts";
import { LM_METHODS } from "../train/lm_run.ts";
import type { LmEpochMetrics } from "../train/lm_run.ts";
import { lmStudyCsv, lmStudyMarkdown, type LmStudyRun, summarizeLmStudy } from "../report/lm_study.ts";
import { writeAtomic } from "../io/atomic.ts";
import { parseArgs } from "node:util";
import { runMain } from "../cli/main.ts";

const USAGE =
  `usage: deno task compare --methods M1,M2,… --seeds S1,S2,… --out DIR [--grid FLAG=V1,V2,…]… [train flags]
       deno task compare --report DIR
  --methods LIST   methods to compare (${METHODS.join(", ")}); default tb,cal,snr
  --seeds LIST     seeds (default 43,37,13, as the reference's first three); paired: seed s of every
                   method shares initialisation, data order and augmentation
  --grid F=V,…     a grid axis: a train flag and its values (repeatable; the runs are the cross
                   product of the axes × methods × seeds), e.g. --grid subset=600,6000 --grid width=0.5,1
  --baseline M     the method the others are compared against, pairwise by seed (default: cal if
                   compared, else the first method that is not a TempBalance variant)
  --out DIR        where runs (DIR/<method>[/<cell>]/seed<S>) and the report go (required)
  --shard I/N      run only the runs whose index ≡ I (mod N) in the full ordered list; set by
                   SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT in a Slurm job array
  --shards N       with a Kubernetes Indexed Job: N shards, this one JOB_COMPLETION_INDEX
  --report DIR     write DIR's report from the runs that have finished, listing the others
  --task lm        compare language-model runs (deno task train-lm): --methods from adam, tb,
                   tb-sigmoid (default tb,adam; baseline adam), train-lm flags, test perplexity
  train flags      passed to every run (--model, --dataset, --steps or --epochs, --lr, --subset, …);
                   a method option (--sg, --tb-*, …) goes only to the methods that take it
Runs already finished in DIR are kept; an interrupted run resumes. DIR/compare.json records the
flags, grid, methods and seeds: rerunning with others is refused (use another --out). A sharded
process writes no report: run --report when every shard is done (docs/cluster.md).`;

const OWN = ["methods", "seeds", "out", "grid", "baseline", "shard", "shards", "report", "task"];

/** What compare trains: CNNs (`deno task train`) or language models (`deno task train-lm`). */
type Task = "cnn" | "lm";

/** The task `--task` names, looked for before the flags are split (it decides their table). */
function taskOf(args: string[]): Task {
  const i = args.findIndex((a) => a === "--task" || a.startsWith("--task="));
  if (i < 0) return "cnn";
  const v = args[i].includes("=") ? args[i].slice(7) : args[i + 1];
  if (v !== "lm" && v !== "cnn") throw new OptionError(`Invalid --task "${v}": expected lm or cnn`);
  return v;
}

const flagTable = (task: Task): Record<string, { type: string }> => (task === "lm" ? LM_FLAGS : TRAIN_FLAGS);

/** Splits `--flag value` / `--flag=value` / boolean `--flag` tokens into pairs. */
function tokens(args: string[], task: Task): FlagPair[] {
  const out: FlagPair[] = [];
  const isBool = (k: string) => flagTable(task)[k]?.type === "boolean";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-h") {
      out.push(["help", null]);
      continue;
    }
    if (!a.startsWith("--")) throw new OptionError(`Unexpected argument "${a}"\n${USAGE}`);
    const eq = a.indexOf("=");
    if (eq > 0) out.push([a.slice(2, eq), a.slice(eq + 1)]);
    else if (isBool(a.slice(2))) out.push([a.slice(2), null]);
    else {
      if (i + 1 >= args.length) throw new OptionError(`Missing value for ${a}\n${USAGE}`);
      out.push([a.slice(2), args[++i]]);
    }
  }
  return out;
}

/** What compare.json records: runs made under other settings are not mixed into one folder. */
interface Record_ {
  forward: FlagPair[];
  grid?: [string, string[]][];
  methods?: string[];
  seeds?: number[];
  baseline?: string;
  task?: Task;
}

const LABELS = {
  forward: "train flags",
  grid: "grid",
  methods: "methods",
  seeds: "seeds",
  baseline: "baseline",
};

async function readRecord(out: string): Promise<Record_> {
  try {
    return await readSettings(out, "compare.json") as unknown as Record_;
  } catch (e) {
    throw new OptionError(
      `No comparison in "${out}": ${(e as Error).message.replace(/^No runs in "[^"]*": /, "")}${
        (e as Error).message.includes("is missing") ? ` (run deno task compare --out ${out} first)` : ""
      }`,
    );
  }
}

/** The settings of a comparison, from its flags or from its compare.json. */
interface Setup {
  out: string;
  methods: string[];
  seeds: number[];
  axes: GridAxis[];
  forward: FlagPair[];
  baseline: string;
  task: Task;
}

function defaultBaseline(methods: string[], task: Task = "cnn"): string {
  if (task === "lm") return methods.includes("adam") ? "adam" : methods[0];
  if (methods.includes("cal")) return "cal";
  return methods.find((m) => !TB_METHODS.includes(m as MethodName)) ?? methods[0];
}

function setupFromFlags(pairs: FlagPair[], task: Task): Setup & { shard?: string; shards?: string } {
  const table = flagTable(task);
  const own = new Map<string, string>(), grids: string[] = [], forward: FlagPair[] = [];
  for (const [k, v] of pairs) {
    if (k === "grid") grids.push(v ?? "");
    else if (OWN.includes(k)) {
      if (own.has(k)) throw new OptionError(`--${k} is given twice\n${USAGE}`);
      own.set(k, v ?? "");
    } else if (k === "method" || k === "seed" || k === "resume") {
      throw new OptionError(`--${k} is set by compare for each run: use --methods / --seeds\n${USAGE}`);
    } else if (!(k in table) || k === "help") {
      throw new OptionError(
        `Unknown flag --${k}: not a compare flag nor a ${
          task === "lm" ? "train-lm" : "train"
        } flag\n${USAGE}`,
      );
    } else forward.push([k, v]);
  }
  const out = own.get("out");
  if (!out) throw new OptionError(`Missing --out DIR\n${USAGE}`);
  const methods = (own.get("methods") ?? (task === "lm" ? "tb,adam" : "tb,cal,snr")).split(",").map((m) =>
    m.trim()
  ).filter((m) => m);
  const known: readonly string[] = task === "lm" ? LM_METHODS : METHODS;
  for (const m of methods) {
    if (!known.includes(m)) {
      throw new OptionError(`Unknown method "${m}" in --methods: expected ${known.join(", ")}`);
    }
  }
  if (!methods.length || new Set(methods).size !== methods.length) {
    throw new OptionError(`Invalid --methods "${own.get("methods")}": expected distinct method names`);
  }
  const seedText = own.get("seeds") ?? "43,37,13";
  const seeds = seedText.split(",").map((s) => (s.trim() === "" ? NaN : Number(s.trim())));
  if (
    !seeds.length || seeds.some((s) => !Number.isInteger(s) || s < 0) || new Set(seeds).size !== seeds.length
  ) {
    throw new OptionError(`Invalid --seeds "${seedText}": expected distinct integers ≥ 0, comma-separated`);
  }
  const axes = parseGrid(grids, table);
  for (const a of axes) {
    if (forward.some(([k]) => k === a.flag)) {
      throw new OptionError(`--${a.flag} is both a train flag and a --grid axis: give it once`);
    }
  }
  // A method option (flag or axis) must apply to at least one method; it goes only to those.
  for (const k of [...forward.map(([k]) => k), ...axes.map((a) => a.flag)]) {
    if (task === "lm") {
      if (LM_TB_FLAGS.includes(k) && !methods.some((m) => lmFlagApplies(k, m))) {
        throw new OptionError(
          `Option --${k} applies to --method tb, tb-sigmoid: none of --methods ${methods.join(",")}`,
        );
      }
      continue;
    }
    const p = METHOD_PARAMS[k];
    if (p && !methods.some((m) => p.methods.includes(m as MethodName))) {
      throw new OptionError(
        `Option --${k} applies to --method ${p.methods.join(", ")}: none of --methods ${methods.join(",")}`,
      );
    }
  }
  const baseline = own.get("baseline") ?? defaultBaseline(methods, task);
  if (!methods.includes(baseline)) {
    throw new OptionError(`Invalid --baseline "${baseline}": expected one of --methods ${methods.join(",")}`);
  }
  return {
    out,
    methods,
    seeds,
    axes,
    forward,
    baseline,
    task,
    shard: own.get("shard"),
    shards: own.get("shards"),
  };
}

/** Checks every run's train flags before any run starts, naming the run and the bad value. */
function checkRuns(runs: PlannedRun[], task: Task): void {
  for (const r of runs) {
    try {
      if (task === "lm") parseLmFlags(parseArgs({ args: r.args, options: LM_FLAGS }).values);
      else parseTrainArgs(r.args);
    } catch (e) {
      const cell = cellName(r.cell);
      throw new OptionError(
        `The run ${r.method}${cell ? ` ${cell}` : ""} seed ${r.seed} would fail: ${
          (e as Error).message.split("\n")[0]
        }`,
      );
    }
  }
}

function describe(r: PlannedRun): string {
  const cell = cellName(r.cell);
  return `${r.method}${cell ? ` ${decodeURIComponent(cell)}` : ""} seed ${r.seed}`;
}

/** Trains the runs of this process in order: kept, resumed or started. */
async function trainRuns(runs: PlannedRun[], forward: FlagPair[], task: Task): Promise<void> {
  const statuses = new Map<PlannedRun, RunStatus>();
  for (const r of runs) statuses.set(r, await runStatus(r.dir)); // a half-written folder stops us here
  const dataFlag = forward.find(([k]) => k === "data");
  for (const r of runs) {
    const s = statuses.get(r)!;
    if (s.state === "finished") {
      console.log(`== ${describe(r)}: finished (${s.epoch} epochs), kept`);
      continue;
    }
    const holder = await runHolder(r.dir);
    if (holder) {
      // Another shard (or a resubmitted copy of this one) is on it: leave it and go on.
      console.log(`== ${describe(r)}: being trained by ${holder}, skipped`);
      continue;
    }
    const args = s.state === "partial"
      ? ["--resume", r.dir, ...(dataFlag && task === "cnn" ? [`--data=${dataFlag[1]}`] : [])]
      : r.args;
    console.log(`== ${describe(r)}${s.state === "partial" ? `: resuming after epoch ${s.epoch}` : ""}`);
    const code = await runTrain(args, task === "lm" ? "./train_lm.ts" : "./train.ts");
    if (code !== 0) {
      throw new OptionError(`The run ${describe(r)} failed (exit ${code}): rerun compare to resume it`);
    }
  }
}

/** The report's heading and budget line, from the first finished run's configuration. */
function describeStudy(
  setup: Setup,
  configs: Record<string, unknown>[],
): Pick<StudySpec, "title" | "budget"> {
  const c = configs[0] ?? {};
  const flags = setup.forward.filter(([k]) => k !== "data").map((
    [k, v],
  ) => (v === null ? `--${k}` : `--${k} ${v}`));
  const title = `${c.model ?? "?"} on ${c.dataset ?? "?"}: ${setup.methods.join(" vs ")}${
    flags.length ? ` (${flags.join(" ")})` : ""
  }`;
  const steps = c.steps as number | undefined;
  const evals = [...new Set(configs.map((k) => k.evalEvery ?? 1))].join("/");
  const budget = steps
    ? `${steps} optimizer steps per run (--steps): epochs derived from each cell's training-set size, the cosine schedule spanning the steps, test evaluation every ${evals} epoch(s) and after the last`
    : `${c.epochs ?? "?"} epochs per run (--epochs), schedule ${c.schedule ?? "?"} set per ${
      c.stepwise ? "step" : "epoch"
    }`;
  return { title, budget };
}

/** The language-model report: test perplexity per cell × method, paired against the baseline. */
async function lmReport(setup: Setup): Promise<string> {
  const runs: LmStudyRun[] = [], unfinished: string[] = [];
  for (const r of planRuns({ ...setup, applies: lmFlagApplies })) {
    const s = await runStatus(r.dir);
    if (s.state !== "finished") {
      unfinished.push(
        `${describe(r)}: ${s.state === "missing" ? "not started" : `epoch ${s.epoch} of ${s.epochs}`}`,
      );
      continue;
    }
    const history = s.checkpoint.state.history as unknown as LmEpochMetrics[];
    runs.push({
      cell: decodeURIComponent(cellName(r.cell)) || "all",
      method: r.method,
      seed: r.seed,
      history,
    });
  }
  if (!runs.length) return `\nno finished runs yet: ${unfinished.length} to go`;
  const rows = summarizeLmStudy(runs, setup.baseline);
  const md =
    `# Test perplexity (lower is better): ${
      setup.methods.join(" vs ")
    }, paired by seed against ${setup.baseline}\n\n` +
    lmStudyMarkdown(rows, setup.baseline) +
    (unfinished.length ? `\nNot finished: ${unfinished.join("; ")}\n` : "");
  await writeAtomic(`${setup.out}/results.md`, md);
  await writeAtomic(`${setup.out}/results.csv`, lmStudyCsv(rows));
  return `\n${md}\nreport: ${setup.out}/results.md, ${setup.out}/results.csv`;
}

/** Reads every planned run's state and writes the report. */
async function report(setup: Setup): Promise<string> {
  if (setup.task === "lm") return await lmReport(setup);
  const runs = planRuns(setup);
  const done: RunRecord[] = [], unfinished: string[] = [], configs: Record<string, unknown>[] = [];
  for (const r of runs) {
    const s = await runStatus(r.dir);
    if (s.state !== "finished") {
      unfinished.push(
        `${describe(r)}: ${s.state === "missing" ? "not started" : `epoch ${s.epoch} of ${s.epochs}`}`,
      );
      continue;
    }
    const { history, layers } = await runLogs(r.dir, s);
    done.push({ method: r.method, seed: r.seed, cell: r.cell, history, layers });
    configs.push(s.checkpoint.state.config);
  }
  const spec: StudySpec = {
    axes: setup.axes,
    methods: setup.methods,
    seeds: setup.seeds,
    baseline: setup.baseline,
    ...describeStudy(setup, configs),
  };
  const { markdown, files } = await writeStudyReport(setup.out, done, spec, unfinished);
  return `\n${markdown}\nreport: ${files.map((f) => `${setup.out}/${f}`).join(", ")}`;
}

async function setupFromRecord(out: string): Promise<Setup> {
  const rec = await readRecord(out);
  if (!rec.methods || !rec.seeds) {
    throw new OptionError(
      `${out}/compare.json was written by an older compare without its methods and seeds: rerun compare with the same flags to report`,
    );
  }
  return {
    out,
    methods: rec.methods,
    seeds: rec.seeds,
    axes: (rec.grid ?? []).map(([flag, values]) => ({ flag, values })),
    forward: rec.forward,
    baseline: rec.baseline ?? defaultBaseline(rec.methods, rec.task ?? "cnn"),
    task: rec.task ?? "cnn",
  };
}

await runMain(async () => {
  const task = taskOf(Deno.args);
  const pairs = tokens(Deno.args, task);
  if (pairs.some(([k]) => k === "help")) {
    console.log(USAGE);
    return;
  }
  const only = pairs.find(([k]) => k === "report");
  if (only) {
    if (pairs.filter(([k]) => k !== "task").length > 1) {
      throw new OptionError(`--report DIR takes no other flag: it reads DIR/compare.json\n${USAGE}`);
    }
    console.log(await report(await setupFromRecord(only[1] ?? "")));
    return;
  }
  const setup = setupFromFlags(pairs.filter(([k]) => k !== "task"), task);
  const shard = resolveShard(setup.shard, setup.shards, Deno.env.toObject());
  const all = planRuns({ ...setup, applies: task === "lm" ? lmFlagApplies : undefined });
  checkRuns(all, task);
  // --data is not a setting of the study: shards on other hosts may find the files elsewhere.
  await recordSettings(setup.out, "compare.json", {
    forward: setup.forward.filter(([k]) => k !== "data"),
    grid: setup.axes.map((a) => [a.flag, a.values]),
    methods: setup.methods,
    seeds: setup.seeds,
    baseline: setup.baseline,
    ...(task === "lm" ? { task } : {}),
  }, LABELS);
  const mine = shardRuns(all, shard);
  if (shard) {
    console.log(
      `shard ${shard.index}/${shard.count} (${shard.source}): ${mine.length} of ${all.length} runs`,
    );
  }
  await trainRuns(mine, setup.forward, task);
  if (shard) {
    console.log(
      `shard ${shard.index}/${shard.count} done. When every shard is, write the report: deno task compare --report ${setup.out}`,
    );
    return;
  }
  console.log(await report(setup));
});
