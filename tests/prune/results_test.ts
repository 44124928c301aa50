import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { writeSafetensors } from "../../io/safetensors.ts";
import { pruneCheckpoint } from "../../prune/prune.ts";
import { gpu, gpuTest, randArray } from "../_helpers.ts";

/** A LLaMA-named checkpoint folder with the given projections per block (8×8 float32 weights). */
async function checkpoint(blocks: string[][]): Promise<string> {
  const dir = await Deno.makeTempDir();
  let seed = 1;
  const tensors = blocks.flatMap((names, b) =>
    names.map((n) => ({
      name: `model.layers.${b}.${
        n.startsWith("q") || n.startsWith("k") || n.startsWith("v") ? "self_attn" : "mlp"
      }.${n}.weight`,
      shape: [8, 8],
      data: randArray(64, seed++),
    }))
  );
  await Deno.writeFile(`${dir}/model.safetensors`, writeSafetensors(tensors, { format: "pt" }));
  return dir;
}

gpuTest("block mapping refuses blocks of unequal size even when the layer count divides evenly", async () => {
  // 2 + 1 + 3 = 6 layers in 3 blocks: divisible, but not equal blocks.
  const dir = await checkpoint([["q_proj", "k_proj"], ["q_proj"], ["q_proj", "k_proj", "v_proj"]]);
  await rejects(
    pruneCheckpoint(gpu, dir, `${dir}/out`, { sparsity: 0.5, allocation: "alpha" }),
    /--mapping block needs the same number of prunable layers in every block \(block 0: 2, block 1: 1, block 2: 3\): use --mapping layer/,
  );
  const r = await pruneCheckpoint(gpu, dir, `${dir}/out`, {
    sparsity: 0.5,
    allocation: "alpha",
    mapping: "layer",
  });
  equal(r.layers.length, 6);
  equal(r.mapping, "layer");
});

gpuTest(
  "a previous result is never carried over: the input's and the output's old sparsity/perplexity files",
  async () => {
    const dir = await checkpoint([["q_proj", "k_proj"], ["q_proj", "k_proj"]]);
    const stale = JSON.stringify({ data: "old", tokens: 1, before: 1, after: 1 });
    await Deno.writeTextFile(`${dir}/perplexity.json`, stale);
    await Deno.writeTextFile(`${dir}/sparsity.json`, "{}");
    await Deno.writeTextFile(`${dir}/config.json`, "{}");
    const out = `${dir}-out`;
    await Deno.mkdir(out);
    await Deno.writeTextFile(`${out}/perplexity.json`, stale);
    const r = await pruneCheckpoint(gpu, dir, out, {
      sparsity: 0.25,
      allocation: "uniform",
      score: "magnitude",
    });
    deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
      "config.json",
      "model.safetensors",
      "sparsity.json",
    ]);
    const written = JSON.parse(await Deno.readTextFile(`${out}/sparsity.json`));
    deepEqual([written.score, written.mapping, written.allocation], ["magnitude", "block", "uniform"]);
    ok(Math.abs(r.achieved - 0.25) < 1e-9);
  },
);
