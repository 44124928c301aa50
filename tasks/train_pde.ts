/**
 * `deno task train-pde --data FILE.hdf5 [options]`: trains PDEBench's FNO2d, FNO1d or UNet2d on a
 * PDEBench file (or one `pde-data` wrote) with Adam, TempBalance or Model Balancing's sigmoid map,
 * through the one training loop: run folder, checkpoints, `--resume`, metrics, plots.
 * @module
 */
import { parseArgs } from "node:util";
import { OptionError } from "../util/errors.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { defaultOperatorConfig, type OperatorType } from "../models/operators/config.ts";
import { fit } from "../train/loop.ts";
import { createPdeRun, type PdeEpochMetrics } from "../train/pde_run.ts";
import { readPdeSplits } from "../train/pde_data.ts";
import { PDE_MODEL_DIR } from "../train/pde_task.ts";
import { NonFiniteLossError } from "../train/step.ts";
import { RUN_FILES } from "../train/run_files.ts";
import { parsed, resumeFlags } from "./_args.ts";
import { parsePdeFlags, PDE_FLAGS, PDE_USAGE as USAGE, type PdeFlags } from "./_pde_flags.ts";
import { runMain } from "../cli/main.ts";

await runMain(async () => {
  const { values } = parsed(() => parseArgs({ options: PDE_FLAGS, allowPositionals: false }), USAGE);
  if (values.help) return console.log(USAGE);
  const resuming = values.resume !== undefined;
  const v: PdeFlags = await resumeFlags<PdeFlags>(values, "train-pde");
  const s = (k: keyof typeof PDE_FLAGS) => v[k] as string | undefined;
  const o = parsePdeFlags(v);
  const { data, out, method, stride } = o;
  const splits = await readPdeSplits(data, {
    stride,
    reducedResolution: o.reducedResolution,
    reducedResolutionT: o.reducedResolutionT,
    testSamples: o.testSamples,
  });
  const type: OperatorType = o.model ?? (splits.train.kind === "1d" ? "fno1d" : "fno2d");
  for (
    const [flag, only] of [["modes", "fno"], ["width", "fno"], ["initial-step", "fno1d"], [
      "init-features",
      "unet2d",
    ]]
  ) {
    if (s(flag as keyof typeof PDE_FLAGS) !== undefined && !type.startsWith(only)) {
      throw new OptionError(
        `--${flag} is an option of ${only === "fno" ? "fno1d/fno2d" : only}, not ${type}`,
      );
    }
  }
  const config = defaultOperatorConfig(type);
  if (config.model_type === "fno2d") {
    Object.assign(config, { modes1: o.modes, modes2: o.modes, width: o.width });
  }
  if (config.model_type === "fno1d") {
    Object.assign(config, { modes: o.modes, width: o.width, initial_step: o.initialStep });
  }
  if (config.model_type === "unet2d") config.init_features = o.initFeatures;
  const gpu = await getGpu();
  const run = createPdeRun(
    gpu,
    { ...o, config, splits, settings: { stride, subset: s("subset") ?? "1" } },
    (m) => console.log(m),
  );
  const flags = Object.fromEntries(Object.entries(v).filter(([k, x]) => x !== undefined && k !== "resume"));
  const t = splits.train, grid = t.kind === "darcy" ? `${t.nx}×${t.ny}` : `${t.nx} points × ${t.nt} frames`;
  const r = await fit<PdeEpochMetrics>({
    ...run.loop,
    out,
    resume: resuming,
    evalEvery: o.evalEvery,
    startFiles: { "run.json": JSON.stringify({ flags: { ...flags, out: undefined } }, null, 2) + "\n" },
    onStart: (epoch) => {
      if (resuming) console.log(`resuming after epoch ${epoch}`);
      console.log(
        `${type} (${
          run.parameters.toLocaleString("en-US")
        } parameters) on ${data}: ${t.count} training samples (every ${stride}th of ${splits.pool}), ${splits.test.count} test, ${grid}; method ${method}, lr ${o.lr}, batch ${o.batch}, ${run.epochs} epochs${
          o.steps ? ` (${o.steps} steps)` : ""
        }, ${gpu.description} → ${out}`,
      );
    },
    onEpoch: (m) => {
      const lr = m.lr, lo = Math.min(...lr), hi = Math.max(...lr);
      console.log(
        `epoch ${m.epoch}/${run.epochs}  train mse ${m.train_loss.toExponential(3)}${
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
