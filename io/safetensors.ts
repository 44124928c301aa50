/**
 * safetensors reader and writer: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}}`, then the data. Every offset is checked
 * to lie inside the data and not overlap another tensor's, and every tensor's byte size to match
 * its dtype and shape. Floats: F64, F32, F16, BF16; complex C64 (interleaved float32 real, imaginary:
 * `values()` gives two numbers per element); integers and BOOL are read but not analysed.
 * Ref: https://github.com/huggingface/safetensors (format description).
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { floatToHalf, halfToFloat, numel, WeightFileError, type WeightTensor } from "./tensor.ts";

const SIZES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  C64: 8,
};
const FLOATS = new Set(["F64", "F32", "F16", "BF16"]);
/** Dtypes whose every value float32 holds exactly. */
const EXACT_F32 = new Set(["F32", "F16", "BF16", "C64"]);

/** Stored numbers of a tensor: its elements, twice for complex (`C64`: interleaved real, imaginary). */
function count(dtype: string, shape: number[]): number {
  return numel(shape) * (dtype === "C64" ? 2 : 1);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
let halfTable: Float32Array | null = null;

/** Every float16 bit pattern's value (built once, 256 KiB). */
function halves(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

/**
 * The n values of a tensor's little-endian bytes as float64. Typed-array views (one pass, no
 * per-element calls) on little-endian hosts; a DataView loop elsewhere.
 */
function decode<T extends Float64Array | Float32Array>(dtype: string, view: DataView, n: number, out: T): T {
  if (dtype === "C64") dtype = "F32"; // n counts the real and imaginary parts
  const aligned = (size: number) => view.byteOffset % size === 0;
  if (LITTLE_ENDIAN && !aligned(SIZES[dtype] ?? 1)) {
    // Typed arrays need aligned offsets: copy the bytes (fast) rather than read them one by one.
    const copy = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
    return decode(dtype, new DataView(copy.buffer), n, out);
  }
  if (LITTLE_ENDIAN) {
    const buf = view.buffer, at = view.byteOffset;
    switch (dtype) {
      case "F64":
        out.set(new Float64Array(buf, at, n));
        return out;
      case "F32":
        out.set(new Float32Array(buf, at, n));
        return out;
      case "F16": {
        const src = new Uint16Array(buf, at, n), t = halves();
        for (let i = 0; i < n; i++) out[i] = t[src[i]];
        return out;
      }
      case "BF16": {
        // Each value is the high half of a float32: widen in blocks, then read them as floats.
        const src = new Uint16Array(buf, at, n);
        const block = 1 << 16, u = new Uint32Array(block), f = new Float32Array(u.buffer);
        for (let i0 = 0; i0 < n; i0 += block) {
          const m = Math.min(block, n - i0);
          for (let i = 0; i < m; i++) u[i] = src[i0 + i] << 16;
          out.set(m === block ? f : f.subarray(0, m), i0);
        }
        return out;
      }
    }
  }
  const get = (i: number): number => {
    switch (dtype) {
      case "F64":
        return view.getFloat64(8 * i, true);
      case "F32":
        return view.getFloat32(4 * i, true);
      case "F16":
        return halfToFloat(view.getUint16(2 * i, true));
      case "BF16":
        bf16View.setUint32(0, view.getUint16(2 * i, true) << 16, true);
        return bf16View.getFloat32(0, true);
      case "I64":
        return Number(view.getBigInt64(8 * i, true));
      case "U64":
        return Number(view.getBigUint64(8 * i, true));
      case "I32":
        return view.getInt32(4 * i, true);
      case "U32":
        return view.getUint32(4 * i, true);
      case "I16":
        return view.getInt16(2 * i, true);
      case "U16":
        return view.getUint16(2 * i, true);
      case "I8":
        return view.getInt8(i);
      default:
        return view.getUint8(i);
    }
  };
  for (let i = 0; i < n; i++) out[i] = get(i);
  return out;
}
const bf16View = new DataView(new ArrayBuffer(4));

/** One tensor's place in a safetensors file, validated against the file's data length. */
export interface Span {
  /** The tensor's name. */
  name: string;
  /** First byte, relative to the data (after the header). */
  begin: number;
  /** One past the last byte, relative to the data. */
  end: number;
  /** Dtype as the file names it. */
  dtype: string;
  /** Shape. */
  shape: number[];
}

/**
 * A safetensors file's layout, from its header only (validated as {@link openSafetensors} does):
 * where the data starts and each tensor's span — what an in-place rewrite of some tensors' bytes
 * (pruning) needs to keep every other byte of the file as it was.
 * @param path The file.
 * @returns The data's first byte, the spans in storage order, `__metadata__`, the element size of
 *   each dtype.
 * @throws {WeightFileError} On a missing or malformed file.
 */
export async function safetensorsLayout(
  path: string,
): Promise<
  {
    dataStart: number;
    spans: Span[];
    metadata: Record<string, string>;
    elementSize: (dtype: string) => number;
  }
> {
  const bad = (detail: string) => new WeightFileError("safetensors", path, detail);
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true });
  } catch (e) {
    // A missing file is named as before the format is known (as loadWeightFile always has).
    if (e instanceof Deno.errors.NotFound) throw new WeightFileError("weight", path, "no such file");
    throw bad((e as Error).message);
  }
  try {
    const size = (await f.stat()).size;
    if (size < 8) throw bad(`the file is ${size} bytes: expected at least 8 (the header length)`);
    const headerLen = Number(new DataView(readAt(f, 0, 8).buffer).getBigUint64(0, true));
    if (headerLen > size - 8) {
      throw bad(
        `header length ${headerLen} is past the end of the file (${size - 8} bytes after the length)`,
      );
    }
    const dataStart = 8 + headerLen;
    const { spans, metadata } = checkHeader(
      parseHeaderJson(readAt(f, 8, headerLen), bad),
      size - dataStart,
      bad,
    );
    return { dataStart, spans, metadata, elementSize: (d) => SIZES[d] };
  } finally {
    f.close();
  }
}

/**
 * Validates a safetensors header: every dtype known, every shape and offset well formed, every
 * tensor inside the data and no two overlapping.
 * @param header The parsed JSON header.
 * @param dataLen Bytes of data after the header.
 * @param bad Builds the error, naming the file.
 * @returns The tensors' spans in storage order (by data offset), and `__metadata__`.
 */
function checkHeader(
  header: Record<string, unknown>,
  dataLen: number,
  bad: (detail: string) => WeightFileError,
): { spans: Span[]; metadata: Record<string, string> } {
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw bad("the header is not a JSON object");
  }
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const spans: Span[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = `tensor "${name}"`;
    if (typeof info?.dtype !== "string" || !(info.dtype in SIZES)) {
      throw bad(
        `${where} has unknown dtype ${JSON.stringify(info?.dtype)}: expected one of ${
          Object.keys(SIZES).join(", ")
        }`,
      );
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw bad(`${where} has shape ${JSON.stringify(shape)}: expected a list of non-negative integers`);
    }
    const off = info.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0)) {
      throw bad(`${where} has data_offsets ${JSON.stringify(off)}: expected [begin, end]`);
    }
    const [begin, end] = off as number[];
    if (begin > end || end > dataLen) {
      throw bad(
        `${where} has data_offsets [${begin}, ${end}] outside the data (0…${dataLen} bytes)` +
          (end > dataLen ? ": the file is cut short or the offsets are wrong" : ""),
      );
    }
    const want = numel(shape) * SIZES[info.dtype];
    if (end - begin !== want) {
      throw bad(
        `${where} (${info.dtype} ${JSON.stringify(shape)}) needs ${want} bytes, data_offsets give ${
          end - begin
        }`,
      );
    }
    spans.push({ name, begin, end, dtype: info.dtype, shape });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].begin < spans[i - 1].end) {
      throw bad(
        `tensor "${spans[i].name}" [${spans[i].begin}, ${spans[i].end}] overlaps ` +
          `tensor "${spans[i - 1].name}" [${spans[i - 1].begin}, ${spans[i - 1].end}]`,
      );
    }
  }
  return { spans, metadata };
}

function parseHeaderJson(
  bytes: Uint8Array,
  bad: (detail: string) => WeightFileError,
): Record<string, unknown> {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw bad(`the header is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Parses a safetensors file.
 * @param bytes The file's bytes.
 * @param file The path or label used in error messages.
 * @returns The tensors in file order (by data offset), plus `__metadata__` if present.
 * @throws {WeightFileError} On a truncated file, a bad header, an unknown dtype, or bad offsets.
 */
export function parseSafetensors(
  bytes: Uint8Array,
  file = "<bytes>",
): { tensors: WeightTensor[]; metadata: Record<string, string> } {
  const bad = (detail: string) => new WeightFileError("safetensors", file, detail);
  if (bytes.length < 8) {
    throw bad(`the file is ${bytes.length} bytes: expected at least 8 (the header length)`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  if (headerLen > bytes.length - 8) {
    throw bad(
      `header length ${headerLen} is past the end of the file (${bytes.length - 8} bytes after the length)`,
    );
  }
  const header = parseHeaderJson(bytes.subarray(8, 8 + headerLen), bad);
  const dataStart = 8 + headerLen, dataLen = bytes.length - dataStart;
  const { spans, metadata } = checkHeader(header, dataLen, bad);
  const view = (s: Span) =>
    new DataView(bytes.buffer, bytes.byteOffset + dataStart + s.begin, s.end - s.begin);
  const tensors = spans.map((s): WeightTensor => ({
    name: s.name,
    dtype: s.dtype,
    shape: s.shape,
    isFloat: FLOATS.has(s.dtype),
    values: () =>
      decode(s.dtype, view(s), count(s.dtype, s.shape), new Float64Array(count(s.dtype, s.shape))),
    ...(EXACT_F32.has(s.dtype)
      ? {
        float32: () =>
          decode(s.dtype, view(s), count(s.dtype, s.shape), new Float32Array(count(s.dtype, s.shape))),
      }
      : {}),
  }));
  return { tensors, metadata };
}

/** Reads exactly `length` bytes at `position` of an open file, or fewer where the file ends. */
function readAt(f: Deno.FsFile, position: number, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  f.seekSync(position, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = f.readSync(buf.subarray(got));
    if (n === null || n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/**
 * Opens a safetensors file without reading its data: the header is read and validated against
 * the file's size, and each tensor's bytes are read from the file only when its `values()` is
 * called (and not kept), so memory stays near one tensor, not the file.
 * @param path The file.
 * @returns The tensors in file order (by data offset), plus `__metadata__`.
 * @throws {WeightFileError} On a missing or truncated file, a bad header, an unknown dtype, bad
 *   offsets; `values()` throws it, naming the tensor, if the file was cut after it was opened.
 */
export async function openSafetensors(
  path: string,
): Promise<{ tensors: WeightTensor[]; metadata: Record<string, string> }> {
  const bad = (detail: string) => new WeightFileError("safetensors", path, detail);
  const { dataStart, spans, metadata } = await safetensorsLayout(path);
  // A tensor's bytes, read from the file when its values are asked for.
  const read = (s: Span): DataView => {
    const file = Deno.openSync(path, { read: true });
    let bytes: Uint8Array;
    try {
      bytes = readAt(file, dataStart + s.begin, s.end - s.begin);
    } finally {
      file.close();
    }
    if (bytes.length !== s.end - s.begin) {
      throw bad(`tensor "${s.name}" ends past the end of the file: the file is cut short`);
    }
    return new DataView(bytes.buffer);
  };
  const tensors = spans.map((s): WeightTensor => ({
    name: s.name,
    dtype: s.dtype,
    shape: s.shape,
    isFloat: FLOATS.has(s.dtype),
    values: () =>
      decode(s.dtype, read(s), count(s.dtype, s.shape), new Float64Array(count(s.dtype, s.shape))),
    ...(EXACT_F32.has(s.dtype) ? { float32: () => asFloat32(s, read(s)) } : {}),
  }));
  return { tensors, metadata };
}

/**
 * A tensor's float32 values from bytes only it holds: F32 on a little-endian host is a view of
 * them (no copy), anything else is decoded into a new array.
 */
function asFloat32(s: Span, view: DataView): Float32Array {
  const n = count(s.dtype, s.shape);
  if ((s.dtype === "F32" || s.dtype === "C64") && LITTLE_ENDIAN && view.byteOffset % 4 === 0) {
    return new Float32Array(view.buffer, view.byteOffset, n);
  }
  return decode(s.dtype, view, n, new Float32Array(n));
}

/** The part of a browser `Blob` (or `File`) the readers use. */
export interface BlobLike {
  /** Bytes in the blob. */
  readonly size: number;
  /** A view of bytes start…end. */
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

async function blobBytes(blob: BlobLike, start: number, end: number): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

/**
 * {@link openSafetensors} for a `Blob` (a file the user chose in a browser): the header is read
 * and checked as there, with the same messages, and each tensor's bytes are fetched by
 * `Blob.slice` when the analyzer asks (`load()`), decoded, and dropped (`unload()`), so a file of
 * several GB never sits in memory.
 * @param blob The file.
 * @param file Its name, for errors.
 * @returns The tensors in file order, plus `__metadata__`.
 * @throws {WeightFileError} As {@link openSafetensors}.
 */
export async function openSafetensorsBlob(
  blob: BlobLike,
  file: string,
): Promise<{ tensors: WeightTensor[]; metadata: Record<string, string> }> {
  const bad = (detail: string) => new WeightFileError("safetensors", file, detail);
  const size = blob.size;
  if (size < 8) throw bad(`the file is ${size} bytes: expected at least 8 (the header length)`);
  const headerLen = Number(new DataView((await blobBytes(blob, 0, 8)).buffer).getBigUint64(0, true));
  if (headerLen > size - 8) {
    throw bad(`header length ${headerLen} is past the end of the file (${size - 8} bytes after the length)`);
  }
  const dataStart = 8 + headerLen;
  const { spans, metadata } = checkHeader(
    parseHeaderJson(await blobBytes(blob, 8, dataStart), bad),
    size - dataStart,
    bad,
  );
  const tensors = spans.map((s): WeightTensor => {
    let bytes: Uint8Array | null = null;
    const view = () => {
      if (!bytes) throw new Error(`tensor "${s.name}" of "${file}": values() before load()`);
      return new DataView(bytes.buffer);
    };
    return {
      name: s.name,
      dtype: s.dtype,
      shape: s.shape,
      isFloat: FLOATS.has(s.dtype),
      load: async () => {
        const b = await blobBytes(blob, dataStart + s.begin, dataStart + s.end);
        if (b.length !== s.end - s.begin) {
          throw bad(`tensor "${s.name}" ends past the end of the file: the file is cut short`);
        }
        bytes = b;
      },
      unload: () => {
        bytes = null;
      },
      values: () =>
        decode(s.dtype, view(), count(s.dtype, s.shape), new Float64Array(count(s.dtype, s.shape))),
      ...(EXACT_F32.has(s.dtype)
        ? {
          float32: () => {
            // The loaded bytes are handed over (F32: viewed, not copied): load() again to read more.
            const v = asFloat32(s, view());
            bytes = null;
            return v;
          },
        }
        : {}),
    };
  });
  return { tensors, metadata };
}

/**
 * Opens a Hugging Face sharded checkpoint: `model.safetensors.index.json` (`weight_map`: tensor
 * name → shard file, relative to the index) and its shards, each opened as {@link openSafetensors}
 * does (headers only). Tensors come shard by shard in the shards' name order, each shard's in
 * storage order.
 * @param indexPath The index file.
 * @returns The tensors, and the index's `metadata` (string values only).
 * @throws {WeightFileError} On a bad index, a missing or malformed shard, or a tensor the index
 *   maps to a shard that does not hold it — naming the shard and the tensor.
 */
export async function openShardedSafetensors(
  indexPath: string,
): Promise<{ tensors: WeightTensor[]; metadata: Record<string, string> }> {
  const bad = (detail: string) => new WeightFileError("safetensors index", indexPath, detail);
  let index: { weight_map?: unknown; metadata?: unknown };
  try {
    index = JSON.parse(Deno.readTextFileSync(indexPath));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw bad("no such file");
    throw bad(`not valid JSON: ${(e as Error).message}`);
  }
  const map = index?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw bad('expected an object with "weight_map": {tensor name: shard file}');
  }
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== "string" || shard.includes("..") || shard.startsWith("/")) {
      throw bad(
        `tensor "${name}" maps to ${JSON.stringify(shard)}: expected a shard file name next to the index`,
      );
    }
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  const dir = indexPath.includes("/") ? indexPath.slice(0, indexPath.lastIndexOf("/") + 1) : "";
  const tensors: WeightTensor[] = [];
  for (const shard of [...byShard.keys()].sort()) {
    const names = byShard.get(shard)!;
    const path = dir + shard;
    try {
      Deno.statSync(path);
    } catch {
      throw bad(
        `shard "${path}" (holding tensor "${names[0]}"${
          names.length > 1 ? ` and ${names.length - 1} more` : ""
        }) does not exist`,
      );
    }
    tensors.push(...shardTensors((await openSafetensors(path)).tensors, names, path));
  }
  return { tensors, metadata: indexMetadata(index) };
}

/**
 * The tensors a shard holds for the index, in the shard's order; a name the index maps to the
 * shard but that it lacks is an error naming both.
 * @param opened The shard's tensors.
 * @param names The names the index maps to it.
 * @param shard The shard's path or name.
 */
export function shardTensors(opened: WeightTensor[], names: string[], shard: string): WeightTensor[] {
  const held = new Set(opened.map((t) => t.name));
  const missing = names.find((n) => !held.has(n));
  if (missing) {
    throw new WeightFileError(
      "safetensors",
      shard,
      `tensor "${missing}" is not in this shard, but the index maps it here`,
    );
  }
  const wanted = new Set(names);
  return opened.filter((t) => wanted.has(t.name));
}

/** An index's `metadata`, string values only. */
export function indexMetadata(index: { metadata?: unknown }): Record<string, string> {
  const meta: Record<string, string> = {};
  if (typeof index.metadata === "object" && index.metadata !== null) {
    for (const [k, v] of Object.entries(index.metadata)) if (typeof v === "string") meta[k] = v;
  }
  return meta;
}

/** A tensor to write: values are rounded to the dtype. */
export interface TensorToWrite {
  /** Name in the file. */
  name: string;
  /** Shape. */
  shape: number[];
  /** Values, row-major. */
  data: ArrayLike<number>;
  /** `F32` (default), `F64`, `F16`, `BF16`, `I64`, `I32`, or `C64` (complex: `data` holds real, imaginary pairs). */
  dtype?: "F32" | "F64" | "F16" | "BF16" | "I64" | "I32" | "C64";
}

/**
 * Serialises tensors as a safetensors file (header padded to 8 bytes, data in the given order).
 * @param tensors The tensors.
 * @param metadata Optional string metadata.
 * @returns The file's bytes.
 */
export function writeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const dtype = t.dtype ?? "F32";
    const n = numel(t.shape);
    if (t.data.length !== count(dtype, t.shape)) {
      throw new OptionError(
        `Tensor "${t.name}": ${t.data.length} values for shape [${t.shape}]${
          dtype === "C64" ? " (C64: two per element)" : ""
        }`,
      );
    }
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + n * SIZES[dtype]] };
    offset += n * SIZES[dtype];
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  json = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(pad));
  const out = new Uint8Array(8 + json.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const t of tensors) {
    const dtype = t.dtype ?? "F32";
    for (let i = 0; i < t.data.length; i++) {
      const v = t.data[i];
      switch (dtype) {
        case "F64":
          dv.setFloat64(p, v, true);
          p += 8;
          break;
        case "F32":
        case "C64":
          dv.setFloat32(p, v, true);
          p += 4;
          break;
        case "F16":
          dv.setUint16(p, floatToHalf(v), true);
          p += 2;
          break;
        case "BF16":
          dv.setUint16(p, floatToBf16Bits(v), true);
          p += 2;
          break;
        case "I64":
          dv.setBigInt64(p, BigInt(Math.round(v)), true);
          p += 8;
          break;
        case "I32":
          dv.setInt32(p, v, true);
          p += 4;
          break;
      }
    }
  }
  return out;
}

function floatToBf16Bits(v: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, v, true);
  const x = b.getUint32(0, true);
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40; // NaN stays NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
