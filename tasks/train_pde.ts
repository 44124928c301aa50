/**
 * `deno task train-pde --data FILE.hdf5 [options]`: trains PDEBench's FNO2d, FNO1d or UNet2d on a
 * PDEBench file (or one `pde-data` wrote) with Adam, TempBalance or Model Balancing's sigmoid map,
 * through the one training loop: run folder, checkpoints, `--resume`, metrics, plots.
 * @module
 */
import { parseArgs } from "node:util";
import { OptionError } from "../util/errors.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { defaultOperatorConfig, OPERATOR_TYPES, type OperatorType } from "../models/operators/config.ts";
import { fit } from "../train/loop.ts";
import { createPdeRun, PDE_METHODS, type PdeEpochMetrics, type PdeMethod } from "../train/pde_run.ts";
import { readPdeSplits, strideOf } from "../train/pde_data.ts";
import { PDE_MODEL_DIR } from "../train/pde_task.ts";
import { NonFiniteLossError } from "../train/step.ts";
import { RUN_FILES } from "../train/run_files.ts";
import { choice, numFlag, parsed } from "./_args.ts";
import { runMain } from "../cli/main.ts";

const USAGE = `Usage: deno task train-pde --data FILE.hdf5 --out DIR [options]
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
  --step-size S (100)  --gamma G (0.5)   StepLR
  --eval-every E            evaluate every E epochs and after the last (default 1)
  --seed S (0)
TempBalance (Model Balancing's SciML defaults):
  --lr-min-ratio (0.6)  --lr-max-ratio (1.4)  --eigs-thresh (12)   tb
  --tau (10)  --sigmoid-min (2)  --sigmoid-max (1)                  tb-sigmoid
Output:
  --out DIR                 the run folder (refused if it holds another run)
  --resume DIR              continue a run with its own flags`;

const FLAGS = {
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
  out: { type: "string" },
  resume: { type: "string" },
  help: { type: "boolean" },
} as const;

type Flags = Partial<Record<keyof typeof FLAGS, string | boolean>>;

await runMain(async () => {
  const { values } = parsed(() => parseArgs({ options: FLAGS, allowPositionals: false }), USAGE);
  if (values.help) return console.log(USAGE);
  let v: Flags = values;
  const resuming = v.resume !== undefined;
  if (resuming) {
    const others = Object.keys(v).filter((k) => v[k as keyof Flags] !== undefined && k !== "resume");
    if (others.length) {
      throw new OptionError(
        `--resume continues the saved run with its own flags: --${others[0]} cannot be changed`,
      );
    }
    try {
      v = { ...JSON.parse(await Deno.readTextFile(`${v.resume}/run.json`)).flags, out: v.resume };
    } catch {
      throw new OptionError(`--resume ${v.resume}: no run.json there: not a train-pde run folder`);
    }
  }
  const s = (k: keyof typeof FLAGS) => v[k] as string | undefined;
  if (s("data") === undefined) throw new OptionError(`--data is required\n${USAGE}`);
  if (s("out") === undefined) throw new OptionError(`--out is required\n${USAGE}`);
  const data = s("data")!, out = s("out")!;
  const method = choice("method", s("method"), PDE_METHODS, "adam", USAGE) as PdeMethod;
  const int1 = { int: true, min: 1 };
  const stride = strideOf(numFlag("subset", s("subset"), 1, { min: 0, exclusive: true }, USAGE));
  const splits = await readPdeSplits(data, {
    stride,
    reducedResolution: numFlag("reduced-resolution", s("reduced-resolution"), 1, int1, USAGE),
    reducedResolutionT: numFlag("reduced-resolution-t", s("reduced-resolution-t"), 1, int1, USAGE),
    testSamples: numFlag("test-samples", s("test-samples"), undefined, int1, USAGE),
  });
  const type = choice(
    "model",
    s("model"),
    OPERATOR_TYPES,
    splits.train.kind === "1d" ? "fno1d" : "fno2d",
    USAGE,
  ) as OperatorType;
  const config = defaultOperatorConfig(type);
  const modes = numFlag("modes", s("modes"), 12, int1, USAGE),
    width = numFlag("width", s("width"), 20, int1, USAGE);
  if (config.model_type === "fno2d") Object.assign(config, { modes1: modes, modes2: modes, width });
  if (config.model_type === "fno1d") {
    Object.assign(config, {
      modes,
      width,
      initial_step: numFlag("initial-step", s("initial-step"), 10, int1, USAGE),
    });
  }
  if (config.model_type === "unet2d") {
    config.init_features = numFlag("init-features", s("init-features"), 32, int1, USAGE);
  }
  for (
    const [flag, only] of [["modes", "fno"], ["width", "fno"], ["initial-step", "fno1d"], [
      "init-features",
      "unet2d",
    ]]
  ) {
    if (s(flag as keyof typeof FLAGS) !== undefined && !type.startsWith(only)) {
      throw new OptionError(
        `--${flag} is an option of ${only === "fno" ? "fno1d/fno2d" : only}, not ${type}`,
      );
    }
  }
  const epochs = numFlag("epochs", s("epochs"), 500, int1, USAGE);
  const gpu = await getGpu();
  const run = createPdeRun(gpu, {
    config,
    splits,
    data,
    method,
    lr: numFlag("lr", s("lr"), 1e-3, { min: 0, exclusive: true }, USAGE),
    weightDecay: numFlag("weight-decay", s("weight-decay"), 1e-4, { min: 0 }, USAGE),
    stepSize: numFlag("step-size", s("step-size"), 100, int1, USAGE),
    gamma: numFlag("gamma", s("gamma"), 0.5, { min: 0, exclusive: true }, USAGE),
    epochs,
    batch: numFlag("batch", s("batch"), 50, int1, USAGE),
    seed: numFlag("seed", s("seed"), 0, { int: true, min: 0 }, USAGE),
    lrMinRatio: numFlag("lr-min-ratio", s("lr-min-ratio"), 0.6, { min: 0 }, USAGE),
    lrMaxRatio: numFlag("lr-max-ratio", s("lr-max-ratio"), 1.4, { min: 0 }, USAGE),
    eigsThresh: numFlag("eigs-thresh", s("eigs-thresh"), 12, { int: true, min: 0 }, USAGE),
    tau: numFlag("tau", s("tau"), 10, { min: 0 }, USAGE),
    sigmoidMin: numFlag("sigmoid-min", s("sigmoid-min"), 2, { min: 0 }, USAGE),
    sigmoidMax: numFlag("sigmoid-max", s("sigmoid-max"), 1, { min: 0 }, USAGE),
    settings: { stride, subset: s("subset") ?? "1" },
  }, (m) => console.log(m));
  const flags = Object.fromEntries(Object.entries(v).filter(([k, x]) => x !== undefined && k !== "resume"));
  const evalEvery = numFlag("eval-every", s("eval-every"), 1, int1, USAGE);
  const t = splits.train, grid = t.kind === "darcy" ? `${t.nx}×${t.ny}` : `${t.nx} points × ${t.nt} frames`;
  const r = await fit<PdeEpochMetrics>({
    ...run.loop,
    out,
    resume: resuming,
    evalEvery,
    startFiles: { "run.json": JSON.stringify({ flags: { ...flags, out: undefined } }, null, 2) + "\n" },
    onStart: (epoch) => {
      if (resuming) console.log(`resuming after epoch ${epoch}`);
      console.log(
        `${type} (${
          run.parameters.toLocaleString("en-US")
        } parameters) on ${data}: ${t.count} training samples (every ${stride}th of ${splits.pool}), ${splits.test.count} test, ${grid}; method ${method}, lr ${
          s("lr") ?? 1e-3
        }, batch ${s("batch") ?? 50}, ${epochs} epochs, ${gpu.description} → ${out}`,
      );
    },
    onEpoch: (m) => {
      const lr = m.lr, lo = Math.min(...lr), hi = Math.max(...lr);
      console.log(
        `epoch ${m.epoch}/${epochs}  train mse ${m.train_loss.toExponential(3)}${
          m.test_nrmse !== null ? `  test nRMSE ${m.test_nrmse.toExponential(3)}` : ""
        }  lr ${lo === hi ? lo.toExponential(2) : `${lo.toExponential(2)}–${hi.toExponential(2)}`}  ${
          m.seconds.toFixed(1)
        } s${m.esd_seconds ? `  ESD ${m.esd_seconds.toFixed(1)} s` : ""}`,
      );
    },
  }).catch((e) => {
    if (e instanceof NonFiniteLossError) {
      throw new NonFiniteLossError(
        e.step,
        e.loss,
        `lower --lr; resume the last good epoch with --resume ${out}`,
      );
    }
    throw e;
  });
  run.optimizer.release();
  run.model.release();
  const last = r.history.at(-1);
  if (last) {
    console.log(
      `done: test nRMSE ${
        last.test_nrmse?.toExponential(4)
      }; model folder ${out}/${PDE_MODEL_DIR}, metrics ${out}/${RUN_FILES.metricsCsv}`,
    );
  }
});
