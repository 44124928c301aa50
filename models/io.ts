/**
 * Saving and loading a model's state dict as a safetensors file with PyTorch's names and layouts
 * (what `torch.load_state_dict` accepts after `safetensors.torch.load_file`). Files are written to
 * a temporary name and renamed, so a crash never leaves a half-written file.
 * @module
 */
import { loadWeights } from "../io/load.ts";
import { writeAtomic } from "../io/atomic.ts";
import { writeSafetensors } from "../io/safetensors.ts";
import type { LoadOptions, Model } from "./model.ts";

/**
 * Writes the model's state dict to `path` atomically, with its module order in the metadata.
 * @param model The model.
 * @param path Destination `.safetensors` file.
 * @param metadata Optional string metadata for the header.
 */
export async function saveModel(
  model: Model,
  path: string,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeAtomic(
    path,
    writeSafetensors(await model.stateDict(), { format: "pt", ...model.metadata(), ...metadata }),
  );
}

/**
 * Loads a state dict from a safetensors file into the model.
 * @param model The model.
 * @param path The file.
 * @param options `strict` (default true): missing, extra or wrong-shaped tensors are an error
 *   listing each one.
 */
export async function loadModel(model: Model, path: string, options: LoadOptions = {}): Promise<void> {
  model.loadStateDict(await loadWeights(path, "safetensors"), options);
}
