import { equal, ok } from "node:assert/strict";
import { NgramBaselines } from "../../data/ngram.ts";
import { assertNear } from "../_helpers.ts";

Deno.test("NgramBaselines: add-one unigram and Kneser–Ney bigram are distributions with the textbook values", () => {
  // a b a c a b, V = 4 (token 3 never seen).
  const train = Int32Array.from([0, 1, 0, 2, 0, 1]);
  const n = new NgramBaselines(train, 4);
  assertNear("P(a)", [n.unigram(0)], [(3 + 1) / (6 + 4)]);
  // Bigrams: ab ×2, ba, ac, ca. Continuation counts: a 2 (after b, c), b 1, c 1 → 4 bigram types.
  const cont = (w: number) => 0.99 * [2, 1, 1, 0][w] / 4 + 0.01 / 4;
  // P(b | a): c(a) = 3, c(a,b) = 2, a is followed by 2 types.
  assertNear("P(b|a)", [n.bigram(0, 1)], [(2 - 0.75) / 3 + (0.75 * 2 / 3) * cont(1)]);
  for (const v of [0, 1, 2, 3]) {
    let s = 0;
    for (let w = 0; w < 4; w++) s += n.bigram(v, w);
    assertNear(`Σ P(·|${v})`, [s], [1], 1e-12, 0);
  }
  const r = n.evaluate(Int32Array.from([0, 1, 0, 3]));
  equal(r.bigram.tokens, 3);
  ok(r.bigram.perplexity > 1 && Number.isFinite(r.bigram.perplexity));
  assertNear("unigram nll", [r.unigram.nll], [
    -(Math.log(n.unigram(1)) + Math.log(n.unigram(0)) + Math.log(n.unigram(3))) / 3,
  ]);
});
