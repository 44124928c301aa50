import { equal, match } from "node:assert/strict";
import { gpuTest } from "../_helpers.ts";
import { runTask } from "../_task.ts";

const COMPARE = new URL("../../tasks/compare.ts", import.meta.url);

gpuTest(
  "deno task compare --task lm trains train-lm runs over methods × seeds × a grid and reports paired test perplexity",
  async () => {
    const dir = await Deno.makeTempDir();
    const phrases = ["the cat sat on the mat", "a dog ran to the park", "the bird sang a song"];
    const text = (n: number) => Array.from({ length: n }, (_, i) => phrases[i % 3]).join("\n") + "\n";
    await Deno.writeTextFile(`${dir}/train.txt`, text(60));
    await Deno.writeTextFile(`${dir}/valid.txt`, text(6));
    await Deno.writeTextFile(`${dir}/test.txt`, text(6));
    const out = `${dir}/study`;
    const args = [
      "--task",
      "lm",
      "--methods",
      "tb,adam",
      "--seeds",
      "1,2",
      "--grid",
      "lr=1e-3,3e-3",
      "--out",
      out,
      "--data",
      dir,
      "--dim",
      "16",
      "--heads",
      "2",
      "--layers",
      "1",
      "--seq-len",
      "8",
      "--batch",
      "4",
      "--epochs",
      "1",
      "--eigs-thresh",
      "8",
    ];
    const r = await runTask(COMPARE, args);
    equal(r.code, 0, r.err);
    // tb's option went to tb's runs only (adam would refuse it), and every run finished.
    const md = await Deno.readTextFile(`${out}/results.md`);
    match(
      md,
      /\| lr=1e-3 \| tb \| 2 \| [\d.]+ ± [\d.]+ \| [\d.]+ ± [\d.]+ \| -?[\d.]+ \[-?[\d.]+, -?[\d.]+\] \| \d\/2 \|/,
    );
    match(md, /\| lr=3e-3 \| adam \| 2 \|/);
    equal((await Deno.readTextFile(`${out}/results.csv`)).trim().split("\n").length, 5);
    // Rerun: every run is kept; --report rebuilds the same table from compare.json.
    const again = await runTask(COMPARE, args);
    equal(again.code, 0, again.err);
    equal((again.out.match(/finished \(1 epochs\), kept/g) ?? []).length, 8);
    const rep = await runTask(COMPARE, ["--report", out]);
    equal(rep.code, 0, rep.err);
    equal(await Deno.readTextFile(`${out}/results.md`), md);
    const bad = await runTask(COMPARE, ["--task", "lm", "--methods", "adam,sgd", "--out", `${dir}/x`]);
    equal(bad.code, 1);
    match(bad.err, /Unknown method "sgd" in --methods: expected adam, tb, tb-sigmoid/);
    const tbOnly = await runTask(COMPARE, [
      "--task",
      "lm",
      "--methods",
      "adam",
      "--layernorm",
      "--out",
      `${dir}/y`,
    ]);
    match(tbOnly.err, /--layernorm applies to --method tb, tb-sigmoid/);
  },
);
