/**
 * A language model as a Hugging Face folder: `config.json` (GPT-2's or LLaMA's fields),
 * `model.safetensors` (or HF shards with `model.safetensors.index.json`) with HF parameter names,
 * and our `vocab.txt` (one token per line, id = line number from 0; it must hold `<unk>` and
 * `<eos>`). Loading accepts what real checkpoints carry: GPT-2 names with or without the
 * `transformer.` prefix, a tied `lm_head.weight` copy, the causal-mask buffers (`attn.bias`,
 * `attn.masked_bias`) and LLaMA's `rotary_emb.inv_freq`, which are dropped; F32, F16 and BF16 data.
 * @module
 */
import { writeAtomic } from "../../io/atomic.ts";
import { loadWeightFile } from "../../io/load.ts";
import { type TensorToWrite, writeSafetensors } from "../../io/safetensors.ts";
import type { WeightTensor } from "../../io/tensor.ts";
import type { Gpu } from "../../kernels/runtime/runtime.ts";
import { readUtf8 } from "../../io/text.ts";
import { OptionError } from "../../util/errors.ts";
import { readVocabulary, type Vocabulary } from "../../io/vocab.ts";

export { readVocabulary, type Vocabulary, vocabulary } from "../../io/vocab.ts";
import { Model } from "../model.ts";
import { configFromHf, configToHf, type DecoderConfig } from "./config.ts";
import { Decoder } from "./decoder.ts";

/** Names a real checkpoint may carry that are not parameters (buffers, tied copies). */
function dropped(name: string, c: DecoderConfig): boolean {
  if (/\.attn\.(masked_)?bias$/.test(name) && c.type === "gpt2") return true;
  if (name.endsWith("rotary_emb.inv_freq")) return true;
  return c.tied && name === "lm_head.weight";
}

/**
 * Maps a checkpoint's tensor names onto ours: GPT-2 files saved from `GPT2Model` lack the
 * `transformer.` prefix.
 */
export function hfNames(tensors: WeightTensor[], c: DecoderConfig): WeightTensor[] {
  return tensors.filter((t) => !dropped(t.name, c)).map((t) => {
    if (c.type === "gpt2" && !t.name.startsWith("transformer.") && t.name !== "lm_head.weight") {
      return { ...t, name: `transformer.${t.name}`, values: t.values.bind(t), float32: t.float32?.bind(t) };
    }
    return t;
  });
}

/** A loaded language model folder. */
export interface LoadedDecoder {
  /** The model, parameters on the GPU. */
  model: Model;
  /** Its root module. */
  decoder: Decoder;
  /** Its config. */
  config: DecoderConfig;
  /** Its vocabulary, when the folder has `vocab.txt`. */
  vocab: Vocabulary | null;
}

/**
 * Loads a language model folder.
 * @param gpu The GPU.
 * @param dir The folder.
 * @param o `vocab`: require `vocab.txt` (default true).
 * @returns Model, config and vocabulary.
 * @throws {OptionError} Naming the file and what is wrong (missing files, unsupported config,
 *   missing or wrong-shaped tensors, a vocabulary larger than the model's).
 */
export async function loadDecoderFolder(
  gpu: Gpu,
  dir: string,
  o: { vocab?: boolean } = {},
): Promise<LoadedDecoder> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(dir);
  } catch {
    throw new OptionError(`Model folder ${dir}: no such folder`);
  }
  if (!stat.isDirectory) {
    throw new OptionError(
      `Model folder ${dir}: not a folder (expected config.json, model.safetensors, vocab.txt)`,
    );
  }
  const cfgFile = `${dir}/config.json`;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readUtf8(cfgFile));
  } catch (e) {
    if (e instanceof OptionError) throw e;
    throw new OptionError(`${cfgFile}: not valid JSON (${(e as Error).message})`);
  }
  const config = configFromHf(json, cfgFile);
  let vocab: Vocabulary | null = null;
  const vocabFile = `${dir}/vocab.txt`;
  if (o.vocab ?? true) {
    vocab = await readVocabulary(vocabFile);
    if (vocab.tokens.length > config.vocab) {
      throw new OptionError(
        `${vocabFile} has ${vocab.tokens.length} tokens, more than the model's vocab_size ${config.vocab} (${cfgFile})`,
      );
    }
  }
  const { tensors } = await loadWeightFile(dir);
  const decoder = new Decoder(gpu, config);
  const model = new Model(gpu, decoder, 0);
  try {
    model.loadStateDict(hfNames(tensors, config));
  } catch (e) {
    model.release();
    throw new OptionError(`${dir}: ${(e as Error).message}`);
  }
  return { model, decoder, config, vocab };
}

/**
 * Writes a language model folder: `config.json`, `model.safetensors` (HF names, F32, with
 * `format: pt` and the module order in its metadata) and `vocab.txt`, each atomically.
 * @param dir The folder (created if missing).
 * @param model The model.
 * @param config Its config.
 * @param vocab Its vocabulary (tokens by id).
 * @param state The model's state dict when already read back (else it is read here).
 */
export async function saveDecoderFolder(
  dir: string,
  model: Model,
  config: DecoderConfig,
  vocab: string[],
  state?: TensorToWrite[],
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const tensors = state ?? await model.stateDict();
  await writeAtomic(
    `${dir}/model.safetensors`,
    writeSafetensors(tensors, { format: "pt", ...model.metadata() }),
  );
  await writeAtomic(`${dir}/config.json`, JSON.stringify(configToHf(config), null, 2) + "\n");
  await writeAtomic(`${dir}/vocab.txt`, vocab.join("\n") + "\n");
}
