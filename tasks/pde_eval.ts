/**
 * `deno task pde-eval MODEL_DIR --data FILE.hdf5 [--samples N] [--reduced-resolution R] [--json]`:
 * PDEBench's nRMSE of a model folder on the first N samples of a PDEBench file, fed as PDEBench's
 * `FNODatasetSingle` and `train.py` feed it (Darcy: ν, plus the grid for the FNO, against `tensor`;
 * 1D: an autoregressive rollout from the first `initial_step` frames, scored on every later frame).
 * @module
 */
import { parseArgs } from "node:util";
import { OptionError } from "../util/errors.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { loadOperatorFolder } from "../models/operators/folder.ts";
import { pdeFileInfo, readPdeSamples } from "../data/pde/pdebench.ts";
import { checkModelFits } from "../train/pde_data.ts";
import { evaluatePde } from "../train/pde_task.ts";
import { numFlag, parsed } from "./_args.ts";
import { runMain } from "../cli/main.ts";

const USAGE =
  `Usage: deno task pde-eval MODEL_DIR --data FILE.hdf5 [--samples N] [--reduced-resolution R] [--json]
  MODEL_DIR                  config.json (PDEBench's constructor names) + model.safetensors
  --data FILE                a PDEBench HDF5 file (Darcy: nu, tensor; 1D: tensor)
  --samples N                the first N samples (default: all)
  --reduced-resolution R     take every R-th grid point, as PDEBench (default 1)
  --reduced-resolution-t R   1D: take every R-th frame (default 1)
  --batch B                  samples per forward pass (default 100)
  --json                     print {"samples": N, "nrmse": x}`;

await runMain(async () => {
  const { values, positionals } = parsed(() =>
    parseArgs({
      options: {
        data: { type: "string" },
        samples: { type: "string" },
        "reduced-resolution": { type: "string" },
        "reduced-resolution-t": { type: "string" },
        batch: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean" },
      },
      allowPositionals: true,
    }), USAGE);
  if (values.help) return console.log(USAGE);
  if (positionals.length !== 1) {
    throw new OptionError(`Expected one model folder, got ${positionals.length}\n${USAGE}`);
  }
  if (values.data === undefined) throw new OptionError(`--data is required\n${USAGE}`);
  const dir = positionals[0], data = values.data;
  const int1 = { int: true, min: 1 };
  const r = numFlag("reduced-resolution", values["reduced-resolution"], 1, int1, USAGE);
  const rt = numFlag("reduced-resolution-t", values["reduced-resolution-t"], 1, int1, USAGE);
  const batch = numFlag("batch", values.batch, 100, int1, USAGE);
  const info = await pdeFileInfo(data);
  const n = numFlag("samples", values.samples, info.samples, int1, USAGE);
  if (n > info.samples) throw new OptionError(`--samples ${n}: ${data} holds ${info.samples} samples`);
  const gpu = await getGpu();
  const { model, config } = await loadOperatorFolder(gpu, dir);
  const s = await readPdeSamples(data, { stop: n, reducedResolution: r, reducedResolutionT: rt });
  checkModelFits(config, s, data);
  const e = await evaluatePde(model, config, s, batch);
  model.release();
  if (values.json) console.log(JSON.stringify({ samples: e.samples, nrmse: e.nrmse }));
  else {
    console.log(
      `${config.model_type} from ${dir} on ${data} (${e.samples} samples): nRMSE ${
        e.nrmse.toExponential(4)
      }, RMSE ${e.rmse.toExponential(4)}, MSE ${e.mse.toExponential(4)}`,
    );
  }
});
