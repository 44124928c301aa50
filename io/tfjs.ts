/**
 * TensorFlow.js weight manifests: a `model.json` with `weightsManifest`, or a bare weights
 * manifest (a JSON array of groups, as face-api.js ships). Each group lists shard files
 * (concatenated in order) and its weights laid out back to back: float32, int32 and bool, or
 * quantized — uint8/uint16 as `q·scale + min`, float16 as half floats. Conv kernels are stored
 * HWIO and dense kernels (in, out): the tensors carry the `tfjs` layout hint.
 * Ref: https://github.com/tensorflow/tfjs/blob/master/tfjs-core/src/io/types.ts
 * @module
 */
import { halfToFloat, numel, WeightFileError, type WeightTensor } from "./tensor.ts";

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

interface ManifestGroup {
  paths: string[];
  weights: ManifestWeight[];
}

const SIZE: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/**
 * Reads a tfjs manifest and its shards.
 * @param file Path to `model.json` or a `*weights_manifest.json`.
 * @returns The tensors, with `layout: "tfjs"`.
 * @throws {WeightFileError} When the manifest is malformed, a shard is missing, or the shards are
 *   shorter than the weights they must hold.
 */
export async function loadTfjs(file: string): Promise<WeightTensor[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new WeightFileError("tfjs", file, "no such file");
    throw new WeightFileError("tfjs", file, (e as Error).message);
  }
  const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
  return await loadTfjsManifest(text, file, async (p) => {
    try {
      return await Deno.readFile(dir + p);
    } catch {
      return null;
    }
  }, (p) => `looked for ${dir + p}`);
}

/**
 * Parses a tfjs manifest's text and reads its shards through `readShard` (a file next to it, or a
 * file the user selected in a browser).
 * @param text The manifest's JSON text.
 * @param file Its name, for errors.
 * @param readShard A shard's bytes by its path in the manifest, or null when it is missing.
 * @param where Says where a missing shard was looked for.
 * @returns The tensors, with `layout: "tfjs"`.
 * @throws {WeightFileError} As {@link loadTfjs}.
 */
export async function loadTfjsManifest(
  text: string,
  file: string,
  readShard: (path: string) => Promise<Uint8Array | null>,
  where: (path: string) => string,
): Promise<WeightTensor[]> {
  const bad = (detail: string) => new WeightFileError("tfjs", file, detail);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(`not valid JSON: ${(e as Error).message}`);
  }
  const groups = (Array.isArray(json) ? json : (json as { weightsManifest?: unknown }).weightsManifest) as
    | ManifestGroup[]
    | undefined;
  if (!Array.isArray(groups)) {
    throw bad("no weightsManifest: expected a model.json or a weights manifest array");
  }
  const out: WeightTensor[] = [];
  for (const [gi, g] of groups.entries()) {
    if (!Array.isArray(g?.paths) || !Array.isArray(g?.weights)) {
      throw bad(`group ${gi} lacks paths or weights`);
    }
    const parts: Uint8Array[] = [];
    for (const p of g.paths) {
      const part = await readShard(p);
      if (!part) throw bad(`shard "${p}" of group ${gi} is missing (${where(p)})`);
      parts.push(part);
    }
    const data = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    let off = 0;
    for (const w of g.weights) {
      const stored = w.quantization?.dtype ?? w.dtype;
      if (!(stored in SIZE)) throw bad(`weight "${w.name}" has unknown dtype "${stored}"`);
      if (!Array.isArray(w.shape)) throw bad(`weight "${w.name}" has no shape`);
      const n = numel(w.shape), bytes = n * SIZE[stored];
      if (off + bytes > data.length) {
        throw bad(
          `weight "${w.name}" needs bytes ${off}…${
            off + bytes
          } but the shards of group ${gi} hold ${data.length}`,
        );
      }
      const start = off, q = w.quantization;
      out.push({
        name: w.name,
        dtype: q ? `${w.dtype} (${q.dtype})` : w.dtype,
        shape: w.shape,
        isFloat: w.dtype === "float32",
        layout: "tfjs",
        values: () => {
          const dv = new DataView(data.buffer, data.byteOffset + start, bytes);
          const v = new Float64Array(n);
          for (let i = 0; i < n; i++) {
            switch (stored) {
              case "float32":
                v[i] = dv.getFloat32(4 * i, true);
                break;
              case "int32":
                v[i] = dv.getInt32(4 * i, true);
                break;
              case "bool":
                v[i] = dv.getUint8(i);
                break;
              case "uint8":
                v[i] = dv.getUint8(i) * q!.scale! + q!.min!;
                break;
              case "uint16":
                v[i] = dv.getUint16(2 * i, true) * q!.scale! + q!.min!;
                break;
              default:
                v[i] = halfToFloat(dv.getUint16(2 * i, true));
            }
          }
          return v;
        },
      });
      off += bytes;
    }
  }
  return out;
}
