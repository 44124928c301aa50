/**
 * The per-epoch record of an image-classification run (`metrics.jsonl`; the loop writes it, see
 * `run_files.ts`).
 * @module
 */
import type { EpochRecord } from "./run_files.ts";

/** The metrics of one epoch of an image-classification run. */
export interface EpochMetrics extends EpochRecord {
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
