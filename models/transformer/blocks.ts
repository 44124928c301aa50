/**
 * Decoder blocks in GPT-2's and LLaMA's layouts, with Hugging Face's names: pre-norm residual
 * blocks `x + attn(norm₁(x))`, then `+ mlp(norm₂(·))`. The residual stream is (B, T, D); the
 * projections see it as (B·T, D). GPT-2: `attn.c_attn` (fused q, k, v), `attn.c_proj`, `mlp.c_fc`,
 * `mlp.c_proj` (Conv1D), LayerNorm, GELU. LLaMA: `self_attn.{q,k,v,o}_proj`, `mlp.{gate,up,down}_proj`
 * (bias-free Linear), RMSNorm, RoPE on q and k, SwiGLU.
 * @module
 */
import { activation, activationBackward, swiglu, swigluBackward } from "../../kernels/nn/activation.ts";
import { causalAttention, causalAttentionBackward } from "../../kernels/nn/attention.ts";
import { dropout } from "../../kernels/nn/dropout.ts";
import { mergeHeads, splitHeads, sumHeadGroups } from "../../kernels/nn/heads.ts";
import { rope } from "../../kernels/nn/rope.ts";
import { add } from "../../kernels/ops/binary.ts";
import type { Tensor } from "../../kernels/runtime/tensor.ts";
import { Linear } from "../layers.ts";
import { later, Module, type ParamSpec, type StepContext } from "../module.ts";
import type { DecoderConfig } from "./config.ts";
import { Conv1D, type LmStepState, Norm } from "./layers.ts";
import { normalInit } from "../init.ts";

/** `nn.Linear` initialised as Hugging Face's decoders do: N(0, std²) weights, zero bias. */
export class HfLinear extends Linear {
  /**
   * Creates the module.
   * @param inF Input features.
   * @param outF Output features.
   * @param bias With a bias.
   * @param std Standard deviation of the initial weights.
   */
  constructor(inF: number, outF: number, bias: boolean, readonly std = 0.02) {
    super(inF, outF, bias);
  }
  /** weight (out, in) ~ N(0, std²), bias 0. */
  override paramSpecs(): ParamSpec[] {
    return super.paramSpecs().map((s) =>
      s.name === "weight"
        ? { ...s, init: normalInit(this.std) }
        : { ...s, init: (o: Float32Array) => o.fill(0) }
    );
  }
}

const flat = (x: Tensor) => x.reshape([x.size / x.shape[x.shape.length - 1], x.shape[x.shape.length - 1]]);

/** Causal self-attention of either layout. */
export class Attention extends Module {
  #saved: { q: Tensor; k: Tensor; v: Tensor; probs: Tensor; B: number; T: number } | null = null;
  /** Projections by Hugging Face name. */
  readonly proj: Map<string, Module>;

  /**
   * Creates the module.
   * @param c The decoder's config.
   * @param ropeTable The rotary table (LLaMA), or null.
   */
  constructor(readonly c: DecoderConfig, readonly ropeTable: Tensor | null) {
    super();
    const D = c.dim, std = 0.02;
    this.proj = c.type === "gpt2"
      ? new Map<string, Module>([["c_attn", new Conv1D(D, 3 * D)], [
        "c_proj",
        new Conv1D(D, D, std / Math.sqrt(2 * c.layers)),
      ]])
      : new Map<string, Module>(
        ["q_proj", "k_proj", "v_proj", "o_proj"].map((n) => {
          // Grouped-query attention: k and v project onto kvHeads heads.
          const out = n === "k_proj" || n === "v_proj" ? (c.kvHeads * D) / c.heads : D;
          return [n, new HfLinear(D, out, false)];
        }),
      );
  }

  /** The projections. */
  override children(): [string, Module][] {
    return [...this.proj];
  }

  /** (B, T, D) → (B, T, D). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    const { rec } = ctx;
    const [B, T, D] = x.shape, H = this.c.heads, hd = D / H;
    const p = (n: string) => this.proj.get(n)!;
    let q: Tensor, k: Tensor, v: Tensor;
    if (this.c.type === "gpt2") {
      const qkv = p("c_attn").forward(flat(x), ctx).reshape([B, T, 3 * D]);
      [q, k, v] = [0, D, 2 * D].map((col) => splitHeads(rec, qkv, H, hd, col));
      later(rec, qkv);
    } else {
      const h = flat(x);
      const g = H / this.c.kvHeads;
      const [q0, k0, v0] = ["q_proj", "k_proj", "v_proj"].map((n) => {
        const y = p(n).forward(h, ctx);
        return y.reshape([B, T, y.shape[1]]);
      });
      [q, k, v] = [q0, k0, v0].map((t, i) => splitHeads(rec, t, H, hd, 0, i ? g : 1));
      later(rec, q0, k0, v0);
      const [qr, kr] = [rope(rec, q, this.ropeTable!), rope(rec, k, this.ropeTable!)];
      later(rec, q, k);
      [q, k] = [qr, kr];
    }
    const { out, probs } = causalAttention(rec, q, k, v, this.name);
    const merged = mergeHeads(rec, [out], B);
    const y = p(this.c.type === "gpt2" ? "c_proj" : "o_proj").forward(flat(merged), ctx);
    later(rec, q, k, v, probs, out, merged);
    if (ctx.train) this.#saved = { q, k, v, probs, B, T };
    return y.reshape([B, T, D]);
  }

  /** Gradients of the projections; returns dx (B, T, D). */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const { rec } = ctx;
    const { q, k, v, probs, B, T } = this.#saved!;
    const D = this.c.dim, H = this.c.heads, hd = D / H;
    const p = (n: string) => this.proj.get(n)!;
    const dm = p(this.c.type === "gpt2" ? "c_proj" : "o_proj").backward(flat(dy), ctx).reshape([B, T, D]);
    const dout = splitHeads(rec, dm, H, hd, 0);
    const g = causalAttentionBackward(rec, q, k, v, probs, dout, this.name);
    later(rec, dm, dout);
    this.#saved = null;
    if (this.c.type === "gpt2") {
      const dqkv = mergeHeads(rec, [g.dq, g.dk, g.dv], B);
      later(rec, dqkv, g.dq, g.dk, g.dv);
      return p("c_attn").backward(flat(dqkv), ctx).reshape([B, T, D]);
    }
    const dq = rope(rec, g.dq, this.ropeTable!, true);
    let dk = rope(rec, g.dk, this.ropeTable!, true), dv = g.dv;
    later(rec, g.dq, g.dk, g.dv, dq, dk);
    const group = H / this.c.kvHeads;
    if (group > 1) {
      // Each key/value head served `group` query heads: their gradients add up.
      [dk, dv] = [sumHeadGroups(rec, dk, group), sumHeadGroups(rec, dv, group)];
      later(rec, dk, dv);
    }
    const parts = [["q_proj", dq], ["k_proj", dk], ["v_proj", dv]] as const;
    const dxs = parts.map(([n, d]) => {
      const m = mergeHeads(rec, [d], B);
      later(rec, m);
      return p(n).backward(flat(m), ctx);
    });
    add(rec, dxs[0], dxs[1], dxs[0]);
    add(rec, dxs[0], dxs[2], dxs[0]);
    later(rec, dxs[1], dxs[2]);
    return dxs[0].reshape([B, T, D]);
  }
}

/** The MLP of either layout. */
export class Mlp extends Module {
  #saved: Tensor[] = [];
  /** Projections by Hugging Face name. */
  readonly proj: Map<string, Module>;

  /**
   * Creates the module.
   * @param c The decoder's config.
   */
  constructor(readonly c: DecoderConfig) {
    super();
    const D = c.dim, F = c.ffn;
    this.proj = c.type === "gpt2"
      ? new Map<string, Module>([["c_fc", new Conv1D(D, F)], [
        "c_proj",
        new Conv1D(F, D, 0.02 / Math.sqrt(2 * c.layers)),
      ]])
      : new Map<string, Module>([
        ["gate_proj", new HfLinear(D, F, false)],
        ["up_proj", new HfLinear(D, F, false)],
        ["down_proj", new HfLinear(F, D, false)],
      ]);
  }

  /** The projections. */
  override children(): [string, Module][] {
    return [...this.proj];
  }

  /** (B, T, D) → (B, T, D). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    const { rec } = ctx;
    const p = (n: string) => this.proj.get(n)!;
    const h = flat(x);
    let y: Tensor;
    if (this.c.type === "gpt2") {
      const a = p("c_fc").forward(h, ctx);
      const g = activation(rec, this.c.activation as "gelu_new", a);
      y = p("c_proj").forward(g, ctx);
      later(rec, a, g);
      if (ctx.train) this.#saved = [a];
    } else {
      const gate = p("gate_proj").forward(h, ctx), up = p("up_proj").forward(h, ctx);
      const m = swiglu(rec, gate, up);
      y = p("down_proj").forward(m, ctx);
      later(rec, gate, up, m);
      if (ctx.train) this.#saved = [gate, up];
    }
    return y.reshape(x.shape);
  }

  /** Gradients of the projections; returns dx. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const { rec } = ctx;
    const p = (n: string) => this.proj.get(n)!;
    const shape = dy.shape;
    let dx: Tensor;
    if (this.c.type === "gpt2") {
      const [a] = this.#saved;
      const dg = p("c_proj").backward(flat(dy), ctx);
      const da = activationBackward(rec, this.c.activation as "gelu_new", dg, a);
      dx = p("c_fc").backward(da, ctx);
      later(rec, dg, da);
    } else {
      const [gate, up] = this.#saved;
      const dm = p("down_proj").backward(flat(dy), ctx);
      const { dgate, dup } = swigluBackward(rec, dm, gate, up);
      dx = p("gate_proj").backward(dgate, ctx);
      const dx2 = p("up_proj").backward(dup, ctx);
      add(rec, dx, dx2, dx);
      later(rec, dm, dgate, dup, dx2);
    }
    this.#saved = [];
    return dx.reshape(shape);
  }
}

/** A pre-norm decoder block: `h = x + attn(norm₁ x)`, `y = h + mlp(norm₂ h)`, dropout on both branches. */
export class Block extends Module {
  /** First norm (`ln_1` / `input_layernorm`). */
  readonly norm1: Norm;
  /** Attention (`attn` / `self_attn`). */
  readonly attn: Attention;
  /** Second norm (`ln_2` / `post_attention_layernorm`). */
  readonly norm2: Norm;
  /** MLP (`mlp`). */
  readonly mlp: Mlp;

  /**
   * Creates the block.
   * @param c The decoder's config.
   * @param ropeTable The rotary table (LLaMA) or null.
   * @param state The decoder's step state (dropout's seed and step).
   * @param index The block's index (its dropout streams).
   */
  constructor(
    readonly c: DecoderConfig,
    ropeTable: Tensor | null,
    readonly state: LmStepState,
    readonly index: number,
  ) {
    super();
    const kind = c.type === "gpt2" ? "layer" : "rms";
    this.norm1 = new Norm(kind, c.dim, c.eps);
    this.attn = new Attention(c, ropeTable);
    this.norm2 = new Norm(kind, c.dim, c.eps);
    this.mlp = new Mlp(c);
  }

  /** Hugging Face's names. */
  override children(): [string, Module][] {
    return this.c.type === "gpt2"
      ? [["ln_1", this.norm1], ["attn", this.attn], ["ln_2", this.norm2], ["mlp", this.mlp]]
      : [
        ["input_layernorm", this.norm1],
        ["self_attn", this.attn],
        ["post_attention_layernorm", this.norm2],
        [
          "mlp",
          this.mlp,
        ],
      ];
  }

  /** A residual stream reads its input twice: its gradient is needed. */
  override readsNetworkInput(): void {}

  /** Dropout at a site (identity in eval mode or at rate 0): a new tensor, `t` left to its owner. */
  #drop(t: Tensor, site: number, ctx: StepContext): Tensor {
    if (!ctx.train || this.c.dropout === 0) return t;
    return dropout(
      ctx.rec,
      t,
      this.c.dropout,
      this.state.seed,
      dropoutStream(this.state.step, 2 * this.index + site),
    );
  }

  /** (B, T, D) → (B, T, D). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    const { rec } = ctx;
    // The block owns n1, a0, a, h, n2, m0, m; in train mode norm1 and norm2 take x and h over.
    const n1 = this.norm1.forward(x, ctx);
    const a0 = this.attn.forward(n1, ctx), a = this.#drop(a0, 0, ctx);
    const h = add(rec, x, a);
    const n2 = this.norm2.forward(h, ctx);
    const m0 = this.mlp.forward(n2, ctx), m = this.#drop(m0, 1, ctx);
    const y = add(rec, h, m);
    later(rec, n1, a0, a, n2, m0, m);
    if (!ctx.train) later(rec, h);
    return y;
  }

  /** Gradients of everything in the block; returns dx. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const { rec } = ctx;
    const dm = this.#drop(dy, 1, ctx); // the same mask on the way back; dy stays the caller's
    const dn2 = this.mlp.backward(dm, ctx);
    const dh = this.norm2.backward(dn2, ctx);
    add(rec, dh, dy, dh);
    const da = this.#drop(dh, 0, ctx);
    const dn1 = this.attn.backward(da, ctx);
    const dx = this.norm1.backward(dn1, ctx);
    add(rec, dx, dh, dx);
    later(rec, dn2, dn1, dh, da, dm !== dy ? dm : null);
    return dx;
  }
}

/** The dropout stream of a site at a step: distinct for every (step, site) of a run. */
export function dropoutStream(step: number, site: number): number {
  return (step * 4099 + site) >>> 0;
}
