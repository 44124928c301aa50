/**
 * Training scale-invariant (SI) weights on the sphere at a fixed effective learning rate (ELR), as
 * "Training Scale-Invariant Neural Networks on the Sphere Can Happen in Three Regimes" (Kodryan et
 * al., NeurIPS 2022, `train.py` with `--fix_elr`):
 * - `elr`: ρ0² = ‖w_SI‖² at the start (all SI tensors jointly), the SI group's rate is `elr·ρ0²`,
 *   and after every plain SGD step all SI tensors are multiplied by the one factor ρ0/‖w_SI‖, so
 *   the ELR `lr/‖w_SI‖²` stays `elr`. Per filter (`perFilter`, the reference's `fix_all_elr`):
 *   every output channel is brought back to ρ_f = sqrt(ρ0²/filters) instead.
 * - `lr` (fixed learning rate): plain SGD with weight decay, no projection; the ELR then drifts
 *   with ‖w_SI‖.
 * Non-SI parameters (the last layer, affine BN parameters) train at `noninvLr` (default 0: frozen,
 * as the reference's fully scale-invariant runs). Everything runs in the training step's submit.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { SegmentStats } from "../kernels/optim/segment_stats.ts";
import type { Recorder } from "../kernels/runtime/recorder.ts";
import { sphereAccumulate, sphereRescale, sphereRescaleRows } from "../kernels/optim/sphere_projection.ts";
import { readback, Tensor, upload } from "../kernels/runtime/tensor.ts";
import type { TensorToWrite } from "../io/safetensors.ts";
import type { WeightTensor } from "../io/tensor.ts";
import type { Parameter, ParameterArena } from "../models/params.ts";
import type { Model } from "../models/model.ts";
import { checkScaleInvariant, siParameters } from "../models/si.ts";
import { chunkTables } from "./groups.ts";
import type { Optimizer } from "./optimizer.ts";
import type { ParamGroup } from "./groups.ts";
import { SGD } from "./sgd.ts";

/** Options of {@link SphereSGD}: exactly one of `elr` and `lr`. */
export interface SphereSGDOptions {
  /** Fixed effective learning rate (> 0): train on the sphere. */
  elr?: number;
  /** Fixed learning rate (> 0): train in the whole space, with `weightDecay`. */
  lr?: number;
  /** Weight decay of the SI group in `lr` mode (default 0; none on the sphere). */
  weightDecay?: number;
  /** Momentum (default 0). */
  momentum?: number;
  /** Rate of the non-SI parameters (default 0: frozen). */
  noninvLr?: number;
  /** Keep every filter's norm instead of the joint one (default false). */
  perFilter?: boolean;
  /**
   * ρ0², the squared radius of the sphere: ‖w_SI‖² of all SI tensors jointly at the start (the
   * reference's `init_norm`²). {@link SphereSGD.create} and {@link SphereSGD.forModel} measure it;
   * the constructor needs it given (a model's initial values give it without a readback).
   */
  siNormSq?: number;
}

/** Σw² of each tensor and of each of its rows, in float64 from one readback. */
async function sumsOfSquares(params: Parameter[]): Promise<{ total: number; rows: number }> {
  if (!params.length) return { total: 0, rows: 0 };
  const values = await readback(params[0].value.gpu, ...params.map((p) => p.value));
  let total = 0;
  for (const v of values) for (const x of v) total += x * x;
  return { total, rows: params.reduce((s, p) => s + p.value.shape[0], 0) };
}

/** SGD on the sphere for scale-invariant weights. */
export class SphereSGD implements Optimizer {
  /** The plain SGD underneath: group 0 the SI tensors, group 1 the rest. */
  readonly inner: SGD;
  /** `elr` (on the sphere) or `lr` (whole space). */
  readonly mode: "elr" | "lr";
  /** The SI norm kept: joint ρ0, or each filter's ρ_f with `perFilter`. */
  readonly rho0: number;
  /** The SI group's learning rate. */
  readonly siLr: number;
  /** The SI tensors. */
  readonly si: Parameter[];
  #arena: ParameterArena;
  #stats: SegmentStats;
  #chunks: Tensor;
  #tensors: Tensor | null;
  #perTensor: SegmentStats;
  #acc: Tensor;
  #accSteps = 0;

  /**
   * Builds the optimizer on a sphere of known radius (`o.siNormSq`; {@link SphereSGD.create}
   * measures it).
   * @param arena The parameters' arena.
   * @param si The scale-invariant tensors.
   * @param o Mode, rates and ρ0².
   * @throws {OptionError} Unless exactly one of elr and lr is a positive number, without ρ0², or
   *   on other bad values.
   */
  constructor(arena: ParameterArena, si: Parameter[], o: SphereSGDOptions) {
    const { elr, lr, weightDecay = 0, momentum = 0, noninvLr = 0, perFilter = false } = o;
    if (o.siNormSq === undefined) {
      throw new OptionError(
        "SphereSGD: give siNormSq (ρ0²), or build it with SphereSGD.create() / forModel()",
      );
    }
    const siNormSq = o.siNormSq;
    if ((elr === undefined) === (lr === undefined)) {
      throw new OptionError(
        "SphereSGD: give exactly one of elr (on the sphere) and lr (fixed learning rate)",
      );
    }
    const rate = elr ?? lr!;
    if (!(rate > 0) || !Number.isFinite(rate)) {
      throw new OptionError(
        `SphereSGD: ${elr !== undefined ? "elr" : "lr"} must be a number > 0, got ${rate}`,
      );
    }
    if (!si.length) throw new OptionError("SphereSGD: no scale-invariant tensor given");
    if (!(siNormSq > 0)) {
      throw new OptionError(`SphereSGD: the SI tensors' norm is ${Math.sqrt(siNormSq)}: expected > 0`);
    }
    this.mode = elr !== undefined ? "elr" : "lr";
    this.si = si;
    this.#arena = arena;
    const filters = si.reduce((s, p) => s + p.value.shape[0], 0);
    this.rho0 = Math.sqrt(perFilter ? siNormSq / filters : siNormSq);
    this.siLr = elr !== undefined ? elr * siNormSq : lr!;
    const siNames = new Set(si.map((p) => p.name));
    const others = arena.params.filter((p) => !siNames.has(p.name));
    this.inner = new SGD(arena, [
      { params: si, lr: this.siLr, weightDecay: this.mode === "lr" ? weightDecay : 0 },
      { params: others, lr: noninvLr, weightDecay: 0 },
    ], { lr: this.siLr, momentum });
    const gpu = arena.values.gpu;
    const order = [...si].sort((a, b) => a.offset - b.offset);
    this.#chunks = chunkTables(gpu, [this.inner.paramGroups[0]], order)[0];
    if (perFilter) {
      const segs: [number, number][] = [], info: number[] = [];
      for (const p of order) {
        const rowLen = p.value.size / p.value.shape[0];
        info.push(rowLen, segs.length, p.offset, 0);
        for (let r = 0; r < p.value.shape[0]; r++) segs.push([p.offset + r * rowLen, rowLen]);
      }
      this.#stats = new SegmentStats(gpu, segs);
      this.#tensors = upload(gpu, Uint32Array.from(info), [info.length], "u32", "sphere.tensors");
    } else {
      this.#stats = new SegmentStats(gpu, order.map((p) => [p.offset, p.value.size]));
      this.#tensors = null;
    }
    this.#perTensor = perFilter
      ? new SegmentStats(gpu, order.map((p) => [p.offset, p.value.size]))
      : this.#stats;
    this.#acc = new Tensor(gpu, [4], "f32", "sphere.acc");
    gpu.device.queue.writeBuffer(this.#acc.buffer, this.#acc.byteOffset, new Float32Array(4));
  }

  /**
   * Builds the optimizer, reading the SI tensors' norm from the GPU.
   * @param arena The parameters' arena.
   * @param si The scale-invariant tensors (see `siParameters`).
   * @param o Mode and rates.
   * @returns The optimizer.
   */
  static async create(arena: ParameterArena, si: Parameter[], o: SphereSGDOptions): Promise<SphereSGD> {
    return new SphereSGD(arena, si, { ...o, siNormSq: (await sumsOfSquares(si)).total });
  }

  /**
   * Builds the optimizer for a model: its scale-invariant weights (all of them, or the named ones,
   * each checked to be SI), the norm read from the GPU.
   * @param model The model.
   * @param o Mode and rates.
   * @param names Parameter names for the SI group (default: every SI weight of the model).
   * @returns The optimizer.
   * @throws {OptionError} Naming a parameter that is not scale-invariant, or when the model has none.
   */
  static async forModel(model: Model, o: SphereSGDOptions, names?: string[]): Promise<SphereSGD> {
    const si = names ? checkScaleInvariant(model, names) : siParameters(model);
    if (!si.length) {
      throw new OptionError(
        "SphereSGD: the model has no scale-invariant weight (a bias-free Conv2d followed by a BatchNorm2d)",
      );
    }
    return await SphereSGD.create(model.arena, si, o);
  }

  /** The groups: SI first, then the rest. */
  get paramGroups(): ParamGroup[] {
    return this.inner.paramGroups;
  }

  /** Steps taken. */
  get steps(): number {
    return this.inner.steps;
  }
  set steps(n: number) {
    this.inner.steps = n;
  }

  /** Records the SGD step and, on the sphere, the projection back to ρ0. */
  step(rec: Recorder): void {
    const { values, grads } = this.#arena;
    // The epoch's gradient metrics, from this step's gradient and the weights it applies to.
    this.#perTensor.record(rec, grads, values, values);
    sphereAccumulate(rec, this.#perTensor.stats, this.#perTensor.count, this.#acc);
    this.#accSteps++;
    this.inner.step(rec);
    if (this.mode !== "elr") return;
    this.#stats.record(rec, values, values, values);
    if (this.#tensors) {
      sphereRescaleRows(rec, values, this.#chunks, this.#stats.stats, this.#tensors, this.rho0);
    } else sphereRescale(rec, values, this.#chunks, this.#stats.stats, this.#stats.count, this.rho0);
  }

  /**
   * The effective learning rate in force, `lr_SI/‖w_SI‖²`, from the current weights.
   * @returns The ELR.
   */
  async elrInForce(): Promise<number> {
    const { total } = await sumsOfSquares(this.si);
    return this.inner.paramGroups[0].lr / total;
  }

  /**
   * The means over the steps since the last call (then reset): ‖∇_SI‖, the effective gradient norm
   * ‖∇_SI‖·‖w_SI‖ and ‖w_SI‖ (each at the step's weights), and the ELR in force now.
   * @returns The epoch's SI metrics.
   */
  async epochStats(): Promise<{ siGradNorm: number; effGradNorm: number; siNorm: number; elr: number }> {
    const [acc] = await readback(this.#arena.values.gpu, this.#acc);
    const n = Math.max(1, this.#accSteps);
    this.#accSteps = 0;
    this.#acc.gpu.device.queue.writeBuffer(this.#acc.buffer, this.#acc.byteOffset, new Float32Array(4));
    return {
      siGradNorm: acc[0] / n,
      effGradNorm: acc[1] / n,
      siNorm: acc[2] / n,
      elr: await this.elrInForce(),
    };
  }

  /** {@link SphereSGD.epochStats} under the metric names the trainer logs. */
  async epochMetrics(): Promise<Record<string, number>> {
    const s = await this.epochStats();
    return { si_norm: s.siNorm, si_grad_norm: s.siGradNorm, eff_grad_norm: s.effGradNorm, elr: s.elr };
  }

  /** The momentum buffers (the SGD's). */
  stateDict(): Promise<TensorToWrite[]> {
    return this.inner.stateDict();
  }

  /**
   * Restores the momentum buffers.
   * @param tensors The checkpoint's tensors.
   * @param steps The step count at the time of saving.
   */
  loadStateDict(tensors: WeightTensor[], steps: number): void {
    this.inner.loadStateDict(tensors, steps);
  }

  /** The groups' rates. */
  getLastLr(): number[] {
    return this.inner.getLastLr();
  }

  /** Frees tables, sums and the SGD's buffers. */
  release(): void {
    this.inner.release();
    this.#stats.release();
    this.#chunks.release();
    this.#tensors?.release();
    if (this.#perTensor !== this.#stats) this.#perTensor.release();
    this.#acc.release();
  }
}
