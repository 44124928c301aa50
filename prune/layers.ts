/**
 * Which tensors of a decoder checkpoint are pruned, in what order, and how each is oriented.
 * Prunable: every 2-D float weight of an attention or MLP projection inside a Transformer block —
 * LLaMA's `self_attn.{q,k,v,o}_proj` and `mlp.{gate,up,down}_proj`, GPT-2's `attn.c_attn`,
 * `attn.c_proj`, `mlp.c_fc`, `mlp.c_proj` (and any other `*_proj`/`c_*`/`fc*` weight of a block) —
 * not embeddings, norms or `lm_head`, as FARMS' `find_layers` over `model.layers` finds them.
 * Order: block by block; inside a block, attention before MLP, each in its reference order
 * (q, k, v, o; gate, up, down; c_attn, c_proj; c_fc, c_proj), the order of `named_modules()`.
 * @module
 */
import type { WeightTensor } from "../io/tensor.ts";

/** A prunable layer. */
export interface PrunableLayer {
  /** Its tensor's name in the checkpoint. */
  name: string;
  /** The tensor. */
  tensor: WeightTensor;
  /** Transformer block index. */
  block: number;
  /** Output features (rows of the (out, in) view Wanda compares within). */
  out: number;
  /** Input features. */
  in: number;
  /**
   * Stored as (in, out): GPT-2's Conv1D. Its (out, in) view is the transpose.
   */
  transposed: boolean;
}

const BLOCK = /(?:^|\.)(?:layers|h|blocks|block)\.(\d+)\./;
const ORDER = [
  "q_proj",
  "k_proj",
  "v_proj",
  "o_proj",
  "c_attn",
  "q_attn",
  "attn.c_proj",
  "gate_proj",
  "up_proj",
  "down_proj",
  "c_fc",
  "mlp.c_proj",
];

/** Position of a layer inside its block, by the reference's module order (unknown names last). */
function rank(name: string): number {
  const i = ORDER.findIndex((k) => name.includes(`.${k}.`) || name.endsWith(`.${k}.weight`));
  return i < 0 ? ORDER.length : i;
}

/** Whether a tensor name is a projection weight of a block (not a norm or an embedding). */
function isProjection(name: string): boolean {
  if (!name.endsWith(".weight") || !BLOCK.test(name)) return false;
  const local = name.slice(name.search(BLOCK)).toLowerCase();
  return !/(norm|ln_|embed|wte|wpe|lm_head)/.test(local);
}

/**
 * The prunable layers of a checkpoint, in the reference's order.
 * @param tensors The checkpoint's tensors (headers; values are not read).
 * @param gpt2 Whether it is a GPT-2 checkpoint (Conv1D weights stored (in, out)); default: guessed
 *   from the names (`c_attn`, `c_fc`, `c_proj`).
 * @returns The layers.
 */
export function prunableLayers(tensors: WeightTensor[], gpt2?: boolean): PrunableLayer[] {
  const isGpt2 = gpt2 ?? tensors.some((t) => /\.(c_attn|c_fc)\.weight$/.test(t.name));
  const layers = tensors
    .filter((t) => t.isFloat && t.shape.length === 2 && !t.shape.some((d) => d === 0) && isProjection(t.name))
    .map((t): PrunableLayer => {
      const transposed = isGpt2 && /\.(c_attn|c_proj|c_fc|q_attn)\.weight$/.test(t.name);
      const [a, b] = t.shape;
      return {
        name: t.name,
        tensor: t,
        block: Number(BLOCK.exec(t.name)![1]),
        out: transposed ? b : a,
        in: transposed ? a : b,
        transposed,
      };
    });
  return layers.sort((x, y) =>
    x.block - y.block || rank(x.name) - rank(y.name) || (x.name < y.name ? -1 : 1)
  );
}
