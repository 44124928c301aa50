/**
 * SVG curves of a training run: train/test loss and train/test accuracy per epoch (Vega-Lite).
 * @module
 */
import type { EpochMetrics } from "../train/metrics.ts";
import { type LayerEpoch, RUN_FILES } from "../train/run_files.ts";
import { writeAtomic } from "../io/atomic.ts";
import { render } from "./_render.ts";
import { layerHeatmap, layerLines } from "./layer_plots.ts";

function curves(history: EpochMetrics[], keys: [keyof EpochMetrics, string][], title: string, y: string) {
  // Epochs without an evaluation (`evalEvery`) have null test values: left out, not drawn as 0.
  const values = history.flatMap((m) => keys.map(([k, series]) => ({ epoch: m.epoch, value: m[k], series })))
    .filter((v) => v.value !== null && v.value !== undefined);
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

/**
 * Draws a run's plots into its output folder (the `plots` hook of `fit`): `loss.svg` and
 * `accuracy.svg`, and from the per-layer log `layers_alpha.svg` (the metric per layer and epoch)
 * and `layers_lr.svg` (each layer's learning rate).
 * @param out The output folder.
 * @param history Every epoch's metrics so far.
 * @param layers The per-layer log so far.
 */
export async function writeRunPlots(
  out: string,
  history: EpochMetrics[],
  layers: LayerEpoch[],
): Promise<void> {
  const plots = await trainingPlots(history);
  await writeAtomic(`${out}/${RUN_FILES.lossPlot}`, plots.loss);
  await writeAtomic(`${out}/${RUN_FILES.accuracyPlot}`, plots.accuracy);
  if (!layers.length) return;
  const pts = (k: "metric" | "lr") => layers.map((r) => ({ epoch: r.epoch, layer: r.layer, value: r[k] }));
  const metricName = layers.some((r) => r.metric !== r.alpha) ? "TempBalance metric" : "alpha";
  await writeAtomic(
    `${out}/${RUN_FILES.layerAlphaPlot}`,
    await layerHeatmap(pts("metric"), `${metricName} per layer after each epoch`, metricName),
  );
  await writeAtomic(
    `${out}/${RUN_FILES.layerLrPlot}`,
    await layerLines(pts("lr"), "learning rate per layer", "learning rate"),
  );
}
