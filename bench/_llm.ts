/**
 * A synthetic Hugging Face sharded checkpoint with the tensor shapes of a 1.1 B-parameter
 * Llama-style model (TinyLlama-1.1B: hidden 2048, 22 blocks, grouped-query k/v of 256 rows, MLP
 * 5632, vocabulary 32000), BF16, written tensor by tensor (never whole in memory) for
 * `deno task bench:esd`'s `llm-esd` row.
 * @module
 */

/** [name, shape] of every tensor of the model, in storage order. */
export function llamaShapes(blocks = 22, vocab = 32000): [string, number[]][] {
  const h = 2048, kv = 256, mlp = 5632;
  const out: [string, number[]][] = [["model.embed_tokens.weight", [vocab, h]]];
  for (let b = 0; b < blocks; b++) {
    const p = `model.layers.${b}`;
    out.push(
      [`${p}.self_attn.q_proj.weight`, [h, h]],
      [`${p}.self_attn.k_proj.weight`, [kv, h]],
      [`${p}.self_attn.v_proj.weight`, [kv, h]],
      [`${p}.self_attn.o_proj.weight`, [h, h]],
      [`${p}.mlp.gate_proj.weight`, [mlp, h]],
      [`${p}.mlp.up_proj.weight`, [mlp, h]],
      [`${p}.mlp.down_proj.weight`, [h, mlp]],
      [`${p}.input_layernorm.weight`, [h]],
      [`${p}.post_attention_layernorm.weight`, [h]],
    );
  }
  out.push(["model.norm.weight", [h]], ["lm_head.weight", [vocab, h]]);
  return out;
}

/**
 * Writes the checkpoint into `dir` as `model-0000K-of-0000S.safetensors` shards of about
 * `shardBytes` each plus `model.safetensors.index.json`; values are seeded noise (weights: a
 * Gaussian-like sum of uniforms, scaled by 1/√fan-in, with heavier-tailed outliers; norms: 1).
 * @returns The index file's path and the bytes written.
 */
export async function writeLlama(
  dir: string,
  shapes: [string, number[]][],
  shardBytes = 1e9,
): Promise<{ index: string; bytes: number }> {
  const shards: [string, number[]][][] = [[]];
  let size = 0;
  for (const t of shapes) {
    const b = 2 * t[1].reduce((p, d) => p * d, 1);
    if (size && size + b > shardBytes) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(t);
    size += b;
  }
  const weightMap: Record<string, string> = {};
  let total = 0, seed = 12345;
  const rand = () => {
    // xorshift32
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  const bf16 = (x: number) => {
    f32[0] = x;
    return (u32[0] + 0x7fff + ((u32[0] >>> 16) & 1)) >>> 16; // round to nearest even
  };
  for (let s = 0; s < shards.length; s++) {
    const file = `model-${String(s + 1).padStart(5, "0")}-of-${
      String(shards.length).padStart(5, "0")
    }.safetensors`;
    const header: Record<string, unknown> = {};
    let off = 0;
    for (const [name, shape] of shards[s]) {
      const b = 2 * shape.reduce((p, d) => p * d, 1);
      header[name] = { dtype: "BF16", shape, data_offsets: [off, off + b] };
      off += b;
      weightMap[name] = file;
    }
    let json = JSON.stringify(header);
    json += " ".repeat((8 - (json.length % 8)) % 8);
    const f = await Deno.open(`${dir}/${file}`, { write: true, create: true, truncate: true });
    try {
      const head = new Uint8Array(8 + json.length);
      new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
      head.set(new TextEncoder().encode(json), 8);
      await writeAll(f, head);
      for (const [, shape] of shards[s]) {
        const n = shape.reduce((p, d) => p * d, 1);
        const out = new Uint16Array(n);
        if (shape.length === 1) out.fill(bf16(1));
        else {
          const scale = 1 / Math.sqrt(shape[1]);
          for (let i = 0; i < n; i++) {
            const g = (rand() + rand() + rand() - 1.5) * 2; // variance 1
            out[i] = bf16((rand() < 0.001 ? g * 8 : g) * scale);
          }
        }
        await writeAll(f, new Uint8Array(out.buffer));
      }
      total += 8 + json.length + off;
    } finally {
      f.close();
    }
  }
  const index = `${dir}/model.safetensors.index.json`;
  await Deno.writeTextFile(index, JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }));
  return { index, bytes: total };
}

async function writeAll(f: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let o = 0; o < bytes.length;) o += await f.write(bytes.subarray(o));
}
