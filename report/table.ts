/**
 * Text renderings of an analysis: the aligned table the `analyze` task prints, and CSV.
 * @module
 */
import type { AnalyzeResult } from "../esd/analyze.ts";
import { type LayerRow, METRIC_COLUMNS } from "../esd/metrics.ts";

function num(v: number | null, digits = 3): string {
  if (v === null || v === undefined) return "-";
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(digits - 1) : v.toFixed(digits);
}

/**
 * The columns of the `analyze` task's table (and the web page's), each with how a row's cell is
 * written.
 */
export const TABLE_COLUMNS: readonly (readonly [string, (r: LayerRow) => string])[] = [
  ["name", (r) => r.name],
  ["shape", (r) => `[${r.shape.join(",")}]`],
  ["num_evals", (r) => String(r.num_evals)],
  ["alpha", (r) => num(r.alpha)],
  ["alpha_weighted", (r) => num(r.alpha_weighted)],
  ["spectral_norm", (r) => num(r.spectral_norm)],
  ["log_norm", (r) => num(r.log_norm)],
  ["stable_rank", (r) => num(r.stable_rank)],
  ["D", (r) => num(r.D)],
  ["xmin", (r) => num(r.xmin)],
  ["warning", (r) => r.warning],
];

/** The aligned per-layer table followed by the summary (means). */
export function formatTable(result: Pick<AnalyzeResult, "layers" | "summary">): string {
  const head = TABLE_COLUMNS.map(([h]) => h);
  const rows = result.layers.map((r) => TABLE_COLUMNS.map(([, f]) => f(r)));
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ")
      .trimEnd();
  const summary = formatSummary(result.summary);
  return [
    line(head),
    line(w.map((n) => "-".repeat(n))),
    ...rows.map(line),
    "",
    `summary (mean over layers): ${summary}`,
  ]
    .join("\n");
}

/** The summary line's means: `alpha 3.490, alpha_weighted 2.503, …`. */
export function formatSummary(s: Record<string, number | null>): string {
  return ["alpha", "alpha_weighted", "spectral_norm", "log_norm", "stable_rank", "D"]
    .map((k) => `${k} ${num(s[k])}`).join(", ");
}

/** CSV with a header: name, kind, shape, every metric column, warning. */
export function formatCsv(result: Pick<AnalyzeResult, "layers">): string {
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const head = ["name", "kind", "shape", ...METRIC_COLUMNS, "warning"];
  const lines = result.layers.map((r) =>
    [
      quote(r.name),
      r.kind,
      quote(r.shape.join("x")),
      ...METRIC_COLUMNS.map((c) => (r[c] ?? "").toString()),
      quote(r.warning),
    ]
      .join(",")
  );
  return [head.join(","), ...lines].join("\n") + "\n";
}
