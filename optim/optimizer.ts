/**
 * What the trainer needs of an optimizer: parameter groups whose rates a scheduler may change
 * between steps, one recorded update per step (inside the step's single submit), and its state for
 * checkpoints. SGD (optionally with spectral-norm regularisation), SGDP, LARS, LAMB and the
 * Lookahead wrapper implement it.
 * @module
 */
import type { Recorder } from "../kernels/runtime/recorder.ts";
import type { TensorToWrite } from "../io/safetensors.ts";
import type { WeightTensor } from "../io/tensor.ts";
import type { ParamGroup } from "./groups.ts";

/** An optimizer over a model's parameter arena. */
export interface Optimizer {
  /** The groups, in order; `lr` may be changed between steps. */
  readonly paramGroups: ParamGroup[];
  /** Steps taken. */
  steps: number;
  /**
   * Records one update of every parameter from the gradients in the arena.
   * @param rec The training step's recorder.
   */
  step(rec: Recorder): void;
  /** Its state tensors (named `<kind>.<parameter>`), for checkpoints. */
  stateDict(): Promise<TensorToWrite[]>;
  /**
   * Restores the state saved by `stateDict`.
   * @param tensors The checkpoint's tensors (others are ignored).
   * @param steps The step count at the time of saving.
   */
  loadStateDict(tensors: WeightTensor[], steps: number): void;
  /** Each group's current rate. */
  getLastLr(): number[];
  /** Frees its GPU buffers. */
  release(): void;
  /**
   * Metrics the optimizer gathered over the epoch (then reset), merged into the epoch's metrics —
   * the sphere optimizer's `si_norm`, `si_grad_norm`, `eff_grad_norm`, `elr`.
   */
  epochMetrics?(): Promise<Record<string, number>>;
}
