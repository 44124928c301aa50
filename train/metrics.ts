/**
 * Per-epoch metrics and their files: `metrics.jsonl` (one JSON object per epoch) and
 * `metrics.csv` (one row per epoch, a column `lr_<group>` per parameter group). Both are rewritten
 * whole and atomically after every epoch from the run's history, so a resumed run's files match an
 * uninterrupted run's.
 * @module
 */
import { writeAtomic } from "../io/atomic.ts";

/** The metrics of one epoch. */
export interface EpochMetrics {
  /** Epoch number, from 1. */
  epoch: number;
  /** Mean training cross-entropy over the epoch's images (train mode, augmented). */
  train_loss: number;
  /** Training accuracy over the epoch, in [0, 1]. */
  train_acc: number;
  /** Mean test cross-entropy (eval mode); null for an epoch that was not evaluated (`evalEvery`). */
  test_loss: number | null;
  /** Test accuracy, in [0, 1]; null for an epoch that was not evaluated. */
  test_acc: number | null;
  /** Each parameter group's learning rate during the epoch. */
  lr: number[];
  /** Wall-clock seconds of the epoch: training and evaluation (not the files). */
  seconds: number;
  /** Training images per second (training steps only). */
  images_per_s: number;
  /** The optimizer's step count at the epoch's end (absent in logs written before it was added). */
  steps?: number;
  /** Seconds of the epoch spent measuring layer spectra (TempBalance steps, the layer monitor). */
  esd_seconds?: number;
  /** On the sphere: mean ‖w_SI‖ over the epoch's steps. */
  si_norm?: number;
  /** On the sphere: mean ‖∇_SI‖ over the epoch's mini-batches. */
  si_grad_norm?: number;
  /** On the sphere: mean effective gradient norm ‖∇_SI‖·‖w_SI‖. */
  eff_grad_norm?: number;
  /** On the sphere: the effective learning rate in force at the epoch's end. */
  elr?: number;
}

/** The optional per-epoch columns, in CSV order. */
const EXTRA = ["si_norm", "si_grad_norm", "eff_grad_norm", "elr"] as const;

/**
 * Formats the history as CSV.
 * @param history Epochs in order.
 * @returns CSV text with a header row.
 */
export function metricsCsv(history: EpochMetrics[]): string {
  const groups = Math.max(0, ...history.map((m) => m.lr.length));
  const extra = EXTRA.filter((k) => history.some((m) => m[k] !== undefined));
  const head = [
    "epoch",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    ...Array.from({ length: groups }, (_, i) => `lr_${i}`),
    "seconds",
    "images_per_s",
    "esd_seconds",
    ...extra,
  ];
  const rows = history.map((m) =>
    [
      m.epoch,
      m.train_loss,
      m.train_acc,
      m.test_loss ?? "",
      m.test_acc ?? "",
      ...Array.from({ length: groups }, (_, i) => m.lr[i] ?? ""),
      m.seconds,
      m.images_per_s,
      m.esd_seconds ?? "",
      ...extra.map((k) => m[k] ?? ""),
    ].join(",")
  );
  return [head.join(","), ...rows].join("\n") + "\n";
}

/**
 * Writes `metrics.jsonl` and `metrics.csv` into `dir`, each atomically.
 * @param dir The output folder.
 * @param history Epochs in order.
 */
export async function writeMetrics(dir: string, history: EpochMetrics[]): Promise<void> {
  await writeAtomic(`${dir}/metrics.jsonl`, history.map((m) => JSON.stringify(m) + "\n").join(""));
  await writeAtomic(`${dir}/metrics.csv`, metricsCsv(history));
}
