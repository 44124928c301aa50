/**
 * `deno task lm-study DIR [--baseline adam] [--out DIR2]`: the report of language-model runs laid
 * out as `DIR/<cell>/<method>/seed<S>` (train-lm folders): `results.md` and `results.csv` with test
 * perplexity per cell × method and the paired differences against the baseline.
 * @module
 */
import { parseArgs } from "node:util";
import { OptionError } from "../util/errors.ts";
import { writeAtomic } from "../io/atomic.ts";
import type { LmEpochMetrics } from "../train/lm_run.ts";
import { lmStudyCsv, lmStudyMarkdown, type LmStudyRun, summarizeLmStudy } from "../report/lm_study.ts";
import { oneFile, parsed } from "./_args.ts";
import { runMain } from "../cli/main.ts";

const USAGE = `usage: deno task lm-study DIR [--baseline METHOD] [--out DIR2]
  DIR              runs as DIR/<cell>/<method>/seed<S> (each a deno task train-lm folder)
  --baseline M     the method the others are compared against, paired by seed (default adam)
  --out DIR2       where results.md and results.csv go (default DIR)`;

async function dirs(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(path)) if (e.isDirectory) out.push(e.name);
  return out.sort();
}

await runMain(async () => {
  const { values: v, positionals } = parsed(() =>
    parseArgs({
      allowPositionals: true,
      options: {
        baseline: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }), USAGE);
  const root = oneFile(positionals, v.help, USAGE);
  if (root === null) return;
  const baseline = v.baseline ?? "adam";
  const runs: LmStudyRun[] = [], unfinished: string[] = [];
  let cells: string[];
  try {
    cells = await dirs(root);
  } catch {
    throw new OptionError(`${root}: no such folder`);
  }
  for (const cell of cells) {
    for (const method of await dirs(`${root}/${cell}`)) {
      for (const s of await dirs(`${root}/${cell}/${method}`)) {
        const dir = `${root}/${cell}/${method}/${s}`;
        const seed = Number(s.replace(/^seed/, ""));
        let history: LmEpochMetrics[] = [], epochs = 3;
        try {
          history = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) =>
            JSON.parse(l)
          );
          const flags = JSON.parse(await Deno.readTextFile(`${dir}/run.json`)).flags;
          epochs = Number(flags.epochs ?? 3);
        } catch { /* not started */ }
        if (history.length >= epochs) runs.push({ cell, method, seed, history });
        else unfinished.push(dir);
      }
    }
  }
  if (!runs.length) throw new OptionError(`${root}: no finished runs under <cell>/<method>/seed<S>`);
  const rows = summarizeLmStudy(runs, baseline);
  const out = v.out ?? root;
  await Deno.mkdir(out, { recursive: true });
  const md = `# Test perplexity per cell (lower is better), paired by seed against ${baseline}\n\n` +
    lmStudyMarkdown(rows, baseline) +
    (unfinished.length ? `\nNot finished: ${unfinished.join(", ")}\n` : "");
  await writeAtomic(`${out}/results.md`, md);
  await writeAtomic(`${out}/results.csv`, lmStudyCsv(rows));
  console.log(md);
});
