/**
 * The training methods `deno task train --method` offers — TempBalance, its baselines and its
 * variants — with every hyper-parameter as a named option carrying the reference's default:
 * - `cal`: SGD + cosine annealing (the reference's baseline);
 * - `tb`: TempBalance over SGD (`tb-*` options: the scheduler's);
 * - `snr`, `tb-snr`: SGD with spectral-norm regularisation (`sg`), alone or with TempBalance
 *   (the reference's TB+SNR runs use rate ratios [0.6, 1.4]);
 * - `sgdr`: SGD with warm restarts (`sgdr-t0`, `sgdr-t-mult`) instead of cosine annealing;
 * - `lars`, `lamb`: the reference's LARS (no momentum) and LAMB;
 * - `lookahead`: Lookahead(k, α) around SGD;
 * - `sgdp`, `tb-sgdp`: SGDP, alone or with TempBalance;
 * - `tb-sigmoid`: Model Balancing's block-wise sigmoid map (`mb-*`), ESD every
 *   min(`mb-interval`, steps per epoch / 10) steps;
 * - `tb-farms`: TempBalance fed FARMS alphas (`farms-q`), rate ratios [0.1, 1.9].
 * Defaults come from the reference code (TempBalance `main_tb.py` and configs, ModelBalancing's
 * training arguments, FARMS' configs).
 * @module
 */
import { OptionError } from "../util/errors.ts";

/** The methods. */
export const METHODS = [
  "cal",
  "tb",
  "snr",
  "tb-snr",
  "sgdr",
  "lars",
  "lamb",
  "lookahead",
  "sgdp",
  "tb-sgdp",
  "tb-sigmoid",
  "tb-farms",
] as const;

/** A method's name. */
export type MethodName = typeof METHODS[number];

/** Methods that run the TempBalance scheduler. */
export const TB_METHODS: readonly MethodName[] = ["tb", "tb-snr", "tb-sgdp", "tb-farms"];

/** The kind of a method option: a number, an integer, a flag, or one of a list of choices. */
export type MethodParamKind = "number" | "int" | "bool" | readonly string[];

/** One method option: the methods it applies to, its kind, default and help. */
export interface MethodParam {
  /** Methods that take it. */
  methods: readonly MethodName[];
  /** number (≥ min), int (≥ min), bool, or a list of choices. */
  kind: MethodParamKind;
  /** Smallest allowed value (numbers). */
  min?: number;
  /** Default, or defaults per method. */
  default: number | string | boolean | Partial<Record<MethodName, number | string | boolean>>;
  /** One line of help. */
  help: string;
}

const TB_ALL = TB_METHODS;
const TB_FIT: readonly MethodName[] = [...TB_METHODS, "tb-sigmoid"];

/** Every method option, by its flag name (`--sg`, `--tb-lr-min-ratio`, …). */
export const METHOD_PARAMS: Record<string, MethodParam> = {
  "sg": { methods: ["snr", "tb-snr"], kind: "number", min: 0, default: 0.01, help: "SNR strength sg" },
  "snr-iterations": {
    methods: ["snr", "tb-snr"],
    kind: "int",
    min: 1,
    default: 5,
    help: "SNR power iterations",
  },
  "sgdr-t0": { methods: ["sgdr"], kind: "int", min: 1, default: 10, help: "SGDR first cycle (epochs)" },
  "sgdr-t-mult": { methods: ["sgdr"], kind: "int", min: 1, default: 2, help: "SGDR cycle growth" },
  "lars-eeta": { methods: ["lars"], kind: "number", min: 0, default: 1e-3, help: "LARS trust coefficient" },
  "lars-eps": { methods: ["lars"], kind: "number", min: 0, default: 1e-5, help: "LARS epsilon" },
  "lars-momentum": {
    methods: ["lars"],
    kind: "number",
    min: 0,
    default: 0,
    help: "LARS momentum (reference: none)",
  },
  "lamb-beta1": { methods: ["lamb"], kind: "number", min: 0, default: 0.9, help: "LAMB β1" },
  "lamb-beta2": { methods: ["lamb"], kind: "number", min: 0, default: 0.999, help: "LAMB β2" },
  "lamb-eps": { methods: ["lamb"], kind: "number", min: 0, default: 1e-6, help: "LAMB epsilon" },
  "lamb-max-norm": {
    methods: ["lamb"],
    kind: "number",
    min: 0,
    default: 1,
    help: "LAMB global gradient-norm clip",
  },
  "look-k": { methods: ["lookahead"], kind: "int", min: 1, default: 5, help: "Lookahead k" },
  "look-alpha": { methods: ["lookahead"], kind: "number", min: 0, default: 0.8, help: "Lookahead α" },
  "sgdp-delta": { methods: ["sgdp", "tb-sgdp"], kind: "number", min: 0, default: 0.1, help: "SGDP δ" },
  "sgdp-wd-ratio": {
    methods: ["sgdp", "tb-sgdp"],
    kind: "number",
    min: 0,
    default: 0.1,
    help: "SGDP wd ratio",
  },
  "sgdp-eps": { methods: ["sgdp", "tb-sgdp"], kind: "number", min: 0, default: 1e-8, help: "SGDP epsilon" },
  "tb-metric": {
    methods: TB_FIT,
    kind: ["alpha", "spectral_norm", "alphahat"],
    default: "alpha",
    help: "TempBalance metric",
  },
  "tb-fit": {
    methods: TB_FIT,
    kind: ["median", "mid", "gof", "peak"],
    default: "median",
    help: "power-law fit",
  },
  "tb-xmin-pos": { methods: TB_FIT, kind: "number", min: 1, default: 2, help: "xmin index N/xmin-pos" },
  "tb-conv-norm": { methods: TB_FIT, kind: "number", min: 0, default: 0.5, help: "conv slices × sqrt(this)" },
  "tb-filter-zeros": { methods: TB_FIT, kind: "bool", default: false, help: "drop eigenvalues ≤ 1e-5" },
  "tb-solver": { methods: TB_FIT, kind: ["auto", "gpu", "cpu"], default: "auto", help: "eigenvalue solver" },
  "tb-esd": {
    methods: TB_ALL,
    kind: ["auto", "live", "readback"],
    default: "auto",
    help: "ESD on live GPU weights or by readback",
  },
  "tb-assign": {
    methods: TB_ALL,
    kind: ["linear", "sqrt", "log2", "step"],
    default: "linear",
    help: "assign function",
  },
  "tb-lr-min-ratio": {
    methods: TB_ALL,
    kind: "number",
    min: 0,
    default: { tb: 0.5, "tb-snr": 0.6, "tb-sgdp": 0.5, "tb-farms": 0.1 },
    help: "lowest rate × lr",
  },
  "tb-lr-max-ratio": {
    methods: TB_ALL,
    kind: "number",
    min: 0,
    default: { tb: 1.5, "tb-snr": 1.4, "tb-sgdp": 1.5, "tb-farms": 1.9 },
    help: "highest rate × lr",
  },
  "tb-bn": {
    methods: TB_ALL,
    kind: ["name", "order", "none"],
    default: "name",
    help: "BatchNorm tied by name/order",
  },
  "tb-keep-first": { methods: TB_ALL, kind: "bool", default: false, help: "tune the first layer too" },
  "tb-keep-last": { methods: TB_ALL, kind: "bool", default: false, help: "tune the last layer too" },
  "tb-eigs-thresh": {
    methods: TB_ALL,
    kind: "int",
    min: 1,
    default: 50,
    help: "fewer eigenvalues → untuned",
  },
  "mb-tau": {
    methods: ["tb-sigmoid"],
    kind: "number",
    min: 0,
    default: 10,
    help: "Model Balancing τ (exp_temp)",
  },
  "mb-sigmoid-min": { methods: ["tb-sigmoid"], kind: "number", min: 0, default: 2, help: "s below the mean" },
  "mb-sigmoid-max": { methods: ["tb-sigmoid"], kind: "number", min: 0, default: 1, help: "s above the mean" },
  "mb-interval": { methods: ["tb-sigmoid"], kind: "int", min: 1, default: 100, help: "ESD every ≤ N steps" },
  "farms-q": { methods: ["tb-farms"], kind: "number", min: 0, default: 1, help: "FARMS aspect ratio" },
};

/** Resolved options of a method: every applicable option with its value. */
export type MethodOptions = Record<string, number | string | boolean>;

/**
 * Checks a method and its options and fills in the defaults.
 * @param method The method's name.
 * @param given Options by flag name (as strings from the command line, or typed values).
 * @returns Every option that applies to the method, with its value.
 * @throws {OptionError} On an unknown method or option, an option of another method, or a bad value.
 */
export function resolveMethod(
  method: string,
  given: Record<string, string | number | boolean | undefined> = {},
): { method: MethodName; options: MethodOptions } {
  if (!METHODS.includes(method as MethodName)) {
    throw new OptionError(`Unknown method "${method}": expected one of ${METHODS.join(", ")}`);
  }
  const m = method as MethodName;
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    const spec = METHOD_PARAMS[k];
    if (!spec) throw new OptionError(`Unknown method option --${k}`);
    if (!spec.methods.includes(m)) {
      throw new OptionError(
        `Option --${k} applies to --method ${spec.methods.join(", ")}, not to --method ${m}`,
      );
    }
  }
  const options: MethodOptions = {};
  for (const [k, spec] of Object.entries(METHOD_PARAMS)) {
    if (!spec.methods.includes(m)) continue;
    const dflt = typeof spec.default === "object" ? spec.default[m]! : spec.default;
    const raw = given[k];
    options[k] = raw === undefined ? dflt : parseValue(k, spec, raw);
  }
  return { method: m, options };
}

function parseValue(
  flag: string,
  spec: MethodParam,
  raw: string | number | boolean,
): number | string | boolean {
  if (spec.kind === "bool") {
    if (typeof raw === "boolean") return raw;
    if (raw === "true" || raw === "false") return raw === "true";
    throw new OptionError(`Invalid --${flag} "${raw}": expected true or false`);
  }
  if (Array.isArray(spec.kind)) {
    if (!spec.kind.includes(String(raw))) {
      throw new OptionError(`Invalid --${flag} "${raw}": expected one of ${spec.kind.join(", ")}`);
    }
    return String(raw);
  }
  const v = typeof raw === "number" ? raw : Number(raw);
  const int = spec.kind === "int";
  if (
    (typeof raw === "string" && raw.trim() === "") || !Number.isFinite(v) || (int && !Number.isInteger(v)) ||
    v < (spec.min ?? -Infinity)
  ) {
    throw new OptionError(
      `Invalid --${flag} "${raw}": expected ${int ? "an integer" : "a number"} ≥ ${spec.min}`,
    );
  }
  return v;
}
