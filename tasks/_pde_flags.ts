/**
 * The flags of `deno task train-pde`, checked without touching the disk or the GPU, so that
 * `deno task compare --task pde` can check every run of a grid before one starts.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { OPERATOR_TYPES, type OperatorType } from "../models/operators/config.ts";
import { PDE_METHODS, type PdeMethod } from "../train/pde_run.ts";
import { strideOf } from "../train/pde_data.ts";
import { choice, numFlag } from "./_args.ts";

/** The usage text of `deno task train-pde`. */
export const PDE_USAGE = `Usage: deno task train-pde --data FILE.hdf5 --out DIR [options]
       deno task train-pde --resume DIR
Data (PDEBench's layout; the first 10% of samples are the test split):
  --data FILE               Darcy (nu, tensor) or 1D (tensor) HDF5 file
  --subset F                share of the training pool used, every round(1/F)-th sample (default 1)
  --reduced-resolution R    take every R-th grid point (default 1)
  --reduced-resolution-t R  1D: take every R-th frame (default 1)
  --test-samples N          evaluate on the first N test samples (default: all)
Model (PDEBench's constructor arguments):
  --model fno2d|fno1d|unet2d  (default fno2d on Darcy, fno1d on 1D files)
  --modes M                 FNO modes per axis (default 12)
  --width W                 FNO width (default 20)
  --initial-step K          fno1d input frames (default 10)
  --init-features F         unet2d first-level channels (default 32)
Training (PDEBench's Darcy defaults):
  --method adam|tb|tb-sigmoid  rate policy (default adam)
  --epochs N (500)  --batch B (50)  --lr LR (1e-3)  --weight-decay WD (1e-4, L2 as torch.optim.Adam)
  --steps N                 a budget of N optimizer steps instead of --epochs (the epochs follow from
                            the training subset's size; StepLR then halves at every fifth of the run)
  --step-size S (100)  --gamma G (0.5)   StepLR, in epochs
  --eval-every E            evaluate every E epochs and after the last (default 1)
  --seed S (0)
TempBalance (Model Balancing's SciML defaults):
  --lr-min-ratio (0.6)  --lr-max-ratio (1.4)  --eigs-thresh (12)   tb
  --tau (10)  --sigmoid-min (2)  --sigmoid-max (1)                  tb-sigmoid
  --tb-spectral             tb, tb-sigmoid: measure and tune the Fourier layers' complex weights too
                            (one real slice per mode; default: untuned, as Model Balancing)
Output:
  --out DIR                 the run folder (refused if it holds another run)
  --resume DIR              continue a run with its own flags`;

/** The flags of `deno task train-pde` (a parseArgs table). */
export const PDE_FLAGS = {
  data: { type: "string" },
  subset: { type: "string" },
  "reduced-resolution": { type: "string" },
  "reduced-resolution-t": { type: "string" },
  "test-samples": { type: "string" },
  model: { type: "string" },
  modes: { type: "string" },
  width: { type: "string" },
  "initial-step": { type: "string" },
  "init-features": { type: "string" },
  method: { type: "string" },
  epochs: { type: "string" },
  steps: { type: "string" },
  batch: { type: "string" },
  lr: { type: "string" },
  "weight-decay": { type: "string" },
  "step-size": { type: "string" },
  gamma: { type: "string" },
  "eval-every": { type: "string" },
  seed: { type: "string" },
  "lr-min-ratio": { type: "string" },
  "lr-max-ratio": { type: "string" },
  "eigs-thresh": { type: "string" },
  tau: { type: "string" },
  "sigmoid-min": { type: "string" },
  "sigmoid-max": { type: "string" },
  "tb-spectral": { type: "boolean" },
  out: { type: "string" },
  resume: { type: "string" },
  help: { type: "boolean" },
} as const;

/** Parsed flag values. */
export type PdeFlags = Partial<Record<keyof typeof PDE_FLAGS, string | boolean>>;

/** The flags each method alone takes. */
export const PDE_METHOD_FLAGS: Record<string, readonly PdeMethod[]> = {
  "lr-min-ratio": ["tb"],
  "lr-max-ratio": ["tb"],
  "eigs-thresh": ["tb", "tb-sigmoid"],
  tau: ["tb-sigmoid"],
  "sigmoid-min": ["tb-sigmoid"],
  "sigmoid-max": ["tb-sigmoid"],
  "tb-spectral": ["tb", "tb-sigmoid"],
};

/** What the flags say, before the data file is read. */
export interface PdeFlagOptions {
  /** The data file. */
  data: string;
  /** The run folder. */
  out: string;
  /** The rate policy. */
  method: PdeMethod;
  /** The training pool's stride. */
  stride: number;
  /** The model type, when given (else by the data: fno2d on Darcy, fno1d on 1D). */
  model?: OperatorType;
  /** The model's sizes. */
  modes: number;
  /** FNO width. */
  width: number;
  /** fno1d input frames. */
  initialStep: number;
  /** unet2d first-level channels. */
  initFeatures: number;
  /** Reading the data. */
  reducedResolution: number;
  /** 1D frames stride. */
  reducedResolutionT: number;
  /** Test samples evaluated (undefined: all). */
  testSamples?: number;
  /** Training. */
  lr: number;
  /** L2 weight decay. */
  weightDecay: number;
  /** StepLR step in epochs (undefined: 100, or with `steps` a fifth of the run). */
  stepSize?: number;
  /** A budget of optimizer steps instead of `epochs` (undefined: none). */
  steps?: number;
  /** StepLR factor. */
  gamma: number;
  /** Epochs. */
  epochs: number;
  /** Batch size. */
  batch: number;
  /** Seed. */
  seed: number;
  /** Evaluation cadence. */
  evalEvery: number;
  /** TB's linear map. */
  lrMinRatio: number;
  /** TB's linear map. */
  lrMaxRatio: number;
  /** TB's eigenvalue threshold. */
  eigsThresh: number;
  /** tb-sigmoid's τ. */
  tau: number;
  /** tb-sigmoid's lower slope. */
  sigmoidMin: number;
  /** tb-sigmoid's upper slope. */
  sigmoidMax: number;
  /** TB: measure and tune the Fourier layers' complex weights too. */
  spectral: boolean;
}

/**
 * Checks the flags of a run.
 * @param v The parsed flags.
 * @returns The options that do not need the data.
 * @throws {OptionError} A missing `--data`/`--out`, a bad value, a model option of another model, a
 *   method option of another method.
 */
export function parsePdeFlags(v: PdeFlags): PdeFlagOptions {
  const s = (k: keyof typeof PDE_FLAGS) => v[k] as string | undefined;
  if (s("data") === undefined) throw new OptionError(`--data is required\n${PDE_USAGE}`);
  if (s("out") === undefined) throw new OptionError(`--out is required\n${PDE_USAGE}`);
  const method = choice("method", s("method"), PDE_METHODS, "adam", PDE_USAGE) as PdeMethod;
  const stride = strideOf(numFlag("subset", s("subset"), 1, { min: 0, exclusive: true }, PDE_USAGE));
  const model = s("model") === undefined
    ? undefined
    : choice("model", s("model"), OPERATOR_TYPES, "fno2d", PDE_USAGE) as OperatorType;
  for (
    const [flag, only] of [["modes", "fno"], ["width", "fno"], ["initial-step", "fno1d"], [
      "init-features",
      "unet2d",
    ]]
  ) {
    if (model && s(flag as keyof typeof PDE_FLAGS) !== undefined && !model.startsWith(only)) {
      throw new OptionError(
        `--${flag} is an option of ${only === "fno" ? "fno1d/fno2d" : only}, not ${model}`,
      );
    }
  }
  for (const [flag, methods] of Object.entries(PDE_METHOD_FLAGS)) {
    if (s(flag as keyof typeof PDE_FLAGS) !== undefined && !methods.includes(method)) {
      throw new OptionError(`--${flag} is an option of ${methods.join("/")}, not --method ${method}`);
    }
  }
  const int1 = { int: true, min: 1 }, U = PDE_USAGE;
  return {
    data: s("data")!,
    out: s("out")!,
    method,
    stride,
    model,
    modes: numFlag("modes", s("modes"), 12, int1, U),
    width: numFlag("width", s("width"), 20, int1, U),
    initialStep: numFlag("initial-step", s("initial-step"), 10, int1, U),
    initFeatures: numFlag("init-features", s("init-features"), 32, int1, U),
    reducedResolution: numFlag("reduced-resolution", s("reduced-resolution"), 1, int1, U),
    reducedResolutionT: numFlag("reduced-resolution-t", s("reduced-resolution-t"), 1, int1, U),
    testSamples: numFlag("test-samples", s("test-samples"), undefined, int1, U),
    lr: numFlag("lr", s("lr"), 1e-3, { min: 0, exclusive: true }, U),
    weightDecay: numFlag("weight-decay", s("weight-decay"), 1e-4, { min: 0 }, U),
    stepSize: numFlag("step-size", s("step-size"), undefined, int1, U),
    steps: numFlag("steps", s("steps"), undefined, int1, U),
    gamma: numFlag("gamma", s("gamma"), 0.5, { min: 0, exclusive: true }, U),
    epochs: numFlag("epochs", s("epochs"), 500, int1, U),
    batch: numFlag("batch", s("batch"), 50, int1, U),
    seed: numFlag("seed", s("seed"), 0, { int: true, min: 0 }, U),
    evalEvery: numFlag("eval-every", s("eval-every"), 1, int1, U),
    lrMinRatio: numFlag("lr-min-ratio", s("lr-min-ratio"), 0.6, { min: 0 }, U),
    lrMaxRatio: numFlag("lr-max-ratio", s("lr-max-ratio"), 1.4, { min: 0 }, U),
    eigsThresh: numFlag("eigs-thresh", s("eigs-thresh"), 12, { int: true, min: 0 }, U),
    tau: numFlag("tau", s("tau"), 10, { min: 0 }, U),
    sigmoidMin: numFlag("sigmoid-min", s("sigmoid-min"), 2, { min: 0 }, U),
    sigmoidMax: numFlag("sigmoid-max", s("sigmoid-max"), 1, { min: 0 }, U),
    spectral: v["tb-spectral"] === true,
  };
}
