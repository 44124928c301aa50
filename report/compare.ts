/**
 * Runs of a study read back for its report: a run's final and best value of the task's metric
 * (accuracy, perplexity, nRMSE — with its direction, so "best" is never read backwards), its wall
 * time, the metric per epoch over seeds (mean line, min–max band) and each layer's final alpha
 * (mean over seeds) per method, with the analyzer's renderer.
 * @module
 */
import type { TaskMetric } from "../train/task.ts";
import type { EpochRecord, LayerEpoch } from "../train/run_files.ts";
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
  history: EpochRecord[];
  /** Its per-layer log (may be empty). */
  layers: LayerEpoch[];
  /** The grid values it was trained with (absent or empty without a grid). */
  cell?: GridCell;
}

/** A metric's value in an epoch's record, or null when the epoch was not evaluated. */
const valueOf = (
  m: EpochRecord,
  key: string,
): number | null => (typeof m[key] === "number" ? m[key] as number : null);

/**
 * The epochs of a run that were evaluated (all, unless it ran with `evalEvery` > 1).
 * @param history The run's epochs.
 * @param metric The metric.
 * @returns The epochs whose metric is a number.
 */
export function evaluated(history: EpochRecord[], metric: TaskMetric): EpochRecord[] {
  return history.filter((m) => valueOf(m, metric.key) !== null);
}

/**
 * A run's final value of the metric: that of its last evaluated epoch, times the metric's scale.
 * @param history The run's epochs.
 * @param metric The metric.
 * @returns The value (NaN when no epoch was evaluated).
 */
export function finalValue(history: EpochRecord[], metric: TaskMetric): number {
  const e = evaluated(history, metric);
  return e.length ? (metric.scale ?? 1) * valueOf(e[e.length - 1], metric.key)! : NaN;
}

/**
 * A run's best value of the metric: at the evaluated epoch that is best by `metric.selectBy` (default
 * the metric itself), in the metric's direction — the highest accuracy; the test perplexity of the
 * epoch with the lowest validation perplexity.
 * @param history The run's epochs.
 * @param metric The metric.
 * @returns The value (NaN when no epoch was evaluated).
 */
export function bestValue(history: EpochRecord[], metric: TaskMetric): number {
  const by = metric.selectBy ?? metric.key;
  const e = evaluated(history, metric).filter((m) => valueOf(m, by) !== null);
  if (!e.length) return NaN;
  const sign = metric.higherIsBetter ? 1 : -1;
  const best = e.reduce((b, m) => (sign * valueOf(m, by)! > sign * valueOf(b, by)! ? m : b));
  return (metric.scale ?? 1) * valueOf(best, metric.key)!;
}

/** A run's wall time (s): the sum of its epochs'. */
export function wallSeconds(history: EpochRecord[]): number {
  return history.reduce((s, m) => s + m.seconds, 0);
}

/** A metric's name in file names: its label without "test " ("accuracy", "perplexity"). */
export const metricFileName = (metric: TaskMetric): string =>
  metric.label.replace(/^test /, "").replace(/[^A-Za-z0-9]+/g, "_");

/**
 * The metric per epoch (or per optimizer step): per method the mean over seeds as a line and
 * min–max as a band. Epochs that were not evaluated are left out.
 * @param runs The runs.
 * @param metric The metric.
 * @param o `x`: "epoch" (default) or "steps" (the optimizer's step count at each evaluation);
 * `title`: a line above the plot's own.
 * @returns SVG text.
 */
export function metricBands(
  runs: RunRecord[],
  metric: TaskMetric,
  o: { x?: "epoch" | "steps"; title?: string } = {},
): Promise<string> {
  const methods = [...new Set(runs.map((r) => r.method))];
  const byStep = o.x === "steps", scale = metric.scale ?? 1;
  const values = methods.flatMap((method) => {
    const rs = runs.filter((r) => r.method === method);
    const epochs = Math.max(0, ...rs.map((r) => r.history.length));
    return Array.from({ length: epochs }, (_, e) => {
      const at = rs.map((r) => r.history[e]).filter((m) => !!m && valueOf(m, metric.key) !== null);
      if (!at.length) return [];
      const v = at.map((m) => scale * valueOf(m, metric.key)!);
      const x = byStep ? at[0].steps ?? e + 1 : e + 1;
      return [{ method, x, mean: meanStd(v).mean, lo: Math.min(...v), hi: Math.max(...v) }];
    }).flat();
  });
  const title = `${metric.label} per ${byStep ? "step" : "epoch"} (mean over seeds, band: min–max)`;
  const unit = metric.unit ? ` (${metric.unit})` : "";
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
          y: { field: "lo", type: "quantitative", title: `${metric.label}${unit}`, scale: { zero: false } },
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
