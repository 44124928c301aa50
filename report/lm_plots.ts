/**
 * The loss curve of a language-model run: training loss and validation/test loss (nats per token)
 * per epoch, as SVG (Vega-Lite).
 * @module
 */
import type { LmEpochMetrics } from "../train/lm_run.ts";
import { render } from "./_render.ts";

/**
 * Draws the curves.
 * @param history Epochs in order.
 * @returns SVG text.
 */
export function lossCurvePlot(history: LmEpochMetrics[]): Promise<string> {
  const series: [keyof LmEpochMetrics, string][] = [["train_loss", "train"], ["valid_loss", "valid"], [
    "test_loss",
    "test",
  ]];
  const values = history.flatMap((m) => series.map(([k, s]) => ({ epoch: m.epoch, value: m[k], series: s })));
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: "Language-model loss (nats per token; perplexity = exp)",
    width: 480,
    height: 280,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1 } },
      y: { field: "value", type: "quantitative", title: "loss", scale: { zero: false } },
      color: { field: "series", type: "nominal", title: null },
    },
  });
}
