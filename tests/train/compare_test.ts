import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { writeSafetensors } from "../../io/safetensors.ts";
import { STATE_KEY } from "../../train/checkpoint.ts";
import { LOCK_FILE, lockRunFolder, runHolder } from "../../train/run_folder.ts";
import { runTask } from "../_task.ts";

const COMPARE = new URL("../../tasks/compare.ts", import.meta.url).pathname;

/** A finished (or part-way) run folder with a checkpoint that holds this history and nothing else. */
async function fakeRun(dir: string, accs: number[], epochs = accs.length, steps = 100): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const history = accs.map((a, i) => ({
    epoch: i + 1,
    train_loss: 1,
    train_acc: 0.5,
    test_loss: 1,
    test_acc: a,
    lr: [0.1],
    steps: steps * (i + 1) / epochs,
    seconds: 10 + i,
    images_per_s: 100,
  }));
  const state = {
    version: 1,
    epoch: accs.length,
    optimizerSteps: 0,
    lrs: [0.1],
    config: { model: "small", dataset: "fashion-mnist", epochs, steps },
    history,
    elapsed: 0,
    schedule: {},
    rng: { seed: 0, nextEpoch: accs.length },
  };
  await Deno.writeFile(
    `${dir}/checkpoint.safetensors`,
    writeSafetensors([], { [STATE_KEY]: JSON.stringify(state) }),
  );
}

/** A comparison folder as compare leaves it: compare.json and run folders with known accuracies. */
async function doctoredStudy(): Promise<string> {
  const out = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${out}/compare.json`,
    JSON.stringify({
      forward: [["steps", "100"]],
      grid: [["subset", ["600", "6000"]]],
      methods: ["tb", "cal"],
      seeds: [1, 2, 3],
      baseline: "cal",
    }),
  );
  // subset 600: tb final 80, 82, 85 (seed 1 peaked at 83 in epoch 1), cal 79, 80, 81.
  await fakeRun(`${out}/tb/subset=600/seed1`, [0.83, 0.80]);
  await fakeRun(`${out}/tb/subset=600/seed2`, [0.70, 0.82]);
  await fakeRun(`${out}/tb/subset=600/seed3`, [0.70, 0.85]);
  await fakeRun(`${out}/cal/subset=600/seed1`, [0.70, 0.79]);
  await fakeRun(`${out}/cal/subset=600/seed2`, [0.70, 0.80]);
  await fakeRun(`${out}/cal/subset=600/seed3`, [0.70, 0.81]);
  // subset 6000: cal seed 3 stopped after epoch 1 of 2; tb seed 3 never started.
  await fakeRun(`${out}/tb/subset=6000/seed1`, [0.80, 0.90]);
  await fakeRun(`${out}/tb/subset=6000/seed2`, [0.80, 0.88]);
  await fakeRun(`${out}/cal/subset=6000/seed1`, [0.80, 0.89]);
  await fakeRun(`${out}/cal/subset=6000/seed2`, [0.80, 0.89]);
  await fakeRun(`${out}/cal/subset=6000/seed3`, [0.80], 2);
  return out;
}

const csvRows = (text: string) => {
  const [head, ...rows] = text.trim().split("\n").map((l) => l.split(","));
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
};
const near = (a: string | number, b: number, tol: number, what: string) =>
  ok(Math.abs(Number(a) - b) <= tol, `${what}: ${a} vs ${b}`);

Deno.test("deno task compare --report: per-cell means, paired differences with t intervals, unfinished runs listed", async () => {
  const out = await doctoredStudy();
  const r = await runTask(COMPARE, ["--report", out]);
  equal(r.code, 0, r.err);
  const rows = csvRows(await Deno.readTextFile(`${out}/results.csv`));
  deepEqual(rows.map((x) => [x.subset, x.method, x.runs]), [
    ["600", "tb", "3"],
    ["600", "cal", "3"],
    ["6000", "tb", "2"],
    ["6000", "cal", "2"],
  ]);
  const tb600 = rows[0];
  near(tb600.final_mean, (80 + 82 + 85) / 3, 1e-9, "tb final mean");
  near(tb600.best_mean, (83 + 82 + 85) / 3, 1e-9, "tb best mean");
  near(tb600.seconds_mean, 21, 1e-9, "wall time (10 + 11 s)");
  // Differences 1, 2, 4 points: mean 7/3, sd √(7/3), t(0.975, 2) = 4.30265272975.
  const half = 4.30265272975 * Math.sqrt(7 / 3) / Math.sqrt(3);
  equal(tb600.baseline, "cal");
  equal(tb600.pairs, "3");
  near(tb600.final_diff, 7 / 3, 1e-9, "final diff");
  near(tb600.final_diff_lo, 7 / 3 - half, 1e-7, "CI low");
  near(tb600.final_diff_hi, 7 / 3 + half, 1e-7, "CI high");
  equal(tb600.final_better, "3");
  // Best: 83 − 79, 82 − 80, 85 − 81 = 4, 2, 4.
  near(tb600.best_diff, 10 / 3, 1e-9, "best diff");
  equal(rows[1].final_diff, ""); // the baseline's own row
  // subset 6000 pairs seeds 1 and 2 only: +1, −1.
  equal(rows[2].pairs, "2");
  near(rows[2].final_diff, 0, 1e-12, "6000 diff");
  const md = await Deno.readTextFile(`${out}/results.md`);
  match(
    md,
    /\| 600 \| tb − cal \| 3 \| \+2\.33 \| \[-1\.46, \+6\.13\] \| 3 of 3 seeds \| no difference shown: the 95% CI includes 0/,
  );
  match(md, /\| 6000 \| tb − cal \| 2 \| \+0\.00 \|.*\| 1 of 2 seeds \|/);
  match(md, /Budget: 100 optimizer steps per run \(--steps\)/);
  match(
    md,
    /## Not finished\n\n- tb subset=6000 seed 3: not started\n- cal subset=6000 seed 3: epoch 1 of 2/,
  );
  const runs = csvRows(await Deno.readTextFile(`${out}/runs.csv`));
  equal(runs.length, 10);
  deepEqual(runs[0], {
    subset: "600",
    method: "tb",
    seed: "1",
    epochs: "2",
    steps: "100",
    final_acc: "80",
    best_acc: "83",
    seconds: "21",
  });
  for (const f of ["gain_vs_subset.svg", "accuracy_subset-600.svg", "accuracy_subset-6000.svg"]) {
    ok((await Deno.stat(`${out}/${f}`)).size > 1000, f);
  }
  match(r.out, /report: .*results\.md/);
});

Deno.test("deno task compare refuses bad grids, shards and folders by name, and leaves finished runs alone", async () => {
  const out = await doctoredStudy();
  const ckpt = `${out}/tb/subset=600/seed1/checkpoint.safetensors`;
  const before = await Deno.readFile(ckpt);
  const base = ["--methods", "tb,cal", "--seeds", "1,2,3", "--out", out, "--steps", "100"];
  const cases: [string[], RegExp][] = [
    [[...base, "--grid", "colour=red"], /Invalid --grid "colour=red": "colour" is not a train flag/],
    [[...base, "--grid", "subset=600,,6000"], /value 2 of subset is empty/],
    [[...base, "--grid", "subset=600,600"], /value "600" is given twice/],
    [
      [...base, "--grid", "subset=600,6000", "--subset", "10"],
      /--subset is both a train flag and a --grid axis/,
    ],
    [
      [...base, "--grid", "subset=600,abc"],
      /The run tb subset=abc seed 1 would fail: Invalid --subset "abc"/,
    ],
    [
      [...base, "--grid", "subset=600,6000,60000"],
      /holds runs made with other grid \(grid \[\["subset",\["600","6000"\]\]\]\)/,
    ],
    [[...base, "--grid", "subset=600,6000", "--shard", "4/4"], /Invalid --shard "4\/4"/],
    [[...base, "--grid", "subset=600,6000", "--shard", "two"], /Invalid --shard "two"/],
    [[...base, "--grid", "subset=600,6000", "--shard", "1/2"], /--shard 1\/2 disagrees with Slurm/],
    [
      [...base, "--grid", "sg=0.1,0.2"],
      /Option --sg applies to --method snr, tb-snr: none of --methods tb,cal/,
    ],
    [[...base, "--grid", "subset=600,6000", "--baseline", "snr"], /Invalid --baseline "snr"/],
    [["--report", `${out}/nowhere`], /No comparison in ".*nowhere": .*compare\.json is missing/],
  ];
  for (const [args, want] of cases) {
    const env = args.includes("1/2") ? { SLURM_ARRAY_TASK_ID: "0", SLURM_ARRAY_TASK_COUNT: "2" } : undefined;
    const r = await runTask(COMPARE, args, env);
    equal(r.code, 1, `${args.join(" ")}: ${r.out}`);
    match(r.err, want, args.join(" "));
  }
  // A run folder whose checkpoint was cut: named, with what to do; nothing is trained.
  const cut = `${out}/cal/subset=600/seed2/checkpoint.safetensors`;
  await Deno.writeFile(cut, (await Deno.readFile(cut)).subarray(0, 20));
  const half = await runTask(COMPARE, [...base, "--grid", "subset=600,6000"]);
  equal(half.code, 1);
  match(
    half.err,
    /Run folder ".*cal\/subset=600\/seed2" is half-written: Invalid checkpoint .* Remove the folder/,
  );
  const rep = await runTask(COMPARE, ["--report", out]);
  equal(rep.code, 1);
  match(rep.err, /cal\/subset=600\/seed2" is half-written/);
  deepEqual(await Deno.readFile(ckpt), before);
});

Deno.test("run locks: a live holder is refused, a dead one's lock taken over, another host's runs skipped by compare", async () => {
  const out = await doctoredStudy();
  const dir = `${out}/cal/subset=6000/seed3`;
  const lock = (host: string, pid: number) =>
    Deno.writeTextFile(`${dir}/${LOCK_FILE}`, JSON.stringify({ host, pid, since: "2026-12-01T00:00:00Z" }));
  // A live process of this host (a sleeping child) holds it.
  const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    await lock(Deno.hostname(), sleeper.pid);
    equal(await runHolder(dir), `process ${sleeper.pid} (since 2026-12-01T00:00:00Z)`);
    await rejects(() => lockRunFolder(dir), new RegExp(`is being trained by process ${sleeper.pid}`));
  } finally {
    sleeper.kill("SIGKILL");
    await sleeper.status;
  }
  // Its process has ended: the lock is stale and taken over, then released.
  equal(await runHolder(dir), null);
  const release = await lockRunFolder(dir);
  equal(JSON.parse(await Deno.readTextFile(`${dir}/${LOCK_FILE}`)).pid, Deno.pid);
  await release();
  await rejects(() => Deno.stat(`${dir}/${LOCK_FILE}`), Deno.errors.NotFound);
  // Another host's locks: compare leaves those runs alone and reports the rest.
  await lock("elsewhere", 4242);
  await Deno.mkdir(`${out}/tb/subset=6000/seed3`, { recursive: true });
  await Deno.writeTextFile(
    `${out}/tb/subset=6000/seed3/${LOCK_FILE}`,
    JSON.stringify({ host: "elsewhere", pid: 4243, since: "2026-12-01T00:00:00Z" }),
  );
  await rejects(() => lockRunFolder(dir), /process 4242 on host elsewhere .*: if that job is gone, delete/);
  const r = await runTask(COMPARE, [
    "--methods",
    "tb,cal",
    "--seeds",
    "1,2,3",
    "--out",
    out,
    "--steps",
    "100",
    "--grid",
    "subset=600,6000",
  ]);
  equal(r.code, 0, r.err);
  match(r.out, /== cal subset=6000 seed 3: being trained by process 4242 on host elsewhere .*, skipped/);
  match(r.out, /== tb subset=6000 seed 3: being trained by process 4243 on host elsewhere .*, skipped/);
  equal((r.out.match(/finished \(2 epochs\), kept/g) ?? []).length, 10, r.out);
  match(r.out, /## Not finished/);
});
