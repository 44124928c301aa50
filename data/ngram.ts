/**
 * Count-based baselines for a language model's perplexity on the same streams: a unigram model
 * with add-one smoothing, and an interpolated Kneser–Ney bigram (discount 0.75; continuation
 * counts interpolated with 1/V so no token has probability 0). Each predicts every token of a
 * stream after the first, as {@link perplexity} does, so the numbers compare directly.
 * Ref: Chen & Goodman, "An Empirical Study of Smoothing Techniques for Language Modeling", 1999.
 * @module
 */

/** Perplexity of a baseline on a stream. */
export interface BaselineResult {
  /** Predicted tokens (N − 1). */
  tokens: number;
  /** Mean negative log-likelihood, nats. */
  nll: number;
  /** exp(nll). */
  perplexity: number;
}

/** The two baselines, fit on a training stream. */
export class NgramBaselines {
  readonly #uni: Float64Array;
  readonly #total: number;
  readonly #big = new Map<number, Map<number, number>>();
  readonly #ctx: Float64Array;
  readonly #follow: Float64Array;
  readonly #cont: Float64Array;
  readonly #bigramTypes: number;
  /** Absolute discount of the bigram. */
  readonly discount = 0.75;

  /**
   * Counts unigrams and bigrams.
   * @param train The training stream.
   * @param vocab The vocabulary size V.
   */
  constructor(train: Int32Array, readonly vocab: number) {
    this.#uni = new Float64Array(vocab);
    this.#ctx = new Float64Array(vocab);
    this.#follow = new Float64Array(vocab);
    this.#cont = new Float64Array(vocab);
    for (const t of train) this.#uni[t]++;
    this.#total = train.length;
    for (let i = 1; i < train.length; i++) {
      const v = train[i - 1], w = train[i];
      let row = this.#big.get(v);
      if (!row) this.#big.set(v, row = new Map());
      const c = row.get(w) ?? 0;
      if (c === 0) {
        this.#follow[v]++;
        this.#cont[w]++;
      }
      row.set(w, c + 1);
      this.#ctx[v]++;
    }
    this.#bigramTypes = this.#cont.reduce((s, x) => s + x, 0);
  }

  /** Add-one unigram probability. */
  unigram(w: number): number {
    return (this.#uni[w] + 1) / (this.#total + this.vocab);
  }

  /** Interpolated Kneser–Ney bigram probability P(w | v). */
  bigram(v: number, w: number): number {
    const cont = 0.99 * this.#cont[w] / this.#bigramTypes + 0.01 / this.vocab;
    const c = this.#ctx[v];
    if (c === 0) return cont;
    const cvw = this.#big.get(v)?.get(w) ?? 0;
    return Math.max(cvw - this.discount, 0) / c + (this.discount * this.#follow[v] / c) * cont;
  }

  /**
   * Both baselines' perplexity on a stream.
   * @param stream Token ids (N ≥ 2).
   * @returns Unigram and bigram results.
   */
  evaluate(stream: Int32Array): { unigram: BaselineResult; bigram: BaselineResult } {
    let u = 0, b = 0;
    for (let i = 1; i < stream.length; i++) {
      u -= Math.log(this.unigram(stream[i]));
      b -= Math.log(this.bigram(stream[i - 1], stream[i]));
    }
    const n = stream.length - 1;
    const r = (s: number) => ({ tokens: n, nll: s / n, perplexity: Math.exp(s / n) });
    return { unigram: r(u), bigram: r(b) };
  }
}
