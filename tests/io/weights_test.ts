import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { zipSync } from "fflate";
import { loadWeights } from "../../io/load.ts";
import { parseNpy, parseNpz, writeNpy } from "../../io/npy.ts";
import { parseSafetensors, writeSafetensors } from "../../io/safetensors.ts";
import { floatToHalf, halfToFloat } from "../../io/tensor.ts";
import { assertNear, randArray } from "../_helpers.ts";

Deno.test("safetensors round-trips F32, F64, F16, BF16 and I64 with metadata", () => {
  const v = Array.from(randArray(24, 1), (x) => x * 3);
  const bytes = writeSafetensors([
    { name: "a.weight", shape: [2, 3, 4], data: v },
    { name: "b", shape: [24], data: v, dtype: "F64" },
    { name: "c", shape: [4, 6], data: v, dtype: "F16" },
    { name: "d", shape: [6, 4], data: v, dtype: "BF16" },
    { name: "steps", shape: [], data: [7], dtype: "I64" },
  ], { format: "pt" });
  const { tensors, metadata } = parseSafetensors(bytes, "x.safetensors");
  deepEqual(metadata, { format: "pt" });
  deepEqual(tensors.map((t) => [t.name, t.dtype, t.shape, t.isFloat]), [
    ["a.weight", "F32", [2, 3, 4], true],
    ["b", "F64", [24], true],
    ["c", "F16", [4, 6], true],
    ["d", "BF16", [6, 4], true],
    ["steps", "I64", [], false],
  ]);
  assertNear("F32", tensors[0].values(), v.map(Math.fround), 0, 0);
  assertNear("F64", tensors[1].values(), v, 0, 0);
  assertNear("F16", tensors[2].values(), v, 0, 2 ** -11);
  assertNear("BF16", tensors[3].values(), v, 0, 2 ** -8);
  assertNear("I64", tensors[4].values(), [7], 0, 0);
});

Deno.test("half floats decode and encode exactly at edges", () => {
  for (
    const [bits, value] of [[0x3c00, 1], [0xc000, -2], [0x7bff, 65504], [0x0001, 2 ** -24], [
      0x7c00,
      Infinity,
    ]]
  ) {
    equal(halfToFloat(bits), value);
    equal(floatToHalf(value), bits);
  }
  equal(Number.isNaN(halfToFloat(0x7e00)), true);
});

function header(obj: unknown, data = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(obj));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("malformed safetensors files get errors naming the file, the tensor and what was expected", () => {
  const f = "m.safetensors";
  throws(
    () => parseSafetensors(new Uint8Array(5), f),
    /Invalid safetensors file "m.safetensors": the file is 5 bytes: expected at least 8/,
  );
  const long = new Uint8Array(16);
  new DataView(long.buffer).setBigUint64(0, 1000n, true);
  throws(
    () => parseSafetensors(long, f),
    /header length 1000 is past the end of the file \(8 bytes after the length\)/,
  );
  const notJson = new Uint8Array(12);
  new DataView(notJson.buffer).setBigUint64(0, 4n, true);
  notJson.set([0x7b, 0x61, 0x3a, 0x7d], 8);
  throws(() => parseSafetensors(notJson, f), /the header is not valid JSON/);
  const data = new Uint8Array(16);
  throws(
    () => parseSafetensors(header({ w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 32] } }, data), f),
    /tensor "w" has data_offsets \[0, 32\] outside the data \(0…16 bytes\)/,
  );
  throws(
    () => parseSafetensors(header({ w: { dtype: "F33", shape: [2], data_offsets: [0, 8] } }, data), f),
    /tensor "w" has unknown dtype "F33": expected one of/,
  );
  throws(
    () => parseSafetensors(header({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, data), f),
    /tensor "w" \(F32 \[3\]\) needs 12 bytes, data_offsets give 8/,
  );
  throws(
    () =>
      parseSafetensors(
        header({
          a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
          b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
        }, data),
        f,
      ),
    /tensor "b" \[4, 12\] overlaps tensor "a" \[0, 8\]/,
  );
});

Deno.test("npy reads f4, f8, f2, i4, big-endian and Fortran order; npz reads stored and deflated members", () => {
  const v = [1.5, -2, 3.25, 4, 5, 6];
  assertNear("f4", parseNpy(writeNpy(v, [2, 3]), "x").values(), v, 0, 0);
  assertNear("f8", parseNpy(writeNpy(v, [2, 3], "<f8"), "x").values(), v, 0, 0);
  const custom = (descr: string, fortran: boolean, body: (dv: DataView, o: number) => void, size: number) => {
    const h =
      `{'descr': '${descr}', 'fortran_order': ${fortran ? "True" : "False"}, 'shape': (2, 3), }`.padEnd(117) +
      "\n";
    const out = new Uint8Array(10 + h.length + 6 * size);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(out.buffer).setUint16(8, h.length, true);
    out.set(new TextEncoder().encode(h), 10);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < 6; i++) body(dv, 10 + h.length + i * size);
    return out;
  };
  let i = 0;
  const be = custom(">f8", false, (dv, o) => dv.setFloat64(o, v[i++], false), 8);
  assertNear(">f8", parseNpy(be, "x").values(), v, 0, 0);
  // Fortran order: column-major storage of [[1.5, -2, 3.25], [4, 5, 6]].
  const colMajor = [1.5, 4, -2, 5, 3.25, 6];
  i = 0;
  const fo = custom("<f4", true, (dv, o) => dv.setFloat32(o, colMajor[i++], true), 4);
  assertNear("fortran", parseNpy(fo, "x").values(), v, 0, 0);
  i = 0;
  const i4 = custom("<i4", false, (dv, o) => dv.setInt32(o, [1, -2, 3, 4, 5, 6][i++], true), 4);
  const t = parseNpy(i4, "x");
  equal(t.isFloat, false);
  assertNear("i4", t.values(), [1, -2, 3, 4, 5, 6], 0, 0);
  i = 0;
  const f2 = custom("<f2", false, (dv, o) => dv.setUint16(o, floatToHalf(v[i++]), true), 2);
  assertNear("f2", parseNpy(f2, "x").values(), v, 0, 0);
  for (const level of [0, 6] as const) {
    const zip = zipSync({ "fc.weight.npy": writeNpy(v, [3, 2]), "notes.txt": new Uint8Array(3) }, { level });
    const ts = parseNpz(zip, "m.npz");
    deepEqual(ts.map((x) => [x.name, x.shape]), [["fc.weight", [3, 2]]]);
    assertNear(`npz level ${level}`, ts[0].values(), v, 0, 0);
  }
  throws(
    () => parseNpy(new Uint8Array(20), "x", "a.npy"),
    /Invalid npy file "a.npy": missing the \\x93NUMPY magic at byte 0/,
  );
  throws(
    () => parseNpy(writeNpy(v, [2, 3]).slice(0, 130), "x", "a.npy"),
    /data is 2 bytes at offset 128: expected 24 for 'f4' \[2,3\]/,
  );
  throws(
    () => parseNpz(new Uint8Array([1, 2, 3]), "b.npz"),
    /Invalid npz file "b.npz": not a readable zip archive/,
  );
});

Deno.test("loadWeights() detects formats and names a missing file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(
    `${dir}/m.safetensors`,
    writeSafetensors([{ name: "w", shape: [2, 2], data: [1, 2, 3, 4] }]),
  );
  await Deno.writeFile(`${dir}/w.npy`, writeNpy([1, 2], [2]));
  deepEqual((await loadWeights(`${dir}/m.safetensors`)).map((t) => t.name), ["w"]);
  deepEqual((await loadWeights(`${dir}/w.npy`)).map((t) => t.name), ["w"]);
  await rejects(
    () => loadWeights(`${dir}/nope.safetensors`),
    /Invalid weight file ".*nope.safetensors": no such file/,
  );
  await Deno.remove(dir, { recursive: true });
});

/** A safetensors file written by hand (not by our writer): one tensor per dtype, raw little-endian bits. */
function handMadeSafetensors(tensors: { name: string; dtype: string; bits: number[] }[]): Uint8Array {
  let offset = 0;
  const header: Record<string, unknown> = {};
  for (const t of tensors) {
    header[t.name] = {
      dtype: t.dtype,
      shape: [t.bits.length],
      data_offsets: [offset, offset + 2 * t.bits.length],
    };
    offset += 2 * t.bits.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors) for (const b of t.bits) dv.setUint16((at += 2) - 2, b, true);
  return out;
}

Deno.test("BF16 and F16 decode fixed bit patterns: ±0, ±1, −2, ±Inf, NaN, subnormals, extremes", () => {
  // Each pattern with its value written out, not derived by the code under test.
  const bf16: [number, number][] = [
    [0x0000, 0],
    [0x8000, -0],
    [0x3f80, 1],
    [0xbf80, -1],
    [0xc000, -2],
    [0x3e20, 0.15625],
    [0x7f80, Infinity],
    [0xff80, -Infinity],
    [0x0080, 1.1754943508222875e-38], // 2^-126, the smallest normal
    [0x0001, 9.183549615799121e-41], // 2^-133, the smallest subnormal
    [0x807f, -1.1663108012064884e-38], // −127·2^-133, the largest negative subnormal
    [0x7f7f, 3.3895313892515355e38], // the largest finite
  ];
  const f16: [number, number][] = [
    [0x0000, 0],
    [0x8000, -0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x0400, 6.103515625e-5], // 2^-14, the smallest normal
    [0x0001, 5.960464477539063e-8], // 2^-24, the smallest subnormal
    [0x83ff, -6.097555160522461e-5], // −1023·2^-24
    [0x7bff, 65504], // the largest finite
  ];
  const nan = { bf16: [0x7fc0, 0xffc1, 0x7f81], f16: [0x7e00, 0xfc01] };
  const { tensors } = parseSafetensors(
    handMadeSafetensors([
      { name: "b", dtype: "BF16", bits: [...bf16.map(([b]) => b), ...nan.bf16] },
      { name: "h", dtype: "F16", bits: [...f16.map(([b]) => b), ...nan.f16] },
    ]),
    "hand.safetensors",
  );
  for (const [t, table, nans] of [[tensors[0], bf16, nan.bf16], [tensors[1], f16, nan.f16]] as const) {
    for (const got of [t.values(), t.float32!()]) {
      table.forEach(([bits, want], i) => {
        ok(Object.is(got[i], want), `${t.dtype} 0x${bits.toString(16)}: ${got[i]} vs ${want}`);
      });
      for (let k = 0; k < nans.length; k++) ok(Number.isNaN(got[table.length + k]), `${t.dtype} NaN ${k}`);
    }
  }
});
