/**
 * Flag values shared by the tasks: a choice among named values, with the usage text on error.
 * @module
 */
import { OptionError } from "../util/errors.ts";

/**
 * Returns `value` if it is one of `valid`, `dflt` when absent.
 * @throws {RangeError} `Invalid --flag "value": expected one of …` followed by the usage text.
 */
export function choice<T extends string>(
  flag: string,
  value: string | undefined,
  valid: readonly T[],
  dflt: T,
  usage: string,
): T {
  if (value === undefined) return dflt;
  if (!valid.includes(value as T)) {
    throw new OptionError(`Invalid --${flag} "${value}": expected one of ${valid.join(", ")}\n${usage}`);
  }
  return value as T;
}

/**
 * A numeric flag's value, `dflt` when absent: the one validator of every task's numeric flags.
 * @param flag The flag's name (without `--`).
 * @param value What was given.
 * @param dflt The default.
 * @param o Integer only, the minimum (none: any finite number), whether the minimum itself is excluded.
 * @param usage The task's usage text, appended to the error (omit for a one-line error).
 * @returns The number.
 * @throws {OptionError} `Invalid --flag "value": expected an integer ≥ 1`, then the usage if given.
 */
export function numFlag<D extends number | undefined>(
  flag: string,
  value: string | undefined,
  dflt: D,
  o: { int?: boolean; min?: number; exclusive?: boolean } = {},
  usage?: string,
): number | D {
  if (value === undefined) return dflt;
  const v = Number(value);
  const low = o.min === undefined ? false : o.exclusive ? v <= o.min : v < o.min;
  if (value.trim() === "" || !Number.isFinite(v) || (o.int && !Number.isInteger(v)) || low) {
    const bound = o.min === undefined ? "" : ` ${o.exclusive ? ">" : "≥"} ${o.min}`;
    throw new OptionError(
      `Invalid --${flag} "${value}": expected ${o.int ? "an integer" : "a number"}${bound}${
        usage ? `\n${usage}` : ""
      }`,
    );
  }
  return v;
}

/**
 * Runs a flag parser, turning its error into a `TypeError` followed by the usage text.
 * @param parse The parser call (`() => parseArgs({...})`).
 * @param usage The task's usage text.
 * @returns What the parser returned.
 */
export function parsed<T>(parse: () => T, usage: string): T {
  try {
    return parse();
  } catch (e) {
    throw new OptionError(`${(e as Error).message}\n${usage}`);
  }
}

/**
 * The one weight file a task takes, or null after printing the usage for `--help`.
 * @throws {TypeError} Unless exactly one file is given.
 */
export function oneFile(positionals: string[], help: boolean | undefined, usage: string): string | null {
  if (help) {
    console.log(usage);
    return null;
  }
  if (positionals.length !== 1) {
    throw new OptionError(`Expected one weight file, got ${positionals.length}\n${usage}`);
  }
  return positionals[0];
}

/**
 * Runs `deno task train` with these flags in a child process, its output on this terminal.
 * @param args The flags.
 * @param script The task file (default `./train.ts`; `./train_lm.ts` for language models).
 * @returns The child's exit code.
 */
export async function runTrain(args: string[], script = "./train.ts"): Promise<number> {
  const train = new URL(script, import.meta.url).pathname;
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", train, ...args],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return code;
}

/**
 * The flags of a run to continue: `--resume DIR` alone continues the run in DIR with the flags its
 * `run.json` saved (the run folder becomes `--out`); any other flag beside it is refused.
 * @param v The parsed flags (with `resume`, and `out` where the trainer has it).
 * @param trainer The trainer's task name, for the error (`train-lm`).
 * @returns `v` itself when not resuming, else the saved flags with `out` = the folder.
 * @throws {OptionError} A flag beside `--resume`, or a folder without `run.json`.
 */
export async function resumeFlags<T extends { resume?: string | boolean; out?: string | boolean }>(
  v: T,
  trainer: string,
): Promise<T> {
  if (v.resume === undefined) return v;
  const others = Object.keys(v).filter((k) => v[k as keyof T] !== undefined && k !== "resume");
  if (others.length) {
    throw new OptionError(
      `--resume continues the saved run with its own flags: --${others[0]} cannot be changed`,
    );
  }
  try {
    return { ...JSON.parse(await Deno.readTextFile(`${v.resume}/run.json`)).flags, out: v.resume };
  } catch {
    throw new OptionError(`--resume ${v.resume}: no run.json there: not a ${trainer} run folder`);
  }
}
