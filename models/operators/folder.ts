/**
 * Loads a neural-operator model folder (`config.json` + `model.safetensors`, PDEBench's names).
 * @module
 */
import type { Gpu } from "../../kernels/runtime/runtime.ts";
import { loadWeightFile } from "../../io/load.ts";
import { OptionError } from "../../util/errors.ts";
import { Model } from "../model.ts";
import { buildOperator, type OperatorConfig, readOperatorConfig } from "./config.ts";

/**
 * Reads a model folder onto the GPU.
 * @param gpu The GPU.
 * @param dir The folder.
 * @returns The model and its configuration.
 * @throws {OperatorConfigError} No or a bad config.json.
 * @throws {WeightFileError} No or a bad model.safetensors.
 * @throws {OptionError} Weights that do not match the configuration (missing, extra or wrong-shaped tensors).
 */
export async function loadOperatorFolder(
  gpu: Gpu,
  dir: string,
): Promise<{ model: Model; config: OperatorConfig }> {
  const config = await readOperatorConfig(dir);
  const { tensors } = await loadWeightFile(`${dir}/model.safetensors`);
  const model = new Model(gpu, buildOperator(config), 0);
  try {
    model.loadStateDict(tensors);
  } catch (e) {
    model.release();
    if (e instanceof OptionError) {
      throw new OptionError(`${dir}/model.safetensors does not fit its config.json: ${e.message}`);
    }
    throw e;
  }
  return { model, config };
}
