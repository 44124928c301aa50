import { deepEqual, equal, match } from "node:assert/strict";
import { prunePlot, pruneTable, readPruneRuns } from "../../report/prune_study.ts";

Deno.test("pruning report: runs read from sparsity.json + perplexity.json, table with changes against uniform, plot", async () => {
  const dir = await Deno.makeTempDir();
  const put = async (name: string, allocation: string, target: number, after: number) => {
    await Deno.mkdir(`${dir}/${name}`);
    await Deno.writeTextFile(
      `${dir}/${name}/sparsity.json`,
      JSON.stringify({ target, allocation, epsilon: 0.2, achieved: target, layers: [] }),
    );
    await Deno.writeTextFile(
      `${dir}/${name}/perplexity.json`,
      JSON.stringify({ data: "t", tokens: 9, before: 100, after }),
    );
  };
  await put("wanda-farms-0.5", "farms", 0.5, 150);
  await put("wanda-uniform-0.5", "uniform", 0.5, 200);
  await put("wanda-alpha-0.5", "alpha", 0.5, 160);
  await put("magnitude-uniform-0.7", "uniform", 0.7, 400);
  await Deno.mkdir(`${dir}/unfinished`);
  const runs = await readPruneRuns(dir);
  deepEqual(runs.map((r) => `${r.score} ${r.allocation} ${r.sparsity}`), [
    "magnitude uniform 0.7",
    "wanda uniform 0.5",
    "wanda alpha 0.5",
    "wanda farms 0.5",
  ]);
  const table = pruneTable(runs).split("\n");
  equal(table.length, 2 + 4); // two scores × two sparsities
  match(
    table.find((l) => l.startsWith("| wanda | 0.5"))!,
    /\| 200\.00 \| 160\.00 \| 150\.00 \| -20\.0% \| -25\.0% \| -6\.3% \|/,
  );
  match(table.find((l) => l.startsWith("| magnitude | 0.7"))!, /\| 400\.00 \| – \| – \| – \| – \| – \|/);
  match(await prunePlot(runs), /^<svg/);
});

Deno.test("pruning report: the score comes from sparsity.json, not from the folder's name", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/wanda-alpha-0.5`);
  await Deno.writeTextFile(
    `${dir}/wanda-alpha-0.5/sparsity.json`,
    JSON.stringify({
      target: 0.5,
      allocation: "alpha",
      epsilon: 0.2,
      score: "magnitude",
      mapping: "layer",
      achieved: 0.5,
      layers: [],
    }),
  );
  await Deno.writeTextFile(`${dir}/wanda-alpha-0.5/perplexity.json`, JSON.stringify({ before: 1, after: 2 }));
  equal((await readPruneRuns(dir))[0].score, "magnitude");
});
