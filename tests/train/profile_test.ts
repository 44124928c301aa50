import { equal, match, ok } from "node:assert/strict";
import { hasTimestamps } from "../../kernels/runtime/gpu_timing.ts";
import { upload } from "../../kernels/runtime/tensor.ts";
import { Model } from "../../models/model.ts";
import { ResNet } from "../../models/resnet.ts";
import { SGD } from "../../optim/sgd.ts";
import { profileStep } from "../../train/profile.ts";
import { trainStep } from "../../train/step.ts";
import { gpu, gpuTest, randArray } from "../_helpers.ts";
import { runTask, taskFile } from "../_task.ts";

gpuTest(
  "profileStep(): every op timed and grouped, conv flops as the layer shapes give them; training goes on after",
  async () => {
    const B = 4, S = 8;
    const model = new Model(gpu, new ResNet([1, 1], [4, 8], { classes: 5, inChannels: 2 }), 3);
    const opt = new SGD(model.arena, [{ params: model.arena.params }], { lr: 0.01, momentum: 0.9 });
    const x = upload(gpu, randArray(B * 2 * S * S, 1), [B, 2, S, S]);
    const labels = upload(gpu, [0, 1, 2, 3], [B], "i32");
    // The forward's useful flops, 2·B·OC·IC·KH·KW·OH·OW, of every convolution that runs as one
    // (1×1 stride-1 ones run as matmul): the stem 2→4 and layer1's two 4→4 at 8×8; layer2's 4→8
    // stride 2 and 8→8 at 4×4, and its 1×1 stride-2 projection 4→8.
    const conv = (ic: number, oc: number, k: number, o: number) => 2 * B * oc * ic * k * k * o * o;
    const convFlops = conv(2, 4, 3, S) + 2 * conv(4, 4, 3, S) + conv(4, 8, 3, S / 2) + conv(8, 8, 3, S / 2) +
      conv(4, 8, 1, S / 2);
    const methods = hasTimestamps(gpu) ? ["timestamp-query", "replay"] as const : ["replay"] as const;
    for (const method of methods) {
      const p = await profileStep(model, opt, x, labels, { steps: 1, method });
      equal(p.method, method);
      ok(p.rows.length > 10, `${p.rows.length} rows`);
      ok(p.rows.every((r) => r.seconds >= 0 && r.count >= 1), method);
      const total = p.rows.reduce((s, r) => s + r.seconds, 0);
      ok(
        Math.abs(total - p.timedSeconds) <= 1e-9 * Math.max(1, total) + 1e-12,
        `${total} vs ${p.timedSeconds}`,
      );
      ok(Math.abs(p.rows.reduce((s, r) => s + r.share, 0) - 1) < 1e-9);
      ok(p.stepSeconds > 0 && p.fmaPeak > 0 && p.copyBandwidth > 0);
      const fwd = p.rows.filter((r) => r.kind === "conv2d fwd");
      const flops = fwd.reduce((s, r) => s + (r.gflops ?? 0) * 1e9 * r.seconds, 0);
      ok(Math.abs(flops - convFlops) <= 1e-6 * convFlops, `conv fwd flops ${flops} vs ${convFlops}`);
      for (
        const kind of [
          "conv2d bwd-data",
          "conv2d bwd-filter",
          "batchnorm fwd stats",
          "sgd update",
          "cross-entropy",
        ]
      ) {
        ok(p.rows.some((r) => r.kind === kind), `${method}: no ${kind} row`);
      }
      ok(p.rows.filter((r) => r.gbps !== null).every((r) => r.ofPeak === r.gbps! / p.copyBandwidth));
    }
    // The GPU is left as it was: a plain step trains on.
    const r = await trainStep(model, opt, x, labels, 0);
    ok(Number.isFinite(r.loss), `loss ${r.loss}`);
    model.release();
    opt.release();
  },
);

gpuTest(
  "deno task profile: --json rows; unknown names and a batch past the adapter's limits exit 1 in one line",
  async () => {
    const ok1 = await runTask(taskFile("profile"), [
      "--json",
      "--steps",
      "1",
      "--batch-size",
      "8",
      "--method",
      "replay",
    ]);
    equal(ok1.code, 0, ok1.err);
    const j = JSON.parse(ok1.out);
    equal(j.model, "small");
    equal(j.method, "replay");
    ok(j.rows.some((r: { kind: string }) => r.kind === "conv2d fwd"));
    const bad = await runTask(taskFile("profile"), ["--model", "resnet99"]);
    equal(bad.code, 1);
    match(bad.err, /^error: Invalid --model "resnet99": expected one of small, resnet18/);
    const big = await runTask(taskFile("profile"), ["--batch-size", "20000", "--steps", "1"]);
    equal(big.code, 1);
    match(big.err, /^error: --batch-size 20000 is too large for this adapter: .*maxStorageBufferBindingSize/);
    equal(big.err.trim().split("\n").length, 1, big.err);
  },
);
