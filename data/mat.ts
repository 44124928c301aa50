/**
 * A small MATLAB level-5 MAT-file reader — enough for SVHN's `train_32x32.mat`/`test_32x32.mat`:
 * numeric arrays (any stored type, converted to float64 or kept as uint8), zlib-compressed
 * elements, little- and big-endian files. Arrays are column-major as MATLAB stores them; the
 * caller reorders. Ref: MathWorks, "MAT-File Format" (matfile_format.pdf), level 5.
 *
 * Why our own: the npm reader (`mat-for-js`) converts arrays to nested JS arrays, which for SVHN's
 * 225 million pixels would not fit in memory.
 * @module
 */
import { DataFileError, decompress } from "./idx.ts";

/** A numeric array from a MAT file. */
export interface MatArray {
  /** Variable name. */
  name: string;
  /** MATLAB dimensions (column-major). */
  dims: number[];
  /** MATLAB class, e.g. `uint8`, `double`. */
  className: string;
  /** The real part: `Uint8Array` when stored as uint8, else float64. */
  data: Uint8Array | Float64Array;
}

const CLASS_NAMES: Record<number, string> = {
  6: "double",
  7: "single",
  8: "int8",
  9: "uint8",
  10: "int16",
  11: "uint16",
  12: "int32",
  13: "uint32",
  14: "int64",
  15: "uint64",
};

// miINT8 … miUINT64: [bytes per element, DataView getter]
const TYPES: Record<number, [number, (v: DataView, o: number, le: boolean) => number]> = {
  1: [1, (v, o) => v.getInt8(o)],
  2: [1, (v, o) => v.getUint8(o)],
  3: [2, (v, o, le) => v.getInt16(o, le)],
  4: [2, (v, o, le) => v.getUint16(o, le)],
  5: [4, (v, o, le) => v.getInt32(o, le)],
  6: [4, (v, o, le) => v.getUint32(o, le)],
  7: [4, (v, o, le) => v.getFloat32(o, le)],
  9: [8, (v, o, le) => v.getFloat64(o, le)],
  12: [8, (v, o, le) => Number(v.getBigInt64(o, le))],
  13: [8, (v, o, le) => Number(v.getBigUint64(o, le))],
};
const MI_MATRIX = 14, MI_COMPRESSED = 15;

interface Element {
  type: number;
  start: number; // first data byte
  bytes: number;
  next: number; // offset of the following element
}

function readTag(
  v: DataView,
  o: number,
  le: boolean,
  file: string,
  where: string,
  limit: number = v.byteLength,
): Element {
  if (o + 8 > limit) {
    throw new DataFileError(
      file,
      `${where}: element tag at byte offset ${o} is cut short (its container ends at ${limit})`,
    );
  }
  const first = v.getUint32(o, le);
  if (first >>> 16) { // small data element: type and size in one word, data in the next 4 bytes
    const bytes = first >>> 16;
    if (bytes > 4) {
      throw new DataFileError(
        file,
        `${where}: small data element at byte offset ${o} declares ${bytes} bytes: expected at most 4`,
      );
    }
    return { type: first & 0xffff, start: o + 4, bytes, next: o + 8 };
  }
  const bytes = v.getUint32(o + 4, le);
  const end = o + 8 + bytes;
  if (end > limit) {
    throw new DataFileError(
      file,
      `${where}: element at byte offset ${o} declares ${bytes} bytes but its container ends at ${limit}`,
    );
  }
  // Compressed elements are not padded; the others are padded to 8 bytes.
  return {
    type: first,
    start: o + 8,
    bytes,
    next: first === MI_COMPRESSED ? end : o + 8 + Math.ceil(bytes / 8) * 8,
  };
}

function readMatrix(
  buf: Uint8Array,
  el: Element,
  le: boolean,
  file: string,
  compressedAt: number | null,
): MatArray | null {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const at = (o: number) =>
    compressedAt === null
      ? `byte offset ${o}`
      : `offset ${o} inside the compressed element at byte offset ${compressedAt}`;
  const where = `matrix at ${at(el.start - 8)}`;
  const end = el.start + el.bytes; // every sub-element lies within the matrix element
  const flags = readTag(v, el.start, le, file, where, end);
  if (flags.bytes < 4) {
    throw new DataFileError(file, `${where}: array flags of ${flags.bytes} bytes: expected 8`);
  }
  const cls = v.getUint32(flags.start, le) & 0xff;
  const dimsEl = readTag(v, flags.next, le, file, where, end);
  if (dimsEl.bytes % 4 || dimsEl.bytes < 8) {
    throw new DataFileError(
      file,
      `${where}: dimensions of ${dimsEl.bytes} bytes: expected 4 per dimension, ≥ 2`,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < dimsEl.bytes / 4; i++) dims.push(v.getInt32(dimsEl.start + 4 * i, le));
  if (dims.some((d) => d < 0)) throw new DataFileError(file, `${where}: negative dimension in [${dims}]`);
  const nameEl = readTag(v, dimsEl.next, le, file, where, end);
  const name = new TextDecoder().decode(buf.subarray(nameEl.start, nameEl.start + nameEl.bytes));
  const className = CLASS_NAMES[cls];
  if (!className) return null; // cell, struct, char, sparse …: not needed here
  const real = readTag(v, nameEl.next, le, file, `variable "${name}"`, end);
  const type = TYPES[real.type];
  if (!type) {
    throw new DataFileError(file, `variable "${name}" at ${at(el.start)}: unknown data type ${real.type}`);
  }
  const count = dims.reduce((p, d) => p * d, 1);
  if (real.bytes !== count * type[0]) {
    throw new DataFileError(
      file,
      `variable "${name}" at ${at(real.start - 8)}: ${real.bytes} data bytes for dims [${dims}] of ${
        type[0]
      }-byte elements: expected ${count * type[0]}`,
    );
  }
  if (real.type === 2) {
    return { name, dims, className, data: buf.slice(real.start, real.start + count) };
  }
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = type[1](v, real.start + i * type[0], le);
  return { name, dims, className, data };
}

/** Runs a reader; a read past the data it was given becomes a DataFileError naming where. */
function guarded<T>(read: () => T, file: string, where: string): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof RangeError) throw new DataFileError(file, `${where} is corrupt: ${e.message}`);
    throw e;
  }
}

/**
 * Parses a level-5 MAT file's numeric variables.
 * @param bytes The file.
 * @param file Its path, for errors.
 * @returns Variables by name (non-numeric ones are skipped).
 * @throws {DataFileError} On a v7.3 (HDF5) file, a bad header, or a truncated/corrupt element
 *   (with its byte offset).
 */
export async function parseMat(bytes: Uint8Array, file: string): Promise<Map<string, MatArray>> {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x48 && bytes[2] === 0x44 && bytes[3] === 0x46) {
    throw new DataFileError(
      file,
      "is a MATLAB v7.3 (HDF5) file: expected level 5; re-save it with save(…, '-v7')",
    );
  }
  const head = new TextDecoder().decode(bytes.subarray(0, Math.min(116, bytes.length)));
  if (bytes.length < 128 || !head.startsWith("MATLAB")) {
    if (head.includes("MATLAB 7.3")) {
      throw new DataFileError(
        file,
        "is a MATLAB v7.3 (HDF5) file: expected level 5; re-save it with save(…, '-v7')",
      );
    }
    throw new DataFileError(
      file,
      bytes.length < 128
        ? `is ${bytes.length} bytes: a MAT file's header alone is 128`
        : `does not start with "MATLAB": not a level-5 MAT file`,
    );
  }
  const endian = String.fromCharCode(bytes[126], bytes[127]);
  if (endian !== "IM" && endian !== "MI") {
    throw new DataFileError(
      file,
      `endian indicator at byte offset 126 is "${endian}": expected "IM" or "MI"`,
    );
  }
  const le = endian === "IM";
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, MatArray>();
  for (let o = 128; o < bytes.length;) {
    const el = readTag(v, o, le, file, "top level");
    if (el.type === MI_COMPRESSED) {
      const inner = await decompress(
        bytes.subarray(el.start, el.start + el.bytes),
        "deflate",
        file,
        `compressed element at byte offset ${o}`,
      );
      const iv = new DataView(inner.buffer, inner.byteOffset, inner.byteLength);
      const m = readTag(iv, 0, le, file, `compressed element at byte offset ${o}`);
      if (m.type === MI_MATRIX) {
        const a = guarded(
          () => readMatrix(inner, m, le, file, o),
          file,
          `compressed element at byte offset ${o}`,
        );
        if (a) out.set(a.name, a);
      }
    } else if (el.type === MI_MATRIX) {
      const a = guarded(() => readMatrix(bytes, el, le, file, null), file, `matrix at byte offset ${o}`);
      if (a) out.set(a.name, a);
    }
    o = el.next;
  }
  return out;
}
