import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Model } from "../../models/model.ts";
import { type DecoderConfig, decoderConfig } from "../../models/transformer/config.ts";
import { Decoder } from "../../models/transformer/decoder.ts";
import { saveDecoderFolder, vocabulary } from "../../models/transformer/hf_folder.ts";
import { openSafetensors, parseSafetensors, writeSafetensors } from "../../io/safetensors.ts";
import { loadWeightFile } from "../../io/load.ts";
import { encodeLines, textLines } from "../../data/text.ts";
import { assertClose, gpu, gpuTest } from "../_helpers.ts";
import { runTask } from "../_task.ts";
import { decoderRef, refConfig } from "../reference/transformer.ts";

const TASK = new URL("../../tasks/prune.ts", import.meta.url);
const WORDS = ["<unk>", "<eos>", "the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "away"];

/** A model folder re-written as two BF16 shards with an index (HF's sharded layout). */
async function shardedBf16(dir: string, c: DecoderConfig, seed: number): Promise<void> {
  const model = new Model(gpu, new Decoder(gpu, c), seed);
  await saveDecoderFolder(dir, model, c, WORDS);
  const meta = model.metadata();
  model.release();
  const { tensors } = parseSafetensors(await Deno.readFile(`${dir}/model.safetensors`));
  await Deno.remove(`${dir}/model.safetensors`);
  const half = Math.ceil(tensors.length / 2);
  const shards = [tensors.slice(0, half), tensors.slice(half)];
  const map: Record<string, string> = {};
  for (const [i, part] of shards.entries()) {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    await Deno.writeFile(
      `${dir}/${file}`,
      writeSafetensors(part.map((t) => ({ name: t.name, shape: t.shape, data: t.values(), dtype: "BF16" })), {
        format: "pt",
        ...meta,
      }),
    );
    for (const t of part) map[t.name] = file;
  }
  await Deno.writeTextFile(
    `${dir}/model.safetensors.index.json`,
    JSON.stringify({ metadata: {}, weight_map: map }),
  );
}

const text = Array.from(
  { length: 120 },
  (_, i) => Array.from({ length: 6 }, (_, j) => WORDS[2 + ((i * 5 + j * j) % 10)]).join(" "),
).join("\n") + "\n";

/** The float64 perplexity of a folder's weights on the text, windows of L. */
async function refPerplexity(dir: string, c: DecoderConfig, L: number): Promise<number> {
  const { tensors } = await loadWeightFile(dir);
  const w = new Map(tensors.map((t) => [t.name, t.values()]));
  const ids = encodeLines(textLines(text), vocabulary(WORDS)).ids;
  let total = 0;
  for (let s = 0; s < ids.length - 1; s += L) {
    const len = Math.min(L, ids.length - 1 - s);
    const z = decoderRef(
      refConfig(c),
      w,
      [...ids.subarray(s, s + len)],
      1,
      len,
    );
    for (let t = 0; t < len; t++) {
      let m = -Infinity, e = 0;
      for (let v = 0; v < c.vocab; v++) m = Math.max(m, z[t * c.vocab + v]);
      for (let v = 0; v < c.vocab; v++) e += Math.exp(z[t * c.vocab + v] - m);
      total += m + Math.log(e) - z[t * c.vocab + ids[s + t + 1]];
    }
  }
  return Math.exp(total / (ids.length - 1));
}

const sha = async (p: string) =>
  Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(p)))).join(",");

gpuTest(
  "deno task prune: same-form sharded BF16 output, sparsity.json exactly, achieved = assigned within one weight, input untouched, perplexity after = float64 forward of the pruned weights",
  async () => {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/t.txt`, text);
    for (const type of ["llama", "gpt2"] as const) {
      const c = decoderConfig({ type, vocab: 12, positions: 8, dim: 16, layers: 2, heads: 2, ffn: 24 });
      const src = `${dir}/${type}`;
      await shardedBf16(src, c, 7);
      const before = new Map<string, string>();
      for await (const e of Deno.readDir(src)) before.set(e.name, await sha(`${src}/${e.name}`));
      for (const [allocation, score] of [["alpha", "wanda"], ["farms", "magnitude"], ["uniform", "wanda"]]) {
        const out = `${dir}/${type}-${allocation}-${score}`;
        const r = await runTask(TASK, [
          src,
          "--sparsity",
          "0.6",
          "--allocation",
          allocation,
          "--score",
          score,
          ...(score === "wanda" ? ["--calib", `${dir}/t.txt`, "--calib-tokens", "64"] : []),
          "--eval",
          `${dir}/t.txt`,
          "--out",
          out,
        ]);
        equal(r.code, 0, r.err);
        // The input folder is byte for byte what it was.
        for (const [name, h] of before) equal(await sha(`${src}/${name}`), h, `${src}/${name} changed`);
        const report = JSON.parse(await Deno.readTextFile(`${out}/sparsity.json`));
        deepEqual(Object.keys(report), [
          "target",
          "allocation",
          "epsilon",
          "score",
          "mapping",
          "achieved",
          "layers",
        ]);
        equal(report.target, 0.6);
        equal(report.allocation, allocation);
        equal(report.score, score);
        equal(report.mapping, "block");
        const per = type === "llama" ? 7 : 4;
        equal(report.layers.length, 2 * per);
        let zeros = 0, total = 0;
        for (const l of report.layers) {
          deepEqual(Object.keys(l), ["name", "metric", "params", "sparsity", "achieved"]);
          ok(
            Math.abs(l.achieved * l.params - l.sparsity * l.params) <= 1,
            `${l.name}: ${l.achieved} vs ${l.sparsity}`,
          );
          ok(allocation === "uniform" ? l.metric === null : l.metric > 0, `${l.name} metric ${l.metric}`);
          zeros += l.achieved * l.params;
          total += l.params;
        }
        ok(Math.abs(report.achieved - zeros / total) < 1e-12, `achieved ${report.achieved}`);
        ok(Math.abs(report.achieved - 0.6) < 1e-3);
        // Same form: files, names, dtypes, shapes, metadata and order; only prunable values differ.
        const names = [...before.keys()].sort();
        deepEqual(
          [...Deno.readDirSync(out)].map((e) => e.name).filter((n) =>
            !/^(sparsity|perplexity)\.json$/.test(n)
          ).sort(),
          names,
        );
        for (const shard of names.filter((n) => n.endsWith(".safetensors"))) {
          const a = await openSafetensors(`${src}/${shard}`), b = await openSafetensors(`${out}/${shard}`);
          deepEqual(b.metadata, a.metadata);
          deepEqual(
            b.tensors.map((t) => [t.name, t.dtype, t.shape]),
            a.tensors.map((t) => [t.name, t.dtype, t.shape]),
          );
          const pruned = new Set(report.layers.map((l: { name: string }) => l.name));
          for (const [i, t] of a.tensors.entries()) {
            const x = t.values(), y = b.tensors[i].values();
            if (!pruned.has(t.name)) deepEqual(y, x, `${t.name} must not change`);
            else for (let k = 0; k < x.length; k++) ok(y[k] === x[k] || y[k] === 0, `${t.name}[${k}]`);
          }
        }
        const ppl = JSON.parse(await Deno.readTextFile(`${out}/perplexity.json`));
        deepEqual(Object.keys(ppl), ["data", "tokens", "before", "after"]);
        assertClose("before", [ppl.before], [await refPerplexity(src, c, 8)], 1e-5, 1e-5);
        assertClose("after", [ppl.after], [await refPerplexity(out, c, 8)], 1e-5, 1e-5);
      }
    }
  },
);

gpuTest(
  "deno task prune: bad input is named (sparsity, epsilon, no linear layers, short calibration, vocabulary, --out)",
  async () => {
    const dir = await Deno.makeTempDir();
    const c = decoderConfig({
      type: "llama",
      vocab: 12,
      positions: 8,
      dim: 16,
      layers: 2,
      heads: 2,
      ffn: 24,
    });
    const model = new Model(gpu, new Decoder(gpu, c), 3);
    await saveDecoderFolder(`${dir}/m`, model, c, WORDS);
    model.release();
    await Deno.writeTextFile(`${dir}/t.txt`, text);
    await Deno.writeTextFile(`${dir}/short.txt`, "the cat sat\n");
    await Deno.writeTextFile(`${dir}/french.txt`, "le chat est assis sur le tapis\n".repeat(40));
    await Deno.mkdir(`${dir}/emb`);
    await Deno.writeFile(
      `${dir}/emb/model.safetensors`,
      writeSafetensors([{ name: "model.embed_tokens.weight", shape: [12, 16], data: new Float32Array(192) }]),
    );
    const fail = async (args: string[], re: RegExp) => {
      const r = await runTask(TASK, args);
      equal(r.code, 1, r.out);
      match(r.err, re);
    };
    const base = (
      s: string,
      more: string[] = [],
    ) => [`${dir}/m`, `--sparsity=${s}`, "--allocation", "alpha", "--out", `${dir}/o`, ...more];
    for (const s of ["0", "1", "1.5", "-0.2", "x", ""]) {
      await fail(base(s), /Invalid --sparsity "[^"]*": expected a number in \(0, 1\)/);
    }
    await fail(
      base("0.999", ["--epsilon", "0.5"]),
      /Sparsity 0.999 with epsilon 0.5 cannot be allocated.*lower --epsilon or --sparsity/,
    );
    await fail(base("0.5", ["--epsilon", "1"]), /Invalid --epsilon "1": expected a number in \[0, 1\)/);
    await fail(
      [`${dir}/emb`, "--sparsity", "0.5", "--allocation", "uniform", "--out", `${dir}/o2`],
      /emb: no linear layers to prune/,
    );
    await fail(
      base("0.5", ["--score", "wanda", "--calib", `${dir}/short.txt`, "--calib-tokens", "64"]),
      /--calib .*short.txt has 4 tokens, fewer than --calib-tokens 64/,
    );
    await fail(base("0.5", ["--score", "wanda"]), /--score wanda needs --calib/);
    // A PTB/WikiText-format folder: its train.txt calibrates (here missing: named).
    await Deno.mkdir(`${dir}/ptb`);
    await fail(base("0.5", ["--score", "wanda", "--calib", `${dir}/ptb`]), /ptb\/train\.txt: no such file/);
    await fail(
      base("0.5", ["--eval", `${dir}/french.txt`]),
      /--eval .*french.txt: .* are not in .*vocab.txt: the text and the model's vocabulary do not match/,
    );
    await fail(
      [`${dir}/m`, "--sparsity", "0.5", "--allocation", "alpha", "--out", `${dir}/m`],
      /--out .* is the input's folder/,
    );
    await fail(base("0.5", ["--allocation", "magic"]), /Invalid --allocation "magic"/);
    await fail([`${dir}/m`, "--sparsity", "0.5", "--allocation", "uniform"], /Missing --out/);
  },
);

gpuTest(
  "deno task prune on a folder with an HF tokenizer.json instead of vocab.txt: calibration and evaluation through it; a tokenizer larger than the model is refused",
  async () => {
    const dir = await Deno.makeTempDir();
    const letters = "abcdefghijklmnopqrstuvwxyz".split("");
    const vocab: Record<string, number> = { "<unk>": 0 };
    letters.forEach((c, i) => vocab[c] = i + 1);
    const tokenizer = (v: Record<string, number>) =>
      JSON.stringify({
        version: "1.0",
        added_tokens: [],
        normalizer: null,
        pre_tokenizer: { type: "WhitespaceSplit" },
        post_processor: null,
        decoder: null,
        model: {
          type: "BPE",
          dropout: null,
          unk_token: "<unk>",
          continuing_subword_prefix: null,
          end_of_word_suffix: null,
          fuse_unk: false,
          byte_fallback: false,
          vocab: v,
          merges: [],
        },
      });
    const c = decoderConfig({
      type: "llama",
      vocab: 27,
      positions: 8,
      dim: 16,
      layers: 1,
      heads: 2,
      ffn: 24,
    });
    const model = new Model(gpu, new Decoder(gpu, c), 9);
    await saveDecoderFolder(`${dir}/m`, model, c, ["<unk>", "<eos>"]);
    model.release();
    await Deno.remove(`${dir}/m/vocab.txt`);
    await Deno.writeTextFile(`${dir}/m/tokenizer.json`, tokenizer(vocab));
    await Deno.writeTextFile(`${dir}/t.txt`, text);
    const r = await runTask(TASK, [
      `${dir}/m`,
      "--sparsity",
      "0.5",
      "--allocation",
      "uniform",
      "--score",
      "wanda",
      "--calib",
      `${dir}/t.txt`,
      "--calib-tokens",
      "64",
      "--eval",
      `${dir}/t.txt`,
      "--out",
      `${dir}/o`,
    ]);
    equal(r.code, 0, r.err);
    const ppl = JSON.parse(await Deno.readTextFile(`${dir}/o/perplexity.json`));
    // Characters of the text (no spaces; WhitespaceSplit drops them): one token each.
    equal(ppl.tokens, text.replace(/\s/g, "").length - 1);
    ok(await Deno.stat(`${dir}/o/tokenizer.json`).then(() => true), "tokenizer.json copied");
    await Deno.writeTextFile(`${dir}/m/tokenizer.json`, tokenizer({ ...vocab, t: 41 }));
    const bad = await runTask(TASK, [
      `${dir}/m`,
      "--sparsity",
      "0.5",
      "--allocation",
      "uniform",
      "--eval",
      `${dir}/t.txt`,
      "--out",
      `${dir}/o2`,
    ]);
    equal(bad.code, 1);
    match(bad.err, /tokenizer\.json gives token id 41, outside the model's vocab_size 27 .*do not match/);
  },
);
