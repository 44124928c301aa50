/**
 * SVG plots of per-layer quantities over a run (Vega-Lite, the same renderer as the analyzer's
 * plots): a heat map of a metric (alpha) per layer and epoch, and the learning rate of each layer
 * per epoch.
 * @module
 */
import { render } from "./_render.ts";

/** One layer's value at one epoch. */
export interface LayerPoint {
  /** Epoch (from 1). */
  epoch: number;
  /** Layer (weight name). */
  layer: string;
  /** The value (null: not measured). */
  value: number | null;
}

/**
 * A heat map: layers (model order, top to bottom) × epochs, coloured by value.
 * @param points The values.
 * @param title Chart title.
 * @param legend The colour legend's title.
 * @returns SVG text.
 */
export function layerHeatmap(points: LayerPoint[], title: string, legend: string): Promise<string> {
  const layers = [...new Set(points.map((p) => p.layer))];
  const epochs = new Set(points.map((p) => p.epoch)).size;
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: Math.min(900, Math.max(240, 12 * epochs)),
    height: Math.max(160, 14 * layers.length),
    data: { values: points.filter((p) => p.value !== null) },
    mark: "rect",
    encoding: {
      x: { field: "epoch", type: "ordinal", title: "epoch" },
      y: { field: "layer", type: "ordinal", title: null, sort: layers, axis: { labelLimit: 320 } },
      color: { field: "value", type: "quantitative", title: legend, scale: { scheme: "viridis" } },
      tooltip: [{ field: "layer" }, { field: "epoch" }, { field: "value" }],
    },
  });
}

/**
 * Lines of a per-layer value over epochs, one line per layer.
 * @param points The values.
 * @param title Chart title.
 * @param y The y axis title.
 * @returns SVG text.
 */
export function layerLines(points: LayerPoint[], title: string, y: string): Promise<string> {
  const layers = [...new Set(points.map((p) => p.layer))];
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 480,
    height: 300,
    data: { values: points.filter((p) => p.value !== null) },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1 } },
      y: { field: "value", type: "quantitative", title: y, scale: { zero: false } },
      color: {
        field: "layer",
        type: "nominal",
        title: "layer",
        sort: layers,
        legend: layers.length > 24 ? null : { labelLimit: 320 },
      },
    },
  });
}
