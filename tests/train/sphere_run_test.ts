import { deepEqual, equal, ok } from "node:assert/strict";
import { getGpu } from "../../kernels/runtime/runtime.ts";
import { loadWeights } from "../../io/load.ts";
import { createRun, type TrainConfig } from "../../train/run.ts";
import { fit } from "../../train/loop.ts";
import type { EpochMetrics } from "../../train/metrics.ts";
import { RUN_FILES } from "../../train/run_files.ts";
import { toySplits } from "./_toy.ts";
import { gpuTest } from "../_helpers.ts";

const CONFIG: TrainConfig = {
  model: "convnet-si",
  dataset: "toy",
  epochs: 3,
  batchSize: 16,
  lr: 0.1,
  weightDecay: 0,
  momentum: 0,
  width: 0.125, // c = 4
  seed: 2,
  schedule: "constant",
  augment: false,
  sphere: { elr: 1e-2 },
};

async function train(out: string, epochs: number, resume = false, config = CONFIG) {
  const data = toySplits();
  const run = createRun(await getGpu(), config, data);
  const r = await fit<EpochMetrics>({ ...run.loop, epochs, out, resume });
  run.model.release();
  run.optimizer.release();
  return r;
}

gpuTest(
  "a ConvNetSI run on the sphere: ELR in force as asked, ‖w_SI‖ constant, frozen last layer, gradient metrics logged, resume bit for bit",
  async () => {
    const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
    const straight = await train(a, 2);
    for (const m of straight.history) {
      ok(Math.abs(m.elr! - 1e-2) <= 1e-6, `ELR ${m.elr}`);
      ok(
        m.si_grad_norm! > 0 &&
          Math.abs(m.eff_grad_norm! - m.si_grad_norm! * m.si_norm!) <= 1e-3 * m.eff_grad_norm!,
      );
    }
    equal(straight.history[0].si_norm!.toFixed(5), straight.history[1].si_norm!.toFixed(5));
    deepEqual(straight.history[0].lr, [straight.history[0].lr[0], 0]); // SI group, frozen rest
    await train(b, 1);
    const resumed = await train(b, 2, true);
    deepEqual(
      resumed.history.map((m) => [m.train_loss, m.eff_grad_norm]),
      straight.history.map((m) => [m.train_loss, m.eff_grad_norm]),
    );
    const A = new Map((await loadWeights(`${a}/${RUN_FILES.model}`)).map((t) => [t.name, t.values()]));
    const B = new Map((await loadWeights(`${b}/${RUN_FILES.model}`)).map((t) => [t.name, t.values()]));
    for (const [n, v] of A) ok(v.every((x, i) => x === B.get(n)![i]), `${n} differs after resume`);
    // The last layer did not move from its norm-10 start.
    const w = A.get("linear_layers.2.weight")!;
    ok(Math.abs(Math.hypot(...w) - 10) < 1e-4, `last layer norm ${Math.hypot(...w)}`);
    const csv = (await Deno.readTextFile(`${a}/${RUN_FILES.metricsCsv}`)).split("\n")[0];
    ok(csv.endsWith("si_norm,si_grad_norm,eff_grad_norm,elr"), csv);
  },
);

gpuTest("the sphere refuses a layer-wise method", async () => {
  const gpu = await getGpu();
  let msg = "";
  try {
    createRun(gpu, { ...CONFIG, method: "tb" }, toySplits());
  } catch (e) {
    msg = (e as Error).message;
  }
  ok(/uses its own optimizer: not --method tb/.test(msg), msg);
});
