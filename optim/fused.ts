/**
 * The common part of the fused optimizers (LARS, LAMB, SGDP): validated groups, a chunk table per
 * group, per-tensor statistics, arena-sized state buffers with their checkpoint names, and the
 * step count. Subclasses record their kernels in `step`.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { fill } from "../kernels/ops/fill.ts";
import { SegmentStats } from "../kernels/optim/segment_stats.ts";
import type { Recorder } from "../kernels/runtime/recorder.ts";
import { readback, Tensor } from "../kernels/runtime/tensor.ts";
import type { TensorToWrite } from "../io/safetensors.ts";
import type { WeightTensor } from "../io/tensor.ts";
import type { Parameter, ParameterArena } from "../models/params.ts";
import { chunkTables, makeGroups } from "./groups.ts";
import type { Optimizer } from "./optimizer.ts";
import type { ParamGroup, ParamGroupSpec } from "./groups.ts";

/** Base class of the fused optimizers. */
export abstract class FusedOptimizer implements Optimizer {
  /** The groups, in order. */
  readonly paramGroups: ParamGroup[];
  /** Steps taken. */
  steps = 0;
  /** The arena. */
  protected readonly arena: ParameterArena;
  /** Every parameter of the groups, in arena order (the tensor index of statistics). */
  protected readonly order: Parameter[];
  /** One chunk table per group. */
  protected readonly chunks: Tensor[];
  /** Per-tensor sums (one segment per parameter, in `order`). */
  protected readonly tensorStats: SegmentStats;
  /** State buffers by checkpoint name (`momentum`, `optim.exp_avg`, …), arena-sized. */
  protected readonly state: Map<string, Tensor>;
  readonly #who: string;

  /**
   * Validates the groups and allocates tables, statistics and state.
   * @param who The optimizer's name, for errors.
   * @param arena The arena.
   * @param groups Group specs.
   * @param defaults Defaults of the group hyper-parameters.
   * @param stateNames Names of the arena-sized state buffers (zeroed before the first step).
   */
  constructor(
    who: string,
    arena: ParameterArena,
    groups: ParamGroupSpec[],
    defaults: { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean },
    stateNames: string[],
  ) {
    this.#who = who;
    this.arena = arena;
    this.paramGroups = makeGroups(who, arena, groups, defaults);
    this.order = this.paramGroups.flatMap((g) => g.params).sort((a, b) => a.offset - b.offset);
    const gpu = arena.values.gpu;
    this.chunks = chunkTables(gpu, this.paramGroups, this.order);
    this.tensorStats = new SegmentStats(gpu, this.order.map((p) => [p.offset, p.value.size]));
    this.state = new Map(
      stateNames.map((n) => [n, new Tensor(gpu, arena.values.shape, "f32", `${who}.${n}`)]),
    );
  }

  /** Records one update. */
  abstract step(rec: Recorder): void;

  /** Zeroes the state before the first step (call at the start of `step`). */
  protected zeroStateOnFirstStep(rec: Recorder): void {
    if (this.steps === 0) { for (const t of this.state.values()) fill(rec, t, 0); }
  }

  /** State tensors named `<state>.<parameter>`. */
  async stateDict(): Promise<TensorToWrite[]> {
    const names = [...this.state.keys()];
    const values = await readback(this.arena.values.gpu, ...this.state.values());
    return names.flatMap((n, k) =>
      this.arena.params.map((p) => ({
        name: `${n}.${p.name}`,
        shape: p.value.shape.slice(),
        data: (values[k] as Float32Array).subarray(p.offset, p.offset + p.value.size),
      }))
    );
  }

  /**
   * Restores the state buffers and step count.
   * @param tensors `<state>.<parameter>` tensors (others are ignored).
   * @param steps The step count at the time of saving.
   * @throws {OptionError} Naming every missing or wrong-shaped tensor (when steps > 0).
   */
  loadStateDict(tensors: WeightTensor[], steps: number): void {
    if (!(Number.isInteger(steps) && steps >= 0)) {
      throw new OptionError(`Cannot load ${this.#who} state: steps ${steps} is not an integer ≥ 0`);
    }
    const given = new Map(tensors.map((t) => [t.name, t]));
    const bad: string[] = [];
    for (const [n, buf] of this.state) {
      const host = new Float32Array(buf.size);
      for (const p of this.arena.params) {
        const t = given.get(`${n}.${p.name}`);
        if (!t) bad.push(`${n}.${p.name}: missing`);
        else if (t.shape.length !== p.value.shape.length || t.shape.some((d, i) => d !== p.value.shape[i])) {
          bad.push(`${n}.${p.name}: expected [${p.value.shape}], got [${t.shape}]`);
        } else host.set(t.values(), p.offset);
      }
      buf.gpu.device.queue.writeBuffer(buf.buffer, buf.byteOffset, host);
    }
    if (steps > 0 && bad.length) throw new OptionError(`Cannot load ${this.#who} state: ${bad.join("; ")}`);
    this.steps = steps;
  }

  /** Each group's current rate. */
  getLastLr(): number[] {
    return this.paramGroups.map((g) => g.lr);
  }

  /** Frees tables, statistics and state. */
  release(): void {
    for (const c of this.chunks) c.release();
    this.tensorStats.release();
    for (const t of this.state.values()) t.release();
  }
}
