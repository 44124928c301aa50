/**
 * The report of a language-model study: runs laid out as `DIR/<cell>/<method>/seed<S>` (each a
 * `deno task train-lm` folder), per cell × method the mean ± std of the final test perplexity and
 * of the test perplexity at the epoch with the best validation perplexity, and per cell the paired
 * difference of each method against the baseline (same seeds), with its 95% t interval and the
 * count of seeds where the method is better (lower).
 * @module
 */
import type { LmEpochMetrics } from "../train/lm_run.ts";
import { meanStd, pairedDifference } from "./stats.ts";

/** One finished run. */
export interface LmStudyRun {
  /** Grid cell (`frac=0.01`). */
  cell: string;
  /** Method. */
  method: string;
  /** Seed. */
  seed: number;
  /** Its epochs. */
  history: LmEpochMetrics[];
}

/** Test perplexity after the last epoch. */
export const finalTestPpl = (h: LmEpochMetrics[]): number => h[h.length - 1].test_ppl;

/** Test perplexity at the epoch with the lowest validation perplexity (early stopping). */
export function bestValidTestPpl(h: LmEpochMetrics[]): number {
  return h.reduce((b, m) => (m.valid_ppl < b.valid_ppl ? m : b)).test_ppl;
}

/** One row of the study table. */
export interface LmStudyRow {
  /** Cell. */
  cell: string;
  /** Method. */
  method: string;
  /** Seeds. */
  n: number;
  /** Final test perplexity, mean and std. */
  final: { mean: number; std: number };
  /** Best-validation test perplexity, mean and std. */
  best: { mean: number; std: number };
  /** Paired difference (method − baseline) of the final test perplexity, when not the baseline. */
  diff?: ReturnType<typeof pairedDifference> & { better: number };
  /** The same for the best-validation test perplexity. */
  diffBest?: ReturnType<typeof pairedDifference> & { better: number };
}

/**
 * Summarises finished runs.
 * @param runs The runs.
 * @param baseline The method others are compared against.
 * @returns Rows, cells in the order first seen, then methods.
 */
export function summarizeLmStudy(runs: LmStudyRun[], baseline: string): LmStudyRow[] {
  const cells = [...new Set(runs.map((r) => r.cell))];
  const methods = [...new Set(runs.map((r) => r.method))];
  const rows: LmStudyRow[] = [];
  for (const cell of cells) {
    const base = runs.filter((r) => r.cell === cell && r.method === baseline);
    for (const method of methods) {
      const rs = runs.filter((r) => r.cell === cell && r.method === method).sort((a, b) => a.seed - b.seed);
      if (!rs.length) continue;
      const row: LmStudyRow = {
        cell,
        method,
        n: rs.length,
        final: meanStd(rs.map((r) => finalTestPpl(r.history))),
        best: meanStd(rs.map((r) => bestValidTestPpl(r.history))),
      };
      if (method !== baseline) {
        const pairs = rs.flatMap((r) => {
          const b = base.find((x) => x.seed === r.seed);
          return b ? [[r, b] as const] : [];
        });
        if (pairs.length >= 2) {
          const paired = (f: (h: LmEpochMetrics[]) => number) => {
            const a = pairs.map(([r]) => f(r.history)), b = pairs.map(([, x]) => f(x.history));
            return { ...pairedDifference(a, b), better: a.filter((v, i) => v < b[i]).length };
          };
          row.diff = paired(finalTestPpl);
          row.diffBest = paired(bestValidTestPpl);
        }
      }
      rows.push(row);
    }
  }
  return rows;
}

const f2 = (x: number) => x.toFixed(2);

/**
 * The table as Markdown.
 * @param rows From {@link summarizeLmStudy}.
 * @param baseline The baseline's name.
 * @returns Markdown text.
 */
export function lmStudyMarkdown(rows: LmStudyRow[], baseline: string): string {
  const lines = [
    `| cell | method | seeds | test ppl (final) | test ppl (best valid epoch) | Δ final vs ${baseline} [95% CI] | better | Δ best-valid [95% CI] |`,
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const d = r.diff, db = r.diffBest;
    lines.push(
      `| ${r.cell} | ${r.method} | ${r.n} | ${f2(r.final.mean)} ± ${f2(r.final.std)} | ${f2(r.best.mean)} ± ${
        f2(r.best.std)
      } | ${d ? `${f2(d.mean)} [${f2(d.lo)}, ${f2(d.hi)}]` : "—"} | ${d ? `${d.better}/${d.n}` : "—"} | ${
        db ? `${f2(db.mean)} [${f2(db.lo)}, ${f2(db.hi)}]` : "—"
      } |`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * The table as CSV.
 * @param rows From {@link summarizeLmStudy}.
 * @returns CSV text.
 */
export function lmStudyCsv(rows: LmStudyRow[]): string {
  const head =
    "cell,method,seeds,final_mean,final_std,best_mean,best_std,diff,diff_lo,diff_hi,better,diff_best,diff_best_lo,diff_best_hi";
  return [
    head,
    ...rows.map((r) =>
      [
        r.cell,
        r.method,
        r.n,
        r.final.mean,
        r.final.std,
        r.best.mean,
        r.best.std,
        r.diff?.mean ?? "",
        r.diff?.lo ?? "",
        r.diff?.hi ?? "",
        r.diff?.better ?? "",
        r.diffBest?.mean ?? "",
        r.diffBest?.lo ?? "",
        r.diffBest?.hi ?? "",
      ].join(",")
    ),
  ].join("\n") + "\n";
}
