import { equal, match, ok } from "node:assert/strict";
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
    // tb's option went to tb's runs only (adam would refuse it), and every run finished; the report is
    // the one study report, read in perplexity's direction (lower is better).
    const md = await Deno.readTextFile(`${out}/results.md`);
    match(md, /## Test perplexity per cell and method \(lower is better\)/);
    match(md, /\| 1e-3 \| tb \| 2 \| 1 \| \d+ \| [\d.]+ ± [\d.]+ \| [\d.]+ ± [\d.]+ \| \d+ ± \d+ \|/);
    match(md, /\| 3e-3 \| adam \| 2 \|/);
    match(md, /\| 1e-3 \| tb − adam \| 2 \| [+-][\d.]+ \| \[[+-][\d.]+, [+-][\d.]+\] \| \d of 2 seeds \|/);
    match(md, /better in" counts the seeds where the method beat the baseline \(lower test perplexity\)/);
    const runsCsv = (await Deno.readTextFile(`${out}/runs.csv`)).split("\n");
    equal(runsCsv[0], "lr,method,seed,epochs,steps,final_ppl,best_ppl,seconds");
    match(await Deno.readTextFile(`${out}/perplexity_lr-1e-3.svg`), /^<svg/);
    // compare.json records the corpus (--data): a rerun on another corpus is refused.
    const settings = JSON.parse(await Deno.readTextFile(`${out}/compare.json`));
    ok(
      settings.forward.some(([k, v]: [string, string]) => k === "data" && v === dir),
      JSON.stringify(settings),
    );
    const other = await Deno.makeTempDir();
    for (const f of ["train.txt", "valid.txt", "test.txt"]) {
      await Deno.copyFile(`${dir}/${f}`, `${other}/${f}`);
    }
    const elsewhere = await runTask(COMPARE, args.map((a) => (a === dir ? other : a)));
    equal(elsewhere.code, 1);
    match(elsewhere.err, /holds runs made with other train flags/);
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
    match(tbOnly.err, /--layernorm applies to --method tb: none of --methods adam/);
  },
);
