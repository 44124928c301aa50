import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { openWeightBlobs } from "../../io/blob.ts";
import { loadWeightFile } from "../../io/load.ts";
import { writeNpy } from "../../io/npy.ts";
import { writeSafetensors } from "../../io/safetensors.ts";
import type { WeightTensor } from "../../io/tensor.ts";
import { randArray } from "../_helpers.ts";

const file = (bytes: Uint8Array | string, name: string) => new File([bytes as BlobPart], name);

async function valuesOf(ts: WeightTensor[]): Promise<number[][]> {
  const out: number[][] = [];
  for (const t of ts) {
    await t.load?.();
    out.push(Array.from(t.values()));
    if (t.float32) deepEqual(Array.from(t.float32()), out[out.length - 1], `${t.name} float32`);
    t.unload?.();
  }
  return out;
}

Deno.test("openWeightBlobs reads safetensors (F32, BF16, F16), npy and a sharded index as the path readers do", async () => {
  const tensors = [
    { name: "a.weight", shape: [5, 3], dtype: "F32" as const, data: randArray(15, 1) },
    { name: "b.weight", shape: [2, 4, 3, 3], dtype: "BF16" as const, data: randArray(72, 2) },
    { name: "c.weight", shape: [7], dtype: "F16" as const, data: randArray(7, 3) },
  ];
  const dir = await Deno.makeTempDir();
  const bytes = writeSafetensors(tensors);
  await Deno.writeFile(`${dir}/m.safetensors`, bytes);
  const want = (await loadWeightFile(`${dir}/m.safetensors`)).tensors;
  const got = await openWeightBlobs([file(bytes, "m.safetensors")]);
  equal(got.file, "m.safetensors");
  deepEqual(got.tensors.map((t) => [t.name, t.dtype, t.shape]), want.map((t) => [t.name, t.dtype, t.shape]));
  deepEqual(await valuesOf(got.tensors), want.map((t) => Array.from(t.values())));
  // Values are only there between load() and unload().
  throws(() => got.tensors[0].values(), /"a\.weight" of "m\.safetensors": values\(\) before load\(\)/);
  // npy, and bytes under an unknown name sniffed by their magic.
  const npy = writeNpy(randArray(12, 4), [3, 4], "<f8");
  const n = await openWeightBlobs([file(npy, "w.npy")]);
  deepEqual(n.tensors[0].shape, [3, 4]);
  equal(n.tensors[0].name, "w");
  // A sharded checkpoint: index + shards chosen together, in any order.
  const idx = JSON.stringify({ weight_map: { "a.weight": "s1.safetensors", "b.weight": "s2.safetensors" } });
  const sh = await openWeightBlobs([
    file(writeSafetensors([tensors[1]]), "s2.safetensors"),
    file(idx, "model.safetensors.index.json"),
    file(writeSafetensors([tensors[0]]), "s1.safetensors"),
  ]);
  deepEqual(sh.tensors.map((t) => t.name), ["a.weight", "b.weight"]);
  deepEqual(await valuesOf(sh.tensors), want.slice(0, 2).map((t) => Array.from(t.values())));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openWeightBlobs: a tfjs model.json takes its shards from the files chosen with it; a missing one is named", async () => {
  const manifest = {
    weightsManifest: [{
      paths: ["group1-shard1of1.bin"],
      weights: [{ name: "dense/kernel", shape: [2, 3], dtype: "float32" }],
    }],
  };
  const data = new Float32Array([1, 2, 3, 4, 5, 6]);
  const got = await openWeightBlobs([
    file(JSON.stringify(manifest), "model.json"),
    file(new Uint8Array(data.buffer), "group1-shard1of1.bin"),
  ]);
  equal(got.tensors[0].layout, "tfjs");
  deepEqual(Array.from(got.tensors[0].values()), [1, 2, 3, 4, 5, 6]);
  await rejects(
    () => openWeightBlobs([file(JSON.stringify(manifest), "model.json")]),
    /Invalid tfjs file "model\.json": shard "group1-shard1of1\.bin" of group 0 is missing \(choose it together with model\.json\)/,
  );
});

Deno.test("openWeightBlobs: a cut or malformed file gives the path reader's message; unknown types and a missing shard are named", async () => {
  const dir = await Deno.makeTempDir();
  const bytes = writeSafetensors([{ name: "fc.weight", shape: [64, 32], data: randArray(2048, 5) }]);
  for (
    const [name, b] of [["cut.safetensors", bytes.subarray(0, bytes.length - 100)], [
      "head.safetensors",
      bytes.subarray(0, 20),
    ], ["tiny.safetensors", bytes.subarray(0, 5)]] as const
  ) {
    await Deno.writeFile(`${dir}/${name}`, b);
    // The path reader, named as the CLI names a file in its working directory.
    const cwd = Deno.cwd();
    Deno.chdir(dir);
    let want = "";
    try {
      const { tensors } = await loadWeightFile(name);
      tensors.forEach((t) => t.values());
    } catch (e) {
      want = (e as Error).message;
    } finally {
      Deno.chdir(cwd);
    }
    ok(want.startsWith(`Invalid safetensors file "${name}"`), want);
    let got = "";
    try {
      const { tensors } = await openWeightBlobs([file(b, name)]);
      for (const t of tensors) await t.load!();
    } catch (e) {
      got = (e as Error).message;
    }
    equal(got, want);
  }
  await rejects(() => openWeightBlobs([file("PK\u0003\u0004 not a zip", "model.pt")]), /model\.pt/);
  await rejects(
    () => openWeightBlobs([file(new Uint8Array(64).fill(7), "model.bin")]),
    /Invalid weight file "model\.bin": not a file type we read \("\.bin"\): expected \.safetensors, \.npz, \.npy, or a tfjs model\.json/,
  );
  await rejects(() => openWeightBlobs([]), /no file was chosen/);
  await rejects(
    () => openWeightBlobs([file(bytes, "a.safetensors"), file(bytes, "b.safetensors")]),
    /several files were chosen/,
  );
  await rejects(
    () =>
      openWeightBlobs([
        file(JSON.stringify({ weight_map: { "fc.weight": "s9.safetensors" } }), "m.index.json"),
      ]),
    /shard "s9\.safetensors" \(holding tensor "fc\.weight"\) was not chosen with the index/,
  );
  await Deno.remove(dir, { recursive: true });
});
