/**
 * Weight files given as `Blob`s (files a user chose or dropped in a browser): the same formats and
 * the same checks as the path readers, without a file system. A safetensors file — or a sharded
 * checkpoint, its `model.safetensors.index.json` chosen with its shards — is read lazily by
 * `Blob.slice`: the header first, then one tensor at a time as the analyzer reaches it; `.npy` and
 * `.npz` files are read whole; a tfjs `model.json` (or weights manifest) takes its shard files
 * from the other files chosen with it.
 * @module
 */
import { detectFormat } from "./load.ts";
import { parseNpy, parseNpz } from "./npy.ts";
import { type BlobLike, indexMetadata, openSafetensorsBlob, shardTensors } from "./safetensors.ts";
import { WeightFileError, type WeightTensor } from "./tensor.ts";
import { loadTfjsManifest } from "./tfjs.ts";

/** A named blob: a browser `File`, or anything with its name, size and `slice`. */
export interface NamedBlob extends BlobLike {
  /** The file's name (no directory). */
  readonly name: string;
}

async function bytesOf(b: BlobLike, end = b.size): Promise<Uint8Array> {
  return new Uint8Array(await b.slice(0, end).arrayBuffer());
}

/**
 * Opens the weights in a set of chosen files.
 * - one `.safetensors`/`.npy`/`.npz` file (or bytes that look like one);
 * - a tfjs `model.json` or `*weights_manifest.json` with its shard files;
 * - a `*.safetensors.index.json` with the shards it names.
 * @param files The files, as chosen (order does not matter).
 * @returns The tensors, the safetensors metadata, and the name errors and results go by (the
 *   manifest's or index's, else the file's).
 * @throws {WeightFileError} When no file is given, a shard is missing, a file is malformed or of a
 *   type we do not read — naming the file and the tensor.
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openWeightBlobs } from "./blob.ts";
 * import { writeSafetensors } from "./safetensors.ts";
 * const bytes = writeSafetensors([{ name: "fc.weight", shape: [2, 2], data: [1, 2, 3, 4] }]);
 * const file = new File([bytes as BlobPart], "tiny.safetensors");
 * const { tensors } = await openWeightBlobs([file]);
 * await tensors[0].load!();
 * equal(tensors[0].values()[3], 4);
 * ```
 */
export async function openWeightBlobs(
  files: NamedBlob[],
): Promise<{ tensors: WeightTensor[]; metadata: Record<string, string>; file: string }> {
  if (!files.length) throw new WeightFileError("weight", "(none)", "no file was chosen");
  const byName = new Map(files.map((f) => [f.name, f]));
  const index = files.find((f) => /\.index\.json$/i.test(f.name));
  if (index) return { ...(await sharded(index, byName)), file: index.name };
  const manifest = files.find((f) => /\.json$/i.test(f.name));
  if (manifest) {
    const text = new TextDecoder().decode(await bytesOf(manifest));
    const tensors = await loadTfjsManifest(
      text,
      manifest.name,
      async (p) => {
        const shard = byName.get(p.split("/").pop()!);
        return shard ? await bytesOf(shard) : null;
      },
      () => `choose it together with ${manifest.name}`,
    );
    return { tensors, metadata: {}, file: manifest.name };
  }
  if (files.length > 1) {
    throw new WeightFileError(
      "weight",
      files.map((f) => f.name).join(", "),
      "several files were chosen: expected one weight file, or a model.json / *.index.json with its shards",
    );
  }
  const f = files[0];
  const format = detectFormat(await bytesOf(f, Math.min(f.size, 16)), f.name);
  if (format === "safetensors") return { ...(await openSafetensorsBlob(f, f.name)), file: f.name };
  const bytes = await bytesOf(f);
  if (format === "npy") {
    return {
      tensors: [parseNpy(bytes, f.name.replace(/\.npy$/i, "") || "array", f.name)],
      metadata: {},
      file: f.name,
    };
  }
  return { tensors: parseNpz(bytes, f.name), metadata: {}, file: f.name };
}

/** A sharded safetensors checkpoint from its index and the chosen shards. */
async function sharded(
  index: NamedBlob,
  byName: Map<string, NamedBlob>,
): Promise<{ tensors: WeightTensor[]; metadata: Record<string, string> }> {
  const bad = (detail: string) => new WeightFileError("safetensors index", index.name, detail);
  let json: { weight_map?: unknown; metadata?: unknown };
  try {
    json = JSON.parse(new TextDecoder().decode(await bytesOf(index)));
  } catch (e) {
    throw bad(`not valid JSON: ${(e as Error).message}`);
  }
  const map = json?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw bad('expected an object with "weight_map": {tensor name: shard file}');
  }
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== "string") {
      throw bad(`tensor "${name}" maps to ${JSON.stringify(shard)}: expected a shard file name`);
    }
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  const tensors: WeightTensor[] = [];
  for (const shard of [...byShard.keys()].sort()) {
    const names = byShard.get(shard)!;
    const blob = byName.get(shard.split("/").pop()!);
    if (!blob) {
      throw bad(
        `shard "${shard}" (holding tensor "${names[0]}"${
          names.length > 1 ? ` and ${names.length - 1} more` : ""
        }) was not chosen with the index`,
      );
    }
    tensors.push(...shardTensors((await openSafetensorsBlob(blob, blob.name)).tensors, names, blob.name));
  }
  return { tensors, metadata: indexMetadata(json) };
}
