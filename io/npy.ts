/**
 * NumPy `.npy` and `.npz` readers. `.npy`: magic `\x93NUMPY`, version, a header dict
 * (`descr`, `fortran_order`, `shape`), then the data; little- or big-endian floats and integers;
 * Fortran order is transposed to row-major. `.npz`: a zip of `.npy` members, stored or deflated
 * (read with the npm package fflate).
 * Ref: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 * @module
 */
import { unzipSync } from "fflate";
import CRC32 from "crc-32";
import { halfToFloat, numel, WeightFileError, type WeightTensor } from "./tensor.ts";

const KINDS: Record<string, { size: number; float: boolean }> = {
  f2: { size: 2, float: true },
  f4: { size: 4, float: true },
  f8: { size: 8, float: true },
  i1: { size: 1, float: false },
  i2: { size: 2, float: false },
  i4: { size: 4, float: false },
  i8: { size: 8, float: false },
  u1: { size: 1, float: false },
  u2: { size: 2, float: false },
  u4: { size: 4, float: false },
  u8: { size: 8, float: false },
  b1: { size: 1, float: false },
};

function read(kind: string, dv: DataView, off: number, le: boolean): number {
  switch (kind) {
    case "f2":
      return halfToFloat(dv.getUint16(off, le));
    case "f4":
      return dv.getFloat32(off, le);
    case "f8":
      return dv.getFloat64(off, le);
    case "i1":
      return dv.getInt8(off);
    case "i2":
      return dv.getInt16(off, le);
    case "i4":
      return dv.getInt32(off, le);
    case "i8":
      return Number(dv.getBigInt64(off, le));
    case "u2":
      return dv.getUint16(off, le);
    case "u4":
      return dv.getUint32(off, le);
    case "u8":
      return Number(dv.getBigUint64(off, le));
    default:
      return dv.getUint8(off);
  }
}

/**
 * Parses one `.npy` array.
 * @param bytes The file's (or zip member's) bytes.
 * @param name The tensor name to give it.
 * @param file The path used in error messages.
 * @param format `npy`, or `npz` for a member of an archive.
 * @returns The tensor.
 * @throws {WeightFileError} On a bad magic, header, dtype or size.
 */
export function parseNpy(bytes: Uint8Array, name: string, file = "<bytes>", format = "npy"): WeightTensor {
  const where = format === "npz" ? `member "${name}.npy": ` : "";
  const bad = (d: string) => new WeightFileError(format, file, where + d);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) {
    throw bad("missing the \\x93NUMPY magic at byte 0");
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  if (hstart + hlen > bytes.length) {
    throw bad(`header length ${hlen} is past the end of the file (${bytes.length} bytes)`);
  }
  const header = new TextDecoder().decode(bytes.subarray(hstart, hstart + hlen));
  const descr = /'descr':\s*'([<>|=])([a-z])(\d+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeM = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) {
    throw bad(`header ${JSON.stringify(header.trim())} lacks descr, fortran_order or shape`);
  }
  const kind = descr[2] + descr[3];
  if (!(kind in KINDS)) {
    throw bad(`unknown dtype '${descr[1]}${kind}': expected a float (f2, f4, f8) or an integer`);
  }
  const shape = shapeM[1].split(",").map((s) => s.trim()).filter((s) => s).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw bad(`shape (${shapeM[1]}) is not a tuple of integers`);
  }
  const le = descr[1] !== ">";
  const dataStart = hstart + hlen;
  const n = numel(shape), size = KINDS[kind].size;
  if (bytes.length - dataStart < n * size) {
    throw bad(
      `data is ${bytes.length - dataStart} bytes at offset ${dataStart}: expected ${n * size} for '${kind}' ${
        JSON.stringify(shape)
      }`,
    );
  }
  return {
    name,
    dtype: `${descr[1]}${kind}`,
    shape,
    isFloat: KINDS[kind].float,
    values: () => {
      const flat = new Float64Array(n);
      for (let i = 0; i < n; i++) flat[i] = read(kind, dv, dataStart + i * size, le);
      if (fortran[1] === "False" || shape.length < 2) return flat;
      // Fortran order: the first index varies fastest. Transpose to row-major.
      const out = new Float64Array(n);
      const idx = new Array<number>(shape.length).fill(0);
      for (let f = 0; f < n; f++) {
        let c = 0;
        for (let d = 0; d < shape.length; d++) c = c * shape[d] + idx[d];
        out[c] = flat[f];
        for (let d = 0; d < shape.length; d++) {
          if (++idx[d] < shape[d]) break;
          idx[d] = 0;
        }
      }
      return out;
    },
  };
}

/**
 * Parses an `.npz` archive (stored or deflated members; each member's CRC-32 is checked, as
 * Python's zipfile does).
 * @param bytes The file's bytes.
 * @param file The path used in error messages.
 * @returns One tensor per `.npy` member, named without the extension.
 * @throws {WeightFileError} When the zip or a member is malformed.
 */
export function parseNpz(bytes: Uint8Array, file = "<bytes>"): WeightTensor[] {
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes);
  } catch (e) {
    throw new WeightFileError("npz", file, `not a readable zip archive: ${(e as Error).message}`);
  }
  // As Python's zipfile (and so numpy) does: a member whose CRC-32 differs is corrupt.
  const crcs = centralCrcs(bytes, file);
  for (const [name, data] of Object.entries(members)) {
    const want = crcs.get(name);
    const got = CRC32.buf(data) >>> 0;
    if (want === undefined) {
      throw new WeightFileError("npz", file, `member "${name}" is missing from the zip's central directory`);
    }
    if (got !== want) {
      throw new WeightFileError(
        "npz",
        file,
        `member "${name}" is corrupt: its CRC-32 is ${hex(got)}, the archive records ${hex(want)}`,
      );
    }
  }
  return Object.entries(members)
    .filter(([n]) => n.endsWith(".npy"))
    .map(([n, b]) => parseNpy(b, n.slice(0, -4), file, "npz"));
}

const hex = (v: number) => `0x${v.toString(16).padStart(8, "0")}`;

/** Each member's CRC-32 as the zip's central directory records it (by name). */
function centralCrcs(bytes: Uint8Array, file: string): Map<string, number> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (detail: string) => new WeightFileError("npz", file, detail);
  // The end-of-central-directory record: its signature within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let o = bytes.length - 22; o >= Math.max(0, bytes.length - 22 - 0xffff); o--) {
    if (v.getUint32(o, true) === 0x06054b50) {
      eocd = o;
      break;
    }
  }
  if (eocd < 0) throw bad("no end-of-central-directory record: not a zip archive, or cut short");
  let count = v.getUint16(eocd + 10, true);
  let offset = v.getUint32(eocd + 16, true);
  if (offset === 0xffffffff || count === 0xffff) { // ZIP64: the locator precedes the record
    const loc = eocd - 20;
    if (loc < 0 || v.getUint32(loc, true) !== 0x07064b50) throw bad("ZIP64 locator missing");
    const rec = Number(v.getBigUint64(loc + 8, true));
    if (rec + 56 > bytes.length || v.getUint32(rec, true) !== 0x06064b50) {
      throw bad(`ZIP64 end-of-central-directory record at byte offset ${rec} is missing`);
    }
    count = Number(v.getBigUint64(rec + 32, true));
    offset = Number(v.getBigUint64(rec + 48, true));
  }
  const out = new Map<string, number>();
  for (let i = 0, o = offset; i < count; i++) {
    if (o + 46 > bytes.length || v.getUint32(o, true) !== 0x02014b50) {
      throw bad(`central directory entry ${i} at byte offset ${o} is corrupt`);
    }
    const nameLen = v.getUint16(o + 28, true),
      extra = v.getUint16(o + 30, true),
      note = v.getUint16(o + 32, true);
    if (o + 46 + nameLen > bytes.length) {
      throw bad(`central directory entry ${i} at byte offset ${o} is cut short`);
    }
    out.set(new TextDecoder().decode(bytes.subarray(o + 46, o + 46 + nameLen)), v.getUint32(o + 16, true));
    o += 46 + nameLen + extra + note;
  }
  return out;
}

/**
 * Serialises an array as `.npy` (little-endian f4 or f8, C order) — for tests and exports.
 * @param data Values, row-major.
 * @param shape Shape.
 * @param dtype `<f4` (default) or `<f8`.
 * @returns The bytes.
 */
export function writeNpy(data: ArrayLike<number>, shape: number[], dtype: "<f4" | "<f8" = "<f4"): Uint8Array {
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const size = dtype === "<f4" ? 4 : 8;
  const out = new Uint8Array(10 + header.length + data.length * size);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const dv = new DataView(out.buffer);
  dv.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const start = 10 + header.length;
  for (let i = 0; i < data.length; i++) {
    if (size === 4) dv.setFloat32(start + 4 * i, data[i], true);
    else dv.setFloat64(start + 8 * i, data[i], true);
  }
  return out;
}
