import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { METHODS, resolveMethod } from "../../train/methods.ts";
import { makeSchedule, sgdrRate } from "../../train/schedule.ts";
import { blockIndex, sigmoidRates } from "../../optim/model_balancing.ts";
import { toyIdx } from "./_toy.ts";
import { runTask, type TaskOutput } from "../_task.ts";
import { readCheckpoint, STATE_KEY } from "../../train/checkpoint.ts";
import { parseSafetensors, writeSafetensors } from "../../io/safetensors.ts";
import { gpuTest } from "../_helpers.ts";

Deno.test("SGDR restarts at T_0, T_0(1 + T_mult), … as CosineAnnealingWarmRestarts stepped per epoch", () => {
  const s = makeSchedule({ kind: "sgdr", lr: 0.1, t0: 10, tMult: 2 });
  // Cycles of 10, 20, 40 epochs: restarts at epochs 10, 30, 70.
  for (const e of [0, 10, 30, 70]) equal(s.lrAt(e), 0.1, `restart at ${e}`);
  ok(Math.abs(s.lrAt(5) - 0.05) < 1e-15); // half-way through the first cycle
  ok(Math.abs(s.lrAt(20) - 0.05) < 1e-15); // half-way through the second (T_cur 10 of 20)
  ok(Math.abs(s.lrAt(9) - 0.1 * 0.5 * (1 + Math.cos(Math.PI * 9 / 10))) < 1e-15);
  ok(s.lrAt(29) < 0.001 && s.lrAt(69) < 0.001);
  // T_mult 1: a fixed period.
  deepEqual([0, 7, 14].map((e) => sgdrRate(1, 7, 1, e)), [1, 1, 1]);
  throws(() => makeSchedule({ kind: "sgdr", lr: 0.1, t0: 0, tMult: 2 }), /SGDR T_0/);
});

Deno.test("Model Balancing: block index by the reference's regex, the sigmoid map by hand", () => {
  deepEqual(
    ["layer1.0.conv1", "layer3.0.conv2", "layer2.1.downsample.0", "conv1", "fc", "features.3"].map(
      blockIndex,
    ),
    [
      0,
      0,
      1,
      null,
      null,
      null,
    ],
  );
  // Block means 2, 3, 4 (mean 3): φ = s·(σ(10·d) − 0.5), s = 2 below the mean, 1 above.
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const got = sigmoidRates([2, 3, 4], 0.1);
  const want = [0.1 * 10 ** (2 * (sig(-10) - 0.5)), 0.1, 0.1 * 10 ** (sig(10) - 0.5)];
  got.forEach((g, i) => ok(Math.abs(g - want[i]) < 1e-15, `block ${i}: ${g} vs ${want[i]}`));
});

Deno.test("resolveMethod(): defaults per method, and options of other methods or bad values are refused", () => {
  deepEqual(resolveMethod("cal").options, {});
  const snr = resolveMethod("tb-snr").options;
  equal(snr.sg, 0.01);
  equal(snr["tb-lr-min-ratio"], 0.6);
  equal(resolveMethod("tb-farms").options["tb-lr-max-ratio"], 1.9);
  equal(resolveMethod("lookahead", { "look-k": "3" }).options["look-k"], 3);
  throws(() => resolveMethod("adam"), /Unknown method "adam": expected one of cal, tb, snr/);
  throws(
    () => resolveMethod("cal", { sg: "0.1" }),
    /Option --sg applies to --method snr, tb-snr, not to --method cal/,
  );
  throws(
    () => resolveMethod("tb", { "look-k": "2" }),
    /--look-k applies to --method lookahead, not to --method tb/,
  );
  throws(
    () => resolveMethod("tb", { "tb-assign": "cube" }),
    /Invalid --tb-assign "cube": expected one of linear/,
  );
  throws(
    () => resolveMethod("lookahead", { "look-k": "0" }),
    /Invalid --look-k "0": expected an integer ≥ 1/,
  );
  equal(METHODS.length, 12);
});

const TASK = new URL("../../tasks/train.ts", import.meta.url).pathname;
const COMPARE = new URL("../../tasks/compare.ts", import.meta.url).pathname;

function run(file: string, args: string[]): Promise<TaskOutput> {
  return runTask(file, args);
}

gpuTest(
  "deno task train: a method flag given to another method, or an unknown method, exits 1 naming it",
  async () => {
    const a = await run(TASK, ["--method", "cal", "--sg", "0.1"]);
    equal(a.code, 1);
    match(a.err, /error: Option --sg applies to --method snr, tb-snr, not to --method cal/);
    const b = await run(TASK, ["--method", "adamw"]);
    equal(b.code, 1);
    match(b.err, /Unknown method "adamw"/);
    const c = await run(TASK, ["--method", "tb", "--tb-lr-min-ratio", "2"]);
    equal(c.code, 1);
    match(c.err, /lrMinRatio 2 is greater than lrMaxRatio 1.5/);
  },
);

gpuTest(
  "deno task compare: runs methods × seeds, keeps finished runs, resumes, and writes results",
  async () => {
    const data = await toyIdx();
    const out = await Deno.makeTempDir();
    const args = [
      "--methods",
      "tb,snr",
      "--seeds",
      "1,2",
      "--out",
      out,
      "--data",
      data,
      "--epochs",
      "2",
      "--batch-size",
      "32",
      "--tb-eigs-thresh",
      "10",
      "--sg",
      "0.02",
    ];
    const first = await run(COMPARE, args);
    equal(first.code, 0, first.err);
    match(
      first.out,
      /\| tb \| 2 \| 2 \| \d+ \| \d+\.\d\d ± \d+\.\d\d \| \d+\.\d\d ± \d+\.\d\d \| \d+ ± \d+ \|/,
    );
    match(first.out, /\| snr \| 2 \| 2 \|/);
    // No cal among the methods: the baseline is the first that is not a TempBalance variant.
    match(
      first.out,
      /\| tb − snr \| 2 \| [+-]\d+\.\d\d \| \[[+-]\d+\.\d\d, [+-]\d+\.\d\d\] \| \d of 2 seeds \|/,
    );
    const csv = (await Deno.readTextFile(`${out}/results.csv`)).trim().split("\n");
    equal(csv[0].split(",").slice(0, 4).join(","), "method,runs,epochs,steps");
    equal(csv.length, 3);
    for (const f of ["results.md", "runs.csv", "accuracy.svg"]) ok(await Deno.stat(`${out}/${f}`), f);
    // The sg flag went to snr only, tb-* to tb only.
    const snrCfg = (await readCheckpoint(`${out}/snr/seed1/checkpoint.safetensors`)).state.config;
    deepEqual([snrCfg.method, (snrCfg.methodOptions as Record<string, unknown>).sg, snrCfg.seed], [
      "snr",
      0.02,
      1,
    ]);
    const tbCfg = (await readCheckpoint(`${out}/tb/seed2/checkpoint.safetensors`)).state.config;
    equal((tbCfg.methodOptions as Record<string, unknown>)["tb-eigs-thresh"], 10);
    // An interrupted run (its checkpoint says epoch 1 of 2) resumes; the others are kept.
    const file = `${out}/tb/seed1/checkpoint.safetensors`;
    const parsed = parseSafetensors(await Deno.readFile(file));
    const state = JSON.parse(parsed.metadata[STATE_KEY]);
    state.epoch = 1;
    state.history = state.history.slice(0, 1);
    await Deno.writeFile(
      file,
      writeSafetensors(
        parsed.tensors.map((t) => ({
          name: t.name,
          shape: t.shape,
          data: t.values(),
          dtype: t.dtype === "I64" ? "I64" : "F32",
        })),
        { ...parsed.metadata, [STATE_KEY]: JSON.stringify(state) },
      ),
    );
    // Rerun: every run is kept; other flags are refused.
    const again = await run(COMPARE, args);
    equal(again.code, 0, again.err);
    match(again.out, /== tb seed 1: resuming after epoch 1/);
    equal((again.out.match(/finished \(2 epochs\), kept/g) ?? []).length, 3);
    const other = await run(COMPARE, [...args.slice(0, -2), "--sg", "0.03"]);
    equal(other.code, 1);
    match(other.err, /holds runs made with other train flags/);
    const seeds = await run(COMPARE, [...args.slice(0, 3), "1,2,3", ...args.slice(4)]);
    equal(seeds.code, 1);
    match(seeds.err, /holds runs made with other seeds \(seeds \[1,2\]\)/);
    const bad = await run(COMPARE, ["--methods", "tb", "--out", out, "--sg", "0.1"]);
    match(bad.err, /Option --sg applies to --method snr, tb-snr: none of --methods tb/);
  },
);
