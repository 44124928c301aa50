/**
 * `deno task train-pde` and `deno task pde-eval` end to end on small files written by `pde-data`:
 * FNO2d with TempBalance (killed after an epoch and resumed to the same weights), UNet2d, FNO1d on
 * Burgers; the model folder's config.json; pde-eval agreeing with the run's test nRMSE; one clear
 * line for bad input.
 * @module
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { killAfterCheckpoint, runTask, taskFile } from "../_task.ts";
import { gpuTest } from "../_helpers.ts";

async function darcyFile(root: string, resolution: number, samples = 60): Promise<string> {
  const file = `${root}/darcy${resolution}.hdf5`;
  const r = await runTask(taskFile("pde_data"), [
    "darcy",
    "--samples",
    `${samples}`,
    "--resolution",
    `${resolution}`,
    "--out",
    file,
  ]);
  equal(r.code, 0, r.err);
  return file;
}

function lastMetrics(text: string): Record<string, number> {
  return JSON.parse(text.trim().split("\n").at(-1)!);
}

gpuTest(
  "train-pde fno2d + tb: metrics, layers, a PDEBench model folder; killed after an epoch, --resume ends identical; pde-eval agrees",
  async () => {
    const root = await Deno.makeTempDir();
    const data = await darcyFile(root, 14);
    const flags = [
      "--data",
      data,
      "--modes",
      "3",
      "--width",
      "4",
      "--epochs",
      "3",
      "--batch",
      "8",
      "--method",
      "tb",
      "--eigs-thresh",
      "3",
      "--step-size",
      "2",
    ];
    const a = await runTask(taskFile("train_pde"), [...flags, "--out", `${root}/a`]);
    equal(a.code, 0, a.err);
    match(a.out, /fno2d .* 54 training samples \(every 1th of 54\), 6 test, 14×14; method tb/);
    match(a.out, /epoch 3\/3 .* test nRMSE /);
    const m = lastMetrics(await Deno.readTextFile(`${root}/a/metrics.jsonl`));
    ok(m.test_nrmse > 0 && m.test_nrmse < 2, `nRMSE ${m.test_nrmse}`);
    // TB: w0…w3 and fc1 (4 eigenvalues > 3) at their own rates; fc0 (3) and fc2 (1) with the spectral weights at η.
    equal((m.lr as unknown as number[]).length, 6);
    // StepLR(step 2, γ 0.5): epoch 3's untuned rate is 5e-4.
    equal((m.lr as unknown as number[]).at(-1), 5e-4);
    const layers = (await Deno.readTextFile(`${root}/a/layers.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    deepEqual(
      [...new Set(layers.filter((l) => l.tuned).map((l) => l.layer))].sort(),
      ["fc1.weight", "w0.weight", "w1.weight", "w2.weight", "w3.weight"],
    );
    deepEqual(JSON.parse(await Deno.readTextFile(`${root}/a/model/config.json`)), {
      model_type: "fno2d",
      num_channels: 1,
      modes1: 3,
      modes2: 3,
      width: 4,
      initial_step: 1,
    });
    const ev = await runTask(taskFile("pde_eval"), [
      `${root}/a/model`,
      "--data",
      data,
      "--samples",
      "6",
      "--json",
    ]);
    equal(ev.code, 0, ev.err);
    const got = JSON.parse(ev.out);
    deepEqual(Object.keys(got), ["samples", "nrmse"]);
    equal(got.samples, 6);
    ok(Math.abs(got.nrmse - m.test_nrmse) < 1e-6 * m.test_nrmse, `${got.nrmse} vs ${m.test_nrmse}`);
    // Killed once its first epoch's checkpoint exists, then resumed.
    await killAfterCheckpoint(taskFile("train_pde"), [...flags, "--out", `${root}/b`], `${root}/b`);
    const again = await runTask(taskFile("train_pde"), [...flags, "--out", `${root}/b`]);
    equal(again.code, 1);
    match(again.err, /already holds a run: continue it with --resume/);
    const b = await runTask(taskFile("train_pde"), ["--resume", `${root}/b`]);
    equal(b.code, 0, b.err);
    match(b.out, /resuming after epoch [12]/);
    deepEqual(
      await Deno.readFile(`${root}/b/model/model.safetensors`),
      await Deno.readFile(`${root}/a/model/model.safetensors`),
    );
    await Deno.remove(root, { recursive: true });
  },
);

gpuTest(
  "train-pde unet2d on Darcy and fno1d on Burgers (teacher-forced steps, rollout evaluation)",
  async () => {
    const root = await Deno.makeTempDir();
    const data = await darcyFile(root, 16, 30);
    const u = await runTask(taskFile("train_pde"), [
      "--data",
      data,
      "--model",
      "unet2d",
      "--init-features",
      "2",
      "--epochs",
      "1",
      "--batch",
      "9",
      "--out",
      `${root}/u`,
    ]);
    equal(u.code, 0, u.err);
    deepEqual(JSON.parse(await Deno.readTextFile(`${root}/u/model/config.json`)), {
      model_type: "unet2d",
      in_channels: 1,
      out_channels: 1,
      init_features: 2,
    });
    const mu = lastMetrics(await Deno.readTextFile(`${root}/u/metrics.jsonl`));
    const eu = JSON.parse(
      (await runTask(taskFile("pde_eval"), [`${root}/u/model`, "--data", data, "--samples", "3", "--json"]))
        .out,
    );
    ok(Math.abs(eu.nrmse - mu.test_nrmse) < 1e-6 * mu.test_nrmse, `${eu.nrmse} vs ${mu.test_nrmse}`);
    const burgers = `${root}/burgers.hdf5`;
    equal(
      (await runTask(taskFile("pde_data"), [
        "burgers",
        "--samples",
        "20",
        "--resolution",
        "16",
        "--out",
        burgers,
      ])).code,
      0,
    );
    const f = await runTask(taskFile("train_pde"), [
      "--data",
      burgers,
      "--initial-step",
      "3",
      "--modes",
      "3",
      "--width",
      "4",
      "--steps",
      "5",
      "--batch",
      "6",
      "--reduced-resolution-t",
      "20",
      "--out",
      `${root}/f`,
    ]);
    equal(f.code, 0, f.err);
    match(f.out, /fno1d .* 18 training samples .* 16 points × 11 frames.* 2 epochs \(5 steps\)/);
    const mf = lastMetrics(await Deno.readTextFile(`${root}/f/metrics.jsonl`));
    // A budget of 5 steps at 3 per epoch: epoch 2 stops after 2 of its steps; StepLR halves every epoch.
    deepEqual([mf.epoch, mf.steps, (mf.lr as unknown as number[])[0]], [2, 5, 5e-4]);
    const ef = JSON.parse(
      (await runTask(taskFile("pde_eval"), [
        `${root}/f/model`,
        "--data",
        burgers,
        "--samples",
        "2",
        "--reduced-resolution-t",
        "20",
        "--json",
      ])).out,
    );
    ok(Math.abs(ef.nrmse - mf.test_nrmse) < 1e-6 * mf.test_nrmse, `${ef.nrmse} vs ${mf.test_nrmse}`);
    await Deno.remove(root, { recursive: true });
  },
);

gpuTest("train-pde and pde-eval: one clear line for bad input", async () => {
  const root = await Deno.makeTempDir();
  const data = await darcyFile(root, 12, 20);
  const cases: [string, string[], RegExp][] = [
    [
      "train_pde",
      ["--data", data, "--model", "unet2d", "--out", `${root}/x`],
      /12×12 grid does not fit unet2d \(sides must be multiples of 16/,
    ],
    [
      "train_pde",
      ["--data", data, "--model", "fno1d", "--out", `${root}/x`],
      /holds 2D Darcy data: fno1d takes 1D files/,
    ],
    ["train_pde", ["--out", `${root}/x`], /--data is required/],
    ["train_pde", ["--data", data, "--subset", "0", "--out", `${root}/x`], /Invalid --subset "0"/],
    [
      "train_pde",
      ["--data", data, "--init-features", "4", "--out", `${root}/x`],
      /--init-features is an option of unet2d, not fno2d/,
    ],
    ["pde_eval", [root, "--data", data], /no config\.json: expected a model folder/],
    ["pde_eval", [root, "--data", `${root}/none.hdf5`], /none\.hdf5: no such file/],
    ["pde_eval", [root], /--data is required/],
  ];
  for (const [task, args, want] of cases) {
    const r = await runTask(taskFile(task), args);
    equal(r.code, 1, `${task} ${args.join(" ")}`);
    // The first line names the problem (flag errors add the usage after it).
    match(r.err.split("\n")[0], want);
  }
  await Deno.remove(root, { recursive: true });
});

gpuTest(
  "compare --task pde: a grid over --subset, paired seeds, the nRMSE report (lower is better)",
  async () => {
    const root = await Deno.makeTempDir();
    const data = await darcyFile(root, 12, 40);
    const r = await runTask(new URL("../../tasks/compare.ts", import.meta.url).pathname, [
      "--task",
      "pde",
      "--data",
      data,
      "--methods",
      "adam,tb",
      "--seeds",
      "1,2",
      "--grid",
      "subset=0.5,1",
      "--epochs",
      "1",
      "--modes",
      "3",
      "--width",
      "4",
      "--batch",
      "8",
      "--eigs-thresh",
      "3",
      "--out",
      `${root}/c`,
    ]);
    equal(r.code, 0, r.err);
    const md = await Deno.readTextFile(`${root}/c/results.md`);
    match(md, /# fno2d on .*darcy12\.hdf5: adam vs tb/);
    match(md, /## Test nRMSE per cell and method \(lower is better\)/);
    match(md, /\| 0\.5 \| tb − adam \| 2 \|/);
    // --eigs-thresh went to tb only; adam's runs were not given it.
    const adamFlags = JSON.parse(await Deno.readTextFile(`${root}/c/adam/subset=1/seed1/run.json`)).flags;
    equal(adamFlags["eigs-thresh"], undefined);
    equal(
      JSON.parse(await Deno.readTextFile(`${root}/c/tb/subset=1/seed1/run.json`)).flags["eigs-thresh"],
      "3",
    );
    await Deno.remove(root, { recursive: true });
  },
);
