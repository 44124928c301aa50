/**
 * TempBalance's plan: which Conv2d/Linear layers are tuned, which BatchNorms follow them, and the
 * optimizer's parameter groups — all decided from module order and shapes, before any ESD, as the
 * reference decides them (`Tempbalance.__init__` and `build_optimizer_param_group`):
 * 1. layers = every Conv2d/Linear in module order; drop the first (`removeFirstLayer`), then the
 *    last (`removeLastLayer`), then those with fewer than `eigsThresh` eigenvalues
 *    (kh·kw·min(out, in) for a conv, min(out, in) for a linear);
 * 2. BatchNorm tied by `name` — a BN module `b` follows the layer named `b` with every "bn"
 *    replaced by "conv" (on the whole path, so `layer1.0.bn1 → layer1.0.conv1`; the target may be
 *    a Conv2d or a Linear; shortcut BNs such as `downsample.1` stay untied) — or by `order` — a BN
 *    whose previous Conv2d-or-BN module is a Conv2d follows that conv;
 * 3. groups, in module order: one per tuned layer (its weight and bias) and one per BN tied to a
 *    tuned layer; then one group with every other parameter at the untuned rate.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import type { ModuleInfo } from "./tb_modules.ts";

/** One Conv2d/Linear layer in the plan. */
export interface TbLayer {
  /** Module name (`layer1.0.conv1`). */
  module: string;
  /** Its weight's name (`layer1.0.conv1.weight`). */
  weight: string;
  /** `conv` or `linear`. */
  kind: "conv" | "linear";
  /** Eigenvalues its ESD has (kh·kw·min(out, in), or min(out, in)). */
  numEvals: number;
  /** Whether TempBalance sets its rate. */
  tuned: boolean;
  /** Why it is not tuned (`first layer`, `last layer`, `37 eigenvalues < eigsThresh 50`). */
  reason?: string;
  /** BatchNorm (or, with `layernorm`, LayerNorm/RMSNorm) modules that take its rate. */
  batchNorms: string[];
}

/** One optimizer group of the plan. */
export interface TbGroup {
  /** Parameter names. */
  params: string[];
  /** The tuned layer (module name) whose rate the group takes; null for the untuned group. */
  layer: string | null;
}

/** The plan's options (see {@link TempBalanceOptions} for defaults). */
export interface PlanOptions {
  /** Exclude the first Conv2d/Linear (default true). */
  removeFirstLayer?: boolean;
  /** Exclude the last Conv2d/Linear (default true). */
  removeLastLayer?: boolean;
  /** Layers with fewer eigenvalues stay untuned (default 50). */
  eigsThresh?: number;
  /** Tie BatchNorm rates to their layer (default true). */
  batchnorm?: boolean;
  /** How a BatchNorm finds its layer: `name` (default) or `order`. */
  batchnormType?: "name" | "order";
  /**
   * Tie each LayerNorm/RMSNorm to the Linear right before it in module order, counting only
   * Linear and norm modules (the reference LM's `--layernorm True`, its `ln_to_linear`). Default false.
   */
  layernorm?: boolean;
}

/** A plan: layers in module order and the optimizer's groups (the untuned group last). */
export interface TbPlan {
  /** Every Conv2d/Linear layer. */
  layers: TbLayer[];
  /** Groups: tuned layers and their BNs in module order, then the untuned group. */
  groups: TbGroup[];
}

/** Eigenvalues of a layer's TempBalance ESD. */
export function esdSize(shape: number[]): number {
  const [out, inp, kh = 1, kw = 1] = shape;
  return kh * kw * Math.min(out, inp);
}

/**
 * Plans TempBalance for a module list.
 * @param modules The parameter-owning modules in module order.
 * @param options Removals, threshold, BatchNorm tying.
 * @returns The plan.
 * @throws {OptionError} When no layer is left to tune, saying why for each layer.
 */
export function planTempBalance(modules: ModuleInfo[], options: PlanOptions = {}): TbPlan {
  const { removeFirstLayer = true, removeLastLayer = true, eigsThresh = 50 } = options;
  const { batchnorm = true, batchnormType = "name" } = options;
  const layerMods = modules.filter((m) => m.kind === "conv" || m.kind === "linear");
  const layers: TbLayer[] = layerMods.map((m) => ({
    module: m.name,
    weight: m.params.find((p) => p.endsWith(".weight") || p === "weight") ?? m.params[0],
    kind: m.kind as "conv" | "linear",
    numEvals: esdSize(m.weightShape!),
    tuned: true,
    batchNorms: [],
  }));
  if (removeFirstLayer && layers.length) Object.assign(layers[0], { tuned: false, reason: "first layer" });
  const last = layers.length - 1;
  if (removeLastLayer && last >= 0 && layers[last].tuned) {
    Object.assign(layers[last], { tuned: false, reason: "last layer" });
  }
  for (const l of layers) {
    if (l.tuned && l.numEvals < eigsThresh) {
      Object.assign(l, { tuned: false, reason: `${l.numEvals} eigenvalues < eigsThresh ${eigsThresh}` });
    }
  }
  if (!layers.some((l) => l.tuned)) {
    const why = layers.length
      ? layers.map((l) => `${l.module} (${l.reason})`).join(", ")
      : "the model has no Conv2d or Linear layer";
    throw new OptionError(`TempBalance: no layer is left to tune: ${why}`);
  }
  const byModule = new Map(layers.map((l) => [l.module, l]));
  const tiedTo = new Map<string, TbLayer>();
  if (batchnorm) {
    let prev: ModuleInfo | null = null;
    for (const m of modules) {
      if (m.kind === "bn") {
        const target = batchnormType === "name"
          ? byModule.get(m.name.replaceAll("bn", "conv"))
          : prev?.kind === "conv"
          ? byModule.get(prev.name)
          : undefined;
        if (target) {
          tiedTo.set(m.name, target);
          target.batchNorms.push(m.name);
        }
      }
      // `order` looks back over Conv2d and BatchNorm modules only, as the reference's list does.
      if (m.kind === "conv" || m.kind === "bn") prev = m;
    }
  }
  if (options.layernorm) {
    let prev: ModuleInfo | null = null;
    for (const m of modules) {
      if (m.kind === "norm" && prev?.kind === "linear") {
        const target = byModule.get(prev.name);
        if (target) {
          tiedTo.set(m.name, target);
          target.batchNorms.push(m.name);
        }
      }
      if (m.kind === "linear" || m.kind === "norm") prev = m;
    }
  }
  const groups: TbGroup[] = [];
  const untuned: string[] = [];
  for (const m of modules) {
    const own = byModule.get(m.name) ?? tiedTo.get(m.name);
    if (own?.tuned) groups.push({ params: [...m.params], layer: own.module });
    else untuned.push(...m.params);
  }
  groups.push({ params: untuned, layer: null });
  return { layers, groups };
}
