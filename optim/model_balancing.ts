/**
 * Model Balancing's block-wise TempBalance (`tb_layer_blocks` with the `sigmoid` schedule, unit
 * `block`): layers whose module name reads `<before>.<N>.<after>` form block N — the first index
 * in the name, so `layer1.0.conv1` and `layer3.0.conv2` are both block 0, as the reference's regex
 * `(.*?)\.(\d+)\.(.*)` groups them; every other layer (and parameter) keeps the untuned rate η. A
 * block's metric is the mean alpha of its layers; with d = block metric − mean over blocks,
 * `lr_block = η·10^φ`, `φ = s·(sigmoid(τ·d) − 0.5)`, s = `sigmoidMax` where d > 0 and `sigmoidMin`
 * otherwise (τ = `exp_temp`). Every parameter whose name has block index N (BatchNorm included)
 * takes block N's rate. The ESD is re-measured every `min(interval, steps per epoch / 10)` steps.
 * Ref: Liu et al., "Model Balancing Helps Low-data Training and Fine-tuning", EMNLP 2024
 * (https://github.com/ZihangHLiu/ModelBalancing, `get_layer_temps`).
 * @module
 */
import { OptionError } from "../util/errors.ts";
import type { Model } from "../models/model.ts";
import type { Optimizer } from "./optimizer.ts";
import type { ParamGroupSpec } from "./groups.ts";
import { measureLayers, readWeights } from "./tb_measure.ts";
import { tempBalanceDefaults, type TempBalanceOptions } from "./tb_options.ts";
import { modulesOfModel } from "./tb_modules.ts";

/** Options of {@link ModelBalancing}: the reference's defaults. */
export interface ModelBalancingOptions extends
  Pick<
    TempBalanceOptions,
    "metric" | "fit" | "xminPos" | "convNorm" | "filterZeros" | "solver" | "fitDevice"
  > {
  /** τ, the sigmoid's temperature (`exp_temp`, default 10). */
  tau?: number;
  /** s for blocks below the mean (`sigmoid_min`, default 2). */
  sigmoidMin?: number;
  /** s for blocks above the mean (`sigmoid_max`, default 1). */
  sigmoidMax?: number;
  /**
   * ESD every this many optimizer steps at most (`esd_interval`, default 100); a schedule measures
   * every `min(interval, max(1, steps per epoch // 10))` steps, as the reference does.
   */
  interval?: number;
  /** Where warnings go (default `console.warn`), as {@link TempBalanceOptions.onWarning}. */
  onWarning?: (message: string) => void;
}

/** The block index of a name (`layer2.1.conv1` → 1), or null (`conv1`, `fc`). */
export function blockIndex(name: string): number | null {
  const m = /^(.*?)\.(\d+)\.(.*)$/.exec(name);
  return m ? Number(m[2]) : null;
}

/**
 * Block rates from block metrics.
 * @param metrics Each block's metric (mean alpha), in block order.
 * @param lr The untuned rate η.
 * @param o τ and the two slopes.
 * @returns η·10^φ per block.
 */
export function sigmoidRates(
  metrics: number[],
  lr: number,
  o: { tau?: number; sigmoidMin?: number; sigmoidMax?: number } = {},
): number[] {
  const { tau = 10, sigmoidMin = 2, sigmoidMax = 1 } = o;
  const mean = metrics.reduce((s, x) => s + x, 0) / metrics.length;
  return metrics.map((m) => {
    const d = m - mean;
    const phi = (d > 0 ? sigmoidMax : sigmoidMin) * (1 / (1 + Math.exp(-tau * d)) - 0.5);
    return lr * 10 ** phi;
  });
}

/** Block-wise TempBalance with the sigmoid map. */
export class ModelBalancing {
  /** Block indices in order of first appearance. */
  readonly blocks: number[];
  /** The layers (weight names) of each block. */
  readonly blockLayers: string[][];
  /** Groups: one per block (its parameters), then the untuned group. */
  readonly groups: { params: string[]; block: number | null }[];
  /** The options with defaults. */
  readonly options: Required<Omit<ModelBalancingOptions, "onWarning">>;
  /** Each block's metric at the last measurement. */
  lastMetrics: (number | null)[] = [];
  /** Every layer's measurement at the last ESD, in module order. */
  lastLayers: { name: string; metric: number | null; alpha: number | null; block: number | null }[] = [];
  #model: Model;
  #warn: (m: string) => void;

  /**
   * Plans the blocks.
   * @param model The model.
   * @param options The options (with `onWarning`, as TempBalance's).
   * @throws {OptionError} On bad options, or when no layer name has a block index.
   */
  constructor(model: Model, options: ModelBalancingOptions = {}) {
    const base = tempBalanceDefaults(options);
    const o = {
      metric: base.metric,
      fit: base.fit,
      xminPos: base.xminPos,
      convNorm: base.convNorm,
      filterZeros: base.filterZeros,
      solver: base.solver,
      fitDevice: base.fitDevice,
      tau: options.tau ?? 10,
      sigmoidMin: options.sigmoidMin ?? 2,
      sigmoidMax: options.sigmoidMax ?? 1,
      interval: options.interval ?? 100,
    };
    for (const k of ["tau", "sigmoidMin", "sigmoidMax"] as const) {
      if (!(o[k] >= 0) || !Number.isFinite(o[k])) {
        throw new OptionError(`ModelBalancing: ${k} must be ≥ 0, got ${o[k]}`);
      }
    }
    if (!(Number.isInteger(o.interval) && o.interval >= 1)) {
      throw new OptionError(`ModelBalancing: interval must be an integer ≥ 1, got ${o.interval}`);
    }
    this.options = o;
    this.#model = model;
    this.#warn = options.onWarning ?? ((m) => console.warn(m));
    const mods = modulesOfModel(model);
    const layers = mods.filter((m) => m.kind === "conv" || m.kind === "linear");
    this.blocks = [...new Set(layers.map((l) => blockIndex(l.name)).filter((b): b is number => b !== null))];
    if (!this.blocks.length) {
      throw new OptionError(
        `ModelBalancing: no layer is left to tune: no Conv2d/Linear name has a block index (<name>.<N>.<rest>): ${
          layers.map((l) => l.name).join(", ")
        }`,
      );
    }
    this.blockLayers = this.blocks.map((b) =>
      layers.filter((l) => blockIndex(l.name) === b).map((l) => l.params.find((p) => p.endsWith(".weight"))!)
    );
    const byBlock = new Map<number, string[]>(this.blocks.map((b) => [b, []]));
    const untuned: string[] = [];
    for (const name of mods.flatMap((m) => m.params)) {
      const b = blockIndex(name);
      if (b !== null && byBlock.has(b)) byBlock.get(b)!.push(name);
      else untuned.push(name);
    }
    this.groups = [...this.blocks.map((b) => ({ params: byBlock.get(b)!, block: b })), {
      params: untuned,
      block: null,
    }];
    this.lastLayers = layers.map((l) => ({
      name: l.params.find((p) => p.endsWith(".weight"))!,
      metric: null,
      alpha: null,
      block: blockIndex(l.name),
    }));
  }

  /** Groups for the optimizer at rate `lr` (before any measurement). */
  groupSpecs(lr: number): ParamGroupSpec[] {
    return this.groups.map((g) => ({ params: g.params.map((n) => this.#model.arena.get(n)!), lr }));
  }

  /**
   * Measures every block and sets the rates, as {@link TempBalance.step}: the same call in a
   * user's own loop, for either scheduler.
   * @param optimizer An optimizer built from {@link ModelBalancing.groupSpecs}.
   * @param untunedLr The untuned rate η.
   */
  async step(optimizer: Optimizer, untunedLr: number): Promise<void> {
    await this.measure();
    this.apply(optimizer, untunedLr);
  }

  /**
   * The scheduler's state (JSON), as PyTorch schedulers' `state_dict()`: each block's last metric.
   * @returns The state.
   */
  stateDict(): { blockMetrics: (number | null)[] } {
    return { blockMetrics: [...this.lastMetrics] };
  }

  /**
   * Restores {@link ModelBalancing.stateDict}.
   * @param state The saved state.
   * @throws {OptionError} When it holds another number of blocks.
   */
  loadStateDict(state: { blockMetrics: (number | null)[] }): void {
    if (state.blockMetrics.length && state.blockMetrics.length !== this.blocks.length) {
      throw new OptionError(
        `ModelBalancing.loadStateDict: ${state.blockMetrics.length} saved blocks, this model has ${this.blocks.length}`,
      );
    }
    this.lastMetrics = [...state.blockMetrics];
  }

  /**
   * Steps between measurements for an epoch of this many steps: `min(interval, max(1, steps // 10))`.
   * @param stepsPerEpoch Optimizer steps per epoch.
   * @returns The interval.
   */
  esdInterval(stepsPerEpoch: number): number {
    return Math.min(this.options.interval, Math.max(1, Math.floor(stepsPerEpoch / 10)));
  }

  /** Measures every layer and each block's mean metric. */
  async measure(): Promise<void> {
    const params = this.lastLayers.map((l) => this.#model.arena.get(l.name)!);
    const measured = await measureLayers(
      await readWeights(this.#model, params),
      tempBalanceDefaults(this.options),
    );
    measured.forEach((m, i) => {
      const v = m[this.options.metric];
      this.lastLayers[i].metric = v !== null && Number.isFinite(v) ? v : null;
      this.lastLayers[i].alpha = m.alpha;
    });
    this.lastMetrics = this.blocks.map((b) => {
      const v = this.lastLayers.filter((l) => l.block === b).map((l) => l.metric);
      const ok = v.filter((x): x is number => x !== null);
      if (ok.length < v.length) {
        this.#warn(
          `ModelBalancing: block ${b} has ${
            v.length - ok.length
          } layer(s) without a metric: they are left out of its mean`,
        );
      }
      return ok.length ? ok.reduce((s, x) => s + x, 0) / ok.length : null;
    });
  }

  /**
   * Sets every group's rate from the last measurement: blocks with a metric by the sigmoid map,
   * others at `lr`.
   * @param opt The optimizer built from {@link ModelBalancing.groupSpecs}.
   * @param lr The untuned rate η.
   */
  apply(opt: Optimizer, lr: number): void {
    const idx = this.lastMetrics.flatMap((m, i) => (m === null ? [] : [i]));
    const rates = sigmoidRates(idx.map((i) => this.lastMetrics[i]!), lr, this.options);
    const byBlock = new Map(idx.map((i, k) => [this.blocks[i], rates[k]]));
    this.groups.forEach((g, i) => opt.paramGroups[i].lr = g.block === null ? lr : byBlock.get(g.block) ?? lr);
  }
}
