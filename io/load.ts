/**
 * Loads weight files by extension or content: safetensors, `.npy`, `.npz`, tfjs manifests (`.json`).
 * @module
 */
import { parseNpy, parseNpz } from "./npy.ts";
import { parseSafetensors } from "./safetensors.ts";
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
  return "safetensors";
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
 * Reads the tensors of a weight file in storage order (safetensors by data offset, npz by member
 * order), and the safetensors `__metadata__` (empty for other formats).
 * @param source A path, or the file's bytes.
 * @param format Override the detected format.
 * @returns Tensors and metadata.
 * @throws {WeightFileError} When the file is missing or malformed.
 */
export async function loadWeightFile(
  source: string | Uint8Array,
  format?: WeightFormat,
): Promise<{ tensors: WeightTensor[]; metadata: Record<string, string> }> {
  const file = typeof source === "string" ? source : "<bytes>";
  if (
    typeof source === "string" && (format === "tfjs" || (!format && source.toLowerCase().endsWith(".json")))
  ) {
    return { tensors: await loadTfjs(source), metadata: {} };
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
