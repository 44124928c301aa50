/**
 * The pruning experiment's report: pruned checkpoint folders (each with `sparsity.json` and
 * `perplexity.json`, as `deno task prune --eval` writes them) gathered into a table of perplexity
 * by sparsity × allocation × score, and a plot of perplexity against sparsity, one line
 * per allocation, a panel per score.
 * @module
 */
import { render } from "./_render.ts";

/** One pruned run. */
export interface PruneRun {
  /** Score: magnitude or wanda. */
  score: string;
  /** Allocation: uniform, alpha or farms. */
  allocation: string;
  /** Target sparsity. */
  sparsity: number;
  /** Achieved overall sparsity. */
  achieved: number;
  /** Perplexity of the dense model. */
  before: number;
  /** Perplexity after pruning. */
  after: number;
}

/**
 * Reads the runs of a folder of pruned checkpoints (`SCORE-ALLOCATION-S`, any order).
 * @param dir The folder.
 * @returns The runs, sorted by score, allocation, sparsity.
 */
export async function readPruneRuns(dir: string): Promise<PruneRun[]> {
  const runs: PruneRun[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isDirectory) continue;
    let sp: { target: number; allocation: string; achieved: number; score?: string };
    let pp: { before: number; after: number };
    try {
      sp = JSON.parse(await Deno.readTextFile(`${dir}/${e.name}/sparsity.json`));
      pp = JSON.parse(await Deno.readTextFile(`${dir}/${e.name}/perplexity.json`));
    } catch {
      continue; // not finished
    }
    // sparsity.json records its score; files written before it did are named SCORE-ALLOCATION-S.
    const score = sp.score ?? e.name.split("-")[0];
    runs.push({
      score,
      allocation: sp.allocation,
      sparsity: sp.target,
      achieved: sp.achieved,
      before: pp.before,
      after: pp.after,
    });
  }
  const order = ["uniform", "alpha", "farms"];
  return runs.sort((a, b) =>
    a.score.localeCompare(b.score) || order.indexOf(a.allocation) - order.indexOf(b.allocation) ||
    a.sparsity - b.sparsity
  );
}

/**
 * The Markdown table: one row per score × sparsity, one column per allocation, and the change of
 * alpha and FARMS against uniform.
 * @param runs The runs.
 * @returns Markdown.
 */
export function pruneTable(runs: PruneRun[]): string {
  const sparsities = [...new Set(runs.map((r) => r.sparsity))].sort((a, b) => a - b);
  const scores = [...new Set(runs.map((r) => r.score))];
  const get = (s: string, a: string, x: number) =>
    runs.find((r) => r.score === s && r.allocation === a && r.sparsity === x);
  const fmt = (v: number | undefined) => (v === undefined ? "–" : v.toFixed(2));
  const rel = (v: number | undefined, u: number | undefined) =>
    v === undefined || u === undefined ? "–" : `${(100 * (v / u - 1)).toFixed(1)}%`;
  const lines = [
    "| score | sparsity | uniform | alpha | FARMS | alpha vs uniform | FARMS vs uniform | FARMS vs alpha |",
    "| ----- | -------: | ------: | ----: | ----: | ---------------: | ---------------: | -------------: |",
  ];
  for (const s of scores) {
    for (const x of sparsities) {
      const u = get(s, "uniform", x)?.after, a = get(s, "alpha", x)?.after, f = get(s, "farms", x)?.after;
      lines.push(
        `| ${s} | ${x} | ${fmt(u)} | ${fmt(a)} | ${fmt(f)} | ${rel(a, u)} | ${rel(f, u)} | ${rel(f, a)} |`,
      );
    }
  }
  return lines.join("\n");
}

/**
 * Perplexity against sparsity, a line per allocation, a panel per score.
 * @param runs The runs.
 * @returns SVG text.
 */
export function prunePlot(runs: PruneRun[]): Promise<string> {
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: "Perplexity after pruning (dense: dashed)",
    data: { values: runs },
    facet: { column: { field: "score", type: "nominal", title: null } },
    spec: {
      width: 300,
      height: 260,
      layer: [
        {
          mark: { type: "line", point: true },
          encoding: {
            x: { field: "sparsity", type: "quantitative", title: "sparsity", scale: { zero: false } },
            y: { field: "after", type: "quantitative", title: "test perplexity", scale: { zero: false } },
            color: { field: "allocation", type: "nominal", sort: ["uniform", "alpha", "farms"] },
          },
        },
        {
          mark: { type: "rule", strokeDash: [4, 4], color: "gray" },
          encoding: { y: { aggregate: "mean", field: "before", type: "quantitative" } },
        },
      ],
    },
  });
}
