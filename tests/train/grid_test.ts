import { deepEqual, equal, throws } from "node:assert/strict";
import { parseGrid, planRuns, resolveShard, shardRuns } from "../../train/grid.ts";
import { parseTrainArgs, TRAIN_FLAGS } from "../../tasks/_train_flags.ts";

Deno.test("parseGrid(): train flags with distinct, non-empty values; anything else is refused by name", () => {
  deepEqual(parseGrid(["subset=600,6000", "--width=0.5,1"], TRAIN_FLAGS), [
    { flag: "subset", values: ["600", "6000"] },
    { flag: "width", values: ["0.5", "1"] },
  ]);
  deepEqual(parseGrid(["no-augment=true,false"], TRAIN_FLAGS), [{
    flag: "no-augment",
    values: ["true", "false"],
  }]);
  throws(
    () => parseGrid(["colour=red"], TRAIN_FLAGS),
    /Invalid --grid "colour=red": "colour" is not a train flag/,
  );
  throws(() => parseGrid(["seed=1,2"], TRAIN_FLAGS), /compare sets --seed itself/);
  throws(() => parseGrid(["subset"], TRAIN_FLAGS), /Invalid --grid "subset": expected FLAG=V1,V2/);
  throws(() => parseGrid(["subset=600,,6000"], TRAIN_FLAGS), /value 2 of subset is empty/);
  throws(() => parseGrid(["subset="], TRAIN_FLAGS), /value 1 of subset is empty/);
  throws(() => parseGrid(["subset=600,600"], TRAIN_FLAGS), /value "600" is given twice/);
  throws(() => parseGrid(["subset=1", "subset=2"], TRAIN_FLAGS), /--grid subset is given twice/);
  throws(() => parseGrid(["no-augment=yes"], TRAIN_FLAGS), /is a switch, its values are true and false/);
});

Deno.test("planRuns(): cells × methods × seeds in a fixed order; a method option's axis shares the other methods' runs", () => {
  const runs = planRuns({
    out: "O",
    methods: ["tb", "cal"],
    seeds: [43, 37],
    axes: parseGrid(["subset=600,6000", "tb-metric=alpha,spectral_norm"], TRAIN_FLAGS),
    forward: [["steps", "500"], ["tb-eigs-thresh", "10"], ["no-augment", null]],
  });
  // 4 cells × tb × 2 seeds = 8 TB runs; cal ignores tb-metric: 2 sizes × 2 seeds = 4.
  equal(runs.length, 12);
  deepEqual(runs.map((r) => r.index), [...Array(12).keys()]);
  deepEqual(runs.slice(0, 4).map((r) => r.dir), [
    "O/tb/subset=600,tb-metric=alpha/seed43",
    "O/tb/subset=600,tb-metric=alpha/seed37",
    "O/cal/subset=600/seed43",
    "O/cal/subset=600/seed37",
  ]);
  equal(runs[4].dir, "O/tb/subset=600,tb-metric=spectral_norm/seed43");
  deepEqual(runs[0].args, [
    "--steps=500",
    "--tb-eigs-thresh=10",
    "--no-augment",
    "--subset=600",
    "--tb-metric=alpha",
    "--method=tb",
    "--seed=43",
    "--out=O/tb/subset=600,tb-metric=alpha/seed43",
  ]);
  // cal gets neither the TB option nor the TB axis.
  deepEqual(runs[2].args, [
    "--steps=500",
    "--no-augment",
    "--subset=600",
    "--method=cal",
    "--seed=43",
    "--out=O/cal/subset=600/seed43",
  ]);
  // Every run's flags are valid train flags.
  for (const r of runs) equal(parseTrainArgs(r.args).kind, "new");
  // No grid: the layout of a plain comparison.
  deepEqual(
    planRuns({ out: "O", methods: ["cal"], seeds: [1], axes: [], forward: [] }).map((r) => r.dir),
    ["O/cal/seed1"],
  );
});

Deno.test("shards: --shard I/N, Slurm's and Kubernetes' variables, every run in exactly one shard", () => {
  equal(resolveShard(undefined, undefined, {}), null);
  deepEqual(resolveShard("1/4", undefined, {}), { index: 1, count: 4, source: "--shard" });
  const slurm = { SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_COUNT: "4" };
  deepEqual(
    [resolveShard(undefined, undefined, slurm)!.index, resolveShard(undefined, undefined, slurm)!.count],
    [2, 4],
  );
  // An array numbered 1, 3, 5, 7 (--array=1-7:2).
  equal(
    resolveShard(undefined, undefined, {
      SLURM_ARRAY_TASK_ID: "5",
      SLURM_ARRAY_TASK_COUNT: "4",
      SLURM_ARRAY_TASK_MIN: "1",
      SLURM_ARRAY_TASK_STEP: "2",
    })!.index,
    2,
  );
  equal(resolveShard("2/4", undefined, slurm)!.index, 2); // agreeing sources are fine
  throws(
    () => resolveShard("1/4", undefined, slurm),
    /--shard 1\/4 disagrees with Slurm \(SLURM_ARRAY_TASK_ID=2/,
  );
  equal(resolveShard(undefined, "3", { JOB_COMPLETION_INDEX: "1" })!.index, 1);
  throws(() => resolveShard(undefined, "3", {}), /JOB_COMPLETION_INDEX, which is not set/);
  throws(
    () => resolveShard(undefined, undefined, { JOB_COMPLETION_INDEX: "1" }),
    /--shards is not: give --shards N/,
  );
  equal(resolveShard("1/4", undefined, { JOB_COMPLETION_INDEX: "1" })!.count, 4);
  throws(
    () => resolveShard(undefined, "3", { JOB_COMPLETION_INDEX: "3" }),
    /JOB_COMPLETION_INDEX=3 is not below --shards 3/,
  );
  for (const bad of ["4/4", "a/4", "1", "-1/4", "1/0", "1/2/3"]) {
    throws(() => resolveShard(bad, undefined, {}), /Invalid --shard/, bad);
  }
  throws(
    () => resolveShard(undefined, undefined, { SLURM_ARRAY_TASK_ID: "1" }),
    /SLURM_ARRAY_TASK_COUNT is not/,
  );
  throws(
    () => resolveShard(undefined, undefined, { SLURM_ARRAY_TASK_ID: "x", SLURM_ARRAY_TASK_COUNT: "2" }),
    /Invalid SLURM_ARRAY_TASK_ID="x"/,
  );
  const runs = planRuns({
    out: "O",
    methods: ["tb", "cal"],
    seeds: [1, 2, 3],
    axes: parseGrid(["subset=10,20,30"], TRAIN_FLAGS),
    forward: [],
  });
  const parts = [0, 1, 2, 3].map((i) => shardRuns(runs, { index: i, count: 4, source: "test" }));
  deepEqual(parts.flat().map((r) => r.index).sort((a, b) => a - b), runs.map((r) => r.index));
  deepEqual(parts.map((p) => p.length), [5, 5, 4, 4]);
});

Deno.test("parseTrainArgs(): --steps excludes --epochs; a step budget steps the rate and leaves epochs to the data", () => {
  const a = parseTrainArgs(["--steps", "500", "--subset", "600"]);
  if (a.kind !== "new") throw new Error("expected a new run");
  deepEqual([a.config.steps, a.config.epochs, a.config.stepwise], [500, 0, true]);
  throws(
    () => parseTrainArgs(["--steps", "5", "--epochs", "2"]),
    /Give one of --epochs and --steps, not both/,
  );
  throws(() => parseTrainArgs(["--steps", "0"]), /Invalid --steps "0": expected an integer ≥ 1/);
  throws(() => parseTrainArgs(["--eval-every", "1.5"]), /Invalid --eval-every "1.5"/);
});
