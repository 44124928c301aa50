/**
 * SGDP (AdamP's SGD with projection), fused on the GPU: momentum, per-channel sums, a per-tensor
 * projection decision and the projected, decoupled-decay step, all in the training step's submit.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { SegmentStats } from "../kernels/optim/segment_stats.ts";
import type { Recorder } from "../kernels/runtime/recorder.ts";
import { SGDP_MAX_ROWS, sgdpApply, sgdpDecide, sgdpMomentum } from "../kernels/optim/sgdp_update.ts";
import { Tensor, upload } from "../kernels/runtime/tensor.ts";
import type { ParameterArena } from "../models/params.ts";
import { FusedOptimizer } from "./fused.ts";
import type { ParamGroupSpec } from "./groups.ts";

/** Options of {@link SGDP}: AdamP's defaults. */
export interface SGDPOptions {
  /** Learning rate. */
  lr: number;
  /** Momentum (default 0; the reference runs use 0.9). */
  momentum?: number;
  /** Dampening (default 0). */
  dampening?: number;
  /** Weight decay, decoupled (default 0). */
  weightDecay?: number;
  /** Nesterov (default false). */
  nesterov?: boolean;
  /** eps of norms and cosines (default 1e-8). */
  eps?: number;
  /** δ of the scale-invariance test (default 0.1). */
  delta?: number;
  /** Weight-decay factor on projected tensors (default 0.1). */
  wdRatio?: number;
}

/**
 * SGD with projection for scale-invariant weights.
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { getGpu } from "../kernels/mod.ts";
 * import { ParameterArena } from "../models/mod.ts";
 * import { SGDP } from "./mod.ts";
 * const arena = new ParameterArena(await getGpu(), [{ name: "conv.weight", shape: [8, 4, 3, 3] }]);
 * const opt = new SGDP(arena, [{ params: arena.params }], { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
 * equal(opt.paramGroups[0].lr, 0.1);
 * equal(opt.getLastLr()[0], 0.1);
 * ```
 */
export class SGDP extends FusedOptimizer {
  /** Constants. */
  readonly hyper: { eps: number; delta: number; wdRatio: number };
  #rows: SegmentStats | null;
  #tensors: Tensor;
  #offsets: Tensor;
  #decision: Tensor;

  /**
   * Creates the optimizer, its momentum buffers and its per-channel tables.
   * @param arena The parameters' arena.
   * @param groups The groups.
   * @param o Defaults and constants.
   * @throws {OptionError} On bad constants or groups, or a tensor with more rows than a shader loop may visit.
   */
  constructor(arena: ParameterArena, groups: ParamGroupSpec[], o: SGDPOptions) {
    super("SGDP", arena, groups, {
      lr: o.lr,
      momentum: o.momentum ?? 0,
      dampening: o.dampening ?? 0,
      weightDecay: o.weightDecay ?? 0,
      nesterov: o.nesterov ?? false,
    }, ["momentum"]);
    this.hyper = { eps: o.eps ?? 1e-8, delta: o.delta ?? 0.1, wdRatio: o.wdRatio ?? 0.1 };
    for (const [k, v] of Object.entries(this.hyper)) {
      if (!(v >= 0) || !Number.isFinite(v)) {
        throw new OptionError(`SGDP: ${k} must be a finite number ≥ 0, got ${v}`);
      }
    }
    for (const g of this.paramGroups) {
      if (g.weightDecay > 0 && g.momentum >= 1) {
        throw new OptionError(`SGDP: momentum ${g.momentum} with weight decay divides by 1 − momentum ≤ 0`);
      }
    }
    const gpu = arena.values.gpu;
    const info: number[] = [], segs: [number, number][] = [];
    for (const p of this.order) {
      const shape = p.value.shape;
      if (shape.length > 1) {
        const rowLen = p.value.size / shape[0];
        if (shape[0] > SGDP_MAX_ROWS) {
          throw new OptionError(`SGDP: "${p.name}" has ${shape[0]} rows, more than ${SGDP_MAX_ROWS}`);
        }
        info.push(rowLen, segs.length, shape[0], 0);
        for (let r = 0; r < shape[0]; r++) segs.push([p.offset + r * rowLen, rowLen]);
      } else info.push(1, 0, 0, 0);
    }
    this.#rows = segs.length ? new SegmentStats(gpu, segs) : null;
    this.#tensors = upload(gpu, Uint32Array.from(info), [info.length], "u32", "sgdp.tensors");
    this.#offsets = upload(
      gpu,
      Uint32Array.from(this.order.map((p) => p.offset)),
      [this.order.length],
      "u32",
      "sgdp.offsets",
    );
    this.#decision = new Tensor(gpu, [4 * this.order.length], "f32", "sgdp.decision");
  }

  /** Records momentum, row sums, decisions and the step. */
  step(rec: Recorder): void {
    this.zeroStateOnFirstStep(rec);
    const { values, grads } = this.arena, momentum = this.state.get("momentum")!;
    this.paramGroups.forEach((g, i) => {
      if (g.params.length) sgdpMomentum(rec, grads, momentum, this.chunks[i], g);
    });
    // Without a multi-dimensional tensor nothing is projected: the decisions stay zero (mode 0).
    const rows = this.#rows?.stats ?? this.#decision;
    if (this.#rows) {
      this.#rows.record(rec, values, grads, momentum);
      sgdpDecide(rec, this.#tensors, this.order.length, this.#rows.stats, this.#decision, this.hyper);
    } else if (this.steps === 0) {
      this.arena.values.gpu.device.queue.writeBuffer(
        this.#decision.buffer,
        this.#decision.byteOffset,
        new Float32Array(this.#decision.size),
      );
    }
    this.paramGroups.forEach((g, i) => {
      if (!g.params.length) return;
      sgdpApply(rec, { values, grads, momentum }, {
        chunks: this.chunks[i],
        tensors: this.#tensors,
        offsets: this.#offsets,
        rows,
        decision: this.#decision,
      }, { ...g, ...this.hyper });
    });
    this.steps++;
  }

  /** Frees everything. */
  override release(): void {
    super.release();
    this.#rows?.release();
    this.#tensors.release();
    this.#offsets.release();
    this.#decision.release();
  }
}
