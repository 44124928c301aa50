import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { analyze } from "../../esd/analyze.ts";
import { loadWeightFile } from "../../io/load.ts";
import { openSafetensors, type TensorToWrite, writeSafetensors } from "../../io/safetensors.ts";
import { gpuTest, randArray } from "../_helpers.ts";

/** A small model's weights: convs and linears in BF16 and F32, plus BatchNorm vectors. */
function weights(): TensorToWrite[] {
  const t = (name: string, shape: number[], dtype: "F32" | "BF16", seed: number): TensorToWrite => ({
    name,
    shape,
    dtype,
    data: randArray(shape.reduce((p, d) => p * d), seed),
  });
  return [
    t("conv1.weight", [16, 3, 3, 3], "F32", 1),
    t("bn1.weight", [16], "F32", 2),
    t("layer1.conv.weight", [32, 16, 3, 3], "BF16", 3),
    t("layer1.proj.weight", [48, 32], "BF16", 4),
    t("layer2.conv.weight", [24, 32, 3, 3], "F32", 5),
    t("fc.weight", [10, 96], "BF16", 6),
    t("fc.bias", [10], "F32", 7),
  ];
}

/** Writes the tensors as one file and as 3 shards + index into a fresh directory. */
async function writeBoth(): Promise<{ dir: string; single: string; index: string }> {
  const dir = await Deno.makeTempDir();
  const all = weights();
  await Deno.writeFile(`${dir}/single.safetensors`, writeSafetensors(all));
  const shards = [all.slice(0, 2), all.slice(2, 4), all.slice(4)];
  const weightMap: Record<string, string> = {};
  await Deno.mkdir(`${dir}/ckpt`);
  for (const [i, part] of shards.entries()) {
    const file = `model-0000${i + 1}-of-00003.safetensors`;
    await Deno.writeFile(`${dir}/ckpt/${file}`, writeSafetensors(part));
    for (const t of part) weightMap[t.name] = file;
  }
  const index = `${dir}/ckpt/model.safetensors.index.json`;
  await Deno.writeTextFile(index, JSON.stringify({ metadata: { total_size: "0" }, weight_map: weightMap }));
  return { dir, single: `${dir}/single.safetensors`, index };
}

Deno.test("sharded safetensors (3 shards, BF16 + F32) read as the single file: names, order, shapes, values", async () => {
  const { dir, single, index } = await writeBoth();
  const a = await loadWeightFile(single),
    b = await loadWeightFile(index),
    c = await loadWeightFile(`${dir}/ckpt`);
  deepEqual(b.tensors.map((t) => t.name), a.tensors.map((t) => t.name));
  deepEqual(c.tensors.map((t) => t.name), a.tensors.map((t) => t.name));
  for (const [i, t] of a.tensors.entries()) {
    deepEqual(b.tensors[i].shape, t.shape);
    equal(b.tensors[i].dtype, t.dtype);
    deepEqual(b.tensors[i].values(), t.values());
  }
  await Deno.remove(dir, { recursive: true });
});

gpuTest(
  "deno task analyze's analyze() gives a sharded checkpoint the same per-layer results as its single file",
  async () => {
    const { dir, single, index } = await writeBoth();
    for (const solver of ["cpu", "gpu"] as const) {
      const a = await analyze(single, { solver }), b = await analyze(index, { solver });
      deepEqual(b.layers.map((l) => l.name), a.layers.map((l) => l.name));
      deepEqual(b.layers, a.layers);
    }
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test("sharded checkpoints: a missing shard, a cut shard, a tensor in the wrong shard, a bad dtype name the file and tensor", async () => {
  const { dir, index } = await writeBoth();
  const ckpt = `${dir}/ckpt`;
  const map = JSON.parse(await Deno.readTextFile(index));
  // Missing shard.
  await Deno.writeTextFile(
    `${ckpt}/missing.index.json`,
    JSON.stringify({ weight_map: { ...map.weight_map, "extra.weight": "model-00009-of-00009.safetensors" } }),
  );
  await rejects(
    () => loadWeightFile(`${ckpt}/missing.index.json`),
    /shard ".*model-00009-of-00009\.safetensors" \(holding tensor "extra\.weight"\) does not exist/,
  );
  // A tensor the index maps to a shard that does not hold it.
  await Deno.writeTextFile(
    `${ckpt}/wrong.index.json`,
    JSON.stringify({ weight_map: { ...map.weight_map, "fc.bias": "model-00001-of-00003.safetensors" } }),
  );
  await rejects(
    () => loadWeightFile(`${ckpt}/wrong.index.json`),
    /Invalid safetensors file ".*model-00001-of-00003\.safetensors": tensor "fc\.bias" is not in this shard/,
  );
  // A shard cut short: its last tensor's offsets leave the file.
  const shard2 = `${ckpt}/model-00002-of-00003.safetensors`;
  const bytes = await Deno.readFile(shard2);
  await Deno.writeFile(shard2, bytes.subarray(0, bytes.length - 10));
  await rejects(
    () => loadWeightFile(index),
    /Invalid safetensors file ".*model-00002-of-00003\.safetensors": tensor "layer1\.proj\.weight" has data_offsets .* outside the data .*cut short/,
  );
  await Deno.writeFile(shard2, bytes);
  // A dtype we do not read.
  const shard3 = `${ckpt}/model-00003-of-00003.safetensors`;
  const s3 = await Deno.readFile(shard3);
  // Same-length edit inside the (ASCII) header: F32 → F4X on the first tensor.
  const at = new TextDecoder("latin1").decode(s3).indexOf('"F32"');
  const edited = s3.slice();
  edited.set(new TextEncoder().encode('"F4X"'), at);
  await Deno.writeFile(shard3, edited);
  await rejects(
    () => loadWeightFile(index),
    /Invalid safetensors file ".*model-00003-of-00003\.safetensors": tensor "layer2\.conv\.weight" has unknown dtype "F4X"/,
  );
  // Not an index.
  await Deno.writeTextFile(`${ckpt}/bad.index.json`, JSON.stringify({ weights: {} }));
  await rejects(() => loadWeightFile(`${ckpt}/bad.index.json`), /"weight_map"/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("safetensors paths are read lazily: a file cut after opening fails when that tensor is read, naming it", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/m.safetensors`;
  const bytes = writeSafetensors([
    { name: "a", shape: [4, 4], data: randArray(16, 1) },
    { name: "b", shape: [8, 8], data: randArray(64, 2) },
  ]);
  await Deno.writeFile(path, bytes);
  const { tensors } = await openSafetensors(path);
  equal(tensors[0].values().length, 16);
  await Deno.writeFile(path, bytes.subarray(0, bytes.length - 4));
  equal(tensors[0].values().length, 16); // still inside the file
  throws(() => tensors[1].values(), /tensor "b" ends past the end of the file: the file is cut short/);
  await Deno.remove(dir, { recursive: true });
  const empty = await Deno.makeTempDir();
  await rejects(() => loadWeightFile(empty), /a directory without model\.safetensors\.index\.json/);
  await Deno.remove(empty);
});

gpuTest("analyze({layers}) keeps the matching layers only, as deno task analyze --layers does", async () => {
  const { dir, index } = await writeBoth();
  const all = await analyze(index, { solver: "cpu" });
  const some = await analyze(index, { solver: "cpu", layers: "^layer[12]\\.conv" });
  deepEqual(some.layers.map((l) => l.name), ["layer1.conv.weight", "layer2.conv.weight"]);
  deepEqual(some.layers, all.layers.filter((l) => /^layer[12]\.conv/.test(l.name)));
  await rejects(() => analyze(index, { layers: "(" }), /Invalid layers pattern "\(":/);
  await Deno.remove(dir, { recursive: true });
});

gpuTest(
  "analyze() in memory-bounded chunks (one layer each) or chunks of 2 matrices equals one chunk: metrics, FARMS, rand_distance, evals",
  async () => {
    const { dir, index } = await writeBoth();
    for (const extra of [{}, { farms: true }, { randomize: true, keepEvals: true }]) {
      const { timings: _t1, ...whole } = await analyze(index, { solver: "cpu", ...extra });
      const { timings: _t2, ...chunked } = await analyze(index, { solver: "cpu", memoryBudget: 1, ...extra });
      deepEqual(chunked, whole, JSON.stringify(extra));
      const { timings: _t3, ...few } = await analyze(index, { solver: "cpu", chunkMatrices: 2, ...extra });
      deepEqual(few, whole, `chunkMatrices 2, ${JSON.stringify(extra)}`);
    }
    await Deno.remove(dir, { recursive: true });
  },
);

gpuTest("analyze() reports progress: layers done of the total before each chunk, and the end", async () => {
  const { dir, index } = await writeBoth();
  const calls: [number, number, string | null][] = [];
  const r = await analyze(index, {
    solver: "cpu",
    memoryBudget: 1,
    onProgress: (d, t, c) => calls.push([d, t, c]),
  });
  const names = r.layers.map((l) => l.name);
  deepEqual(calls, [...names.map((n, i): [number, number, string | null] => [i, names.length, n]), [
    5,
    5,
    null,
  ]]);
  await Deno.remove(dir, { recursive: true });
});
