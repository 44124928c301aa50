import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { analyze } from "../../esd/analyze.ts";
import { tempBalanceDryRun } from "../../optim/tb_file.ts";
import { writeSafetensors } from "../../io/safetensors.ts";
import { floatToHalf, halfToFloat } from "../../io/tensor.ts";
import { tokenIndex } from "../../kernels/nn/embedding.ts";
import { tokenNll } from "../../kernels/nn/lm_loss.ts";
import { Recorder } from "../../kernels/runtime/recorder.ts";
import { readback, upload } from "../../kernels/runtime/tensor.ts";
import { Model } from "../../models/model.ts";
import { configToHf, type DecoderConfig, decoderConfig } from "../../models/transformer/config.ts";
import { Decoder } from "../../models/transformer/decoder.ts";
import { loadDecoderFolder, saveDecoderFolder } from "../../models/transformer/hf_folder.ts";
import { perplexity } from "../../train/lm_eval.ts";
import { assertClose, gpu, gpuTest, randArray } from "../_helpers.ts";
import { decoderRef, refConfig } from "../reference/transformer.ts";

/** Hugging Face's parameter names and shapes of a config (GPT-2's Conv1D weights are (in, out)). */
function hfShapes(c: DecoderConfig): [string, number[]][] {
  const D = c.dim, F = c.ffn, out: [string, number[]][] = [];
  if (c.type === "gpt2") {
    out.push(["transformer.wte.weight", [c.vocab, D]], ["transformer.wpe.weight", [c.positions, D]]);
    for (let l = 0; l < c.layers; l++) {
      const p = `transformer.h.${l}`;
      out.push(
        [`${p}.ln_1.weight`, [D]],
        [`${p}.ln_1.bias`, [D]],
        [`${p}.attn.c_attn.weight`, [D, 3 * D]],
        [`${p}.attn.c_attn.bias`, [3 * D]],
        [`${p}.attn.c_proj.weight`, [D, D]],
        [`${p}.attn.c_proj.bias`, [D]],
        [`${p}.ln_2.weight`, [D]],
        [`${p}.ln_2.bias`, [D]],
        [`${p}.mlp.c_fc.weight`, [D, F]],
        [`${p}.mlp.c_fc.bias`, [F]],
        [`${p}.mlp.c_proj.weight`, [F, D]],
        [`${p}.mlp.c_proj.bias`, [D]],
      );
    }
    out.push(["transformer.ln_f.weight", [D]], ["transformer.ln_f.bias", [D]]);
  } else {
    out.push(["model.embed_tokens.weight", [c.vocab, D]]);
    for (let l = 0; l < c.layers; l++) {
      const p = `model.layers.${l}`;
      out.push([`${p}.input_layernorm.weight`, [D]]);
      const KV = (c.kvHeads * D) / c.heads;
      for (const n of ["q", "k", "v", "o"]) {
        out.push([`${p}.self_attn.${n}_proj.weight`, [n === "k" || n === "v" ? KV : D, D]]);
      }
      out.push(
        [`${p}.post_attention_layernorm.weight`, [D]],
        [`${p}.mlp.gate_proj.weight`, [F, D]],
        [`${p}.mlp.up_proj.weight`, [F, D]],
        [`${p}.mlp.down_proj.weight`, [D, F]],
      );
    }
    out.push(["model.norm.weight", [D]]);
    if (!c.tied) out.push(["lm_head.weight", [c.vocab, D]]);
  }
  return out;
}

function randomWeights(c: DecoderConfig, seed: number): Map<string, Float32Array> {
  const w = new Map<string, Float32Array>();
  hfShapes(c).forEach(([n, s], i) => {
    const size = s.reduce((a, b) => a * b, 1);
    // Norm weights near 1; everything else ±0.3 (large enough that attention is not uniform).
    w.set(
      n,
      /(ln_|norm)/.test(n) && n.endsWith("weight")
        ? randArray(size, seed + i, 0.7, 1.3)
        : randArray(size, seed + i, -0.3, 0.3),
    );
  });
  return w;
}

const VOCAB = (V: number) => ["<unk>", "<eos>", ...Array.from({ length: V - 2 }, (_, i) => `w${i}`)];

async function writeFolder(
  dir: string,
  c: DecoderConfig,
  w: Map<string, Float32Array>,
  o: { dtype?: "F32" | "F16" | "BF16"; prefix?: boolean; extras?: boolean } = {},
): Promise<Map<string, Float64Array>> {
  const dtype = o.dtype ?? "F32";
  const stored = new Map<string, Float64Array>();
  const tensors = [...w].map(([name, data]) => {
    const shape = hfShapes(c).find(([n]) => n === name)![1];
    // What the file will hold, decoded (the reference must see the rounded values).
    const round = dtype === "F16"
      ? (v: number) => halfToFloat(floatToHalf(v))
      : dtype === "BF16"
      ? (v: number) =>
        new Float32Array(
          new Uint32Array([
            (new Uint32Array(new Float32Array([v]).buffer)[0] + 0x7fff +
              ((new Uint32Array(new Float32Array([v]).buffer)[0] >>> 16) & 1)) & 0xffff0000,
          ]).buffer,
        )[0]
      : (v: number) => Math.fround(v);
    stored.set(name, Float64Array.from(data, round));
    const fileName = o.prefix === false ? name.replace(/^transformer\./, "") : name;
    return { name: fileName, shape, data, dtype };
  });
  if (o.extras && c.type === "gpt2") {
    // What HF's GPT-2 files may carry besides parameters: the causal mask buffers and a tied head.
    tensors.push({ name: "h.0.attn.bias", shape: [1, 1, 4, 4], data: new Float32Array(16).fill(1), dtype });
    tensors.push({
      name: "lm_head.weight",
      shape: [c.vocab, c.dim],
      data: w.get("transformer.wte.weight")!,
      dtype,
    });
  }
  if (o.extras && c.type === "llama") {
    tensors.push({
      name: "model.layers.0.self_attn.rotary_emb.inv_freq",
      shape: [c.dim / c.heads / 2],
      data: new Float32Array(c.dim / c.heads / 2),
      dtype: "F32" as const,
    });
  }
  await Deno.mkdir(dir, { recursive: true });
  // Sorted names, as Python's safetensors writer stores them.
  tensors.sort((a, b) => (a.name < b.name ? -1 : 1));
  await Deno.writeFile(`${dir}/model.safetensors`, writeSafetensors(tensors, { format: "pt" }));
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(configToHf(c)));
  await Deno.writeTextFile(`${dir}/vocab.txt`, VOCAB(c.vocab).join("\n") + "\n");
  return stored;
}

const CASES: [string, Partial<DecoderConfig> & { type: "gpt2" | "llama" }, "F32" | "F16" | "BF16"][] = [
  ["GPT-2, F32, names without transformer., mask buffers and a tied lm_head copy", {
    type: "gpt2",
    vocab: 23,
    positions: 12,
    dim: 12,
    layers: 2,
    heads: 3,
    ffn: 20,
  }, "F32"],
  ["GPT-2, F16, exact GELU", {
    type: "gpt2",
    vocab: 17,
    positions: 9,
    dim: 8,
    layers: 1,
    heads: 2,
    ffn: 12,
    activation: "gelu",
  }, "F16"],
  ["LLaMA, BF16, untied head", {
    type: "llama",
    vocab: 19,
    positions: 10,
    dim: 12,
    layers: 2,
    heads: 2,
    ffn: 18,
    ropeTheta: 500,
  }, "BF16"],
  ["LLaMA, F32, grouped-query attention (4 heads, 2 key/value heads)", {
    type: "llama",
    vocab: 15,
    positions: 7,
    dim: 16,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    ffn: 20,
  }, "F32"],
  ["LLaMA, BF16, multi-query attention (3 heads, 1 key/value head)", {
    type: "llama",
    vocab: 11,
    positions: 6,
    dim: 12,
    layers: 1,
    heads: 3,
    kvHeads: 1,
    ffn: 14,
  }, "BF16"],
  ["LLaMA, F32, tied", {
    type: "llama",
    vocab: 13,
    positions: 8,
    dim: 8,
    layers: 1,
    heads: 1,
    ffn: 10,
    tied: true,
  }, "F32"],
];

gpuTest(
  "A Hugging Face folder (GPT-2 and LLaMA names, F32/F16/BF16) loads and gives the float64 reference's logits",
  async () => {
    let seed = 1;
    for (const [tag, partial, dtype] of CASES) {
      const c = decoderConfig(partial);
      const dir = await Deno.makeTempDir();
      const stored = await writeFolder(dir, c, randomWeights(c, seed * 100), {
        dtype,
        prefix: seed !== 1,
        extras: true,
      });
      const { model, vocab, config } = await loadDecoderFolder(gpu, dir);
      equal(vocab!.tokens.length, c.vocab);
      equal(config.type, c.type);
      const B = 2, T = c.positions - 1;
      const ids = Array.from({ length: B * T }, (_, i) => (i * 5 + seed) % c.vocab);
      const rec = new Recorder(gpu);
      const logits = model.forward(rec, upload(gpu, ids, [B, T], "i32"), false);
      await rec.submit();
      const [got] = await readback(gpu, logits);
      assertClose(tag, got, decoderRef(refConfig(c), stored, ids, B, T), 2e-4, 2e-3);
      model.release();
      seed++;
    }
  },
);

gpuTest(
  "A whole tiny decoder's gradients match central differences of the float64 reference (GPT-2, LLaMA, LLaMA with GQA)",
  async () => {
    for (
      const partial of [
        { type: "gpt2" as const, vocab: 11, positions: 6, dim: 8, layers: 2, heads: 2, ffn: 12 },
        { type: "llama" as const, vocab: 11, positions: 6, dim: 8, layers: 2, heads: 2, ffn: 12 },
        // Grouped-query attention: 4 query heads share 2 key/value heads.
        { type: "llama" as const, vocab: 11, positions: 6, dim: 8, layers: 2, heads: 4, kvHeads: 2, ffn: 12 },
      ]
    ) {
      const c = decoderConfig(partial);
      const w = randomWeights(c, 7);
      const decoder = new Decoder(gpu, c);
      const model = new Model(gpu, decoder, 0);
      const toLoad = [...w].map(([name, data]) => ({
        name,
        dtype: "F32",
        shape: hfShapes(c).find(([n]) => n === name)![1],
        isFloat: true,
        values: () => Float64Array.from(data),
      }));
      model.loadStateDict(toLoad);
      const B = 2, T = 5, N = B * T;
      const ids = Array.from({ length: N }, (_, i) => (i * 3 + 1) % c.vocab);
      const targets = Array.from({ length: N }, (_, i) => (i * 7 + 2) % c.vocab);
      decoder.state.index = tokenIndex(gpu, ids, c.vocab);
      const rec = new Recorder(gpu);
      const logits = model.forward(rec, upload(gpu, ids, [B, T], "i32"), true);
      tokenNll(rec, logits, upload(gpu, targets, [N], "i32"), 1 / N); // d(mean nll) in place
      model.backward(rec, logits);
      await rec.submit();
      const grads = await readback(gpu, ...model.arena.params.map((p) => p.grad));
      const W = new Map([...w].map(([n, v]) => [n, Float64Array.from(v)]));
      const loss = () => {
        const z = decoderRef(refConfig(c), W, ids, B, T);
        let s = 0;
        for (let r = 0; r < N; r++) {
          let m = -Infinity, e = 0;
          for (let v = 0; v < c.vocab; v++) m = Math.max(m, z[r * c.vocab + v]);
          for (let v = 0; v < c.vocab; v++) e += Math.exp(z[r * c.vocab + v] - m);
          s += m + Math.log(e) - z[r * c.vocab + targets[r]];
        }
        return s / N;
      };
      model.arena.params.forEach((p, k) => {
        const vals = W.get(p.name)!;
        // Up to 6 elements of every parameter, spread over it.
        const picks = [...new Set(Array.from({ length: 6 }, (_, j) => Math.floor((j * vals.length) / 6)))];
        for (const i of picks) {
          const v = vals[i], h = 1e-5;
          vals[i] = v + h;
          const up = loss();
          vals[i] = v - h;
          const dn = loss();
          vals[i] = v;
          const fd = (up - dn) / (2 * h);
          const g = grads[k][i];
          if (Math.abs(g - fd) > 2e-4 + 2e-2 * Math.abs(fd)) {
            throw new Error(`${c.type} ${p.name}[${i}]: gradient ${g}, central difference ${fd}`);
          }
        }
      });
      model.release();
    }
  },
);

gpuTest(
  "perplexity() predicts every token after the first once, in windows of at most L, as a float64 evaluation does",
  async () => {
    const c = decoderConfig({ type: "gpt2", vocab: 13, positions: 6, dim: 8, layers: 1, heads: 2, ffn: 12 });
    const dir = await Deno.makeTempDir();
    const stored = await writeFolder(dir, c, randomWeights(c, 50));
    const { model } = await loadDecoderFolder(gpu, dir);
    const ids = Int32Array.from({ length: 23 }, (_, i) => (i * i + 3) % c.vocab);
    for (const L of [1, 4, 6]) {
      // The float64 version of the rule, window by window.
      let total = 0;
      for (let s = 0; s < ids.length - 1; s += L) {
        const len = Math.min(L, ids.length - 1 - s);
        const z = decoderRef(refConfig(c), stored, [...ids.subarray(s, s + len)], 1, len);
        for (let t = 0; t < len; t++) {
          let m = -Infinity, e = 0;
          for (let v = 0; v < c.vocab; v++) m = Math.max(m, z[t * c.vocab + v]);
          for (let v = 0; v < c.vocab; v++) e += Math.exp(z[t * c.vocab + v] - m);
          total += m + Math.log(e) - z[t * c.vocab + ids[s + t + 1]];
        }
      }
      const r = await perplexity(model, ids, L, 3);
      equal(r.tokens, 22);
      assertClose(`nll L=${L}`, [r.nll], [total / 22], 1e-6, 1e-5);
      assertClose(`perplexity L=${L}`, [r.perplexity], [Math.exp(total / 22)], 1e-6, 1e-5);
    }
    await rejects(perplexity(model, ids.subarray(0, 1), 4), /at least 2 tokens/);
    // An id past the vocabulary (or negative) is named, not clamped by the embedding.
    const bad = Int32Array.from(ids);
    bad[17] = c.vocab;
    await rejects(
      perplexity(model, bad, 4),
      /Token id 13 at position 17 is outside the model's vocabulary of 13 tokens \(ids 0…12\)/,
    );
    bad[17] = -1;
    await rejects(perplexity(model, bad, 4), /Token id -1 at position 17/);
    model.release();
  },
);

gpuTest(
  "saveDecoderFolder() writes a folder that loads back to the same logits; bad folders are named",
  async () => {
    const c = decoderConfig({ type: "llama", vocab: 9, positions: 4, dim: 8, layers: 1, heads: 2, ffn: 8 });
    const model = new Model(gpu, new Decoder(gpu, c), 3);
    const dir = await Deno.makeTempDir();
    await saveDecoderFolder(`${dir}/m`, model, c, VOCAB(9));
    const back = await loadDecoderFolder(gpu, `${dir}/m`);
    const ids = upload(gpu, [1, 2, 3, 4, 5, 6], [2, 3], "i32");
    const rec = new Recorder(gpu);
    const a = model.forward(rec, ids, false), b = back.model.forward(rec, ids, false);
    await rec.submit();
    const [av, bv] = await readback(gpu, a, b);
    assertClose("reloaded logits", bv, av, 0, 0);
    await rejects(loadDecoderFolder(gpu, `${dir}/none`), /Model folder .*none: no such folder/);
    await Deno.writeTextFile(
      `${dir}/m/vocab.txt`,
      "<unk>\n<eos>\n" + Array.from({ length: 9 }, (_, i) => `x${i}`).join("\n"),
    );
    await rejects(
      loadDecoderFolder(gpu, `${dir}/m`),
      /vocab.txt has 11 tokens, more than the model's vocab_size 9/,
    );
    await Deno.writeTextFile(`${dir}/m/vocab.txt`, "a\nb\n");
    await rejects(loadDecoderFolder(gpu, `${dir}/m`), /vocab.txt: the vocabulary must contain <unk>/);
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}/m/config.json`));
    await Deno.writeTextFile(
      `${dir}/m/config.json`,
      JSON.stringify({ ...cfg, num_attention_heads: 3, num_key_value_heads: 3 }),
    );
    await rejects(loadDecoderFolder(gpu, `${dir}/m`), /config.json: 3 heads do not divide the width 8/);
    await Deno.writeTextFile(
      `${dir}/m/config.json`,
      JSON.stringify({ ...cfg, hidden_size: 12, num_attention_heads: 2 }),
    );
    await Deno.writeTextFile(`${dir}/m/vocab.txt`, VOCAB(9).join("\n"));
    await rejects(
      loadDecoderFolder(gpu, `${dir}/m`),
      /wrong shape: model.embed_tokens.weight: expected \[9,12\], got \[9,8\]/,
    );
    model.release();
    back.model.release();
  },
);

gpuTest(
  "analyze() and the TempBalance dry run read a Hugging Face folder: projections, MLPs and embeddings, not the mask buffers",
  async () => {
    const c = decoderConfig({ type: "gpt2", vocab: 64, positions: 16, dim: 8, layers: 1, heads: 2, ffn: 12 });
    const dir = await Deno.makeTempDir();
    await writeFolder(dir, c, randomWeights(c, 9), { prefix: false, extras: true });
    const r = await analyze(dir);
    deepEqual(
      r.layers.map((l) => l.name).sort(),
      [
        "h.0.attn.c_attn.weight",
        "h.0.attn.c_proj.weight",
        "h.0.mlp.c_fc.weight",
        "h.0.mlp.c_proj.weight",
        "lm_head.weight",
        "wpe.weight",
        "wte.weight",
      ],
    );
    const d = await tempBalanceDryRun(dir, 1e-3, { eigsThresh: 1 });
    ok(d.layers.some((l) => l.name === "h.0.attn.c_proj.weight" && l.tuned));
  },
);
