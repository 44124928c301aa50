/**
 * `deno task perplexity DIR --data FILE.txt [--seq-len L] [--batch N] [--json]`: the perplexity of
 * a language model folder (config.json, model.safetensors, vocab.txt) on a word-level text file.
 * @module
 */
import { parseArgs } from "node:util";
import { OptionError } from "../util/errors.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { loadDecoderFolder } from "../models/transformer/hf_folder.ts";
import { readUtf8 } from "../io/text.ts";
import { encodeLines, textLines } from "../data/text.ts";
import { perplexity } from "../train/lm_eval.ts";
import { numFlag, oneFile, parsed } from "./_args.ts";
import { runMain } from "../cli/main.ts";
import { CountProgress } from "../report/progress.ts";

const USAGE = `usage: deno task perplexity DIR --data FILE.txt [--seq-len L] [--json]
  DIR            a model folder: config.json (Hugging Face, gpt2 or llama), model.safetensors
                 (or shards with model.safetensors.index.json), vocab.txt (one token per line)
  --data FILE    word-level text: each line split on whitespace, <eos> appended, unknown words <unk>
  --seq-len L    window length: at most L tokens of context (default: the model's positions)
  --batch N      windows per forward pass (default 8)
  --json         print {"tokens", "nll", "perplexity"} only`;

await runMain(async () => {
  const { values: v, positionals } = parsed(() =>
    parseArgs({
      allowPositionals: true,
      options: {
        data: { type: "string" },
        "seq-len": { type: "string" },
        batch: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }), USAGE);
  const dir = oneFile(positionals, v.help, USAGE);
  if (dir === null) return;
  if (!v.data) throw new OptionError(`Missing --data: the text file to evaluate on\n${USAGE}`);
  const batch = numFlag("batch", v.batch, 8, { int: true, min: 1 });
  const gpu = await getGpu();
  const { model, config, vocab } = await loadDecoderFolder(gpu, dir);
  const seqLen = numFlag("seq-len", v["seq-len"], config.positions, { int: true, min: 1 });
  if (seqLen > config.positions) {
    throw new OptionError(
      `Invalid --seq-len ${seqLen}: longer than the model's ${config.positions} positions (${dir}/config.json)`,
    );
  }
  const text = await readUtf8(v.data);
  const { ids, unknown } = encodeLines(textLines(text), vocab!);
  if (ids.length < 2) {
    throw new OptionError(`${v.data}: needs at least 2 tokens (with <eos>), got ${ids.length}`);
  }
  const bar = await CountProgress.open("windows", !v.json && Deno.stderr.isTerminal());
  const r = await perplexity(model, ids, seqLen, batch, (d, t) => bar.update(d, t, v.data!));
  bar.stop();
  if (v.json) {
    console.log(JSON.stringify({ tokens: r.tokens, nll: r.nll, perplexity: r.perplexity }));
    return;
  }
  console.log(
    `${dir}: ${config.type}, ${config.layers} layers, width ${config.dim}, vocabulary ${
      vocab!.tokens.length
    }`,
  );
  console.log(
    `${v.data}: ${ids.length} tokens (${unknown} words not in the vocabulary → <unk>), windows of ${seqLen}`,
  );
  console.log(
    `tokens predicted ${r.tokens}  nll ${r.nll.toFixed(4)} nats  perplexity ${r.perplexity.toFixed(2)}`,
  );
});
