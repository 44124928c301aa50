/**
 * A Hugging Face folder's own tokenizer (`tokenizer.json` + `tokenizer_config.json`, e.g.
 * TinyLlama's SentencePiece BPE or GPT-2's byte-level BPE), through npm `@huggingface/tokenizers`
 * (pure JS, no dependencies): what perplexity and calibration use for a real checkpoint that has no
 * word-level `vocab.txt`.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { readUtf8 } from "../io/text.ts";

/** A text encoder. */
export interface TextTokenizer {
  /** Where it was read from. */
  file: string;
  /**
   * Encodes a text as the model's tokenizer does by default (special tokens such as LLaMA's BOS
   * included).
   */
  encode(text: string): Int32Array;
}

/**
 * Reads `dir/tokenizer.json` (and `tokenizer_config.json` when present).
 * @param dir The model folder.
 * @returns The tokenizer, or null when the folder has no tokenizer.json.
 * @throws {OptionError} On a file that is not valid JSON or a tokenizer the library cannot build.
 */
export async function readHfTokenizer(dir: string): Promise<TextTokenizer | null> {
  const file = `${dir}/tokenizer.json`;
  try {
    await Deno.stat(file);
  } catch {
    return null;
  }
  const json = async (p: string) => {
    try {
      return JSON.parse(await readUtf8(p));
    } catch (e) {
      if (e instanceof OptionError) throw e;
      throw new OptionError(`${p}: not valid JSON (${(e as Error).message})`);
    }
  };
  const tokenizerJson = await json(file);
  let config = {};
  try {
    await Deno.stat(`${dir}/tokenizer_config.json`);
    config = await json(`${dir}/tokenizer_config.json`);
  } catch (e) {
    if (e instanceof OptionError) throw e;
  }
  const { Tokenizer } = await import("@huggingface/tokenizers");
  let tok: InstanceType<typeof Tokenizer>;
  try {
    tok = new Tokenizer(tokenizerJson, config);
  } catch (e) {
    throw new OptionError(`${file}: not a tokenizer this toolkit can read (${(e as Error).message})`);
  }
  return { file, encode: (text: string) => Int32Array.from(tok.encode(text).ids) };
}
