/**
 * The decoder-only language model, GPT-2's `GPT2LMHeadModel` or LLaMA's `LlamaForCausalLM`, as one
 * module tree with Hugging Face's parameter names (`transformer.h.0.attn.c_attn.weight`,
 * `model.layers.0.self_attn.q_proj.weight`, `lm_head.weight`). Its forward takes token ids
 * (B, T) i32 and returns logits (B·T, V); a tied head reuses the token embedding, and backward
 * adds the head's gradient into the embedding's.
 * @module
 */
import { embedding } from "../../kernels/nn/embedding.ts";
import { ropeTable } from "../../kernels/nn/rope.ts";
import { dropout } from "../../kernels/nn/dropout.ts";
import { linear } from "../../kernels/nn/linear.ts";
import { matmul } from "../../kernels/linalg/matmul.ts";
import { add } from "../../kernels/ops/binary.ts";
import { fill } from "../../kernels/ops/fill.ts";
import { sum } from "../../kernels/ops/reduce.ts";
import type { Gpu } from "../../kernels/runtime/runtime.ts";
import type { Tensor } from "../../kernels/runtime/tensor.ts";
import { later, Module, Sequential, type StepContext, storeGrad } from "../module.ts";
import { Block, dropoutStream, HfLinear } from "./blocks.ts";
import type { DecoderConfig } from "./config.ts";
import { Embedding, type LmStepState, Norm } from "./layers.ts";

/** GPT-2's `transformer` or LLaMA's `model`: embeddings, blocks, final norm. */
export class DecoderBody extends Module {
  /** `wte` / `embed_tokens`. */
  readonly tokens: Embedding;
  /** GPT-2's `wpe` (learned positions), or null. */
  readonly positions: Embedding | null;
  /** `h` / `layers`. */
  readonly blocks: Sequential;
  /** `ln_f` / `norm`. */
  readonly final: Norm;
  #T = 0;

  /**
   * Builds the body.
   * @param c The config.
   * @param rope The rotary table (LLaMA) or null.
   * @param state The decoder's step state.
   */
  constructor(readonly c: DecoderConfig, rope: Tensor | null, readonly state: LmStepState) {
    super();
    this.tokens = new Embedding(c.vocab, c.dim, state);
    this.positions = c.type === "gpt2" ? new Embedding(c.positions, c.dim, state, 0.01) : null;
    this.blocks = new Sequential(...Array.from({ length: c.layers }, (_, i) => new Block(c, rope, state, i)));
    this.final = new Norm(c.type === "gpt2" ? "layer" : "rms", c.dim, c.eps);
  }

  /** Hugging Face's names. */
  override children(): [string, Module][] {
    return this.c.type === "gpt2"
      ? [["wte", this.tokens], ["wpe", this.positions!], ["h", this.blocks], ["ln_f", this.final]]
      : [["embed_tokens", this.tokens], ["layers", this.blocks], ["norm", this.final]];
  }

  /** Token ids are not differentiated. */
  override readsNetworkInput(): void {}

  /** ids (B, T) → normalised hidden states (B, T, D). */
  forward(ids: Tensor, ctx: StepContext): Tensor {
    const { rec } = ctx;
    const T = ids.shape[ids.shape.length - 1];
    this.#T = T;
    const pos = this.positions ? this.positions.param("weight").value : null;
    let x = embedding(rec, ids, this.tokens.param("weight").value, pos, this.name);
    if (ctx.train && this.c.dropout > 0) {
      const d = dropout(rec, x, this.c.dropout, this.state.seed, dropoutStream(this.state.step, 4000));
      later(rec, x);
      x = d;
    }
    const h = this.blocks.forward(x, ctx);
    const y = this.final.forward(h, ctx);
    later(rec, x, h);
    return y;
  }

  /** Gradients of the body's parameters; returns a placeholder (ids have no gradient). */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const { rec } = ctx;
    const dh = this.final.backward(dy, ctx);
    let dx = this.blocks.backward(dh, ctx);
    later(rec, dh);
    if (ctx.train && this.c.dropout > 0) {
      const d = dropout(rec, dx, this.c.dropout, this.state.seed, dropoutStream(this.state.step, 4000));
      later(rec, dx);
      dx = d;
    }
    const placeholder = this.tokens.backward(dx, ctx);
    if (this.positions) {
      // d(wpe)[t] = Σ_b dx[b, t]; rows at or past T get 0.
      const D = this.c.dim, T = this.#T;
      const g = this.positions.param("weight").grad;
      const s = sum(rec, dx.reshape([dx.size / (T * D), T * D]), { axis: 0 });
      fill(rec, g, 0);
      rec.copyRange(s, 0, g, 0, T * D);
      later(rec, s);
    }
    later(rec, dx);
    return placeholder;
  }
}

/** A causal language model: `GPT2LMHeadModel` or `LlamaForCausalLM`. */
export class Decoder extends Module {
  /** The body (`transformer` / `model`). */
  readonly body: DecoderBody;
  /** LLaMA's untied `lm_head`, or null when the head is the token embedding. */
  readonly head: HfLinear | null;
  /** Per-step state the trainer sets: the batch's token index, dropout's seed and step. */
  readonly state: LmStepState = { index: null, seed: 0, step: 0 };
  /** The rotary table (LLaMA), owned by the model. */
  readonly rope: Tensor | null;
  #h: Tensor | null = null;
  #shape: [number, number] = [1, 1];

  /**
   * Builds the module tree (parameters are allocated when a `Model` binds it).
   * @param gpu The GPU (for the rotary table).
   * @param config The shape.
   */
  constructor(gpu: Gpu, readonly config: DecoderConfig) {
    super();
    const c = config;
    this.rope = c.type === "llama" ? ropeTable(gpu, c.positions, c.dim / c.heads, c.ropeTheta) : null;
    this.body = new DecoderBody(c, this.rope, this.state);
    this.head = c.tied ? null : new HfLinear(c.dim, c.vocab, false);
  }

  /** `transformer` (GPT-2) or `model` + `lm_head` (LLaMA). */
  override children(): [string, Module][] {
    const body: [string, Module] = [this.config.type === "gpt2" ? "transformer" : "model", this.body];
    return this.head ? [body, ["lm_head", this.head]] : [body];
  }

  /** Token ids are not differentiated. */
  override readsNetworkInput(): void {}

  /**
   * ids (B, T) i32 → logits (B·T, V).
   * @param ids Token ids, each in [0, V); T at most the model's positions.
   * @param ctx The step's context.
   */
  forward(ids: Tensor, ctx: StepContext): Tensor {
    const T = ids.shape[ids.shape.length - 1];
    if (T > this.config.positions) {
      throw new RangeError(
        `A sequence of ${T} tokens is longer than the model's ${this.config.positions} positions`,
      );
    }
    this.#shape = [ids.size / T, T];
    const h = this.body.forward(ids, ctx);
    const flat = h.reshape([h.size / this.config.dim, this.config.dim]);
    const w = this.head ? this.head.param("weight").value : this.body.tokens.param("weight").value;
    const logits = linear(ctx.rec, flat, w, null, "lm_head");
    if (ctx.train) this.#h = flat;
    else later(ctx.rec, h);
    return logits;
  }

  /** Gradients of every parameter from d(logits) (B·T, V). */
  backward(dlogits: Tensor, ctx: StepContext): Tensor {
    const { rec } = ctx;
    const h = this.#h!;
    this.#h = null;
    const w = this.head ? this.head.param("weight") : this.body.tokens.param("weight");
    const dw = matmul(rec, dlogits, h, { transA: true }); // (V, D)
    const dh = matmul(rec, dlogits, w.value).reshape([...this.#shape, this.config.dim]);
    if (this.head) storeGrad(rec, dw, w.grad);
    const dx = this.body.backward(dh, ctx);
    if (!this.head) {
      add(rec, w.grad, dw, w.grad); // the embedding's gradient is written by now
      later(rec, dw);
    }
    later(rec, h, dh);
    return dx;
  }
}
