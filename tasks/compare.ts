/**
 * `deno task compare --methods tb,cal --seeds 43,37,13 [--grid FLAG=V1,V2,…]… --out DIR [train flags]`:
 * trains every grid cell × method × seed with `deno task train` (finished runs are kept, an
 * interrupted one resumes), then writes the study's report into DIR. `--shard I/N` (or a Slurm job
 * array, or a Kubernetes Indexed Job) runs one slice of the runs; `--report DIR` writes the report
 * from whatever has finished.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { METHODS } from "../train/methods.ts";
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
import { COMPARE_TASKS, type CompareTask } from "./_compare_tasks.ts";
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
  --task pde       compare PDE runs (deno task train-pde): --methods from adam, tb, tb-sigmoid
                   (default adam,tb; baseline adam), train-pde flags (--data FILE.hdf5, --grid
                   subset=0.025,0.1,1 …), test nRMSE (lower is better)
  train flags      passed to every run (--model, --dataset, --steps or --epochs, --lr, --subset, …);
                   a method option (--sg, --tb-*, …) goes only to the methods that take it
Runs already finished in DIR are kept; an interrupted run resumes. DIR/compare.json records the
flags, grid, methods and seeds: rerunning with others is refused (use another --out). A sharded
process writes no report: run --report when every shard is done (docs/cluster.md).`;

const OWN = ["methods", "seeds", "out", "grid", "baseline", "shard", "shards", "report", "task"];

/** The task `--task` names, looked for before the flags are split (it decides their table). */
function taskOf(args: string[]): CompareTask {
  const i = args.findIndex((a) => a === "--task" || a.startsWith("--task="));
  if (i < 0) return COMPARE_TASKS.cnn;
  const v = args[i].includes("=") ? args[i].slice(7) : args[i + 1];
  const task = COMPARE_TASKS[v];
  if (!task) {
    throw new OptionError(`Invalid --task "${v}": expected ${Object.keys(COMPARE_TASKS).join(" or ")}`);
  }
  return task;
}

/** Splits `--flag value` / `--flag=value` / boolean `--flag` tokens into pairs. */
function tokens(args: string[], task: CompareTask): FlagPair[] {
  const out: FlagPair[] = [];
  const isBool = (k: string) => task.flags[k]?.type === "boolean";
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
  task?: string;
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
  task: CompareTask;
}

/** Whether a flag applies to a method of the task (a method option goes only to its methods). */
const appliesIn = (task: CompareTask) => (flag: string, method: string) => {
  const ms = task.methodsOf(flag);
  return !ms || ms.includes(method);
};

function setupFromFlags(pairs: FlagPair[], task: CompareTask): Setup & { shard?: string; shards?: string } {
  const table = task.flags;
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
        `Unknown flag --${k}: not a compare flag nor a ${task.trainer} flag\n${USAGE}`,
      );
    } else forward.push([k, v]);
  }
  const out = own.get("out");
  if (!out) throw new OptionError(`Missing --out DIR\n${USAGE}`);
  const methods = (own.get("methods") ?? task.defaultMethods).split(",").map((m) => m.trim()).filter((m) =>
    m
  );
  const known = task.methods;
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
    const ms = task.methodsOf(k);
    if (ms && !methods.some((m) => ms.includes(m))) {
      throw new OptionError(
        `Option --${k} applies to --method ${ms.join(", ")}: none of --methods ${methods.join(",")}`,
      );
    }
  }
  const baseline = own.get("baseline") ?? task.defaultBaseline(methods);
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
function checkRuns(runs: PlannedRun[], task: CompareTask): void {
  for (const r of runs) {
    try {
      task.check(r.args);
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
async function trainRuns(runs: PlannedRun[], forward: FlagPair[], task: CompareTask): Promise<void> {
  const statuses = new Map<PlannedRun, RunStatus>();
  for (const r of runs) statuses.set(r, await runStatus(r.dir)); // a half-written folder stops us here
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
    const args = s.state === "partial" ? task.resumeArgs(r.dir, forward) : r.args;
    console.log(`== ${describe(r)}${s.state === "partial" ? `: resuming after epoch ${s.epoch}` : ""}`);
    const code = await runTrain(args, task.script);
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
  const title = `${setup.task.describe(c)}: ${setup.methods.join(" vs ")}${
    flags.length ? ` (${flags.join(" ")})` : ""
  }`;
  const steps = c.steps as number | undefined;
  const evals = [...new Set(configs.map((k) => k.evalEvery ?? 1))].join("/");
  const budget = steps
    ? `${steps} optimizer steps per run (--steps): epochs derived from each cell's training-set size, ${
      setup.task.name === "pde"
        ? "StepLR halving at every fifth of the run"
        : "the cosine schedule spanning the steps"
    }, test evaluation every ${evals} epoch(s) and after the last`
    : setup.task.name === "lm"
    ? `${c.epochs ?? "?"} epochs per run (--epochs), the cosine schedule set per step`
    : setup.task.name === "pde"
    ? `${c.epochs ?? "?"} epochs per run (--epochs), Adam with StepLR (×${c.gamma ?? "?"} every ${
      c.stepSize ?? "?"
    } epochs), test evaluation every ${evals} epoch(s) and after the last`
    : `${c.epochs ?? "?"} epochs per run (--epochs), schedule ${c.schedule ?? "?"} set per ${
      c.stepwise ? "step" : "epoch"
    }`;
  return { title, budget };
}

/** Reads every planned run's state and writes the report. */
async function report(setup: Setup): Promise<string> {
  const runs = planRuns({ ...setup, applies: appliesIn(setup.task) });
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
    metric: setup.task.metric,
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
    baseline: rec.baseline ?? COMPARE_TASKS[rec.task ?? "cnn"].defaultBaseline(rec.methods),
    task: COMPARE_TASKS[rec.task ?? "cnn"],
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
  const all = planRuns({ ...setup, applies: appliesIn(task) });
  checkRuns(all, task);
  // For images --data is where the files are, not a setting (shards on other hosts may find them
  // elsewhere); for language models it is the corpus, so a rerun on another one is refused.
  await recordSettings(setup.out, "compare.json", {
    forward: task.dataIsSetting ? setup.forward : setup.forward.filter(([k]) => k !== "data"),
    grid: setup.axes.map((a) => [a.flag, a.values]),
    methods: setup.methods,
    seeds: setup.seeds,
    baseline: setup.baseline,
    ...(task.name !== "cnn" ? { task: task.name } : {}),
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
