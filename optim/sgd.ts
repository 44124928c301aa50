/**
 * SGD with parameter groups, as `torch.optim.SGD`: each group has its own lr, momentum,
 * dampening, weight decay and nesterov flag, and is updated by one fused dispatch over its
 * parameters' chunks of the arena. Change `paramGroups[i].lr` between steps (schedulers do).
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { fill } from "../kernels/ops/fill.ts";
import type { Recorder } from "../kernels/runtime/recorder.ts";
import { sgdUpdate } from "../kernels/optim/sgd_update.ts";
import { SpectralReg } from "../kernels/optim/spectral_reg.ts";
import { readback, Tensor } from "../kernels/runtime/tensor.ts";
import type { TensorToWrite } from "../io/safetensors.ts";
import type { WeightTensor } from "../io/tensor.ts";
import type { ParameterArena } from "../models/params.ts";
import type { Optimizer } from "./optimizer.ts";
import { chunkTables, makeGroups, type ParamGroup, type ParamGroupSpec } from "./groups.ts";

export type { ParamGroup, ParamGroupSpec } from "./groups.ts";

/** Defaults of {@link SGD}: PyTorch's, with lr required. */
export interface SGDOptions {
  /** Learning rate. */
  lr: number;
  /** Momentum (default 0). */
  momentum?: number;
  /** Dampening (default 0). */
  dampening?: number;
  /** Weight decay (default 0). */
  weightDecay?: number;
  /** Nesterov (default false). */
  nesterov?: boolean;
  /**
   * Spectral-norm regularisation (the reference's `SGDSNR`): before the update, every weight with
   * more than one dimension gains sg·σ₁·uᵀv in its gradient (`kernels/optim/spectral_reg.ts`).
   */
  spectralReg?: SnrOptions;
}

/** Options of SGD's spectral-norm regularisation. */
export interface SnrOptions {
  /** The strength sg (the reference's `--sg`; 0 turns it off). */
  sg: number;
  /** Power iterations per step (default 5, as the reference). */
  iterations?: number;
  /** Seed of the start vectors (default 0). */
  seed?: number;
}

/**
 * Stochastic gradient descent over parameter groups.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { copy, getGpu, readback, Recorder, upload } from "../kernels/mod.ts";
 * import { ParameterArena } from "../models/mod.ts";
 * import { SGD } from "./mod.ts";
 * const gpu = await getGpu();
 * const arena = new ParameterArena(gpu, [{ name: "fc.weight", shape: [2, 2] }, { name: "fc.bias", shape: [2] }]);
 * const opt = new SGD(arena, [{ params: arena.params }], { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
 * const [weight] = arena.params;
 * const rec = new Recorder(gpu);
 * copy(rec, upload(gpu, [1, 2, 3, 4], [2, 2]), weight.value);
 * copy(rec, upload(gpu, [1, 1, 1, 1], [2, 2]), weight.grad); // as the backward pass writes it
 * opt.step(rec);
 * await rec.submit();
 * const [w] = await readback(gpu, weight.value);
 * // First step: w − lr·(g + wd·w).
 * [1, 2, 3, 4].forEach((w0, i) => ok(Math.abs(w[i] - (w0 - 0.1 * (1 + 5e-4 * w0))) < 1e-6, `w[${i}] ${w[i]}`));
 * ```
 */
export class SGD implements Optimizer {
  /** The groups, in order. */
  readonly paramGroups: ParamGroup[];
  /** Steps taken. */
  steps = 0;
  #arena: ParameterArena;
  #momentum: Tensor;
  #chunks: Tensor[];
  #snr: { reg: SpectralReg; sg: number; iterations: number; seed: number } | null = null;

  /**
   * Creates the optimizer and its zeroed momentum buffers.
   * @param arena The parameters' arena.
   * @param groups The groups (each parameter in at most one).
   * @param defaults Hyper-parameters for groups that do not set their own.
   */
  constructor(arena: ParameterArena, groups: ParamGroupSpec[], defaults: SGDOptions) {
    this.#arena = arena;
    this.paramGroups = makeGroups("SGD", arena, groups, defaults);
    const gpu = arena.values.gpu;
    const snr = defaults.spectralReg;
    if (snr && snr.sg !== 0) {
      const iterations = snr.iterations ?? 5;
      if (!(snr.sg > 0) || !Number.isFinite(snr.sg)) {
        throw new OptionError(`SGD: spectralReg.sg must be ≥ 0, got ${snr.sg}`);
      }
      if (!(Number.isInteger(iterations) && iterations >= 1)) {
        throw new OptionError(`SGD: spectralReg.iterations must be an integer ≥ 1, got ${iterations}`);
      }
      const weights = this.paramGroups.flatMap((g) => g.params).filter((p) => p.value.shape.length > 1)
        .sort((a, b) => a.offset - b.offset);
      this.#snr = {
        reg: new SpectralReg(
          gpu,
          weights.map((p) => ({ offset: p.offset, m: p.value.shape[0], n: p.value.size / p.value.shape[0] })),
        ),
        sg: snr.sg,
        iterations,
        seed: snr.seed ?? 0,
      };
    }
    this.#momentum = new Tensor(gpu, arena.values.shape, "f32", "sgd.momentum");
    this.#chunks = chunkTables(gpu, this.paramGroups, arena.params);
  }

  /** The momentum buffers (same layout as the arena), for checkpoints. */
  get momentumBuffer(): Tensor {
    return this.#momentum;
  }

  /**
   * Records one update of every group with its current hyper-parameters.
   * @param rec The recorder (the training step's).
   */
  step(rec: Recorder): void {
    if (this.steps === 0) fill(rec, this.#momentum, 0);
    if (this.#snr) {
      const { reg, sg, iterations, seed } = this.#snr;
      reg.record(rec, this.#arena.values, this.#arena.grads, { sg, iterations, seed, step: this.steps });
    }
    this.paramGroups.forEach((g, i) => {
      if (!g.params.length) return;
      sgdUpdate(rec, this.#arena.values, this.#arena.grads, this.#momentum, this.#chunks[i], {
        lr: g.lr,
        momentum: g.momentum,
        dampening: g.dampening,
        weightDecay: g.weightDecay,
        nesterov: g.nesterov,
        first: this.steps === 0,
      });
    });
    this.steps++;
  }

  /**
   * Reads the momentum buffers back, one tensor per parameter named `momentum.<parameter>`, for
   * checkpoints (the step count and group rates go in the checkpoint's JSON).
   * @returns Tensors ready for `writeSafetensors`.
   */
  async stateDict(): Promise<TensorToWrite[]> {
    const [m] = await readback(this.#arena.values.gpu, this.#momentum);
    return this.#arena.params.map((p) => ({
      name: `momentum.${p.name}`,
      shape: p.value.shape.slice(),
      data: (m as Float32Array).subarray(p.offset, p.offset + p.value.size),
    }));
  }

  /**
   * Restores the momentum buffers and step count saved by {@link SGD.stateDict}.
   * @param tensors `momentum.<parameter>` tensors (others are ignored).
   * @param steps The step count at the time of saving (0 restarts PyTorch's first-step rule).
   * @throws {OptionError} Naming every missing or wrong-shaped momentum tensor.
   */
  loadStateDict(tensors: WeightTensor[], steps: number): void {
    const given = new Map(tensors.map((t) => [t.name, t]));
    const bad: string[] = [];
    const host = new Float32Array(this.#momentum.size);
    for (const p of this.#arena.params) {
      const t = given.get(`momentum.${p.name}`);
      if (!t) bad.push(`momentum.${p.name}: missing`);
      else if (t.shape.length !== p.value.shape.length || t.shape.some((d, i) => d !== p.value.shape[i])) {
        bad.push(`momentum.${p.name}: expected [${p.value.shape}], got [${t.shape}]`);
      } else host.set(t.values(), p.offset);
    }
    if (steps > 0 && bad.length) throw new OptionError(`Cannot load optimizer state: ${bad.join("; ")}`);
    if (!(Number.isInteger(steps) && steps >= 0)) {
      throw new OptionError(`Cannot load optimizer state: steps ${steps} is not an integer ≥ 0`);
    }
    const m = this.#momentum;
    m.gpu.device.queue.writeBuffer(m.buffer, m.byteOffset, host);
    this.steps = steps;
  }

  /** The current learning rate of each group. */
  getLastLr(): number[] {
    return this.paramGroups.map((g) => g.lr);
  }

  /** Frees the momentum buffers and chunk tables. */
  release(): void {
    this.#momentum.release();
    for (const c of this.#chunks) c.release();
    this.#snr?.reg.release();
  }
}
