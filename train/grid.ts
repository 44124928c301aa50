/**
 * The plan of a comparison: grid axes (train flags with lists of values) × methods × seeds, as a
 * deterministically ordered list of runs, each with its folder and its `deno task train` flags,
 * and the slice of that list a shard of a job array runs (`index ≡ I (mod N)`).
 *
 * A run is keyed by the grid values that apply to its method: an axis that is a method option
 * (`--grid tb-metric=…`) does not apply to `cal`, so cal's runs are shared by those cells rather
 * than trained again for each.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { METHOD_PARAMS, type MethodName } from "./methods.ts";

/** One grid axis: a train flag and its values, in the order given. */
export interface GridAxis {
  /** The train flag, without `--`. */
  flag: string;
  /** Its values, as given on the command line. */
  values: string[];
}

/** One cell of the grid: a value for every axis. */
export type GridCell = Record<string, string>;

/** One run of the plan. */
export interface PlannedRun {
  /** Position in the full ordered list (what `--shard` partitions). */
  index: number;
  /** The method. */
  method: string;
  /** The seed. */
  seed: number;
  /** The grid values this run was trained with (the axes that apply to its method). */
  cell: GridCell;
  /** Its folder, under the comparison's folder. */
  dir: string;
  /** Its `deno task train` flags (without `--resume`). */
  args: string[];
}

/** A flag given on the command line: name and value (null for a boolean given bare). */
export type FlagPair = [string, string | null];

/** Flags that a grid axis cannot vary: compare sets them itself, or they are not settings. */
const NOT_AXES = ["method", "seed", "out", "resume", "help", "data"];

/**
 * Parses `--grid flag=v1,v2,…` specifications.
 * @param specs The values of every `--grid` given, in order.
 * @param known The train flags (name → type), to refuse an axis that is not one.
 * @returns The axes.
 * @throws {OptionError} On a malformed spec, an unknown or repeated flag, an empty or duplicate value.
 */
export function parseGrid(specs: string[], known: Record<string, { type: string }>): GridAxis[] {
  const axes: GridAxis[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    if (eq <= 0) {
      throw new OptionError(`Invalid --grid "${spec}": expected FLAG=V1,V2,… (e.g. --grid subset=600,6000)`);
    }
    const flag = spec.slice(0, eq).replace(/^--/, "");
    if (!(flag in known) || NOT_AXES.includes(flag)) {
      throw new OptionError(
        `Invalid --grid "${spec}": "${flag}" is not a train flag a grid can vary (${
          NOT_AXES.includes(flag) ? `compare sets --${flag} itself` : "see deno task train --help"
        })`,
      );
    }
    if (axes.some((a) => a.flag === flag)) throw new OptionError(`--grid ${flag} is given twice`);
    const values = spec.slice(eq + 1).split(",").map((v) => v.trim());
    const empty = values.findIndex((v) => v === "");
    if (empty >= 0) {
      throw new OptionError(`Invalid --grid "${spec}": value ${empty + 1} of ${flag} is empty`);
    }
    const dup = values.find((v, i) => values.indexOf(v) !== i);
    if (dup !== undefined) throw new OptionError(`Invalid --grid "${spec}": value "${dup}" is given twice`);
    if (known[flag].type === "boolean") {
      const bad = values.find((v) => v !== "true" && v !== "false");
      if (bad !== undefined) {
        throw new OptionError(
          `Invalid --grid "${spec}": --${flag} is a switch, its values are true and false`,
        );
      }
    }
    axes.push({ flag, values });
  }
  return axes;
}

/** Whether a flag applies to a method (every flag but a method option of other methods). */
export function appliesTo(flag: string, method: string): boolean {
  const p = METHOD_PARAMS[flag];
  return !p || p.methods.includes(method as MethodName);
}

/**
 * Every cell of the grid, first axis slowest.
 * @param axes The axes.
 * @returns The cells (one empty cell for no axes).
 */
export function gridCells(axes: GridAxis[]): GridCell[] {
  let cells: GridCell[] = [{}];
  for (const a of axes) cells = cells.flatMap((c) => a.values.map((v) => ({ ...c, [a.flag]: v })));
  return cells;
}

/** The folder name of a cell's values (`subset=600,width=0.5`), or "" for no values. */
export function cellName(cell: GridCell): string {
  return Object.entries(cell).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join(",");
}

/**
 * The cell restricted to the axes that apply to a method.
 * @param cell The full cell.
 * @param method The method.
 * @param applies Which flags a method takes (default: the CNN trainer's {@link appliesTo}).
 * @returns The cell's values that the method takes.
 */
export function cellFor(
  cell: GridCell,
  method: string,
  applies: (flag: string, method: string) => boolean = appliesTo,
): GridCell {
  return Object.fromEntries(Object.entries(cell).filter(([k]) => applies(k, method)));
}

/**
 * The full, ordered list of runs: cells (first axis slowest), then methods, then seeds, each run
 * once (a run shared by cells stands where it first appears).
 * @param o The comparison's folder, methods, seeds, axes and the flags every run gets.
 * @returns The runs, `index` numbered from 0.
 */
export function planRuns(o: {
  out: string;
  methods: string[];
  seeds: number[];
  axes: GridAxis[];
  forward: FlagPair[];
  /** Which flags a method takes (default: the CNN trainer's {@link appliesTo}). */
  applies?: (flag: string, method: string) => boolean;
}): PlannedRun[] {
  const applies = o.applies ?? appliesTo;
  const runs: PlannedRun[] = [];
  const seen = new Set<string>();
  for (const full of gridCells(o.axes)) {
    for (const method of o.methods) {
      const cell = cellFor(full, method, applies);
      const name = cellName(cell);
      for (const seed of o.seeds) {
        const dir = `${o.out}/${method}${name ? `/${name}` : ""}/seed${seed}`;
        if (seen.has(dir)) continue;
        seen.add(dir);
        const flags: FlagPair[] = [
          ...o.forward.filter(([k]) => applies(k, method)),
          ...Object.entries(cell).flatMap(([k, v]): FlagPair[] =>
            v === "true" ? [[k, null]] : v === "false" ? [] : [[k, v]]
          ),
        ];
        runs.push({
          index: runs.length,
          method,
          seed,
          cell,
          dir,
          args: [
            ...flags.map(([k, v]) => (v === null ? `--${k}` : `--${k}=${v}`)),
            `--method=${method}`,
            `--seed=${seed}`,
            `--out=${dir}`,
          ],
        });
      }
    }
  }
  return runs;
}

/** Which slice of the runs a process takes: index ≡ `index` (mod `count`). */
export interface Shard {
  /** This shard, from 0. */
  index: number;
  /** Shards in all. */
  count: number;
  /** Where it came from (for messages): `--shard`, Slurm or Kubernetes. */
  source: string;
}

function parseShardFlag(v: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(v);
  if (!m) throw new OptionError(`Invalid --shard "${v}": expected I/N with 0 ≤ I < N (e.g. --shard 0/4)`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || index >= count) {
    throw new OptionError(`Invalid --shard "${v}": expected I/N with 0 ≤ I < N and N ≥ 1`);
  }
  return { index, count, source: "--shard" };
}

function envInt(env: Record<string, string | undefined>, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === "") return undefined;
  if (!/^\d+$/.test(v.trim())) throw new OptionError(`Invalid ${name}="${v}": expected a whole number`);
  return Number(v);
}

/**
 * The shard of this process, from `--shard I/N`, from a Slurm job array (`SLURM_ARRAY_TASK_ID`,
 * `SLURM_ARRAY_TASK_COUNT`, with `SLURM_ARRAY_TASK_MIN`/`_STEP` when the array does not count 0, 1,
 * 2, …), or from a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX` with `--shards N`).
 * @param flag `--shard`, when given.
 * @param shards `--shards`, when given.
 * @param env The environment.
 * @returns The shard, or null for the whole list.
 * @throws {OptionError} On a malformed or out-of-range value, sources that disagree, or a
 *   `JOB_COMPLETION_INDEX` without `--shards` (each pod would run the whole grid).
 */
export function resolveShard(
  flag: string | undefined,
  shards: string | undefined,
  env: Record<string, string | undefined>,
): Shard | null {
  const fromFlag = flag === undefined ? null : parseShardFlag(flag);
  let fromEnv: Shard | null = null;
  const id = envInt(env, "SLURM_ARRAY_TASK_ID");
  if (id !== undefined) {
    const count = envInt(env, "SLURM_ARRAY_TASK_COUNT");
    if (count === undefined || count < 1) {
      throw new OptionError(
        `SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: cannot tell the shards`,
      );
    }
    const min = envInt(env, "SLURM_ARRAY_TASK_MIN") ?? 0, step = envInt(env, "SLURM_ARRAY_TASK_STEP") || 1;
    const index = (id - min) / step;
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new OptionError(
        `SLURM_ARRAY_TASK_ID=${id} is not one of ${count} array tasks from ${min} in steps of ${step}`,
      );
    }
    fromEnv = { index, count, source: `Slurm (SLURM_ARRAY_TASK_ID=${id}, SLURM_ARRAY_TASK_COUNT=${count})` };
  }
  const job = envInt(env, "JOB_COMPLETION_INDEX");
  if (shards !== undefined) {
    if (!/^\s*\d+\s*$/.test(shards) || Number(shards) < 1) {
      throw new OptionError(`Invalid --shards "${shards}": expected a whole number ≥ 1`);
    }
    if (job === undefined) {
      throw new OptionError(
        `--shards N goes with a Kubernetes Indexed Job's JOB_COMPLETION_INDEX, which is not set`,
      );
    }
    const count = Number(shards);
    if (job >= count) throw new OptionError(`JOB_COMPLETION_INDEX=${job} is not below --shards ${count}`);
    if (fromEnv) throw new OptionError(`Both Slurm's SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX are set`);
    fromEnv = { index: job, count, source: `Kubernetes (JOB_COMPLETION_INDEX=${job}, --shards ${count})` };
  } else if (job !== undefined && !fromFlag) {
    // Every pod of an Indexed Job would otherwise run the whole grid, racing on the shared folder.
    throw new OptionError(
      `JOB_COMPLETION_INDEX=${job} is set (a Kubernetes Indexed Job) but --shards is not: give --shards N, N = the Job's completions`,
    );
  }
  if (fromFlag && fromEnv && (fromFlag.index !== fromEnv.index || fromFlag.count !== fromEnv.count)) {
    throw new OptionError(
      `--shard ${fromFlag.index}/${fromFlag.count} disagrees with ${fromEnv.source}, which means shard ${fromEnv.index}/${fromEnv.count}`,
    );
  }
  return fromFlag ?? fromEnv;
}

/**
 * The runs of one shard.
 * @param runs The full list.
 * @param shard The shard (null: all).
 * @returns Those with `index ≡ shard.index (mod shard.count)`.
 */
export function shardRuns(runs: PlannedRun[], shard: Shard | null): PlannedRun[] {
  return shard ? runs.filter((r) => r.index % shard.count === shard.index) : runs;
}
