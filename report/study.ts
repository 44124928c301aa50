/**
 * The report of a many-seed study over a grid: per cell and method the mean ± sample standard
 * deviation of the final and best test accuracy and of the wall time; per cell the paired
 * difference of every method against the baseline (same seeds, so same initialisation, data order
 * and augmentation) with its t confidence interval and a sign count; Markdown, CSV and plots of the
 * gain against each grid axis.
 * @module
 */
import { type GridAxis, type GridCell, gridCells } from "../train/grid.ts";
import { render } from "./_render.ts";
import { writeAtomic } from "../io/atomic.ts";
import {
  accuracyBands,
  bestAccuracy,
  finalAccuracy,
  finalAlphaPlot,
  type MethodSummary,
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
}

/** One method in one cell: its summary over the cell's finished runs. */
export interface CellMethod extends MethodSummary {
  /** The cell (a value for every axis). */
  cell: GridCell;
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
  /** Final test accuracy, method − baseline (percentage points). */
  final: PairedDifference;
  /** Best test accuracy, method − baseline. */
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
  const rows: CellMethod[] = [], gains: CellGain[] = [];
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
        final: meanStd(rs.map((r) => finalAccuracy(r.history))),
        best: meanStd(rs.map((r) => bestAccuracy(r.history))),
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
        final: pairedDifference(
          pairs.map((r) => finalAccuracy(r.history)),
          b.map((r) => finalAccuracy(r.history)),
        ),
        best: pairedDifference(
          pairs.map((r) => bestAccuracy(r.history)),
          b.map((r) => bestAccuracy(r.history)),
        ),
      });
    }
  }
  return { rows, gains };
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const signed = (x: number, d = 2) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(d)}` : "–");
const pm = (x: { mean: number; std: number }, d = 2) =>
  Number.isFinite(x.mean) ? `${fmt(x.mean, d)} ± ${fmt(x.std, d)}` : "–";

/**
 * The plain verdict on a paired difference: whether its interval excludes 0.
 * @param g The difference.
 * @param method The method's name.
 * @param baseline The baseline's name.
 * @returns A short sentence.
 */
export function verdict(g: PairedDifference, method: string, baseline: string): string {
  if (g.n < 2) return `too few pairs (${g.n}) for an interval`;
  const pct = Math.round(100 * g.level);
  if (g.lo > 0) return `${method} better: the ${pct}% CI excludes 0`;
  if (g.hi < 0) return `${method} worse: the ${pct}% CI excludes 0`;
  return `no difference shown: the ${pct}% CI includes 0 (${method} vs ${baseline})`;
}

function gainTable(s: StudySummary, spec: StudySpec, key: "final" | "best"): string[] {
  const axes = spec.axes.map((a) => a.flag);
  return [
    `| ${
      [...axes, "comparison", "pairs", "mean diff (pp)", "95% CI (pp)", "better in", "verdict"].join(" | ")
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
          verdict(d, g.method, g.baseline),
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
  const axes = spec.axes.map((a) => a.flag);
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
    "## Test accuracy per cell and method",
    "",
    `| ${
      [
        ...axes,
        "method",
        "runs",
        "epochs",
        "steps",
        "final test acc (%)",
        "best test acc (%)",
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
        `## Paired differences against ${spec.baseline}: final test accuracy`,
        "",
        ...gainTable(s, spec, "final"),
        "",
        `## Paired differences against ${spec.baseline}: best test accuracy`,
        "",
        ...gainTable(s, spec, "best"),
        "",
        "Differences in percentage points over the seeds both methods finished; the interval is the paired t",
        'interval (mean ± t(0.975, n − 1)·sd/√n); "better in" counts the seeds where the method beat the baseline.',
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
 * Every finished run as a CSV row: its cell, method, seed, epochs, steps, final and best test
 * accuracy and wall time (what the tables are computed from).
 * @param runs The runs.
 * @param spec The study.
 * @returns CSV text with a header.
 */
export function runsCsv(runs: RunRecord[], spec: StudySpec): string {
  const axes = spec.axes.map((a) => a.flag);
  const head = [...axes, "method", "seed", "epochs", "steps", "final_acc", "best_acc", "seconds"];
  const rows = runs.map((r) =>
    [
      ...axes.map((a) => r.cell?.[a] ?? "*"),
      r.method,
      r.seed,
      r.history.length,
      r.history[r.history.length - 1]?.steps ?? "",
      finalAccuracy(r.history),
      bestAccuracy(r.history),
      wallSeconds(r.history),
    ].map(csvCell).join(",")
  );
  return [head.join(","), ...rows].join("\n") + "\n";
}

/**
 * The gain against one grid axis: the mean paired difference of final test accuracy with its CI as
 * an error bar, one line per method (and per value of the other axes).
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
      text: `gain in final test accuracy against ${axis}`,
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
          y: { field: "lo", type: "quantitative", title: "difference (percentage points)" },
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
 * accuracy curves and each layer's final alpha per method (`accuracy.svg`, `final_alpha.svg`; with
 * a grid a pair per cell, `accuracy_<cell>.svg`, `final_alpha_<cell>.svg`, e.g. `accuracy_subset-600.svg`).
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
      `accuracy${suffix}.svg`,
      accuracyBands(here, { x: byStep ? "steps" : "epoch", title: name || undefined }),
    ]);
    const alpha = finalAlphaPlot(here);
    if (alpha) files.push([`final_alpha${suffix}.svg`, alpha]);
  }
  for (const [f, text] of files) await writeAtomic(`${dir}/${f}`, await text);
  return { markdown, files: files.map(([f]) => f) };
}
