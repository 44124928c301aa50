/**
 * Comparing training methods over seeds: per method, the mean ± standard deviation (sample,
 * n − 1) of the final and best test accuracy and of the wall time, as a Markdown table and CSV;
 * plots of test accuracy per epoch (mean line with a min–max band) and of each layer's final
 * alpha (mean over seeds) per method, with the analyzer's renderer.
 * @module
 */
import type { EpochMetrics } from "../train/metrics.ts";
import type { LayerEpoch } from "../train/trainer.ts";
import { render } from "./_render.ts";

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
}

/** Mean and sample standard deviation (0 for one value; NaN for none). */
export function meanStd(v: number[]): { mean: number; std: number } {
  if (!v.length) return { mean: NaN, std: NaN };
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std };
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
      final: meanStd(rs.map((r) => 100 * r.history[r.history.length - 1].test_acc)),
      best: meanStd(rs.map((r) => 100 * Math.max(...r.history.map((m) => m.test_acc)))),
      seconds: meanStd(rs.map((r) => r.history.reduce((s, m) => s + m.seconds, 0))),
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
 * Test accuracy per epoch: per method the mean over seeds as a line and min–max as a band.
 * @param runs The runs.
 * @returns SVG text.
 */
export function accuracyBands(runs: RunRecord[]): Promise<string> {
  const methods = [...new Set(runs.map((r) => r.method))];
  const values = methods.flatMap((method) => {
    const rs = runs.filter((r) => r.method === method);
    const epochs = Math.max(0, ...rs.map((r) => r.history.length));
    return Array.from({ length: epochs }, (_, e) => {
      const v = rs.filter((r) => r.history[e]).map((r) => 100 * r.history[e].test_acc);
      return { method, epoch: e + 1, mean: meanStd(v).mean, lo: Math.min(...v), hi: Math.max(...v) };
    });
  });
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "test accuracy per epoch (mean over seeds, band: min–max)",
    width: 520,
    height: 320,
    data: { values },
    encoding: {
      x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1 } },
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
