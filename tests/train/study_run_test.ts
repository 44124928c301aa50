// The training side of a study, on the GPU: a step budget, paired seeds across methods, a shard
// killed with kill -9 and resubmitted, and a Slurm job array whose merged report equals the
// one-process report of the same grid.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { readCheckpoint } from "../../train/checkpoint.ts";
import type { EpochMetrics } from "../../train/metrics.ts";
import { toyIdx } from "./_toy.ts";
import { bareEnv, runTask } from "../_task.ts";
import { gpuTest } from "../_helpers.ts";
import { startSlurm } from "./_slurm.ts";

const TRAIN = new URL("../../tasks/train.ts", import.meta.url).pathname;
const COMPARE = new URL("../../tasks/compare.ts", import.meta.url).pathname;

const history = async (dir: string) =>
  (await readCheckpoint(`${dir}/checkpoint.safetensors`)).state.history as unknown as EpochMetrics[];

gpuTest(
  "deno task train --steps: epochs from the data, the last cut at the budget, cosine over the steps, ~10 evaluations",
  async () => {
    const data = await toyIdx(); // 96 training images: 6 batches of 16 per epoch
    const out = await Deno.makeTempDir();
    const r = await runTask(TRAIN, [
      "--data",
      data,
      "--steps",
      "15",
      "--batch-size",
      "16",
      "--lr",
      "0.1",
      "--out",
      out,
    ]);
    equal(r.code, 0, r.err);
    const h = await history(out);
    // 15 steps = 6 + 6 + 3: three epochs, the last cut short.
    deepEqual(h.map((m) => m.steps), [6, 12, 15]);
    const cfg = (await readCheckpoint(`${out}/checkpoint.safetensors`)).state.config;
    deepEqual([cfg.epochs, cfg.steps, cfg.stepwise, cfg.evalEvery], [3, 15, true, 1]);
    // The rate of an epoch's first step: 0.1·(1 + cos(π·step/15))/2.
    for (const [i, s] of [[0, 0], [1, 6], [2, 12]]) {
      ok(
        Math.abs(h[i].lr[0] - 0.05 * (1 + Math.cos(Math.PI * s / 15))) < 1e-9,
        `epoch ${i + 1} rate ${h[i].lr[0]}`,
      );
    }
    // 90 steps on 96 images: 15 epochs, evaluated every floor(15/10) = 1… and with 24 images, 4 steps
    // per epoch: 23 epochs, evaluated every 2nd and after the last.
    const few = await Deno.makeTempDir();
    const f = await runTask(TRAIN, [
      "--data",
      data,
      "--subset",
      "24",
      "--steps",
      "90",
      "--batch-size",
      "8",
      "--out",
      few,
    ]);
    equal(f.code, 0, f.err);
    const hf = await history(few);
    equal(hf.length, 30);
    const evaluated = hf.filter((m) => m.test_acc !== null).map((m) => m.epoch);
    deepEqual(evaluated, [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]);
    match(f.out, /epoch 1\/30 .*\(not evaluated\)/);
    match(f.out, /done: final test accuracy \d+\.\d\d% \(epoch 30\)/);
  },
);

gpuTest(
  "paired seeds: TempBalance with both ratios at 1 trains exactly as cal with the same seed",
  async () => {
    const data = await toyIdx();
    const out = await Deno.makeTempDir();
    const common = ["--data", data, "--steps", "12", "--batch-size", "16", "--seed", "7"];
    const tb = await runTask(TRAIN, [
      ...common,
      "--method",
      "tb",
      "--tb-lr-min-ratio",
      "1",
      "--tb-lr-max-ratio",
      "1",
      "--tb-eigs-thresh",
      "10",
      "--out",
      `${out}/tb`,
    ]);
    equal(tb.code, 0, tb.err);
    const cal = await runTask(TRAIN, [...common, "--out", `${out}/cal`]);
    equal(cal.code, 0, cal.err);
    const strip = (h: EpochMetrics[]) => h.map((m) => [m.train_loss, m.train_acc, m.test_loss, m.test_acc]);
    deepEqual(strip(await history(`${out}/tb`)), strip(await history(`${out}/cal`)));
    // Another seed differs (the comparison is not vacuous).
    const other = await runTask(TRAIN, [...common.slice(0, -1), "8", "--out", `${out}/cal8`]);
    equal(other.code, 0, other.err);
    ok(
      JSON.stringify(strip(await history(`${out}/cal8`))) !==
        JSON.stringify(strip(await history(`${out}/cal`))),
    );
  },
);

/** results.csv / runs.csv / results.md without the wall-time columns, which differ run to run. */
async function reportWithoutTimes(dir: string): Promise<string[]> {
  const csv = async (f: string) => {
    const rows = (await Deno.readTextFile(`${dir}/${f}`)).trim().split("\n").map((l) => l.split(","));
    const keep = rows[0].map((h, i) => (h.startsWith("seconds") ? -1 : i)).filter((i) => i >= 0);
    return rows.map((r) => keep.map((i) => r[i]).join(",")).join("\n");
  };
  const md = (await Deno.readTextFile(`${dir}/results.md`)).split("\n")
    .filter((l) => !l.startsWith("# ")) // the heading names the folder's flags only
    .map((l) => l.replace(/\| [\d.]+ ± [\d.]+ \|$/, "| (time) |"));
  return [await csv("results.csv"), await csv("runs.csv"), md.join("\n")];
}

const GRID = (data: string, out: string) => [
  "--methods",
  "tb,cal",
  "--seeds",
  "1",
  "--grid",
  "subset=48,96",
  "--data",
  data,
  "--steps",
  "30",
  "--batch-size",
  "16",
  "--tb-eigs-thresh",
  "10",
  "--out",
  out,
];

gpuTest(
  "a shard killed with kill -9 resumes when resubmitted; a Slurm job array's report equals the one-process report",
  async () => {
    const data = await toyIdx();
    const one = await Deno.makeTempDir();
    // One process, killed (with its train child) in the middle of the first run, then run again.
    const child = new Deno.Command("setsid", {
      args: [Deno.execPath(), "run", "-A", COMPARE, ...GRID(data, one)],
      env: bareEnv(),
      clearEnv: true,
      stdout: "null",
      stderr: "null",
    }).spawn();
    const first = `${one}/tb/subset=48/seed1`;
    let killedAt = 0;
    for (let i = 0; i < 1200 && !killedAt; i++) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        const epoch = (await readCheckpoint(`${first}/checkpoint.safetensors`)).state.epoch;
        if (epoch >= 2) {
          Deno.kill(-child.pid, "SIGKILL"); // setsid made it a group leader: the train child dies too
          killedAt = epoch;
        }
      } catch { /* no checkpoint yet, or one being renamed into place */ }
    }
    await child.status;
    ok(killedAt >= 2, "the first run wrote a checkpoint before the kill");
    const left = (await readCheckpoint(`${first}/checkpoint.safetensors`)).state.epoch;
    ok(left < 10, `the kill landed mid-run (epoch ${left} of 10)`);
    const again = await runTask(COMPARE, GRID(data, one));
    equal(again.code, 0, again.err);
    match(again.out, new RegExp(`== tb subset=48 seed 1: resuming after epoch ${left}`));
    // The resumed run has every epoch once.
    deepEqual((await history(first)).map((m) => m.epoch), [...Array(10).keys()].map((i) => i + 1));

    const slurm = await startSlurm();
    if (typeof slurm === "string") {
      console.warn(`Slurm part skipped: ${slurm}`);
      return;
    }
    try {
      const arr = await Deno.makeTempDir();
      await Deno.chmod(arr, 0o755);
      const script = `${arr}/job.sh`;
      const quoted = GRID(data, `${arr}/study`).map((a) => `'${a}'`).join(" ");
      await Deno.writeTextFile(
        script,
        `#!/bin/bash\nexec '${Deno.execPath()}' run -A '${COMPARE}' ${quoted}\n`,
      );
      const t0 = performance.now();
      const sb = await new Deno.Command("sbatch", {
        args: ["--array=0-3", "--wait", "--output", `${arr}/shard-%a.log`, script],
        env: { ...bareEnv(), ...slurm.env },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const logs = await Promise.all(
        [0, 1, 2, 3].map((i) => Deno.readTextFile(`${arr}/shard-${i}.log`).catch(() => "")),
      );
      equal(sb.code, 0, `sbatch: ${new TextDecoder().decode(sb.stderr)}\n${logs.join("\n")}`);
      console.log(`4 array tasks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      for (let i = 0; i < 4; i++) {
        match(
          logs[i],
          new RegExp(
            `shard ${i}/4 \\(Slurm \\(SLURM_ARRAY_TASK_ID=${i}, SLURM_ARRAY_TASK_COUNT=4\\)\\): 1 of 4 runs`,
          ),
        );
      }
      const rep = await runTask(COMPARE, ["--report", `${arr}/study`]);
      equal(rep.code, 0, rep.err);
      deepEqual(await reportWithoutTimes(`${arr}/study`), await reportWithoutTimes(one));
    } finally {
      await slurm.stop();
    }
  },
);
