/**
 * Training checkpoints: one safetensors file holding the model's state dict (PyTorch names), the
 * optimizer's momentum buffers (`momentum.<parameter>`) and, in the header's metadata, the JSON
 * training state (epoch, config, schedule, optimizer step count and rates, metrics history). One
 * file written to a temporary name and renamed, so the checkpoint on disk is always a whole one
 * from the end of some epoch, even when the process is killed while writing.
 * @module
 */
import { UserError } from "../util/errors.ts";
import { writeAtomic } from "../io/atomic.ts";
import { parseSafetensors, type TensorToWrite, writeSafetensors } from "../io/safetensors.ts";
import type { WeightTensor } from "../io/tensor.ts";
import type { Model } from "../models/model.ts";
import type { Optimizer } from "../optim/optimizer.ts";

/** The metadata key of the JSON training state. */
export const STATE_KEY = "tempbalance.train_state";

/** The JSON part of a checkpoint. */
export interface CheckpointState {
  /** Format version (1). */
  version: 1;
  /** Epochs completed. */
  epoch: number;
  /** The optimizer's step count. */
  optimizerSteps: number;
  /** Each group's learning rate at the time of saving. */
  lrs: number[];
  /** Everything needed to rebuild the run (model, data, hyper-parameters, schedule, seed). */
  config: Record<string, unknown>;
  /** Per-epoch metrics so far. */
  history: Record<string, unknown>[];
  /** Seconds of training so far (for the summary of a resumed run). */
  elapsed: number;
  /** The learning-rate schedule's description (checked against the rebuilt run on resume). */
  schedule: Record<string, unknown>;
  /**
   * Random state: shuffling and augmentation of epoch e are drawn from (seed, e) alone, so the
   * seed and the next epoch are the whole state.
   */
  rng: { seed: number; nextEpoch: number };
  /** The schedule's own state where the weights do not determine it (Model Balancing's block metrics). */
  scheduleState?: unknown;
}

/** A checkpoint that cannot be used: names the file and what is wrong. */
export class CheckpointError extends UserError {
  /**
   * Builds the message.
   * @param file The checkpoint's path.
   * @param detail What is wrong.
   */
  constructor(readonly file: string, detail: string) {
    super(`Invalid checkpoint "${file}": ${detail}`);
    this.name = "CheckpointError";
  }
}

/**
 * Saves model, optimizer and training state into one file, atomically.
 * @param path The checkpoint file (`…/checkpoint.safetensors`).
 * @param modelState The model's state dict (`await model.stateDict()`, which the caller may also
 *   write elsewhere without a second readback).
 * @param opt The optimizer.
 * @param state The JSON state.
 * @param metadata More header metadata (the model's module order).
 */
export async function saveCheckpoint(
  path: string,
  modelState: TensorToWrite[],
  opt: Optimizer,
  state: CheckpointState,
  metadata: Record<string, string> = {},
): Promise<void> {
  const tensors = [...modelState, ...await opt.stateDict()];
  await writeAtomic(
    path,
    writeSafetensors(tensors, { format: "pt", ...metadata, [STATE_KEY]: JSON.stringify(state) }),
  );
}

/** A checkpoint read from disk. */
export interface Checkpoint {
  /** The JSON state. */
  state: CheckpointState;
  /** Model and momentum tensors. */
  tensors: WeightTensor[];
  /** The file. */
  file: string;
}

/**
 * Reads a checkpoint file.
 * @param path The file.
 * @returns State and tensors.
 * @throws {CheckpointError} When the file is missing, not safetensors, or has no training state.
 */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new CheckpointError(path, `cannot be read (${(e as Error).message})`);
  }
  let parsed: ReturnType<typeof parseSafetensors>;
  try {
    parsed = parseSafetensors(bytes, path);
  } catch (e) {
    throw new CheckpointError(path, (e as Error).message);
  }
  const raw = parsed.metadata[STATE_KEY];
  if (!raw) throw new CheckpointError(path, `no "${STATE_KEY}" metadata: not a training checkpoint`);
  let state: CheckpointState;
  try {
    state = JSON.parse(raw);
  } catch (e) {
    throw new CheckpointError(path, `the training state is not JSON (${(e as Error).message})`);
  }
  if (state.version !== 1 || !Number.isInteger(state.epoch) || !Array.isArray(state.history)) {
    throw new CheckpointError(path, `training state version ${state.version} is not supported: expected 1`);
  }
  const missing = ["config", "schedule", "rng", "lrs"].filter((k) =>
    typeof state[k as keyof CheckpointState] !== "object"
  );
  if (missing.length) throw new CheckpointError(path, `the training state lacks ${missing.join(", ")}`);
  return { state, tensors: parsed.tensors, file: path };
}

/**
 * Loads a checkpoint's tensors into a model and optimizer built from its config.
 * @param ckpt The checkpoint.
 * @param model The model (same architecture).
 * @param opt The optimizer (same groups).
 * @throws {CheckpointError} Listing missing or wrong-shaped tensors.
 */
export function restoreCheckpoint(ckpt: Checkpoint, model: Model, opt: Optimizer): void {
  // Optimizer state is named `momentum.<param>` or `optim.<kind>.<param>`; the rest is the model's.
  const modelTensors = ckpt.tensors.filter((t) => !/^(momentum|optim)\./.test(t.name));
  try {
    model.loadStateDict(modelTensors);
    opt.loadStateDict(ckpt.tensors, ckpt.state.optimizerSteps);
  } catch (e) {
    throw new CheckpointError(ckpt.file, (e as Error).message);
  }
  if (ckpt.state.lrs.length !== opt.paramGroups.length) {
    throw new CheckpointError(
      ckpt.file,
      `${ckpt.state.lrs.length} parameter groups saved, the optimizer has ${opt.paramGroups.length}`,
    );
  }
  ckpt.state.lrs.forEach((lr, i) => opt.paramGroups[i].lr = lr);
}
