/**
 * Word vocabularies (`vocab.txt`: one token per line, the line number is the id), read strictly in
 * one place for corpora and model folders: a blank line, a token with spaces, a duplicate or a
 * missing `<unk>`/`<eos>` is an error naming the file and the line, so a vocabulary a model folder
 * would refuse is never trained on.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { readUtf8 } from "./text.ts";

/** A vocabulary: tokens by id and ids by token. */
export interface Vocabulary {
  /** Tokens, by id. */
  tokens: string[];
  /** Ids, by token. */
  ids: Map<string, number>;
  /** The id of `<unk>`. */
  unk: number;
  /** The id of `<eos>`. */
  eos: number;
}

/**
 * Builds a vocabulary from its tokens.
 * @param tokens Tokens by id (unique; must include `<unk>` and `<eos>`).
 * @param file Where they came from, for errors.
 * @returns The vocabulary.
 * @throws {OptionError} On a duplicate, an empty token, or a missing `<unk>`/`<eos>`.
 */
export function vocabulary(tokens: string[], file = "vocab.txt"): Vocabulary {
  const ids = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (!t || /\s/.test(t)) {
      throw new OptionError(
        `${file}: line ${i + 1} is not a token (${
          JSON.stringify(t)
        }): expected one token without spaces per line`,
      );
    }
    if (ids.has(t)) {
      throw new OptionError(
        `${file}: token ${JSON.stringify(t)} appears twice (lines ${ids.get(t)! + 1} and ${i + 1})`,
      );
    }
    ids.set(t, i);
  });
  for (const need of ["<unk>", "<eos>"]) {
    if (!ids.has(need)) throw new OptionError(`${file}: the vocabulary must contain ${need}`);
  }
  return { tokens, ids, unk: ids.get("<unk>")!, eos: ids.get("<eos>")! };
}

/**
 * Reads a `vocab.txt`: the one reader of vocabulary files, for corpora and model folders alike.
 * @param file The path.
 * @returns The vocabulary.
 * @throws {OptionError} As {@link parseVocabulary}.
 */
export async function readVocabulary(file: string): Promise<Vocabulary> {
  return parseVocabulary(await readUtf8(file), file);
}

/**
 * Parses a `vocab.txt`'s text: one token per line (`\n` or `\r\n`), a final newline optional.
 * @param text The text.
 * @param file Where it came from, for errors.
 * @returns The vocabulary.
 * @throws {OptionError} On a blank line, a token with spaces, a duplicate, or a missing `<unk>`/`<eos>`.
 */
export function parseVocabulary(text: string, file = "vocab.txt"): Vocabulary {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  return vocabulary(lines, file);
}
