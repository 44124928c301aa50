/**
 * Loads weight files by extension or content: safetensors, `.npy`, `.npz`, tfjs manifests (`.json`).
 * @module
 */
import { parseNpy, parseNpz } from "./npy.ts";
import { openSafetensors, openShardedSafetensors, parseSafetensors } from "./safetensors.ts";
import { loadTfjs } from "./tfjs.ts";
import { WeightFileError, type WeightTensor } from "./tensor.ts";

/** Weight file formats. */
export type WeightFormat = "safetensors" | "npy" | "npz" | "tfjs";

/** Guesses a format from a file name, then from the first bytes. */
export function detectFormat(bytes: Uint8Array, file: string): WeightFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith(".json")) return "tfjs";
  if (lower.endsWith(".safetensors")) return "safetensors";
  if (lower.endsWith(".npz")) return "npz";
  if (lower.endsWith(".npy")) return "npy";
  if (bytes[0] === 0x93 && bytes[1] === 0x4e) return "npy";
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return "npz";
  // A name we do not know and bytes that do not open a safetensors header ({ after the length).
  const base = file.split("/").pop()!;
  if (base.includes(".") && bytes.length >= 9 && bytes[8] !== 0x7b) {
    throw new WeightFileError(
      "weight",
      file,
      `not a file type we read ("${
        base.slice(base.lastIndexOf("."))
      }"): expected .safetensors, .npz, .npy, or a tfjs model.json with its shard files`,
    );
  }
  return "safetensors";
}

/**
 * The file a checkpoint path names: the path itself, or in a directory `model.safetensors.index.json`
 * (a sharded checkpoint), else `model.safetensors`, else its only `.safetensors` file.
 * @param path A file or directory.
 * @returns The file to read.
 * @throws {WeightFileError} For a directory with none of these.
 */
export function checkpointPath(path: string): string {
  let isDir = false;
  try {
    isDir = Deno.statSync(path).isDirectory;
  } catch {
    return path; // missing: the reader names it
  }
  if (!isDir) return path;
  const dir = path.endsWith("/") ? path : `${path}/`;
  for (const name of ["model.safetensors.index.json", "model.safetensors"]) {
    try {
      Deno.statSync(dir + name);
      return dir + name;
    } catch { /* next */ }
  }
  const files = [...Deno.readDirSync(path)].filter((e) => e.isFile && e.name.endsWith(".safetensors"));
  if (files.length === 1) return dir + files[0].name;
  throw new WeightFileError(
    "checkpoint",
    path,
    files.length
      ? `a directory with ${files.length} .safetensors files and no model.safetensors.index.json: name one file or the index`
      : "a directory without model.safetensors.index.json, model.safetensors or any .safetensors file",
  );
}

/** The first bytes of a file (empty when it cannot be read: the reader reports it). */
function magic(path: string): Uint8Array {
  try {
    const f = Deno.openSync(path, { read: true });
    try {
      const b = new Uint8Array(16);
      const n = f.readSync(b) ?? 0;
      return b.subarray(0, n);
    } finally {
      f.close();
    }
  } catch {
    return new Uint8Array(0);
  }
}

/**
 * Reads the tensors of a weight file.
 * @param source A path, or the file's bytes.
 * @param format Override the detected format.
 * @returns The tensors.
 * @throws {WeightFileError} When the file is missing or malformed.
 */
export async function loadWeights(
  source: string | Uint8Array,
  format?: WeightFormat,
): Promise<WeightTensor[]> {
  return (await loadWeightFile(source, format)).tensors;
}

/**
 * {@link loadWeights} with the file's metadata: what the scheduler's dry run reads (module order).
 * Internal to the library (not in the `io` entry point): users call `loadWeights`.
 *
 * Reads the tensors of a weight file in storage order (safetensors by data offset, npz by member
 * order), and the safetensors `__metadata__` (empty for other formats). A safetensors path is read
 * lazily — the header now, each tensor's bytes from the file when its `values()` is called — and a
 * Hugging Face sharded checkpoint (`*.index.json`, or a directory holding one) likewise, shard by
 * shard.
 * @param source A path (file, index or checkpoint directory; see {@link checkpointPath}), or the
 *   file's bytes.
 * @param format Override the detected format.
 * @returns Tensors and metadata.
 * @throws {WeightFileError} When the file is missing or malformed.
 */
export async function loadWeightFile(
  source: string | Uint8Array,
  format?: WeightFormat,
): Promise<{ tensors: WeightTensor[]; metadata: Record<string, string> }> {
  const file = typeof source === "string" ? source : "<bytes>";
  if (typeof source === "string") {
    const path = checkpointPath(source);
    if (path.toLowerCase().endsWith(".index.json") && (!format || format === "safetensors")) {
      return await openShardedSafetensors(path);
    }
    if (format === "tfjs" || (!format && path.toLowerCase().endsWith(".json"))) {
      return { tensors: await loadTfjs(path), metadata: {} };
    }
    // safetensors stream from the file: headers now, each tensor's bytes when it is read.
    if (format === "safetensors" || (!format && detectFormat(magic(path), path) === "safetensors")) {
      return await openSafetensors(path);
    }
    source = path;
  }
  let bytes: Uint8Array;
  if (typeof source === "string") {
    try {
      bytes = await Deno.readFile(source);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new WeightFileError(format ?? "weight", source, "no such file");
      }
      throw new WeightFileError(format ?? "weight", source, (e as Error).message);
    }
  } else bytes = source;
  const f = format ?? detectFormat(bytes, file);
  if (f === "npy") {
    const name = file.split("/").pop()!.replace(/\.npy$/i, "") || "array";
    return { tensors: [parseNpy(bytes, name, file)], metadata: {} };
  }
  if (f === "npz") return { tensors: parseNpz(bytes, file), metadata: {} };
  return parseSafetensors(bytes, file);
}
