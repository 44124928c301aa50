/**
 * `deno task lm-baselines [corpus flags] [--json]`: unigram (add-one) and Kneser–Ney bigram
 * perplexity on a corpus's validation and test streams — what a language model's perplexity should
 * beat.
 * @module
 */
import { parseArgs } from "node:util";
import { NgramBaselines } from "../data/ngram.ts";
import { parsed } from "./_args.ts";
import { CORPUS_FLAGS, CORPUS_USAGE, corpusOf } from "./_lm_data.ts";
import { runMain } from "../cli/main.ts";

const USAGE = `usage: deno task lm-baselines [options]
${CORPUS_USAGE}
  --json                 print {"unigram": {"valid", "test"}, "bigram": {…}}, each {tokens, nll, perplexity}`;

await runMain(async () => {
  const { values: v } = parsed(
    () =>
      parseArgs({
        options: { ...CORPUS_FLAGS, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      }),
    USAGE,
  );
  if (v.help) return console.log(USAGE);
  const corpus = await corpusOf(v);
  const n = new NgramBaselines(corpus.train, corpus.vocab.tokens.length);
  const valid = n.evaluate(corpus.valid), test = n.evaluate(corpus.test);
  const out = {
    unigram: { valid: valid.unigram, test: test.unigram },
    bigram: { valid: valid.bigram, test: test.bigram },
  };
  if (v.json) return console.log(JSON.stringify(out));
  console.log(
    `${corpus.name}: ${corpus.train.length} training tokens, vocabulary ${corpus.vocab.tokens.length}`,
  );
  for (const [k, r] of Object.entries(out)) {
    console.log(
      `${k.padEnd(8)} valid ppl ${r.valid.perplexity.toFixed(2)}  test ppl ${r.test.perplexity.toFixed(2)}`,
    );
  }
});
