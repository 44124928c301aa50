/**
 * `deno task compare --methods tb,cal,snr --seeds 43,37,13 --out DIR [train flags]`: trains every
 * method × seed with `deno task train` (finished runs are kept, an interrupted one resumes), then
 * writes `DIR/results.md`, `DIR/results.csv`, `DIR/accuracy.svg` and `DIR/final_alpha.svg`.
 * @module
 */
import { OptionError } from "../kernels/errors.ts";
import { readCheckpoint } from "../train/checkpoint.ts";
import { METHOD_PARAMS, type MethodName, METHODS } from "../train/methods.ts";
import type { EpochMetrics } from "../train/metrics.ts";
import { type LayerEpoch, RUN_FILES } from "../train/trainer.ts";
import {
  accuracyBands,
  finalAlphaPlot,
  resultsCsv,
  resultsMarkdown,
  type RunRecord,
  summarizeRuns,
} from "../report/compare.ts";
import { writeAtomic } from "../io/atomic.ts";
import { runTrain } from "./_args.ts";
import { runMain } from "../cli/main.ts";

const USAGE = `usage: deno task compare --methods M1,M2,… --seeds S1,S2,… --out DIR [train flags]
  --methods LIST   methods to compare (${METHODS.join(", ")}); default tb,cal,snr
  --seeds LIST     seeds (default 43,37,13, as the reference's first three)
  --out DIR        where runs (DIR/<method>/seed<S>) and results go (required)
  train flags      passed to every run (--model, --dataset, --epochs, --lr, --subset, …); a method
                   option (--sg, --tb-*, …) goes only to the methods that take it
Runs already finished in DIR are kept; an interrupted run resumes. DIR/compare.json records the
flags: rerunning with other flags is refused (use another --out).`;

const BOOLEAN = new Set([
  "no-augment",
  ...Object.entries(METHOD_PARAMS).filter(([, p]) => p.kind === "bool").map(([k]) => k),
]);

/** Splits `--flag value` / `--flag=value` / boolean `--flag` tokens into pairs. */
function tokens(args: string[]): [string, string | null][] {
  const out: [string, string | null][] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) throw new OptionError(`Unexpected argument "${a}"\n${USAGE}`);
    const eq = a.indexOf("=");
    if (eq > 0) out.push([a.slice(2, eq), a.slice(eq + 1)]);
    else if (BOOLEAN.has(a.slice(2)) || a === "--help") out.push([a.slice(2), null]);
    else {
      if (i + 1 >= args.length) throw new OptionError(`Missing value for ${a}\n${USAGE}`);
      out.push([a.slice(2), args[++i]]);
    }
  }
  return out;
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

async function readJsonl<T>(file: string): Promise<T[]> {
  if (!await exists(file)) return [];
  return (await Deno.readTextFile(file)).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as T);
}

await runMain(async () => {
  const pairs = tokens(Deno.args);
  if (pairs.some(([k]) => k === "help" || k === "h")) {
    console.log(USAGE);
    return;
  }
  const own = new Map<string, string>();
  const forward: [string, string | null][] = [];
  for (const [k, v] of pairs) {
    if (k === "methods" || k === "seeds" || k === "out") own.set(k, v!);
    else if (k === "method" || k === "seed" || k === "resume") {
      throw new OptionError(`--${k} is set by compare for each run: use --methods / --seeds\n${USAGE}`);
    } else forward.push([k, v]);
  }
  const out = own.get("out");
  if (!out) throw new OptionError(`Missing --out DIR\n${USAGE}`);
  const methods = (own.get("methods") ?? "tb,cal,snr").split(",").map((m) => m.trim()).filter((m) => m);
  for (const m of methods) {
    if (!METHODS.includes(m as MethodName)) {
      throw new OptionError(`Unknown method "${m}" in --methods: expected ${METHODS.join(", ")}`);
    }
  }
  const seeds = (own.get("seeds") ?? "43,37,13").split(",").map((s) => Number(s.trim()));
  if (!seeds.length || seeds.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new OptionError(`Invalid --seeds "${own.get("seeds")}": expected integers ≥ 0, comma-separated`);
  }
  // A method option must apply to at least one method; it goes only to those.
  for (const [k] of forward) {
    const p = METHOD_PARAMS[k];
    if (p && !methods.some((m) => p.methods.includes(m as MethodName))) {
      throw new OptionError(
        `Option --${k} applies to --method ${p.methods.join(", ")}: none of --methods ${methods.join(",")}`,
      );
    }
  }
  await Deno.mkdir(out, { recursive: true });
  const record = JSON.stringify({ forward }, null, 1);
  const recordFile = `${out}/compare.json`;
  if (await exists(recordFile)) {
    const prev = await Deno.readTextFile(recordFile);
    if (JSON.stringify(JSON.parse(prev)) !== JSON.stringify(JSON.parse(record))) {
      throw new OptionError(
        `"${out}" holds runs made with other train flags (${prev.replace(/\s+/g, " ")}): use another --out`,
      );
    }
  } else await writeAtomic(recordFile, record);

  const dataFlag = forward.find(([k]) => k === "data");
  for (const method of methods) {
    for (const seed of seeds) {
      const dir = `${out}/${method}/seed${seed}`;
      const ckpt = `${dir}/${RUN_FILES.checkpoint}`;
      let args: string[];
      if (await exists(ckpt)) {
        const state = (await readCheckpoint(ckpt)).state;
        if (state.epoch >= (state.config.epochs as number)) {
          console.log(`== ${method} seed ${seed}: finished (${state.epoch} epochs), kept`);
          continue;
        }
        console.log(`== ${method} seed ${seed}: resuming after epoch ${state.epoch}`);
        args = ["--resume", dir, ...(dataFlag ? [`--data=${dataFlag[1]}`] : [])];
      } else {
        console.log(`== ${method} seed ${seed}`);
        const mine = forward.filter(([k]) =>
          !METHOD_PARAMS[k] || METHOD_PARAMS[k].methods.includes(method as MethodName)
        );
        args = [
          ...mine.map(([k, v]) => (v === null ? `--${k}` : `--${k}=${v}`)),
          `--method=${method}`,
          `--seed=${seed}`,
          `--out=${dir}`,
        ];
      }
      const code = await runTrain(args);
      if (code !== 0) {
        throw new OptionError(
          `The run ${method} seed ${seed} failed (exit ${code}): rerun compare to resume it`,
        );
      }
    }
  }

  const runs: RunRecord[] = [];
  let title = "";
  for (const method of methods) {
    for (const seed of seeds) {
      const dir = `${out}/${method}/seed${seed}`;
      const history = await readJsonl<EpochMetrics>(`${dir}/${RUN_FILES.metricsJsonl}`);
      const layers = await readJsonl<LayerEpoch>(`${dir}/${RUN_FILES.layersJsonl}`);
      runs.push({ method, seed, history, layers });
      if (!title && await exists(`${dir}/${RUN_FILES.checkpoint}`)) {
        const c = (await readCheckpoint(`${dir}/${RUN_FILES.checkpoint}`)).state.config;
        title =
          `${c.model} on ${c.dataset}${c.subset ? ` (first ${c.subset} images)` : ""}, ${c.epochs} epochs, ` +
          `batch ${c.batchSize}, lr ${c.lr}, seeds ${seeds.join(", ")}`;
      }
    }
  }
  const summary = summarizeRuns(runs);
  const md = resultsMarkdown(summary, title || "comparison");
  await writeAtomic(`${out}/results.md`, md);
  await writeAtomic(`${out}/results.csv`, resultsCsv(summary));
  await writeAtomic(`${out}/accuracy.svg`, await accuracyBands(runs));
  const alpha = finalAlphaPlot(runs);
  if (alpha) await writeAtomic(`${out}/final_alpha.svg`, await alpha);
  console.log(
    `\n${md}\nresults: ${out}/results.md, ${out}/results.csv; plots: ${out}/accuracy.svg${
      alpha ? `, ${out}/final_alpha.svg` : ""
    }`,
  );
});
