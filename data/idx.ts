/**
 * IDX files (MNIST, Fashion-MNIST), raw or gzipped: a 4-byte magic (0, 0, type, rank), the
 * dimensions as big-endian u32, then the data (uint8 for these data sets).
 * Ref: http://yann.lecun.com/exdb/mnist/ (file format section).
 * @module
 */
import { UserError } from "../util/errors.ts";

/** A malformed or missing data file: names the file (and the byte offset when known). */
export class DataFileError extends UserError {
  /**
   * Builds the message.
   * @param file The file.
   * @param detail What was wrong and what was expected.
   */
  constructor(file: string, detail: string) {
    super(`Invalid data file "${file}": ${detail}`);
    this.name = "DataFileError";
  }
}

/** A decoded IDX array (uint8 data). */
export interface IdxArray {
  /** Dimensions, outermost first. */
  shape: number[];
  /** The values. */
  data: Uint8Array;
}

/**
 * Decompresses gzip or zlib (`deflate`) bytes with the built-in DecompressionStream.
 * @param bytes The compressed bytes.
 * @param format `gzip` or `deflate` (zlib-wrapped).
 * @param file The file, for errors.
 * @param what What the bytes are, for errors (e.g. `gzip data`).
 * @returns The decompressed bytes.
 * @throws {DataFileError} On corrupt data.
 */
export async function decompress(
  bytes: Uint8Array,
  format: "gzip" | "deflate",
  file: string,
  what: string,
): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
      new DecompressionStream(format),
    );
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DataFileError(file, `corrupt ${what}: ${(e as Error).message}`);
  }
}

/** Gunzips when the bytes start with the gzip magic; other bytes are returned as they are. */
export function maybeGunzip(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return Promise.resolve(bytes);
  return decompress(bytes, "gzip", file, "gzip data");
}

/**
 * Parses IDX bytes (already gunzipped).
 * @param bytes The file's bytes.
 * @param file The file name for errors.
 * @returns Shape and uint8 data.
 * @throws {DataFileError} On a bad magic, an unsupported type, or a short file (with the offset).
 */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataFileError(file, "missing the IDX magic (0, 0, type, rank) at byte 0");
  }
  if (bytes[2] !== 0x08) {
    throw new DataFileError(
      file,
      `IDX type 0x${bytes[2].toString(16)} at byte 2 is not supported: expected 0x08 (unsigned byte)`,
    );
  }
  const rank = bytes[3];
  const head = 4 + 4 * rank;
  if (rank < 1 || bytes.length < head) {
    throw new DataFileError(file, `truncated header: ${bytes.length} bytes, expected ${head}`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: rank }, (_, i) => dv.getUint32(4 + 4 * i, false));
  const n = shape.reduce((p, d) => p * d, 1);
  if (bytes.length < head + n) {
    throw new DataFileError(
      file,
      `short file: data ends at byte offset ${bytes.length}, expected ${head + n} bytes for shape [${shape}]`,
    );
  }
  return { shape, data: bytes.subarray(head, head + n) };
}

/**
 * Reads an IDX file, gzipped or raw.
 * @param path The file.
 * @returns Shape and uint8 data.
 */
export async function readIdx(path: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    throw new DataFileError(path, "cannot be read (missing?)");
  }
  return parseIdx(await maybeGunzip(bytes, path), path);
}
