import { ok } from "node:assert/strict";
import { zipSync } from "fflate";
import { parseSafetensors, writeSafetensors } from "../../io/safetensors.ts";
import { parseNpy, parseNpz, writeNpy } from "../../io/npy.ts";
import { WeightFileError } from "../../io/tensor.ts";
import { DataFileError, maybeGunzip, parseIdx } from "../../data/idx.ts";
import { parseMat } from "../../data/mat.ts";
import { matFile, matrix } from "../data/_mat.ts";
import { rng } from "../_helpers.ts";

// A seeded mutation fuzz of every reader: bit flips, cuts, insertions and overwritten runs. A
// mutated file either loads, or fails with the readers' one error voice (WeightFileError /
// DataFileError naming the file) — never a bare RangeError or TypeError. Formats with a checksum
// (npz member CRC-32s, gzip's CRC-32, zlib's Adler-32) must not load corrupted data silently.

const CASES = 300;
const FILE = "fuzzed.file";

type Reader = (bytes: Uint8Array) => Promise<number[][]>; // every array's values, to compare

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  const kind = Math.floor(r() * 4);
  const at = Math.floor(r() * src.length);
  if (kind === 0) { // flip 1–8 bits anywhere
    const out = src.slice();
    const flips = 1 + Math.floor(r() * 8);
    for (let i = 0; i < flips; i++) {
      const k = Math.floor(r() * out.length);
      out[k] ^= 1 << Math.floor(r() * 8);
    }
    return out;
  }
  if (kind === 1) return src.slice(0, at); // cut
  const run = Uint8Array.from({ length: 1 + Math.floor(r() * 16) }, () => Math.floor(r() * 256));
  if (kind === 2) { // insert
    const out = new Uint8Array(src.length + run.length);
    out.set(src.subarray(0, at));
    out.set(run, at);
    out.set(src.subarray(at), at + run.length);
    return out;
  }
  const out = src.slice(); // overwrite a run
  out.set(run.subarray(0, Math.max(0, out.length - at)), at);
  return out;
}

async function fuzz(format: string, original: Uint8Array, read: Reader, checksummed: boolean, seed: number) {
  const want = JSON.stringify(await read(original));
  const r = rng(seed);
  let loaded = 0, refused = 0;
  for (let c = 0; c < CASES; c++) {
    const bytes = mutate(original, r);
    let got: number[][];
    try {
      got = await read(bytes);
    } catch (e) {
      const voice = e instanceof WeightFileError || e instanceof DataFileError;
      ok(voice, `${format} case ${c}: ${(e as Error).name} escaped: ${(e as Error).message}`);
      ok((e as Error).message.includes(FILE), `${format} case ${c}: the message lacks the file name: ${e}`);
      refused++;
      continue;
    }
    loaded++;
    if (checksummed && !bytes.every((b, i) => b === original[i]) && bytes.length === original.length) {
      ok(JSON.stringify(got) === want, `${format} case ${c}: corrupted data loaded without an error`);
    }
  }
  ok(refused > CASES / 10, `${format}: only ${refused} of ${CASES} mutations refused (${loaded} loaded)`);
}

const values = (n: number, s: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + s) * 3);
const tensors = [
  { name: "conv.weight", shape: [4, 3, 3, 3], data: values(108, 1) },
  { name: "fc.weight", shape: [5, 12], data: values(60, 2), dtype: "F16" as const },
  { name: "fc.bias", shape: [5], data: values(5, 3), dtype: "F64" as const },
];
const readTensors = (ts: { values(): ArrayLike<number> }[]) => ts.map((t) => Array.from(t.values()));

Deno.test("fuzz: safetensors and npy refuse mutated files in one voice", async () => {
  await fuzz(
    "safetensors",
    writeSafetensors(tensors, { note: "fuzz" }),
    (b) => Promise.resolve(readTensors(parseSafetensors(b, FILE).tensors)),
    false,
    1,
  );
  await fuzz(
    "npy",
    writeNpy(values(24, 4), [2, 3, 4]),
    (b) => Promise.resolve(readTensors([parseNpy(b, "a", FILE)])),
    false,
    2,
  );
});

Deno.test("fuzz: npz (stored and deflated) checks member CRC-32s: corrupted weights never load", async () => {
  const members = {
    "a.npy": writeNpy(values(40, 5), [8, 5]),
    "b.npy": writeNpy(values(27, 6), [3, 3, 3], "<f8"),
  };
  for (const [kind, level] of [["stored", 0], ["deflated", 6]] as const) {
    await fuzz(
      `npz ${kind}`,
      zipSync(members, { level }),
      (b) => Promise.resolve(readTensors(parseNpz(b, FILE))),
      true,
      3 + level,
    );
  }
});

Deno.test("fuzz: IDX raw and gzipped refuse mutated files in one voice; gzip's CRC is checked", async () => {
  const idx = new Uint8Array([
    0,
    0,
    8,
    3,
    0,
    0,
    0,
    5,
    0,
    0,
    0,
    4,
    0,
    0,
    0,
    3,
    ...Array.from({ length: 60 }, (_, i) => i * 4),
  ]);
  const read: Reader = async (b) => [Array.from(parseIdx(await maybeGunzip(b, FILE), FILE).data)];
  await fuzz("idx", idx, read, false, 10);
  const gz = new Uint8Array(
    await new Response(new Blob([idx]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
  );
  await fuzz("idx.gz", gz, read, true, 11);
});

Deno.test("fuzz: MAT raw and compressed refuse mutated files in one voice, naming the offset", async () => {
  const vars = [
    matrix("X", [2, 3, 2], Array.from({ length: 12 }, (_, i) => i * 20), 9, "u8"),
    matrix("y", [3, 1], [1, 2, 10], 6, "f64"),
  ];
  const read: Reader = async (b) => [...(await parseMat(b, FILE)).values()].map((v) => Array.from(v.data));
  await fuzz("mat", await matFile(vars, false), read, false, 20);
  await fuzz("mat compressed", await matFile(vars, true), read, false, 21);
});
