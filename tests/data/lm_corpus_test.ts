import { deepEqual, equal, rejects } from "node:assert/strict";
import { textCorpus } from "../../data/lm_corpus.ts";
import { textLines } from "../../data/text.ts";
import { parseVocabulary, readVocabulary } from "../../io/vocab.ts";

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
  return dir;
}

const SPLITS = {
  "train.txt": "the cat sat\na dog ran\n",
  "valid.txt": "the dog sat\n",
  "test.txt": "a cat ran\n",
};

Deno.test("textLines() splits on \\n and \\r\\n alike; a corpus in CRLF files gives the LF corpus's streams", async () => {
  deepEqual(textLines("a b\r\nc\r\n\r\nd"), ["a b", "c", "", "d"]);
  deepEqual(textLines("a b\nc\n"), ["a b", "c"]);
  const lf = await textCorpus(await folder(SPLITS));
  const crlf = await textCorpus(
    await folder(Object.fromEntries(Object.entries(SPLITS).map(([k, v]) => [k, v.replace(/\n/g, "\r\n")]))),
  );
  deepEqual(crlf.vocab.tokens, lf.vocab.tokens);
  for (const s of ["train", "valid", "test"] as const) deepEqual([...crlf[s]], [...lf[s]], s);
  equal(lf.vocab.tokens.includes("sat\r"), false);
});

Deno.test("one strict vocab.txt reader: a blank or duplicate line, or a missing <unk>, is refused with the file and line", async () => {
  const ok = await textCorpus(await folder({ ...SPLITS, "vocab.txt": "<unk>\r\n<eos>\r\nthe\r\ncat\r\n" }));
  deepEqual(ok.vocab.tokens, ["<unk>", "<eos>", "the", "cat"]);
  const blank = await folder({ ...SPLITS, "vocab.txt": "<unk>\n<eos>\n\nthe\n" });
  await rejects(textCorpus(blank), /vocab\.txt: line 3 is not a token \(""\)/);
  const dup = await folder({ ...SPLITS, "vocab.txt": "<unk>\n<eos>\nthe\ncat\nthe\n" });
  await rejects(textCorpus(dup), /vocab\.txt: token "the" appears twice \(lines 3 and 5\)/);
  const spaced = await folder({ ...SPLITS, "vocab.txt": "<unk>\n<eos>\nthe cat\n" });
  await rejects(readVocabulary(`${spaced}/vocab.txt`), /line 3 is not a token \("the cat"\)/);
  await rejects(textCorpus(await folder({ ...SPLITS, "vocab.txt": "<eos>\nthe\n" })), /must contain <unk>/);
  equal(parseVocabulary("<unk>\n<eos>\nx").tokens.length, 3);
});
