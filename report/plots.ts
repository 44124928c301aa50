/**
 * SVG plots of an analysis, rendered headless with Vega-Lite (npm `vega`, `vega-lite`): per layer,
 * the log-log ESD density with the fitted power law and xmin marked (WeightWatcher's plot), and
 * one chart of alpha per layer with the over-/under-trained bands (2 and 6).
 * @module
 */
import type { LayerRow } from "../esd/metrics.ts";
import { render } from "./_render.ts";

/**
 * The log-log ESD of one layer: density of log-spaced bins, the fitted power law above xmin, and
 * xmin as a vertical rule.
 * @param row The layer's metrics.
 * @param evals Its eigenvalues, ascending.
 * @param bins Log-spaced bins (default 100).
 * @returns SVG text.
 */
export function esdPlot(row: LayerRow, evals: Float64Array, bins = 100): Promise<string> {
  const pos = evals.filter((v) => v > 0);
  const lo = Math.log10(pos[0]), hi = Math.log10(pos[pos.length - 1]);
  const w = (hi - lo) / bins || 1;
  const counts = new Array<number>(bins).fill(0);
  for (const v of pos) counts[Math.min(bins - 1, Math.floor((Math.log10(v) - lo) / w))]++;
  const density = counts.flatMap((c, b) => {
    if (!c) return [];
    const a = 10 ** (lo + b * w), z = 10 ** (lo + (b + 1) * w);
    return [{ lambda: Math.sqrt(a * z), density: c / pos.length / (z - a), series: "ESD" }];
  });
  const layers: unknown[] = [{
    data: { values: density },
    mark: { type: "line", point: true, color: "#1f77b4" },
    encoding: {
      x: { field: "lambda", type: "quantitative", scale: { type: "log" }, title: "eigenvalue λ" },
      y: { field: "density", type: "quantitative", scale: { type: "log" }, title: "density" },
    },
  }];
  if (row.alpha !== null && row.xmin !== null && row.num_pl_spikes !== null) {
    const { alpha, xmin } = row;
    const frac = row.num_pl_spikes / pos.length;
    const fit = Array.from({ length: 50 }, (_, i) => {
      const lambda = xmin * (pos[pos.length - 1] / xmin) ** (i / 49);
      return { lambda, density: frac * (alpha - 1) / xmin * (lambda / xmin) ** -alpha };
    });
    layers.push(
      {
        data: { values: fit },
        mark: { type: "line", color: "#d62728", strokeDash: [6, 3] },
        encoding: {
          x: { field: "lambda", type: "quantitative" },
          y: { field: "density", type: "quantitative" },
        },
      },
      {
        data: { values: [{ xmin }] },
        mark: { type: "rule", color: "#d62728" },
        encoding: { x: { field: "xmin", type: "quantitative" } },
      },
    );
  }
  const title = row.alpha === null
    ? `${row.name}: ${row.warning}`
    : `${row.name}: alpha ${row.alpha.toFixed(3)}, D ${row.D!.toFixed(3)}, xmin ${row.xmin!.toPrecision(3)}`;
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 480,
    height: 320,
    title,
    layer: layers,
  });
}

/**
 * Alpha per layer, in model order, with rules at 2 (over-trained below) and 6 (under-trained above).
 * @param rows The layers.
 * @returns SVG text.
 */
export function alphaPlot(rows: LayerRow[]): Promise<string> {
  const values = rows.map((r, i) => ({ index: i, name: r.name, alpha: r.alpha })).filter((v) =>
    v.alpha !== null
  );
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: Math.max(480, 14 * rows.length),
    height: 320,
    title: "alpha per layer",
    layer: [
      {
        data: { values },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "index", type: "quantitative", title: "layer (model order)" },
          y: { field: "alpha", type: "quantitative", title: "alpha" },
          tooltip: [{ field: "name" }, { field: "alpha" }],
        },
      },
      {
        data: { values: [{ y: 2 }, { y: 6 }] },
        mark: { type: "rule", strokeDash: [4, 4], color: "gray" },
        encoding: { y: { field: "y", type: "quantitative" } },
      },
    ],
  });
}

/** A file name for a layer's plot: its tensor name with unsafe characters replaced. */
export function plotFileName(name: string): string {
  return `esd_${name.replace(/[^A-Za-z0-9._-]+/g, "_")}.svg`;
}
