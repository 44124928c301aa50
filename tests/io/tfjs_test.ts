import { deepEqual, equal, rejects } from "node:assert/strict";
import { loadWeights } from "../../io/load.ts";
import { floatToHalf } from "../../io/tensor.ts";
import { assertNear } from "../_helpers.ts";

async function writeModel(
  dir: string,
  manifest: unknown,
  shards: Record<string, Uint8Array>,
  file = "model.json",
) {
  await Deno.writeTextFile(`${dir}/${file}`, JSON.stringify(manifest));
  for (const [name, bytes] of Object.entries(shards)) await Deno.writeFile(`${dir}/${name}`, bytes);
  return `${dir}/${file}`;
}

Deno.test("tfjs manifests: float32 across two shards, uint8/uint16/float16 quantization, tfjs layout hint", async () => {
  const dir = await Deno.makeTempDir();
  const f32 = new Float32Array([1.5, -2, 3, 4, 5, 6]); // kernel (in=2, out=3)
  const all = new Uint8Array(f32.buffer);
  const u8 = new Uint8Array([0, 10, 255]);
  const u16 = new Uint16Array([0, 1000, 65535]);
  const f16 = new Uint16Array([1, -2.5, 65504].map(floatToHalf));
  const g2 = new Uint8Array(3 + 1 + 6 + 6); // u8 (3) + pad-free layout: u16 starts at 3
  g2.set(u8, 0);
  const dv = new DataView(g2.buffer);
  u16.forEach((v, i) => dv.setUint16(3 + 2 * i, v, true));
  f16.forEach((v, i) => dv.setUint16(9 + 2 * i, v, true));
  const manifest = {
    modelTopology: {},
    weightsManifest: [
      {
        paths: ["g1-shard1of2.bin", "g1-shard2of2.bin"],
        weights: [{ name: "dense/kernel", shape: [2, 3], dtype: "float32" }],
      },
      {
        paths: ["g2.bin"],
        weights: [
          { name: "q8", shape: [3], dtype: "float32", quantization: { dtype: "uint8", scale: 0.5, min: -1 } },
          {
            name: "q16",
            shape: [3],
            dtype: "float32",
            quantization: { dtype: "uint16", scale: 0.001, min: 2 },
          },
          { name: "h", shape: [3], dtype: "float32", quantization: { dtype: "float16" } },
        ],
      },
    ],
  };
  const file = await writeModel(dir, manifest, {
    "g1-shard1of2.bin": all.slice(0, 10),
    "g1-shard2of2.bin": all.slice(10),
    "g2.bin": g2.slice(0, 15),
  });
  const ts = await loadWeights(file);
  deepEqual(ts.map((t) => [t.name, t.shape, t.layout]), [
    ["dense/kernel", [2, 3], "tfjs"],
    ["q8", [3], "tfjs"],
    ["q16", [3], "tfjs"],
    ["h", [3], "tfjs"],
  ]);
  assertNear("float32", ts[0].values(), f32, 0, 0);
  assertNear("uint8", ts[1].values(), [-1, 4, 126.5], 1e-12, 0);
  assertNear("uint16", ts[2].values(), [2, 3, 67.535], 1e-9, 0);
  assertNear("float16", ts[3].values(), [1, -2.5, 65504], 0, 0);
  // A bare manifest array (face-api.js style) reads the same.
  const bare = await writeModel(dir, manifest.weightsManifest, {}, "w-weights_manifest.json");
  equal((await loadWeights(bare)).length, 4);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("tfjs manifests: a missing or short shard, or a bad manifest, names the file and the weight", async () => {
  const dir = await Deno.makeTempDir();
  const m = {
    weightsManifest: [{ paths: ["a.bin"], weights: [{ name: "w", shape: [4], dtype: "float32" }] }],
  };
  const file = await writeModel(dir, m, {});
  await rejects(
    () => loadWeights(file),
    /Invalid tfjs file ".*model.json": shard "a.bin" of group 0 is missing \(looked for .*a.bin\)/,
  );
  await Deno.writeFile(`${dir}/a.bin`, new Uint8Array(8));
  await rejects(() => loadWeights(file), /weight "w" needs bytes 0…16 but the shards of group 0 hold 8/);
  const bad = await writeModel(dir, { modelTopology: {} }, {}, "x.json");
  await rejects(() => loadWeights(bad), /no weightsManifest/);
  await Deno.writeTextFile(`${dir}/y.json`, "{nope");
  await rejects(() => loadWeights(`${dir}/y.json`), /Invalid tfjs file ".*y.json": not valid JSON/);
  const odd = await writeModel(
    dir,
    { weightsManifest: [{ paths: ["a.bin"], weights: [{ name: "w", shape: [2], dtype: "complex64" }] }] },
    {},
    "z.json",
  );
  await rejects(() => loadWeights(odd), /weight "w" has unknown dtype "complex64"/);
  await Deno.remove(dir, { recursive: true });
});
