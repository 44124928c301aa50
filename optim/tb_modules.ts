/**
 * The module list TempBalance works on: every module that owns parameters, in module order
 * (PyTorch's `named_modules()`), with its kind. Module order decides which layers are "first" and
 * "last" and which BatchNorm follows which conv, so it must be the network's, never names sorted.
 * - From a {@link Model} of ours: its module tree, depth-first.
 * - From a state-dict file: a safetensors `__metadata__.module_order` (a JSON array of module
 *   names, stored as a string) when present; otherwise the order the tensors are stored in
 *   (safetensors by data offset, npz by member order). A module's kind is read from its tensors:
 *   `running_mean`/`running_var` → BatchNorm; a rank-4 `weight` → Conv2d; rank 2 → Linear.
 * @module
 */
import { WeightFileError, type WeightTensor } from "../io/tensor.ts";
import { BatchNorm2d, Conv2d, Linear } from "../models/layers.ts";
import { type Model, MODULE_ORDER_KEY } from "../models/model.ts";
import { Module } from "../models/module.ts";
import { Conv1D, Norm } from "../models/transformer/layers.ts";
import { PointwiseConv, SpectralConv } from "../models/operators/fno.ts";

/** A module's kind, as TempBalance sees it. */
export type ModuleKind = "conv" | "linear" | "bn" | "norm" | "other";

/** One module: its qualified name, kind and parameters. */
export interface ModuleInfo {
  /** Qualified name (`layer1.0.conv1`). */
  name: string;
  /** Conv2d, Linear (GPT-2's Conv1D too), BatchNorm, LayerNorm/RMSNorm, or anything else. */
  kind: ModuleKind;
  /** Its trainable tensors' full names (`layer1.0.conv1.weight`), in declaration order. */
  params: string[];
  /** The weight's shape (Conv2d/Linear). */
  weightShape?: number[];
}

/** Buffers that are not trained (no learning rate). */
export const BUFFER_SUFFIXES = ["running_mean", "running_var", "num_batches_tracked"] as const;

/**
 * The parameter-owning modules of a model of ours (or of a module tree), in module order.
 * @param model The model, or the root of a module tree (no GPU needed).
 * @param o `spectral`: an FNO's Fourier layers are layers too, measured by {@link spectralSlices}
 *   (otherwise they own parameters but are not measured).
 * @returns The modules.
 */
export function modulesOfModel(model: Model | Module, o: { spectral?: boolean } = {}): ModuleInfo[] {
  const all = model instanceof Module ? model.modules("") : model.modules;
  return all.filter((m) => m.paramSpecs().length).map((m) => {
    if (o.spectral && m instanceof SpectralConv) {
      // Measured as a conv of one (2·out × 2·in) real slice per mode (see spectralSlices).
      const modes = m.modes.reduce((a, b) => a * b, 1) * m.paramSpecs().length;
      return {
        name: m.name,
        kind: "conv",
        params: m.paramSpecs().map((s) => m.qualified(s.name)),
        weightShape: [2 * m.outC, 2 * m.inC, 1, modes],
      };
    }
    const kind: ModuleKind = m instanceof Conv2d || m instanceof PointwiseConv
      ? "conv"
      : m instanceof Linear || m instanceof Conv1D
      ? "linear"
      : m instanceof BatchNorm2d
      ? "bn"
      : m instanceof Norm
      ? "norm"
      : "other";
    const specs = m.paramSpecs();
    const w = specs.find((s) => s.name === "weight");
    return {
      name: m.name,
      kind,
      params: specs.map((s) => m.qualified(s.name)),
      // A Conv1d's (out, in, k) counts as the conv (out, in, 1, k) it is measured as.
      weightShape: kind === "conv" || kind === "linear"
        ? (w?.shape.length === 3 ? [w.shape[0], w.shape[1], 1, w.shape[2]] : w?.shape)
        : undefined,
    };
  });
}

function splitName(name: string): [string, string] {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? ["", name] : [name.slice(0, dot), name.slice(dot + 1)];
}

/**
 * The modules of a state dict read from a file, in module order.
 * @param tensors The tensors in storage order (as the readers return them).
 * @param metadata The safetensors `__metadata__` (if any).
 * @param file The file's name, for errors.
 * @returns The modules owning at least one floating tensor that is not a BatchNorm buffer.
 * @throws {WeightFileError} When `module_order` is not a JSON array of strings.
 */
export function modulesOfStateDict(
  tensors: WeightTensor[],
  metadata: Record<string, string> = {},
  file = "<bytes>",
): ModuleInfo[] {
  const byModule = new Map<string, WeightTensor[]>();
  for (const t of tensors) {
    const [mod] = splitName(t.name);
    if (!byModule.has(mod)) byModule.set(mod, []);
    byModule.get(mod)!.push(t);
  }
  let names = [...byModule.keys()];
  const raw = metadata[MODULE_ORDER_KEY];
  if (raw !== undefined) {
    let order: unknown;
    try {
      order = JSON.parse(raw);
    } catch {
      order = null;
    }
    if (!Array.isArray(order) || !order.every((x) => typeof x === "string")) {
      throw new WeightFileError(
        "safetensors",
        file,
        `__metadata__.${MODULE_ORDER_KEY} is ${
          JSON.stringify(raw.slice(0, 80))
        }: expected a JSON array of module names`,
      );
    }
    // Listed modules in the listed order; any others after them, in storage order.
    const rank = new Map(order.map((n, i) => [n, i]));
    names = names.map((n, i) => [n, rank.get(n) ?? order.length + i] as const).sort((a, b) => a[1] - b[1])
      .map(([n]) => n);
  }
  const out: ModuleInfo[] = [];
  for (const name of names) {
    const ts = byModule.get(name)!;
    const local = (t: WeightTensor) => splitName(t.name)[1];
    const params = ts.filter((t) => t.isFloat && !BUFFER_SUFFIXES.includes(local(t) as "running_mean"));
    if (!params.length) continue;
    const w = ts.find((t) => local(t) === "weight");
    const kind: ModuleKind = ts.some((t) => local(t) === "running_mean" || local(t) === "running_var")
      ? "bn"
      : w && w.isFloat && w.shape.length === 4
      ? "conv"
      : w && w.isFloat && w.shape.length === 2
      ? "linear"
      : "other";
    out.push({
      name,
      kind,
      params: params.map((t) => t.name),
      weightShape: kind === "conv" || kind === "linear" ? w!.shape : undefined,
    });
  }
  return out;
}

/**
 * A Fourier layer's complex weights (PyTorch `cfloat` (in, out, modes…), here (…, 2) real pairs) as
 * a conv weight the ESD reads slice by slice: for each kept mode k of `weights1` (then `weights2`),
 * the real embedding [[Re A, −Im A], [Im A, Re A]] of A_k = W_kᵀ (out × in, the map the layer applies
 * to the mode), whose Gram eigenvalues are those of A_kᴴA_k, each twice (a Hill fit at the median is
 * unchanged by the doubling).
 * @param weights The layer's complex weights, each (in, out, modes…, 2) row-major.
 * @param inC Input channels.
 * @param outC Output channels.
 * @returns Values and shape (2·out, 2·in, 1, modes·weights), PyTorch's conv layout.
 */
export function spectralSlices(
  weights: ArrayLike<number>[],
  inC: number,
  outC: number,
): { values: Float64Array; shape: number[] } {
  const modes = weights[0].length / (2 * inC * outC), S = modes * weights.length;
  const values = new Float64Array(4 * outC * inC * S);
  weights.forEach((w, h) => {
    for (let i = 0; i < inC; i++) {
      for (let o = 0; o < outC; o++) {
        for (let k = 0; k < modes; k++) {
          const at = ((i * outC + o) * modes + k) * 2, re = w[at], im = w[at + 1], s = h * modes + k;
          // (row, col, 0, s) of the (2·out, 2·in, 1, S) tensor
          const put = (r: number, c: number, v: number) => values[(r * 2 * inC + c) * S + s] = v;
          put(o, i, re);
          put(o, inC + i, -im);
          put(outC + o, i, im);
          put(outC + o, inC + i, re);
        }
      }
    }
  });
  return { values, shape: [2 * outC, 2 * inC, 1, S] };
}
