/**
 * Float64 references of the Transformer ops, plain loops with the GPU ops' argument order, and a
 * whole decoder's forward (GPT-2 and LLaMA layouts, Hugging Face names) for the model tests.
 * Backward references are central differences of these forwards (`tests/_fd.ts`).
 * @module
 */
import type { DecoderConfig } from "../../models/transformer/config.ts";

/** LayerNorm (`layer`, biased variance) or RMSNorm (`rms`) over rows of D. */
export function normRef(
  kind: "layer" | "rms",
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | null,
  eps: number,
): Float64Array {
  const D = w.length, R = x.length / D;
  const y = new Float64Array(x.length);
  for (let r = 0; r < R; r++) {
    let mean = 0;
    if (kind === "layer") {
      for (let d = 0; d < D; d++) mean += x[r * D + d];
      mean /= D;
    }
    let v = 0;
    for (let d = 0; d < D; d++) v += (x[r * D + d] - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / D + eps);
    for (let d = 0; d < D; d++) y[r * D + d] = (x[r * D + d] - mean) * rstd * w[d] + (b ? b[d] : 0);
  }
  return y;
}

function erf(x: number): number {
  // Abramowitz & Stegun 7.1.26 is too coarse for a float64 reference: use a series/continued form.
  const t = Math.abs(x);
  if (t > 6) return Math.sign(x);
  // Maclaurin series converges for |x| ≤ 6 with enough terms in float64.
  let sum = 0, term = t, n = 0;
  while (Math.abs(term) > 1e-17 * Math.abs(sum) || n < 5) {
    sum += term / (2 * n + 1);
    n++;
    term *= -t * t / n;
    if (n > 200) break;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
}

/** The activations by Hugging Face's names. */
export function actRef(kind: string, v: number): number {
  if (kind === "gelu_new" || kind === "gelu_pytorch_tanh") {
    return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  }
  if (kind === "gelu") return 0.5 * v * (1 + erf(v / Math.SQRT2));
  if (kind === "silu") return v / (1 + Math.exp(-v));
  if (kind === "tanh") return Math.tanh(v);
  throw new Error(`unknown activation ${kind}`);
}

/** `y[n] = W[ids[n]] + P[n mod T]`. */
export function embeddingRef(
  ids: ArrayLike<number>,
  w: ArrayLike<number>,
  D: number,
  pos: ArrayLike<number> | null,
  T: number,
): Float64Array {
  const y = new Float64Array(ids.length * D);
  for (let n = 0; n < ids.length; n++) {
    for (let d = 0; d < D; d++) y[n * D + d] = w[ids[n] * D + d] + (pos ? pos[(n % T) * D + d] : 0);
  }
  return y;
}

/** Rotary embedding on (BH, T, hd), HF's rotate_half convention. */
export function ropeRef(x: ArrayLike<number>, T: number, hd: number, theta: number): Float64Array {
  const y = new Float64Array(x.length), h = hd / 2;
  for (let row = 0; row < x.length / hd; row++) {
    const t = row % T;
    for (let i = 0; i < h; i++) {
      const a = t * Math.pow(theta, -(2 * i) / hd), c = Math.cos(a), s = Math.sin(a);
      const u = x[row * hd + i], v = x[row * hd + h + i];
      y[row * hd + i] = u * c - v * s;
      y[row * hd + h + i] = v * c + u * s;
    }
  }
  return y;
}

/** Causal attention on head-major (BH, T, hd). */
export function attentionRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  BH: number,
  T: number,
  hd: number,
): Float64Array {
  const out = new Float64Array(BH * T * hd);
  const s = new Float64Array(T);
  for (let b = 0; b < BH; b++) {
    const o = b * T * hd;
    for (let i = 0; i < T; i++) {
      let mx = -Infinity;
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let e = 0; e < hd; e++) dot += q[o + i * hd + e] * k[o + j * hd + e];
        s[j] = dot / Math.sqrt(hd);
        mx = Math.max(mx, s[j]);
      }
      let z = 0;
      for (let j = 0; j <= i; j++) z += s[j] = Math.exp(s[j] - mx);
      for (let j = 0; j <= i; j++) {
        for (let e = 0; e < hd; e++) out[o + i * hd + e] += (s[j] / z) * v[o + j * hd + e];
      }
    }
  }
  return out;
}

/** `x (R, K) · W` with W stored (K, N) (`inKOut`, HF Conv1D) or (N, K) (nn.Linear), plus bias. */
export function linearRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  K: number,
  N: number,
  bias: ArrayLike<number> | null,
  inKOut: boolean,
): Float64Array {
  const R = x.length / K;
  const y = new Float64Array(R * N);
  for (let r = 0; r < R; r++) {
    for (let n = 0; n < N; n++) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) s += x[r * K + k] * (inKOut ? w[k * N + n] : w[n * K + k]);
      y[r * N + n] = s;
    }
  }
  return y;
}

/** A decoder's shape, as the model tests build it. */
export interface RefConfig {
  /** `gpt2` or `llama`. */
  type: "gpt2" | "llama";
  /** Vocabulary. */
  vocab: number;
  /** Width. */
  dim: number;
  /** Heads. */
  heads: number;
  /** Key/value heads (default: heads). */
  kvHeads?: number;
  /** Blocks. */
  layers: number;
  /** MLP width. */
  ffn: number;
  /** Norm epsilon. */
  eps: number;
  /** RoPE base (llama). */
  theta?: number;
  /** GPT-2 activation (default gelu_new). */
  act?: string;
  /** Tied lm_head (llama; GPT-2 is always tied). */
  tied?: boolean;
}

/**
 * The logits (B·T, V) of a decoder on ids (B, T), reading weights by Hugging Face name.
 * @param c The shape.
 * @param w Weights by name.
 * @param ids Token ids, row-major (B, T).
 * @param B Batch.
 * @param T Sequence length.
 */
export function decoderRef(
  c: RefConfig,
  w: Map<string, ArrayLike<number>>,
  ids: ArrayLike<number>,
  B: number,
  T: number,
): Float64Array {
  const D = c.dim, H = c.heads, hd = D / H, N = B * T;
  const get = (n: string) => {
    const v = w.get(n);
    if (!v) throw new Error(`reference: missing ${n}`);
    return v;
  };
  const gpt = c.type === "gpt2";
  let x = embeddingRef(
    ids,
    get(gpt ? "transformer.wte.weight" : "model.embed_tokens.weight"),
    D,
    gpt ? get("transformer.wpe.weight") : null,
    T,
  );
  const heads = (y: Float64Array, col: number, W: number, g = 1) => {
    const out = new Float64Array(N * D);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < T; t++) {
          for (let e = 0; e < hd; e++) {
            out[((b * H + h) * T + t) * hd + e] = y[(b * T + t) * W + col + Math.floor(h / g) * hd + e];
          }
        }
      }
    }
    return out;
  };
  const merge = (o: Float64Array) => {
    const y = new Float64Array(N * D);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < T; t++) {
          for (let e = 0; e < hd; e++) y[(b * T + t) * D + h * hd + e] = o[((b * H + h) * T + t) * hd + e];
        }
      }
    }
    return y;
  };
  const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);
  for (let l = 0; l < c.layers; l++) {
    if (gpt) {
      const p = `transformer.h.${l}`;
      const h1 = normRef("layer", x, get(`${p}.ln_1.weight`), get(`${p}.ln_1.bias`), c.eps);
      const qkv = linearRef(h1, get(`${p}.attn.c_attn.weight`), D, 3 * D, get(`${p}.attn.c_attn.bias`), true);
      const o = attentionRef(
        heads(qkv, 0, 3 * D),
        heads(qkv, D, 3 * D),
        heads(qkv, 2 * D, 3 * D),
        B * H,
        T,
        hd,
      );
      x = add(
        x,
        linearRef(merge(o), get(`${p}.attn.c_proj.weight`), D, D, get(`${p}.attn.c_proj.bias`), true),
      );
      const h2 = normRef("layer", x, get(`${p}.ln_2.weight`), get(`${p}.ln_2.bias`), c.eps);
      const f = linearRef(h2, get(`${p}.mlp.c_fc.weight`), D, c.ffn, get(`${p}.mlp.c_fc.bias`), true)
        .map((v) => actRef(c.act ?? "gelu_new", v));
      x = add(x, linearRef(f, get(`${p}.mlp.c_proj.weight`), c.ffn, D, get(`${p}.mlp.c_proj.bias`), true));
    } else {
      const p = `model.layers.${l}`;
      const h1 = normRef("rms", x, get(`${p}.input_layernorm.weight`), null, c.eps);
      const KV = (c.kvHeads ?? H) * hd, grp = H / (c.kvHeads ?? H);
      const proj = (n: string, out: number) =>
        linearRef(h1, get(`${p}.self_attn.${n}.weight`), D, out, null, false);
      const q = ropeRef(heads(proj("q_proj", D), 0, D), T, hd, c.theta ?? 10000);
      const k = ropeRef(heads(proj("k_proj", KV), 0, KV, grp), T, hd, c.theta ?? 10000);
      const o = attentionRef(q, k, heads(proj("v_proj", KV), 0, KV, grp), B * H, T, hd);
      x = add(x, linearRef(merge(o), get(`${p}.self_attn.o_proj.weight`), D, D, null, false));
      const h2 = normRef("rms", x, get(`${p}.post_attention_layernorm.weight`), null, c.eps);
      const g = linearRef(h2, get(`${p}.mlp.gate_proj.weight`), D, c.ffn, null, false);
      const u = linearRef(h2, get(`${p}.mlp.up_proj.weight`), D, c.ffn, null, false);
      const m = g.map((v, i) => actRef("silu", v) * u[i]);
      x = add(x, linearRef(m, get(`${p}.mlp.down_proj.weight`), c.ffn, D, null, false));
    }
  }
  const hf = normRef(
    gpt ? "layer" : "rms",
    x,
    get(gpt ? "transformer.ln_f.weight" : "model.norm.weight"),
    gpt ? get("transformer.ln_f.bias") : null,
    c.eps,
  );
  const head = gpt || c.tied
    ? get(gpt ? "transformer.wte.weight" : "model.embed_tokens.weight")
    : get("lm_head.weight");
  return linearRef(hf, head, D, c.vocab, null, false);
}

/** The reference's shape of a model config. */
export function refConfig(c: DecoderConfig): RefConfig {
  return {
    type: c.type,
    vocab: c.vocab,
    dim: c.dim,
    heads: c.heads,
    kvHeads: c.kvHeads,
    layers: c.layers,
    ffn: c.ffn,
    eps: c.eps,
    theta: c.ropeTheta,
    act: c.activation,
    tied: c.tied,
  };
}
