// The training side of a study, on the GPU: a step budget, paired seeds across methods, a run
// killed with kill -9 and resubmitted (a one-process compare, and one task of a real Slurm job
// array), and an array whose merged report equals the one-process report of the same grid.
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

/**
 * Waits until the run in `dir` has checkpointed two epochs, then kills the process group `pgid()`
 * with SIGKILL.
 * @returns The checkpoint's epoch at the kill, or 0 when none came within `seconds`.
 */
async function killAfterTwoEpochs(
  dir: string,
  pgid: () => Promise<number>,
  seconds: number,
): Promise<number> {
  for (let i = 0; i < seconds * 20; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      const epoch = (await readCheckpoint(`${dir}/checkpoint.safetensors`)).state.epoch;
      if (epoch >= 2) {
        Deno.kill(-(await pgid()), "SIGKILL");
        return epoch;
      }
    } catch { /* no checkpoint yet, one being renamed into place, or no pgid file yet */ }
  }
  return 0;
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
  "a compare and a Slurm array task killed with kill -9 resume when resubmitted; the array's report equals the one-process report",
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
    // setsid made it a group leader: the train child dies too.
    const killedAt = await killAfterTwoEpochs(first, () => Promise.resolve(child.pid), 60);
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
      const study = `${arr}/study`;
      // Each array task runs the compare in a process group of its own (setsid) and leaves its id
      // in pgid-<task>, so the test can kill -9 one shard (compare and its train child) mid-run.
      const quoted = GRID(data, study).map((a) => `'${a}'`).join(" ");
      await Deno.writeTextFile(
        `${arr}/shard.sh`,
        `#!/bin/bash\necho $$ > '${arr}'/pgid-$SLURM_ARRAY_TASK_ID\nexec '${Deno.execPath()}' run -A '${COMPARE}' ${quoted}\n`,
      );
      await Deno.chmod(`${arr}/shard.sh`, 0o755);
      const script = `${arr}/job.sh`;
      await Deno.writeTextFile(script, `#!/bin/bash\nexec setsid -w '${arr}/shard.sh'\n`);
      const slurmCmd = (cmd: string, args: string[]) =>
        new Deno.Command(cmd, {
          args,
          env: { ...bareEnv(), ...slurm.env },
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
      const dec = (b: Uint8Array) => new TextDecoder().decode(b);
      const logsOf = (prefix: string) =>
        Promise.all([0, 1, 2, 3].map((i) => Deno.readTextFile(`${arr}/${prefix}-${i}.log`).catch(() => "")));

      // 1. The array, not waited for: shard 0 (run 0 of the ordered list, tb subset=48) is killed
      // with kill -9 once it has checkpointed two epochs; the others finish.
      const t0 = performance.now();
      const sub = await slurmCmd("sbatch", [
        "--parsable",
        "--array=0-3",
        "--output",
        `${arr}/shard-%a.log`,
        script,
      ]);
      equal(sub.code, 0, `sbatch: ${dec(sub.stderr)}`);
      const job = dec(sub.stdout).trim().split(";")[0];
      const shard0 = `${study}/tb/subset=48/seed1`;
      const pgid0 = async () => Number((await Deno.readTextFile(`${arr}/pgid-0`)).trim());
      const killedAt = await killAfterTwoEpochs(shard0, pgid0, 120);
      for (let i = 0; i < 1200; i++) { // until the array has left the queue
        const q = await slurmCmd("squeue", ["-h", "-j", job]);
        if (q.code === 0 && !dec(q.stdout).trim()) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const first = await logsOf("shard");
      ok(killedAt >= 2, `shard 0 wrote a checkpoint before the kill\n${first.join("\n")}`);
      match(first[0], /== tb subset=48 seed 1\n/);
      const left = (await readCheckpoint(`${shard0}/checkpoint.safetensors`)).state.epoch;
      ok(left < 10, `the kill landed mid-run (epoch ${left} of 10)`);
      for (let i = 0; i < 4; i++) {
        match(
          first[i],
          new RegExp(
            `shard ${i}/4 \\(Slurm \\(SLURM_ARRAY_TASK_ID=${i}, SLURM_ARRAY_TASK_COUNT=4\\)\\): 1 of 4 runs`,
          ),
        );
      }
      // 2. The same array submitted again: shard 0 resumes its run, the others keep theirs.
      const sb = await slurmCmd("sbatch", [
        "--array=0-3",
        "--wait",
        "--output",
        `${arr}/again-%a.log`,
        script,
      ]);
      const again = await logsOf("again");
      equal(sb.code, 0, `sbatch: ${dec(sb.stderr)}\n${again.join("\n")}`);
      console.log(
        `4 array tasks, one killed and the array resubmitted: ${
          ((performance.now() - t0) / 1000).toFixed(1)
        } s`,
      );
      match(again[0], new RegExp(`== tb subset=48 seed 1: resuming after epoch ${left}`));
      for (let i = 1; i < 4; i++) match(again[i], /: finished \(\d+ epochs\), kept/);
      deepEqual((await history(shard0)).map((m) => m.epoch), [...Array(10).keys()].map((i) => i + 1));
      const rep = await runTask(COMPARE, ["--report", study]);
      equal(rep.code, 0, rep.err);
      deepEqual(await reportWithoutTimes(study), await reportWithoutTimes(one));
    } finally {
      await slurm.stop();
    }
  },
);
