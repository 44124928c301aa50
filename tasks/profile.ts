/**
 * `deno task profile`: where a training step's time goes on this GPU — per op kind and shape, its
 * time per step, share, GFLOPS or GB/s, and the fraction of the adapter's FMA peak or copy
 * bandwidth measured in the same run. The batch is synthetic (random pixels and labels shaped as
 * the data set's), so no data files are needed; the model and optimizer are those of
 * `deno task train` (SGD, momentum 0.9, weight decay 5e-4).
 * @module
 */
import { parseArgs } from "node:util";
import { DATASET_NAMES, DATASET_SHAPES, type DatasetName } from "../data/registry.ts";
import { OptionError } from "../util/errors.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { upload } from "../kernels/runtime/tensor.ts";
import { Model } from "../models/model.ts";
import { buildNetwork, MODEL_NAMES, type ModelName } from "../models/zoo.ts";
import { SGD } from "../optim/sgd.ts";
import { formatProfile, profileStep } from "../train/profile.ts";
import { mulberry32 } from "../util/random.ts";
import { runMain } from "../cli/main.ts";
import { choice, numFlag, parsed } from "./_args.ts";

const USAGE = `usage: deno task profile [flags]
  --model NAME        ${MODEL_NAMES.join(" | ")} (default small)
  --dataset NAME      ${DATASET_NAMES.join(" | ")} (default fashion-mnist): the input shape and classes
  --batch-size N      batch size (default 128)
  --width X           channel multiplier (default 1)
  --steps N           profiled steps; per-op times are their medians (default 3)
  --method M          auto | timestamp-query | replay (default auto: timestamps where the adapter has them)
  --json              print the profile as JSON
  --help              this text`;

await runMain(async () => {
  const a = parsed(() =>
    parseArgs({
      options: {
        model: { type: "string" },
        dataset: { type: "string" },
        "batch-size": { type: "string" },
        width: { type: "string" },
        steps: { type: "string" },
        method: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean" },
      },
    }).values, USAGE);
  if (a.help) {
    console.log(USAGE);
    return;
  }
  const model = choice<ModelName>("model", a.model, MODEL_NAMES, "small", USAGE);
  const dataset = choice<DatasetName>("dataset", a.dataset, DATASET_NAMES, "fashion-mnist", USAGE);
  const batch = numFlag("batch-size", a["batch-size"], 128, { int: true, min: 1 }, USAGE);
  const width = numFlag("width", a.width, 1, { min: 0, exclusive: true }, USAGE);
  const steps = numFlag("steps", a.steps, 3, { int: true, min: 1 }, USAGE);
  const method = choice("method", a.method, ["auto", "timestamp-query", "replay"] as const, "auto", USAGE);
  const shape = DATASET_SHAPES[dataset];
  const gpu = await getGpu();
  const net = buildNetwork(model, {
    classes: shape.classes,
    inChannels: shape.channels,
    size: shape.size,
    width,
  });
  const m = new Model(gpu, net, 0);
  const opt = new SGD(m.arena, [{ params: m.arena.params }], { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const r = mulberry32(1);
  const inputShape = [batch, shape.channels, shape.size, shape.size];
  const pixels = Float32Array.from({ length: inputShape.reduce((p, d) => p * d) }, () => r() * 2 - 1);
  const labels = Int32Array.from({ length: batch }, () => Math.floor(r() * shape.classes));
  let profile;
  try {
    const x = upload(gpu, pixels, inputShape, "f32", "input");
    profile = await profileStep(m, opt, x, upload(gpu, labels, [batch], "i32", "labels"), { steps, method });
  } catch (e) {
    // A tensor past the adapter's buffer limit: say which flag to lower.
    if (e instanceof RangeError && /maxStorageBufferBindingSize/.test(e.message)) {
      throw new OptionError(`--batch-size ${batch} is too large for this adapter: ${e.message}`);
    }
    throw e;
  } finally {
    opt.release();
    m.release();
  }
  if (a.json) {
    console.log(
      JSON.stringify({ model, dataset, batchSize: batch, width, device: gpu.description, ...profile }),
    );
    return;
  }
  console.log(formatProfile(
    profile,
    `${model} on ${dataset}-shaped batches of ${batch} (width ${width}), ${gpu.description}`,
  ));
});
