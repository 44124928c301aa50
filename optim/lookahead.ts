/**
 * Lookahead around any of our optimizers, as torch_optimizer's `Lookahead` (the one the
 * TempBalance reference uses): after inner steps 1, k + 1, 2k + 1, … the fast weights move to
 * `α·fast + (1 − α)·slow` and the slow weights follow them.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { lookaheadSync } from "../kernels/optim/lookahead_sync.ts";
import type { Recorder } from "../kernels/runtime/recorder.ts";
import { readback, Tensor } from "../kernels/runtime/tensor.ts";
import type { TensorToWrite } from "../io/safetensors.ts";
import type { WeightTensor } from "../io/tensor.ts";
import type { ParameterArena } from "../models/params.ts";
import type { Optimizer } from "./optimizer.ts";
import type { ParamGroup } from "./groups.ts";

/** Options of {@link Lookahead}: the reference's defaults. */
export interface LookaheadOptions {
  /** Synchronise every k inner steps (default 5). */
  k?: number;
  /** Interpolation factor α (default 0.8 in the reference's runs; torch_optimizer's own is 0.5). */
  alpha?: number;
}

/**
 * Lookahead.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { copy, getGpu, readback, Recorder, upload } from "../kernels/mod.ts";
 * import { ParameterArena } from "../models/mod.ts";
 * import { Lookahead, SGD } from "./mod.ts";
 * const gpu = await getGpu();
 * const arena = new ParameterArena(gpu, [{ name: "fc.weight", shape: [1] }]);
 * const [p] = arena.params;
 * let rec = new Recorder(gpu);
 * copy(rec, upload(gpu, [1], [1]), p.value);
 * await rec.submit();
 * const inner = new SGD(arena, [{ params: arena.params }], { lr: 0.1, momentum: 0 });
 * const opt = new Lookahead(arena, inner, { k: 2, alpha: 0.5 });
 * for (let s = 0; s < 3; s++) {
 *   rec = new Recorder(gpu);
 *   copy(rec, upload(gpu, [1], [1]), p.grad);
 *   opt.step(rec);
 *   await rec.submit();
 * }
 * const [w] = await readback(gpu, p.value);
 * // As the reference counts: step 1 (0.9) starts the slow weights; steps 2–3 reach 0.7, and the
 * // sync after step 3 (= 1 + k) moves halfway back to the slow 0.9: 0.8.
 * ok(Math.abs(w[0] - 0.8) < 1e-6, `w ${w[0]}`);
 * ```
 */
export class Lookahead implements Optimizer {
  /** k. */
  readonly k: number;
  /** α. */
  readonly alpha: number;
  /** The inner optimizer. */
  readonly inner: Optimizer;
  #arena: ParameterArena;
  #slow: Tensor;

  /**
   * Wraps an optimizer.
   * @param arena The arena the inner optimizer updates.
   * @param inner The inner optimizer.
   * @param o k and α.
   * @throws {OptionError} On k < 1 or α outside [0, 1].
   */
  constructor(arena: ParameterArena, inner: Optimizer, o: LookaheadOptions = {}) {
    this.k = o.k ?? 5;
    this.alpha = o.alpha ?? 0.8;
    if (!(Number.isInteger(this.k) && this.k >= 1)) {
      throw new OptionError(`Lookahead: k must be an integer ≥ 1, got ${this.k}`);
    }
    if (!(this.alpha >= 0 && this.alpha <= 1)) {
      throw new OptionError(`Lookahead: alpha must be in [0, 1], got ${this.alpha}`);
    }
    this.inner = inner;
    this.#arena = arena;
    this.#slow = new Tensor(arena.values.gpu, arena.values.shape, "f32", "lookahead.slow");
  }

  /** The inner optimizer's groups. */
  get paramGroups(): ParamGroup[] {
    return this.inner.paramGroups;
  }

  /** The inner optimizer's step count. */
  get steps(): number {
    return this.inner.steps;
  }
  set steps(n: number) {
    this.inner.steps = n;
  }

  /** Records the inner step and, every k steps, the synchronisation. */
  step(rec: Recorder): void {
    const n = this.inner.steps; // steps before this one: the counter is n mod k
    this.inner.step(rec);
    if (n % this.k === 0) lookaheadSync(rec, this.#arena.values, this.#slow, this.alpha, n === 0);
  }

  /** The inner state and the slow weights (`optim.slow.<parameter>`). */
  async stateDict(): Promise<TensorToWrite[]> {
    const [slow] = await readback(this.#arena.values.gpu, this.#slow);
    return [
      ...await this.inner.stateDict(),
      ...this.#arena.params.map((p) => ({
        name: `optim.slow.${p.name}`,
        shape: p.value.shape.slice(),
        data: (slow as Float32Array).subarray(p.offset, p.offset + p.value.size),
      })),
    ];
  }

  /**
   * Restores the inner state and the slow weights.
   * @param tensors The checkpoint's tensors.
   * @param steps The step count at the time of saving.
   * @throws {OptionError} Naming every missing or wrong-shaped slow tensor (when steps > 0).
   */
  loadStateDict(tensors: WeightTensor[], steps: number): void {
    this.inner.loadStateDict(tensors, steps);
    const given = new Map(tensors.map((t) => [t.name, t]));
    const host = new Float32Array(this.#slow.size), bad: string[] = [];
    for (const p of this.#arena.params) {
      const t = given.get(`optim.slow.${p.name}`);
      if (!t) bad.push(`optim.slow.${p.name}: missing`);
      else host.set(t.values(), p.offset);
    }
    if (steps > 0 && bad.length) throw new OptionError(`Cannot load Lookahead state: ${bad.join("; ")}`);
    this.#slow.gpu.device.queue.writeBuffer(this.#slow.buffer, this.#slow.byteOffset, host);
  }

  /** The inner optimizer's rates. */
  getLastLr(): number[] {
    return this.inner.getLastLr();
  }

  /** Frees the slow weights and the inner optimizer. */
  release(): void {
    this.#slow.release();
    this.inner.release();
  }
}
