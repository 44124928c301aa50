/**
 * TempBalance: layer-wise learning rates from each layer's heavy-tailed exponent. Every epoch the
 * ESD of each Conv2d/Linear weight is measured (TempBalance convention: conv slices × sqrt(0.5),
 * zeros kept, Hill fit at the median), and each tuned layer — with the BatchNorm tied to it — gets
 * a rate in `[lrMinRatio, lrMaxRatio] × η` from its metric, η being the globally scheduled rate:
 * under-trained layers (high alpha) learn faster. Used like PyTorch's `lr_scheduler`: build the
 * optimizer from {@link TempBalance.buildParamGroups}, then call {@link TempBalance.step} once per
 * epoch after train/test with the epoch's untuned rate, as the reference does.
 * Ref: Zhou et al., "Temperature Balancing, Layer-wise Weight Analysis, and Neural Network
 * Training", NeurIPS 2023 (https://github.com/YefanZhou/TempBalance).
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { liveLayerMetrics, liveUnsupported } from "../esd/live.ts";
import type { Model } from "../models/model.ts";
import type { ParamGroupSpec } from "./groups.ts";
import type { Optimizer } from "./optimizer.ts";
import { type ModuleInfo, modulesOfModel } from "./tb_modules.ts";
import { planTempBalance, type TbPlan } from "./tb_plan.ts";
import { layerRates, measureLayers, readWeights } from "./tb_measure.ts";
import { tempBalanceDefaults, type TempBalanceOptions } from "./tb_options.ts";

/** One layer's measurement and rate at the last step. */
export interface TbLayerRate {
  /** The weight's name. */
  name: string;
  /** The metric (null where it could not be measured). */
  metric: number | null;
  /** alpha, spectral norm and alphahat as measured. */
  alpha: number | null;
  /** λmax of the layer's ESD. */
  spectral_norm: number | null;
  /** alpha · log10(λmax). */
  alphahat: number | null;
  /** Eigenvalues in its ESD. */
  num_evals: number;
  /** Whether TempBalance sets its rate. */
  tuned: boolean;
  /** The rate it trains with. */
  lr: number;
}

/**
 * The TempBalance scheduler over a model of ours.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { getGpu } from "../kernels/mod.ts";
 * import { Model, smallResNet } from "../models/mod.ts";
 * import { SGD, TempBalance } from "./mod.ts";
 * const model = new Model(await getGpu(), smallResNet({ classes: 10, inChannels: 1 }), 0);
 * const tb = new TempBalance(model, { eigsThresh: 10 });
 * const opt = new SGD(model.arena, await tb.buildParamGroups(0.1), { lr: 0.1, momentum: 0.9 });
 * // … one epoch of training and testing, then:
 * await tb.step(opt, 0.09);
 * const rates = tb.getLastLr();
 * ok(rates.length === opt.paramGroups.length);
 * ok(rates.every((r) => r >= 0.09 * 0.5 - 1e-12 && r <= 0.09 * 1.5 + 1e-12));
 * ```
 */
export class TempBalance {
  /** The options with defaults filled in. */
  readonly options: Required<Omit<TempBalanceOptions, "onWarning">>;
  /** Layers, tuned or not, and the optimizer's groups. */
  readonly plan: TbPlan;
  /** The model's parameter-owning modules in module order. */
  readonly modules: ModuleInfo[];
  /** Every layer's metric and rate at the last measurement (empty before the first). */
  lastLayers: TbLayerRate[] = [];
  #model: Model;
  #warn: (m: string) => void;
  #lr = NaN;
  #measured: {
    key: number;
    values: { alpha: number | null; spectral_norm: number | null; alphahat: number | null }[];
  } | null = null;

  /**
   * Plans the scheduler (no ESD yet).
   * @param model The model.
   * @param options The options (reference defaults).
   * @throws {OptionError} On a bad option, or when no layer is left to tune.
   */
  constructor(model: Model, options: TempBalanceOptions = {}) {
    this.options = tempBalanceDefaults(options);
    this.#warn = options.onWarning ?? ((m) => console.warn(m));
    this.#model = model;
    this.modules = modulesOfModel(model, { spectral: this.options.spectral });
    this.plan = planTempBalance(this.modules, this.options);
    if (this.options.spectral && this.options.esd === "live") {
      throw new OptionError(
        "TempBalance: spectral weights are measured by the readback path: set esd to readback",
      );
    }
  }

  /**
   * Measures every layer on the model's current weights and computes its rate.
   * @param lr The untuned rate.
   * @param key When given and equal to the last call's key, the weights are known unchanged (e.g.
   *   the optimizer's step count) and the last measurement is reused.
   * @returns Every layer's metric and rate (also kept as {@link TempBalance.lastLayers}).
   */
  async measure(lr: number, key?: number): Promise<TbLayerRate[]> {
    const measured = await this.layerMetrics(key);
    const metrics = measured.map((m) => m[this.options.metric]);
    const rates = layerRates(this.plan, metrics, lr, this.options, this.#warn);
    this.#lr = lr;
    this.lastLayers = this.plan.layers.map((l, i) => ({
      name: l.weight,
      metric: metrics[i] !== null && Number.isFinite(metrics[i]) ? metrics[i] : null,
      ...measured[i],
      num_evals: l.numEvals,
      tuned: l.tuned,
      lr: rates[i],
    }));
    return this.lastLayers;
  }

  /**
   * alpha, spectral norm and alphahat of every plan layer on the model's current weights.
   * @param key When given and equal to the last call's key, the weights are known unchanged (e.g.
   *   the optimizer's step count) and the last measurement is returned without a new ESD.
   * @returns One entry per plan layer.
   */
  async layerMetrics(
    key?: number,
  ): Promise<{ alpha: number | null; spectral_norm: number | null; alphahat: number | null }[]> {
    let measured = key !== undefined && this.#measured?.key === key ? this.#measured.values : null;
    if (!measured && this.#live()) {
      const params = this.plan.layers.map((l) => this.#model.arena.get(l.weight)!);
      const live = await liveLayerMetrics(
        this.#model.gpu,
        params.map((p) => p.value),
        this.options as {
          convNorm: number;
          fit: "median" | "mid";
          xminPos: number;
        },
      );
      live.forEach((m, i) => {
        if (!m.converged) {
          this.#warn(`TempBalance: the eigenvalue solver did not converge on "${params[i].name}"`);
        }
      });
      measured = live.map(({ alpha, spectral_norm, alphahat }) => ({ alpha, spectral_norm, alphahat }));
      this.#measured = key === undefined ? null : { key, values: measured };
    }
    if (!measured) {
      const params = this.plan.layers.map((l) => this.#model.arena.get(l.weight)!);
      measured = await measureLayers(await readWeights(this.#model, params), this.options);
      this.#measured = key === undefined ? null : { key, values: measured };
    }
    return measured;
  }

  /**
   * Measures the model and returns the optimizer's parameter groups: one per tuned layer and per
   * BatchNorm tied to one, at their rates, then every other parameter at `lr`.
   * @param lr The untuned (initial) rate.
   * @returns Groups for {@link SGD}.
   */
  async buildParamGroups(lr: number): Promise<ParamGroupSpec[]> {
    await this.measure(lr);
    return this.groupSpecs(lr);
  }

  /**
   * The groups' structure with the last measured rates (or `lr` everywhere before any
   * measurement), without measuring.
   * @param lr The untuned rate.
   * @returns Groups for {@link SGD}.
   */
  groupSpecs(lr: number): ParamGroupSpec[] {
    const rate = this.#rateByModule(lr);
    return this.plan.groups.map((g) => ({
      params: g.params.map((n) => this.#model.arena.get(n)!),
      lr: g.layer === null ? lr : rate.get(g.layer) ?? lr,
    }));
  }

  /**
   * One TempBalance step: measures every layer and sets each group's rate; `untunedLr` is the
   * epoch's globally scheduled rate (e.g. cosine annealing's).
   * @param optimizer An optimizer built from {@link TempBalance.buildParamGroups} or
   *   {@link TempBalance.groupSpecs}.
   * @param untunedLr The untuned rate.
   * @throws {OptionError} When the optimizer's groups are not this plan's.
   */
  async step(optimizer: Optimizer, untunedLr: number): Promise<void> {
    const groups = optimizer.paramGroups;
    if (
      groups.length !== this.plan.groups.length ||
      groups.some((g, i) => g.params.length !== this.plan.groups[i].params.length)
    ) {
      throw new OptionError(
        `TempBalance.step: the optimizer has ${groups.length} groups, not the plan's ${this.plan.groups.length}: build it from buildParamGroups()`,
      );
    }
    await this.measure(untunedLr, optimizer.steps);
    const rate = this.#rateByModule(untunedLr);
    this.plan.groups.forEach((g, i) => groups[i].lr = g.layer === null ? untunedLr : rate.get(g.layer)!);
  }

  /**
   * The scheduler's state, as PyTorch schedulers' `state_dict()`: the last untuned rate and every
   * layer's last measurement and rate (the rates themselves are recomputed from the weights at each
   * step, so a resumed run needs none of it; it is kept for inspection and logs).
   * @returns A JSON-serialisable object.
   */
  stateDict(): { lr: number; layers: TbLayerRate[] } {
    return { lr: this.#lr, layers: this.lastLayers.map((l) => ({ ...l })) };
  }

  /**
   * Restores {@link TempBalance.stateDict}.
   * @param state The saved state.
   * @throws {OptionError} When its layers are not this plan's.
   */
  loadStateDict(state: { lr: number; layers: TbLayerRate[] }): void {
    const names = this.plan.layers.map((l) => l.weight);
    if (state.layers.length && state.layers.map((l) => l.name).join() !== names.join()) {
      throw new OptionError(
        `TempBalance.loadStateDict: the saved layers are not this model's (${names.length} layers)`,
      );
    }
    this.#lr = state.lr;
    this.lastLayers = state.layers.map((l) => ({ ...l }));
  }

  /** Each group's rate after the last step (the untuned group last). */
  getLastLr(): number[] {
    const lr = this.#lr;
    const rate = this.#rateByModule(lr);
    return this.plan.groups.map((g) => (g.layer === null ? lr : rate.get(g.layer) ?? lr));
  }

  /** Whether this scheduler measures on the live weights (see {@link TempBalanceOptions.esd}). */
  #live(): boolean {
    const o = this.options;
    if (o.esd !== "auto") return o.esd === "live";
    // The live path reads Linear and Conv2d weights as stored: Fourier layers and Conv1d go by readback.
    const plain = !o.spectral &&
      this.plan.layers.every((l) => this.#model.arena.get(l.weight)!.value.shape.length !== 3);
    return !this.#model.gpu.isSoftware && liveUnsupported(o) === null && o.solver !== "cpu" && plain;
  }

  #rateByModule(lr: number): Map<string, number> {
    const m = new Map<string, number>();
    this.plan.layers.forEach((l, i) => m.set(l.module, this.lastLayers[i]?.lr ?? lr));
    return m;
  }
}
