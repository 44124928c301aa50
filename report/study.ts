/**
 * The report of a many-seed study over a grid, for any task: per cell and method the mean ± sample
 * standard deviation of the final and best value of the task's metric (test accuracy, test
 * perplexity, nRMSE) and of the wall time; per cell the paired difference of every method against
 * the baseline (same seeds, so same initialisation, data order and augmentation) with its t
 * confidence interval and a count of the seeds where the method was better — in the metric's own
 * direction, so that a lower perplexity counts as better; Markdown, CSV and plots of the difference
 * against each grid axis.
 * @module
 */
import { type GridAxis, type GridCell, gridCells } from "../train/grid.ts";
import { render } from "./_render.ts";
import { writeAtomic } from "../io/atomic.ts";
import type { TaskMetric } from "../train/task.ts";
import {
  bestValue,
  finalAlphaPlot,
  finalValue,
  metricBands,
  metricFileName,
  type RunRecord,
  wallSeconds,
} from "./compare.ts";
import { meanStd, type PairedDifference, pairedDifference } from "./stats.ts";

/** What the study is: its axes, methods, seeds, baseline and how it was budgeted. */
export interface StudySpec {
  /** The grid axes (none: one cell). */
  axes: GridAxis[];
  /** The methods, in order. */
  methods: string[];
  /** The seeds, in order. */
  seeds: number[];
  /** The method every other one is compared against. */
  baseline: string;
  /** The heading (model, data set, flags). */
  title: string;
  /** One line on the training budget (a number of steps or of epochs per run). */
  budget: string;
  /** The metric compared, with its direction (the task's). */
  metric: TaskMetric;
}

/** One method in one cell: its summary over the cell's finished runs. */
export interface CellMethod {
  /** The cell (a value for every axis). */
  cell: GridCell;
  /** The method. */
  method: string;
  /** Runs counted. */
  runs: number;
  /** Epochs of each run (the smallest, if they differ). */
  epochs: number;
  /** Final value of the metric (scaled), mean and std over seeds. */
  final: { mean: number; std: number };
  /** Best value of the metric (scaled). */
  best: { mean: number; std: number };
  /** Wall time of a run (s). */
  seconds: { mean: number; std: number };
  /** Optimizer steps per run (the smallest; NaN when the logs do not say). */
  steps: number;
}

/** A method against the baseline in one cell, over the seeds both finished. */
export interface CellGain {
  /** The cell. */
  cell: GridCell;
  /** The method. */
  method: string;
  /** The baseline. */
  baseline: string;
  /** Seeds of the pairs, in order. */
  seeds: number[];
  /** Final value, method − baseline (in the metric's unit); `better` counts seeds better in its direction. */
  final: PairedDifference;
  /** Best value, method − baseline. */
  best: PairedDifference;
}

/** The study's numbers. */
export interface StudySummary {
  /** Per cell and method. */
  rows: CellMethod[];
  /** Per cell, each method against the baseline. */
  gains: CellGain[];
}

/** Whether a run belongs to a cell: every grid value it was trained with is the cell's. */
const inCell = (r: RunRecord, cell: GridCell) =>
  Object.entries(r.cell ?? {}).every(([k, v]) => cell[k] === v);

/**
 * Summarises finished runs per cell and method, and pairs every method with the baseline.
 * @param runs The finished runs (with their cells).
 * @param spec The study.
 * @returns Rows and gains, cells in grid order, methods in the spec's order.
 */
export function summarizeStudy(runs: RunRecord[], spec: StudySpec): StudySummary {
  const rows: CellMethod[] = [], gains: CellGain[] = [], metric = spec.metric;
  const final = (r: RunRecord) => finalValue(r.history, metric),
    best = (r: RunRecord) => bestValue(r.history, metric);
  for (const cell of gridCells(spec.axes)) {
    const of = (m: string) => runs.filter((r) => r.method === m && inCell(r, cell) && r.history.length);
    for (const method of spec.methods) {
      const rs = of(method);
      rows.push({
        cell,
        method,
        runs: rs.length,
        epochs: rs.length ? Math.min(...rs.map((r) => r.history.length)) : 0,
        steps: rs.length ? Math.min(...rs.map((r) => r.history[r.history.length - 1].steps ?? NaN)) : NaN,
        final: meanStd(rs.map(final)),
        best: meanStd(rs.map(best)),
        seconds: meanStd(rs.map((r) => wallSeconds(r.history))),
      });
    }
    const base = new Map(of(spec.baseline).map((r) => [r.seed, r]));
    for (const method of spec.methods.filter((m) => m !== spec.baseline)) {
      const pairs = of(method).filter((r) => base.has(r.seed))
        .sort((a, b) => spec.seeds.indexOf(a.seed) - spec.seeds.indexOf(b.seed));
      const b = pairs.map((r) => base.get(r.seed)!);
      gains.push({
        cell,
        method,
        baseline: spec.baseline,
        seeds: pairs.map((r) => r.seed),
        final: directed(pairedDifference(pairs.map(final), b.map(final)), metric),
        best: directed(pairedDifference(pairs.map(best), b.map(best)), metric),
      });
    }
  }
  return { rows, gains };
}

/** A difference whose `better`/`worse` counts follow the metric's direction (lower perplexity is better). */
function directed(d: PairedDifference, metric: TaskMetric): PairedDifference {
  return metric.higherIsBetter ? d : { ...d, better: d.worse, worse: d.better };
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const signed = (x: number, d = 2) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(d)}` : "–");
const pm = (x: { mean: number; std: number }, d = 2) =>
  Number.isFinite(x.mean) ? `${fmt(x.mean, d)} ± ${fmt(x.std, d)}` : "–";

/**
 * The plain verdict on a paired difference: whether its interval excludes 0.
 * @param g The difference (method − baseline).
 * @param method The method's name.
 * @param baseline The baseline's name.
 * @param higherIsBetter The metric's direction (default: higher is better).
 * @returns A short sentence.
 */
export function verdict(
  g: PairedDifference,
  method: string,
  baseline: string,
  higherIsBetter = true,
): string {
  if (g.n < 2) return `too few pairs (${g.n}) for an interval`;
  const pct = Math.round(100 * g.level);
  const [good, bad] = higherIsBetter ? [g.lo > 0, g.hi < 0] : [g.hi < 0, g.lo > 0];
  if (good) return `${method} better: the ${pct}% CI excludes 0`;
  if (bad) return `${method} worse: the ${pct}% CI excludes 0`;
  return `no difference shown: the ${pct}% CI includes 0 (${method} vs ${baseline})`;
}

/** How a metric is named in tables: its short name, unit and difference unit. */
function names(metric: TaskMetric) {
  const short = metric.label.replace("accuracy", "acc").replace("perplexity", "ppl");
  const unit = metric.unit ? ` (${metric.unit})` : "";
  const diff = metric.diffUnit ?? metric.unit;
  return {
    short,
    unit,
    diff: diff ? ` (${diff})` : "",
    final: `final ${short}${unit}`,
    best: metric.selectBy ? `${short} at best ${metric.selectBy} epoch${unit}` : `best ${short}${unit}`,
  };
}

function gainTable(s: StudySummary, spec: StudySpec, key: "final" | "best"): string[] {
  const axes = spec.axes.map((a) => a.flag), n = names(spec.metric);
  return [
    `| ${
      [...axes, "comparison", "pairs", `mean diff${n.diff}`, `95% CI${n.diff}`, "better in", "verdict"].join(
        " | ",
      )
    } |`,
    `|${[...axes.map(() => "---"), "---", "---:", "---:", "---:", "---:", "---"].join("|")}|`,
    ...s.gains.map((g) => {
      const d = g[key];
      return `| ${
        [
          ...axes.map((a) => g.cell[a]),
          `${g.method} − ${g.baseline}`,
          d.n,
          signed(d.mean),
          d.n > 1 ? `[${signed(d.lo)}, ${signed(d.hi)}]` : "–",
          `${d.better} of ${d.n} seeds`,
          verdict(d, g.method, g.baseline, spec.metric.higherIsBetter),
        ].join(" | ")
      } |`;
    }),
  ];
}

/**
 * The report as Markdown.
 * @param s The summary.
 * @param spec The study.
 * @param unfinished Lines naming the runs not finished (listed at the end).
 * @returns Markdown text.
 */
export function studyMarkdown(s: StudySummary, spec: StudySpec, unfinished: string[] = []): string {
  const axes = spec.axes.map((a) => a.flag), n = names(spec.metric), label = spec.metric.label;
  const Label = label[0].toUpperCase() + label.slice(1);
  const total = s.rows.reduce((t, r) => t + r.runs, 0);
  return [
    `# ${spec.title}`,
    "",
    `- Budget: ${spec.budget}.`,
    `- Seeds ${
      spec.seeds.join(", ")
    }, paired: the runs of one seed share initialisation, data order and augmentation.`,
    `- Grid: ${
      spec.axes.length ? spec.axes.map((a) => `${a.flag} = ${a.values.join(", ")}`).join("; ") : "none"
    }.`,
    `- Finished runs counted: ${total}${
      unfinished.length ? `; not finished: ${unfinished.length} (listed below)` : ""
    }.`,
    "",
    `## ${Label} per cell and method (${spec.metric.higherIsBetter ? "higher" : "lower"} is better)`,
    "",
    `| ${
      [
        ...axes,
        "method",
        "runs",
        "epochs",
        "steps",
        n.final,
        n.best,
        "wall time per run (s)",
      ].join(" | ")
    } |`,
    `|${[...axes.map(() => "---"), "---", "---:", "---:", "---:", "---:", "---:", "---:"].join("|")}|`,
    ...s.rows.map((r) =>
      `| ${
        [
          ...axes.map((a) => r.cell[a]),
          r.method,
          r.runs,
          r.epochs,
          Number.isFinite(r.steps) ? r.steps : "–",
          pm(r.final),
          pm(r.best),
          pm(r.seconds, 0),
        ].join(" | ")
      } |`
    ),
    "",
    "Mean ± sample standard deviation over seeds.",
    "",
    ...(s.gains.length
      ? [
        `## Paired differences against ${spec.baseline}: final ${label}`,
        "",
        ...gainTable(s, spec, "final"),
        "",
        `## Paired differences against ${spec.baseline}: ${
          spec.metric.selectBy ? `${label} at the best ${spec.metric.selectBy} epoch` : `best ${label}`
        }`,
        "",
        ...gainTable(s, spec, "best"),
        "",
        `Differences (method − baseline)${
          n.diff
            ? ` in ${
              spec.metric.diffUnit === "pp" ? "percentage points" : spec.metric.diffUnit ?? spec.metric.unit
            }`
            : ""
        } over the seeds both methods finished; the interval is the paired t`,
        `interval (mean ± t(0.975, n − 1)·sd/√n); "better in" counts the seeds where the method beat the baseline (${
          spec.metric.higherIsBetter ? "higher" : "lower"
        } ${spec.metric.label}).`,
        "",
      ]
      : []),
    ...(unfinished.length ? ["## Not finished", "", ...unfinished.map((u) => `- ${u}`), ""] : []),
  ].join("\n");
}

const csvCell = (v: string | number) => {
  const t = String(v);
  return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
};

/**
 * The report as CSV: one row per cell and method, with the paired difference against the baseline
 * (empty on the baseline's rows).
 * @param s The summary.
 * @param spec The study.
 * @returns CSV text with a header.
 */
export function studyCsv(s: StudySummary, spec: StudySpec): string {
  const axes = spec.axes.map((a) => a.flag);
  const head = [
    ...axes,
    "method",
    "runs",
    "epochs",
    "steps",
    "final_mean",
    "final_std",
    "best_mean",
    "best_std",
    "seconds_mean",
    "seconds_std",
    "baseline",
    "pairs",
    "final_diff",
    "final_diff_lo",
    "final_diff_hi",
    "final_better",
    "best_diff",
    "best_diff_lo",
    "best_diff_hi",
    "best_better",
  ];
  const rows = s.rows.map((r) => {
    const g = s.gains.find((g) => g.method === r.method && axes.every((a) => g.cell[a] === r.cell[a]));
    return [
      ...axes.map((a) => r.cell[a]),
      r.method,
      r.runs,
      r.epochs,
      Number.isFinite(r.steps) ? r.steps : "",
      r.final.mean,
      r.final.std,
      r.best.mean,
      r.best.std,
      r.seconds.mean,
      r.seconds.std,
      ...(g
        ? [
          g.baseline,
          g.final.n,
          g.final.mean,
          g.final.lo,
          g.final.hi,
          g.final.better,
          g.best.mean,
          g.best.lo,
          g.best.hi,
          g.best.better,
        ]
        : Array(10).fill("")),
    ].map((v) => csvCell(typeof v === "number" && !Number.isFinite(v) ? "" : v)).join(",");
  });
  return [head.join(","), ...rows].join("\n") + "\n";
}

/**
 * Every finished run as a CSV row: its cell, method, seed, epochs, steps, final and best value of
 * the metric and wall time (what the tables are computed from).
 * @param runs The runs.
 * @param spec The study.
 * @returns CSV text with a header.
 */
export function runsCsv(runs: RunRecord[], spec: StudySpec): string {
  const axes = spec.axes.map((a) => a.flag);
  const k = spec.metric.key.replace(/^test_/, "");
  const head = [...axes, "method", "seed", "epochs", "steps", `final_${k}`, `best_${k}`, "seconds"];
  const rows = runs.map((r) =>
    [
      ...axes.map((a) => r.cell?.[a] ?? "*"),
      r.method,
      r.seed,
      r.history.length,
      r.history[r.history.length - 1]?.steps ?? "",
      finalValue(r.history, spec.metric),
      bestValue(r.history, spec.metric),
      wallSeconds(r.history),
    ].map(csvCell).join(",")
  );
  return [head.join(","), ...rows].join("\n") + "\n";
}

/**
 * The difference against one grid axis: the mean paired difference of the final metric with its CI
 * as an error bar, one line per method (and per value of the other axes).
 * @param s The summary.
 * @param spec The study.
 * @param axis The axis on the x scale.
 * @returns SVG text.
 */
export function gainPlot(s: StudySummary, spec: StudySpec, axis: string): Promise<string> {
  const others = spec.axes.map((a) => a.flag).filter((a) => a !== axis);
  const values = spec.axes.find((a) => a.flag === axis)!.values;
  const numeric = values.every((v) => Number.isFinite(Number(v)));
  const positive = numeric && values.every((v) => Number(v) > 0);
  const logScale = positive && Math.max(...values.map(Number)) / Math.min(...values.map(Number)) >= 20;
  const points = s.gains.filter((g) => g.final.n > 0).map((g) => ({
    x: numeric ? Number(g.cell[axis]) : g.cell[axis],
    series: [`${g.method} − ${g.baseline}`, ...others.map((o) => `${o}=${g.cell[o]}`)].join(", "),
    mean: g.final.mean,
    lo: Number.isFinite(g.final.lo) ? g.final.lo : g.final.mean,
    hi: Number.isFinite(g.final.hi) ? g.final.hi : g.final.mean,
    n: g.final.n,
  }));
  const x = {
    field: "x",
    type: numeric ? "quantitative" : "ordinal",
    title: axis,
    ...(numeric ? { scale: logScale ? { type: "log" } : { zero: false } } : { sort: values }),
  };
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `difference in final ${spec.metric.label} against ${axis} (${
        spec.metric.higherIsBetter ? "above" : "below"
      } 0: better)`,
      subtitle: "mean paired difference over seeds; bars: 95% paired-t interval",
    },
    width: 480,
    height: 300,
    data: { values: points },
    encoding: { x, color: { field: "series", type: "nominal", title: null } },
    layer: [
      { mark: { type: "rule", strokeDash: [4, 4], color: "#888" }, encoding: { x: null, y: { datum: 0 } } },
      {
        mark: { type: "errorbar", ticks: true },
        encoding: {
          y: {
            field: "lo",
            type: "quantitative",
            title: `difference${names(spec.metric).diff || ""}`.replace("(pp)", "(percentage points)"),
          },
          y2: { field: "hi" },
        },
      },
      {
        mark: { type: "line", point: true },
        encoding: {
          y: { field: "mean", type: "quantitative" },
          tooltip: [{ field: "x", title: axis }, { field: "series" }, { field: "mean" }, { field: "lo" }, {
            field: "hi",
          }, { field: "n" }],
        },
      },
    ],
  });
}

/**
 * Writes the report files into a comparison's folder, each atomically: `results.md`,
 * `results.csv`, `runs.csv`, `gain_vs_<axis>.svg` for every axis of two or more values, and the
 * metric's curves and each layer's final alpha per method (`accuracy.svg` or `perplexity.svg`,
 * `final_alpha.svg`; with a grid a pair per cell, e.g. `accuracy_subset-600.svg`).
 * @param dir The folder.
 * @param runs The finished runs.
 * @param spec The study.
 * @param unfinished Lines naming the runs not finished.
 * @returns The Markdown report and the files written (relative to `dir`).
 */
export async function writeStudyReport(
  dir: string,
  runs: RunRecord[],
  spec: StudySpec,
  unfinished: string[] = [],
): Promise<{ markdown: string; files: string[] }> {
  const s = summarizeStudy(runs, spec);
  const markdown = studyMarkdown(s, spec, unfinished);
  const files: [string, string | Promise<string>][] = [
    ["results.md", markdown],
    ["results.csv", studyCsv(s, spec)],
    ["runs.csv", runsCsv(runs, spec)],
  ];
  for (const a of spec.axes) {
    if (a.values.length > 1) files.push([`gain_vs_${a.flag}.svg`, gainPlot(s, spec, a.flag)]);
  }
  const byStep = runs.some((r) => r.history.some((m) => m.steps !== undefined)) &&
    spec.budget.includes("steps");
  for (const cell of gridCells(spec.axes)) {
    const here = runs.filter((r) => inCell(r, cell));
    if (!here.length) continue;
    const name = Object.entries(cell).map(([k, v]) => `${k}=${v}`).join(", ");
    const suffix = name ? `_${name.replace(/, /g, "_").replace(/[^A-Za-z0-9._+-]/g, "-")}` : "";
    files.push([
      `${metricFileName(spec.metric)}${suffix}.svg`,
      metricBands(here, spec.metric, { x: byStep ? "steps" : "epoch", title: name || undefined }),
    ]);
    const alpha = finalAlphaPlot(here);
    if (alpha) files.push([`final_alpha${suffix}.svg`, alpha]);
  }
  for (const [f, text] of files) await writeAtomic(`${dir}/${f}`, await text);
  return { markdown, files: files.map(([f]) => f) };
}
