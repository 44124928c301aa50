/**
 * The files of a run folder as the training loop writes them after every epoch: the task's model
 * files, `metrics.jsonl` (one JSON object per epoch) and `metrics.csv` (one row per epoch, a column
 * `lr_<group>` per parameter group), `layers.jsonl` (one row per layer per epoch), the plots, and
 * the checkpoint last. Every file is rewritten whole and atomically from the run's history, so a
 * resumed run's files equal an uninterrupted run's.
 * @module
 */
import { writeAtomic } from "../io/atomic.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import { saveCheckpoint } from "./checkpoint.ts";
import type { LayerLog } from "./layer_schedules.ts";
import type { LrSchedule } from "./schedule.ts";
import type { TensorToWrite } from "../io/safetensors.ts";
import type { Model } from "../models/model.ts";

/** Files the loop writes into a run folder (a task adds its model files). */
export const RUN_FILES = {
  checkpoint: "checkpoint.safetensors",
  model: "model.safetensors",
  metricsJsonl: "metrics.jsonl",
  metricsCsv: "metrics.csv",
  lossPlot: "loss.svg",
  accuracyPlot: "accuracy.svg",
  layersJsonl: "layers.jsonl",
  layerAlphaPlot: "layers_alpha.svg",
  layerLrPlot: "layers_lr.svg",
} as const;

/**
 * One epoch's record in `metrics.jsonl`: `epoch`, the task's training and evaluation metrics
 * (null on epochs not evaluated), `lr` (each group's rate at the epoch's first step), `steps` (the
 * optimizer's count at its end), `seconds`, `<items>_per_s`, `esd_seconds`, and the optimizer's
 * own per-epoch metrics.
 */
export interface EpochRecord {
  /** Epoch, from 1. */
  epoch: number;
  /** Each parameter group's rate at the epoch's first step. */
  lr: number[];
  /** Wall-clock seconds of the epoch (training and evaluation). */
  seconds: number;
  /** The optimizer's step count at the epoch's end (absent in logs older than it). */
  steps?: number;
  /** Seconds spent measuring layer spectra. */
  esd_seconds?: number;
  /** The task's metrics. */
  [key: string]: number | number[] | null | undefined;
}

/** One line of `layers.jsonl`: a layer's metric after an epoch and the rate it trained with. */
export interface LayerEpoch extends LayerLog {
  /** Epoch, from 1. */
  epoch: number;
  /** The learning rate of the layer's weight during the epoch (at its first step). */
  lr: number;
}

/**
 * Formats a history as CSV: the records' keys in order, `lr` spread into `lr_0`, `lr_1`, …
 * @param history Epochs in order.
 * @returns CSV text with a header row (empty cells for nulls and missing keys).
 */
export function metricsCsv(history: EpochRecord[]): string {
  const groups = Math.max(0, ...history.map((m) => m.lr.length));
  const keys: string[] = [];
  for (const m of history) for (const k of Object.keys(m)) if (!keys.includes(k)) keys.push(k);
  const cols = keys.flatMap((k) => (k === "lr" ? Array.from({ length: groups }, (_, i) => `lr_${i}`) : [k]));
  const cell = (m: EpochRecord, c: string) => {
    const v = /^lr_\d+$/.test(c) ? m.lr[Number(c.slice(3))] : m[c];
    return v === null || v === undefined ? "" : String(v);
  };
  return [cols.join(","), ...history.map((m) => cols.map((c) => cell(m, c)).join(","))].join("\n") + "\n";
}

/**
 * Writes `metrics.jsonl` and `metrics.csv` into `dir`, each atomically.
 * @param dir The run folder.
 * @param history Epochs in order.
 */
export async function writeMetrics(dir: string, history: EpochRecord[]): Promise<void> {
  await writeAtomic(
    `${dir}/${RUN_FILES.metricsJsonl}`,
    history.map((m) => JSON.stringify(m) + "\n").join(""),
  );
  await writeAtomic(`${dir}/${RUN_FILES.metricsCsv}`, metricsCsv(history));
}

/**
 * The layer log of a run folder up to an epoch (a resumed run drops what a killed one left after
 * its checkpoint).
 * @param dir The run folder.
 * @param upTo The last epoch kept.
 * @returns The rows (none when there is no log).
 */
export async function readLayerLog(dir: string, upTo: number): Promise<LayerEpoch[]> {
  try {
    const text = await Deno.readTextFile(`${dir}/${RUN_FILES.layersJsonl}`);
    return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as LayerEpoch).filter((r) =>
      r.epoch <= upTo
    );
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/** What {@link saveEpoch} writes. */
export interface EpochFiles {
  /** The run folder. */
  out: string;
  /** The model. */
  model: Model;
  /** Writes the task's model files (the state read back once). */
  saveModel(out: string, state: TensorToWrite[]): Promise<void>;
  /** The optimizer (its state goes into the checkpoint). */
  optimizer: Optimizer;
  /** The schedule (its spec and state go into the checkpoint). */
  schedule: LrSchedule;
  /** The run's seed. */
  seed: number;
  /** The run's configuration. */
  config: Record<string, unknown>;
  /** The epoch just trained (0-based). */
  epoch: number;
  /** Every epoch's record. */
  history: EpochRecord[];
  /** The layer log. */
  layerLog: LayerEpoch[];
  /** Seconds of training so far. */
  elapsed: number;
  /** Draws the plots (after an evaluated epoch). */
  plots?: (out: string, history: EpochRecord[], layers: LayerEpoch[]) => Promise<void>;
}

/**
 * Writes an epoch's files: model files, metrics, layer log, plots, and the checkpoint last — a run
 * killed in between resumes from the previous checkpoint and rewrites them.
 * @param f What to write.
 */
export async function saveEpoch(f: EpochFiles): Promise<void> {
  const { out, model, optimizer: opt } = f;
  const state = await model.stateDict(); // one readback for the model files and the checkpoint
  await f.saveModel(out, state);
  await writeMetrics(out, f.history);
  if (f.layerLog.length) {
    await writeAtomic(
      `${out}/${RUN_FILES.layersJsonl}`,
      f.layerLog.map((r) => JSON.stringify(r) + "\n").join(""),
    );
  }
  await f.plots?.(out, f.history, f.layerLog);
  await saveCheckpoint(`${out}/${RUN_FILES.checkpoint}`, state, opt, {
    version: 1,
    epoch: f.epoch + 1,
    optimizerSteps: opt.steps,
    lrs: opt.getLastLr(),
    config: f.config,
    history: f.history as unknown as Record<string, unknown>[],
    elapsed: f.elapsed,
    schedule: f.schedule.spec as unknown as Record<string, unknown>,
    rng: { seed: f.seed, nextEpoch: f.epoch + 1 },
    scheduleState: f.schedule.state?.(),
  }, model.metadata());
}
