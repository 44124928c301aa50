/**
 * SVG curves of a training run: train/test loss and train/test accuracy per epoch (Vega-Lite).
 * @module
 */
import type { EpochMetrics } from "../train/metrics.ts";
import { render } from "./_render.ts";

function curves(history: EpochMetrics[], keys: [keyof EpochMetrics, string][], title: string, y: string) {
  const values = history.flatMap((m) => keys.map(([k, series]) => ({ epoch: m.epoch, value: m[k], series })));
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title,
    width: 480,
    height: 280,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1 } },
      y: { field: "value", type: "quantitative", title: y, scale: { zero: false } },
      color: { field: "series", type: "nominal", title: null },
    },
  });
}

/**
 * The loss and accuracy curves of a run.
 * @param history Epochs in order.
 * @returns `loss` and `accuracy` SVG texts.
 */
export async function trainingPlots(history: EpochMetrics[]): Promise<{ loss: string; accuracy: string }> {
  return {
    loss: await curves(
      history,
      [["train_loss", "train"], ["test_loss", "test"]],
      "Cross-entropy loss",
      "loss",
    ),
    accuracy: await curves(
      history,
      [["train_acc", "train"], ["test_acc", "test"]],
      "Accuracy",
      "accuracy",
    ),
  };
}
