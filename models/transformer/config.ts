/**
 * A decoder-only Transformer's shape in one typed object, and its two Hugging Face spellings:
 * GPT-2's `config.json` (`model_type: "gpt2"`, `n_embd`, `n_layer`, …) and LLaMA's
 * (`model_type: "llama"`, `hidden_size`, `num_hidden_layers`, …).
 * @module
 */
import { OptionError } from "../../util/errors.ts";

/** The two layouts: GPT-2 (learned positions, LayerNorm, GELU, Conv1D) and LLaMA (RoPE, RMSNorm, SwiGLU). */
export type DecoderType = "gpt2" | "llama";

/** A decoder's shape and constants. */
export interface DecoderConfig {
  /** Layout. */
  type: DecoderType;
  /** Vocabulary size. */
  vocab: number;
  /** The longest sequence (GPT-2's `n_positions`, LLaMA's `max_position_embeddings`). */
  positions: number;
  /** Width D. */
  dim: number;
  /** Blocks. */
  layers: number;
  /** Attention heads (dividing D). */
  heads: number;
  /** Key/value heads (LLaMA's `num_key_value_heads`, dividing `heads`: grouped-query attention). */
  kvHeads: number;
  /** MLP width. */
  ffn: number;
  /** The norms' epsilon. */
  eps: number;
  /** RoPE base (LLaMA). */
  ropeTheta: number;
  /** Whether the output head shares the token embedding (always true for GPT-2). */
  tied: boolean;
  /** GPT-2's activation (`gelu_new`, `gelu_pytorch_tanh` or `gelu`); LLaMA uses `silu`. */
  activation: string;
  /** Dropout on embeddings and residual branches in training (0: none). */
  dropout: number;
}

/**
 * A config with GPT-2's or LLaMA's defaults for what is not given.
 * @param c The type and any fields.
 * @returns The full, validated config.
 * @throws {OptionError} When heads do not divide the width, or a size is not a positive integer.
 */
export function decoderConfig(c: Partial<DecoderConfig> & { type: DecoderType }): DecoderConfig {
  const gpt = c.type === "gpt2";
  const dim = c.dim ?? 128;
  const full: DecoderConfig = {
    type: c.type,
    vocab: c.vocab ?? 10001,
    positions: c.positions ?? 128,
    dim,
    layers: c.layers ?? 2,
    heads: c.heads ?? 4,
    kvHeads: c.kvHeads ?? c.heads ?? 4,
    ffn: c.ffn ?? (gpt ? 4 * dim : Math.round(8 * dim / 3)),
    eps: c.eps ?? (gpt ? 1e-5 : 1e-6),
    ropeTheta: c.ropeTheta ?? 10000,
    tied: gpt ? true : c.tied ?? false,
    activation: gpt ? c.activation ?? "gelu_new" : "silu",
    dropout: c.dropout ?? 0,
  };
  validateConfig(full);
  return full;
}

/** Checks a config; errors name the field and say what was expected. */
export function validateConfig(c: DecoderConfig, where = "model config"): void {
  if (c.type !== "gpt2" && c.type !== "llama") {
    throw new OptionError(`${where}: model type "${c.type}" is not one we build: expected "gpt2" or "llama"`);
  }
  for (const k of ["vocab", "positions", "dim", "layers", "heads", "kvHeads", "ffn"] as const) {
    if (!(Number.isInteger(c[k]) && c[k] >= 1)) {
      throw new OptionError(`${where}: ${k} must be a positive integer, got ${c[k]}`);
    }
  }
  if (c.dim % c.heads) {
    throw new OptionError(`${where}: ${c.heads} heads do not divide the width ${c.dim}`);
  }
  if (c.heads % c.kvHeads || (c.type === "gpt2" && c.kvHeads !== c.heads)) {
    throw new OptionError(
      `${where}: ${c.kvHeads} key/value heads do not divide the ${c.heads} heads${
        c.type === "gpt2" ? " (GPT-2 has one per head)" : ""
      }`,
    );
  }
  if (c.type === "llama" && (c.dim / c.heads) % 2) {
    throw new OptionError(`${where}: rotary embeddings need an even head dimension, got ${c.dim / c.heads}`);
  }
  if (!(c.eps > 0)) throw new OptionError(`${where}: eps must be > 0, got ${c.eps}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) {
    throw new OptionError(`${where}: dropout must be in [0, 1), got ${c.dropout}`);
  }
  if (!["gelu_new", "gelu_pytorch_tanh", "gelu", "silu"].includes(c.activation)) {
    throw new OptionError(
      `${where}: activation "${c.activation}" is not one we run (gelu_new, gelu_pytorch_tanh, gelu, silu)`,
    );
  }
}

/**
 * Reads a Hugging Face `config.json` object.
 * @param j The parsed JSON.
 * @param file The file's path, for errors.
 * @returns The config.
 * @throws {OptionError} Naming the file and the field that is missing or unsupported.
 */
export function configFromHf(j: Record<string, unknown>, file = "config.json"): DecoderConfig {
  const type = j.model_type;
  const num = (k: string, fallback?: number): number => {
    const v = j[k] ?? fallback;
    if (typeof v !== "number") {
      throw new OptionError(
        `${file}: "${k}" must be a number${v === undefined ? " (missing)" : `, got ${JSON.stringify(v)}`}`,
      );
    }
    return v;
  };
  let c: DecoderConfig;
  if (type === "gpt2") {
    const dim = num("n_embd");
    c = {
      type,
      vocab: num("vocab_size"),
      positions: num("n_positions", j.n_ctx as number | undefined),
      dim,
      layers: num("n_layer"),
      heads: num("n_head"),
      kvHeads: num("n_head"),
      ffn: j.n_inner == null ? 4 * dim : num("n_inner"),
      eps: num("layer_norm_epsilon", 1e-5),
      ropeTheta: 10000,
      tied: true,
      activation: typeof j.activation_function === "string" ? j.activation_function : "gelu_new",
      dropout: 0,
    };
    if (j.scale_attn_by_inverse_layer_idx === true || j.scale_attn_weights === false) {
      throw new OptionError(
        `${file}: ${
          j.scale_attn_weights === false ? "scale_attn_weights false" : "scale_attn_by_inverse_layer_idx"
        } is not supported (scores are scaled by 1/√head_dim)`,
      );
    }
    if (j.tie_word_embeddings === false) {
      throw new OptionError(
        `${file}: GPT-2 with tie_word_embeddings false is not supported (GPT-2 ties its head)`,
      );
    }
  } else if (type === "llama") {
    const heads = num("num_attention_heads");
    if (j.rope_scaling != null) {
      throw new OptionError(`${file}: rope_scaling is not supported (plain RoPE only)`);
    }
    if (j.hidden_act != null && j.hidden_act !== "silu") {
      throw new OptionError(`${file}: hidden_act "${j.hidden_act}" is not supported (LLaMA uses "silu")`);
    }
    if (j.attention_bias === true || j.mlp_bias === true) {
      throw new OptionError(
        `${file}: attention_bias/mlp_bias are not supported (LLaMA's projections have no bias)`,
      );
    }
    const dim = num("hidden_size");
    if (j.head_dim != null && j.head_dim !== dim / heads) {
      throw new OptionError(
        `${file}: head_dim ${j.head_dim} ≠ hidden_size / num_attention_heads is not supported`,
      );
    }
    c = {
      type,
      vocab: num("vocab_size"),
      positions: num("max_position_embeddings"),
      dim,
      layers: num("num_hidden_layers"),
      heads,
      kvHeads: j.num_key_value_heads == null ? heads : num("num_key_value_heads"),
      ffn: num("intermediate_size"),
      eps: num("rms_norm_eps", 1e-6),
      ropeTheta: num("rope_theta", 10000),
      tied: j.tie_word_embeddings === true,
      activation: "silu",
      dropout: 0,
    };
  } else {
    throw new OptionError(
      `${file}: model_type ${JSON.stringify(type)} is not supported: expected "gpt2" or "llama"`,
    );
  }
  validateConfig(c, file);
  return c;
}

/**
 * Writes the Hugging Face `config.json` object of a config.
 * @param c The config.
 * @returns The JSON object (Hugging Face's field names).
 */
export function configToHf(c: DecoderConfig): Record<string, unknown> {
  if (c.type === "gpt2") {
    return {
      architectures: ["GPT2LMHeadModel"],
      model_type: "gpt2",
      vocab_size: c.vocab,
      n_positions: c.positions,
      n_ctx: c.positions,
      n_embd: c.dim,
      n_layer: c.layers,
      n_head: c.heads,
      n_inner: c.ffn,
      layer_norm_epsilon: c.eps,
      activation_function: c.activation,
      resid_pdrop: c.dropout,
      embd_pdrop: c.dropout,
      attn_pdrop: 0,
      initializer_range: 0.02,
      tie_word_embeddings: true,
      torch_dtype: "float32",
    };
  }
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: c.vocab,
    max_position_embeddings: c.positions,
    hidden_size: c.dim,
    intermediate_size: c.ffn,
    num_hidden_layers: c.layers,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    rms_norm_eps: c.eps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: c.tied,
    hidden_act: "silu",
    attention_bias: false,
    mlp_bias: false,
    initializer_range: 0.02,
    torch_dtype: "float32",
  };
}
