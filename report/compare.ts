/**
 * Comparing training methods over seeds: per method, the mean ± standard deviation (sample,
 * n − 1) of the final and best test accuracy and of the wall time, as a Markdown table and CSV;
 * plots of test accuracy per epoch (mean line with a min–max band) and of each layer's final
 * alpha (mean over seeds) per method, with the analyzer's renderer.
 * @module
 */
import type { EpochMetrics } from "../train/metrics.ts";
import type { LayerEpoch } from "../train/trainer.ts";
import type { GridCell } from "../train/grid.ts";
import { render } from "./_render.ts";
import { meanStd } from "./stats.ts";

export { meanStd };

/** One finished (or partial) run of a method with a seed. */
export interface RunRecord {
  /** The method. */
  method: string;
  /** The seed. */
  seed: number;
  /** Its epochs. */
  history: EpochMetrics[];
  /** Its per-layer log (may be empty). */
  layers: LayerEpoch[];
  /** The grid values it was trained with (absent or empty without a grid). */
  cell?: GridCell;
}

/** The epochs of a run that were evaluated (all, unless it ran with `evalEvery` > 1). */
export function evaluated(history: EpochMetrics[]): (EpochMetrics & { test_acc: number })[] {
  return history.filter((m): m is EpochMetrics & { test_acc: number } => typeof m.test_acc === "number");
}

/** A run's final test accuracy (%): that of its last evaluated epoch (NaN if none). */
export function finalAccuracy(history: EpochMetrics[]): number {
  const e = evaluated(history);
  return e.length ? 100 * e[e.length - 1].test_acc : NaN;
}

/** A run's best test accuracy (%) over its evaluated epochs (NaN if none). */
export function bestAccuracy(history: EpochMetrics[]): number {
  const e = evaluated(history);
  return e.length ? 100 * Math.max(...e.map((m) => m.test_acc)) : NaN;
}

/** A run's wall time (s): the sum of its epochs'. */
export function wallSeconds(history: EpochMetrics[]): number {
  return history.reduce((s, m) => s + m.seconds, 0);
}

/** A method's summary over its seeds. */
export interface MethodSummary {
  /** The method. */
  method: string;
  /** Runs counted. */
  runs: number;
  /** Epochs of each run (the smallest, if they differ). */
  epochs: number;
  /** Final test accuracy (%), mean and std. */
  final: { mean: number; std: number };
  /** Best test accuracy (%). */
  best: { mean: number; std: number };
  /** Wall time of a run (s). */
  seconds: { mean: number; std: number };
}

/**
 * Summarises runs by method, in the order methods first appear.
 * @param runs The runs.
 * @returns One summary per method.
 */
export function summarizeRuns(runs: RunRecord[]): MethodSummary[] {
  const methods = [...new Set(runs.map((r) => r.method))];
  return methods.map((method) => {
    const rs = runs.filter((r) => r.method === method && r.history.length);
    return {
      method,
      runs: rs.length,
      epochs: Math.min(...rs.map((r) => r.history.length)),
      final: meanStd(rs.map((r) => finalAccuracy(r.history))),
      best: meanStd(rs.map((r) => bestAccuracy(r.history))),
      seconds: meanStd(rs.map((r) => wallSeconds(r.history))),
    };
  });
}

const pm = (x: { mean: number; std: number }, d = 2) => `${x.mean.toFixed(d)} ± ${x.std.toFixed(d)}`;

/**
 * The summary as a Markdown table.
 * @param rows The summaries.
 * @param title A heading line (the setting).
 * @returns Markdown text.
 */
export function resultsMarkdown(rows: MethodSummary[], title: string): string {
  return [
    `# ${title}`,
    "",
    "| method | runs | epochs | final test acc (%) | best test acc (%) | wall time per run (s) |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.method} | ${r.runs} | ${r.epochs} | ${pm(r.final)} | ${pm(r.best)} | ${pm(r.seconds, 0)} |`
    ),
    "",
    "Mean ± sample standard deviation over seeds.",
    "",
  ].join("\n");
}

/**
 * The summary as CSV.
 * @param rows The summaries.
 * @returns CSV text with a header.
 */
export function resultsCsv(rows: MethodSummary[]): string {
  const head = "method,runs,epochs,final_mean,final_std,best_mean,best_std,seconds_mean,seconds_std";
  return [
    head,
    ...rows.map((r) =>
      [
        r.method,
        r.runs,
        r.epochs,
        r.final.mean,
        r.final.std,
        r.best.mean,
        r.best.std,
        r.seconds.mean,
        r.seconds.std,
      ].join(",")
    ),
  ].join("\n") + "\n";
}

/**
 * Test accuracy per epoch (or per optimizer step): per method the mean over seeds as a line and
 * min–max as a band. Epochs that were not evaluated are left out.
 * @param runs The runs.
 * @param o `x`: "epoch" (default) or "steps" (the optimizer's step count at each evaluation);
 * `title`: a line above the plot's own.
 * @returns SVG text.
 */
export function accuracyBands(
  runs: RunRecord[],
  o: { x?: "epoch" | "steps"; title?: string } = {},
): Promise<string> {
  const methods = [...new Set(runs.map((r) => r.method))];
  const byStep = o.x === "steps";
  const values = methods.flatMap((method) => {
    const rs = runs.filter((r) => r.method === method);
    const epochs = Math.max(0, ...rs.map((r) => r.history.length));
    return Array.from({ length: epochs }, (_, e) => {
      const at = rs.map((r) => r.history[e]).filter((m): m is EpochMetrics =>
        !!m && typeof m.test_acc === "number"
      );
      if (!at.length) return [];
      const v = at.map((m) => 100 * m.test_acc!);
      const x = byStep ? at[0].steps ?? e + 1 : e + 1;
      return [{ method, x, mean: meanStd(v).mean, lo: Math.min(...v), hi: Math.max(...v) }];
    }).flat();
  });
  const title = `test accuracy per ${byStep ? "step" : "epoch"} (mean over seeds, band: min–max)`;
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: o.title ? { text: o.title, subtitle: title } : title,
    width: 520,
    height: 320,
    data: { values },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: byStep ? "optimizer step" : "epoch",
        axis: { tickMinStep: 1 },
      },
      color: { field: "method", type: "nominal", sort: methods },
    },
    layer: [
      {
        mark: { type: "area", opacity: 0.2 },
        encoding: {
          y: { field: "lo", type: "quantitative", title: "test accuracy (%)", scale: { zero: false } },
          y2: { field: "hi" },
        },
      },
      { mark: { type: "line", point: true }, encoding: { y: { field: "mean", type: "quantitative" } } },
    ],
  });
}

/**
 * Each layer's alpha after the last epoch, mean over seeds, one line per method.
 * @param runs The runs.
 * @returns SVG text, or null when no run has a layer log.
 */
export function finalAlphaPlot(runs: RunRecord[]): Promise<string> | null {
  const methods = [...new Set(runs.map((r) => r.method))];
  const values = methods.flatMap((method) => {
    const last = runs.filter((r) => r.method === method && r.layers.length).map((r) => {
      const e = Math.max(...r.layers.map((l) => l.epoch));
      return r.layers.filter((l) => l.epoch === e);
    });
    if (!last.length) return [];
    return last[0].map((l, i) => {
      const a = last.map((rows) => rows[i]?.alpha).filter((x): x is number => typeof x === "number");
      return { method, index: i, layer: l.layer, alpha: meanStd(a).mean };
    }).filter((v) => Number.isFinite(v.alpha));
  });
  if (!values.length) return null;
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "alpha per layer after the last epoch (mean over seeds)",
    width: Math.max(480, 16 * Math.max(...values.map((v) => v.index + 1))),
    height: 320,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "index", type: "quantitative", title: "layer (model order)", axis: { tickMinStep: 1 } },
      y: { field: "alpha", type: "quantitative", title: "alpha", scale: { zero: false } },
      color: { field: "method", type: "nominal", sort: methods },
      tooltip: [{ field: "layer" }, { field: "method" }, { field: "alpha" }],
    },
  });
}
