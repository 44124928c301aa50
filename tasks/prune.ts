/**
 * `deno task prune DIR --sparsity S --allocation uniform|alpha|farms [--epsilon E]
 * [--score magnitude|wanda] [--calib DATA --calib-tokens N] [--eval FILE.txt] [--mapping block|layer]
 * --out OUTDIR`: layer-wise pruning by heavy-tailed metrics (AlphaPruning / FARMS) into a new
 * checkpoint folder of the same form, with `sparsity.json` and, with `--eval`, `perplexity.json`.
 * @module
 */
import { parseArgs } from "node:util";
import { OptionError } from "../util/errors.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { loadDecoderFolder, readVocabulary, type Vocabulary } from "../models/transformer/hf_folder.ts";
import { readHfTokenizer, type TextTokenizer } from "../data/hf_tokenizer.ts";
import { readUtf8 } from "../io/text.ts";
import { writeAtomic } from "../io/atomic.ts";
import { encodeLines, textLines } from "../data/text.ts";
import { brownCorpus } from "../data/lm_corpus.ts";
import { perplexity, type PerplexityResult } from "../train/lm_eval.ts";
import { calibrationNorms, calibrationStarts } from "../prune/calibrate.ts";
import { type Allocation, pruneCheckpoint } from "../prune/prune.ts";
import { prunableLayers } from "../prune/layers.ts";
import { loadWeightFile } from "../io/load.ts";
import { CountProgress } from "../report/progress.ts";
import { prunePlot, pruneTable, readPruneRuns } from "../report/prune_study.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { choice, numFlag, parsed } from "./_args.ts";
import { runMain } from "../cli/main.ts";

const USAGE = `usage: deno task prune DIR --sparsity S --allocation uniform|alpha|farms --out OUTDIR [options]
  DIR                  a checkpoint folder (config.json, model.safetensors or HF shards with
                       model.safetensors.index.json, and vocab.txt or HF tokenizer.json for
                       --calib/--eval), an index or a .safetensors file
  --sparsity S         target fraction of the prunable weights to zero, in (0, 1)
  --allocation A       uniform (every layer at S), alpha (alpha_peak of each layer's ESD) or farms
                       (alpha_peak by FARMS' submatrix sampling): ratios linear in the metric
  --epsilon E          ratios span [1 − E, 1 + E] before rescaling to S (default 0.2)
  --mapping M          block (metrics averaged per Transformer block, the reference's default) or layer
  --score SC           magnitude (|W|, one threshold per layer; default) or wanda (|W|·‖X‖, per row)
  --calib DATA         wanda: calibration text (a file, a PTB/WikiText folder's train.txt, or "brown":
                       Brown's training split)
  --calib-tokens N     wanda: calibration tokens (default 128 windows of the model's context)
  --eval FILE          perplexity before and after on a text file (a folder's test.txt, or "brown": its
                       test split)
  --seq-len L          window length for --calib and --eval (default: the model's positions)
  --batch N            windows per forward pass (default 8)
  --farms-rows R       farms: window rows, capped at each matrix's smaller side (default 2000)
  --farms-windows W    farms: window starts per dimension (default 15)
  --seed N             calibration windows' draw (default 0)
  --out OUTDIR         the pruned checkpoint folder (never the input's)
deno task prune --report DIR   table (results.md) and plot of a folder of pruned checkpoints`;

/** How a model folder turns text into ids: its word-level vocab.txt, or its HF tokenizer.json. */
interface TextCodec {
  vocab: Vocabulary | null;
  tokenizer: TextTokenizer | null;
}

/** The folder's codec: vocab.txt if present, else tokenizer.json. */
async function textCodec(dir: string): Promise<TextCodec> {
  try {
    await Deno.stat(`${dir}/vocab.txt`);
    return { vocab: await readVocabulary(`${dir}/vocab.txt`), tokenizer: null };
  } catch (e) {
    if (e instanceof OptionError) throw e;
  }
  const tokenizer = await readHfTokenizer(dir);
  if (!tokenizer) {
    throw new OptionError(
      `${dir} has neither vocab.txt nor tokenizer.json: no way to turn text into its token ids`,
    );
  }
  return { vocab: null, tokenizer };
}

/** A token stream in the model's vocabulary, from a file or Brown's split. */
async function tokenStream(
  data: string,
  split: "train" | "test",
  codec: TextCodec,
  modelVocab: number,
  dir: string,
  flag: string,
): Promise<{ ids: Int32Array; label: string }> {
  let lines: string[], label: string;
  if (data === "brown") {
    const c = await brownCorpus();
    const stream = c[split];
    // Brown's words, re-encoded through the model's own vocabulary.
    lines = [];
    let line: string[] = [];
    for (const id of stream) {
      if (id === c.vocab.eos) {
        lines.push(line.join(" "));
        line = [];
      } else line.push(c.vocab.tokens[id]);
    }
    if (line.length) lines.push(line.join(" "));
    label = `brown ${split} split`;
  } else {
    // A PTB/WikiText-format folder gives its train.txt (calibration) or test.txt (evaluation).
    const isDir = await Deno.stat(data).then((i) => i.isDirectory, () => false);
    label = isDir ? `${data}/${split}.txt` : data;
    lines = textLines(await readUtf8(label));
  }
  if (codec.tokenizer) {
    const ids = codec.tokenizer.encode(lines.join("\n"));
    const bad = ids.findIndex((id) => id < 0 || id >= modelVocab);
    if (bad >= 0) {
      throw new OptionError(
        `--${flag} ${label}: ${codec.tokenizer.file} gives token id ${
          ids[bad]
        }, outside the model's vocab_size ${modelVocab} (${dir}/config.json): the tokenizer and the model do not match`,
      );
    }
    return { ids, label };
  }
  const { ids, unknown } = encodeLines(lines, codec.vocab!);
  const words = ids.length - lines.length;
  if (words > 0 && unknown / words > 0.5) {
    throw new OptionError(
      `--${flag} ${label}: ${unknown} of its ${words} words (${
        (100 * unknown / words).toFixed(0)
      }%) are not in ${dir}/vocab.txt: the text and the model's vocabulary do not match`,
    );
  }
  return { ids, label };
}

async function evaluate(
  gpu: Gpu,
  dir: string,
  data: string,
  seqLenFlag: string | undefined,
  batch: number,
  what: string,
): Promise<PerplexityResult & { data: string }> {
  const codec = await textCodec(dir);
  const { model, config } = await loadDecoderFolder(gpu, dir, { vocab: codec.vocab !== null });
  try {
    const seqLen = numFlag("seq-len", seqLenFlag, config.positions, { int: true, min: 1 });
    const { ids, label } = await tokenStream(data, "test", codec, config.vocab, dir, "eval");
    if (ids.length < 2) throw new OptionError(`--eval ${label}: needs at least 2 tokens, got ${ids.length}`);
    const bar = await CountProgress.open("windows");
    const r = await perplexity(
      model,
      ids,
      Math.min(seqLen, config.positions),
      batch,
      (d, t) => bar.update(d, t, what),
    );
    bar.stop();
    return { ...r, data: label };
  } finally {
    model.release();
  }
}

await runMain(async () => {
  const { values: v, positionals } = parsed(() =>
    parseArgs({
      allowPositionals: true,
      options: {
        sparsity: { type: "string" },
        allocation: { type: "string" },
        epsilon: { type: "string" },
        mapping: { type: "string" },
        score: { type: "string" },
        calib: { type: "string" },
        "calib-tokens": { type: "string" },
        eval: { type: "string" },
        "seq-len": { type: "string" },
        batch: { type: "string" },
        "farms-rows": { type: "string" },
        "farms-windows": { type: "string" },
        seed: { type: "string" },
        out: { type: "string" },
        report: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }), USAGE);
  if (v.help) return console.log(USAGE);
  if (v.report !== undefined) {
    // The experiment's report from a folder of pruned checkpoints.
    const runs = await readPruneRuns(v.report);
    if (!runs.length) {
      throw new OptionError(`--report ${v.report}: no pruned folder with sparsity.json and perplexity.json`);
    }
    const md = `# Perplexity after pruning (${runs.length} runs; dense ${runs[0].before.toFixed(2)})\n\n${
      pruneTable(runs)
    }\n`;
    await writeAtomic(`${v.report}/results.md`, md);
    await writeAtomic(`${v.report}/perplexity_vs_sparsity.svg`, await prunePlot(runs));
    console.log(md);
    return;
  }
  if (positionals.length !== 1) {
    throw new OptionError(`Expected one checkpoint DIR, got ${positionals.length}\n${USAGE}`);
  }
  const dir = positionals[0];
  if (v.sparsity === undefined) throw new OptionError(`Missing --sparsity S in (0, 1)\n${USAGE}`);
  const sparsity = Number(v.sparsity);
  if (v.sparsity.trim() === "" || !(sparsity > 0 && sparsity < 1)) {
    throw new OptionError(`Invalid --sparsity "${v.sparsity}": expected a number in (0, 1)`);
  }
  if (v.allocation === undefined) throw new OptionError(`Missing --allocation uniform|alpha|farms\n${USAGE}`);
  const allocation = choice<Allocation>(
    "allocation",
    v.allocation,
    ["uniform", "alpha", "farms"],
    "uniform",
    USAGE,
  );
  const epsilon = numFlag("epsilon", v.epsilon, 0.2, { min: 0 }, USAGE);
  if (epsilon >= 1) throw new OptionError(`Invalid --epsilon "${v.epsilon}": expected a number in [0, 1)`);
  const mapping = choice("mapping", v.mapping, ["block", "layer"] as const, "block", USAGE);
  const score = choice("score", v.score, ["magnitude", "wanda"] as const, "magnitude", USAGE);
  const batch = numFlag("batch", v.batch, 8, { int: true, min: 1 }, USAGE);
  const seed = numFlag("seed", v.seed, 0, { int: true, min: 0 }, USAGE);
  const farms = {
    rows: numFlag("farms-rows", v["farms-rows"], 2000, { int: true, min: 1 }, USAGE),
    windows: numFlag("farms-windows", v["farms-windows"], 15, { int: true, min: 1 }, USAGE),
  };
  if (!v.out) throw new OptionError(`Missing --out OUTDIR: where the pruned checkpoint goes\n${USAGE}`);
  if (score === "wanda" && !v.calib) {
    throw new OptionError(`--score wanda needs --calib DATA (calibration text)`);
  }
  if (score !== "wanda" && (v.calib || v["calib-tokens"])) {
    throw new OptionError(`--calib and --calib-tokens apply to --score wanda only`);
  }
  const t0 = performance.now();
  const gpu = await getGpu();
  const result: Record<string, unknown> = {};
  if (v.eval) {
    const r = await evaluate(gpu, dir, v.eval, v["seq-len"], batch, "dense");
    result.before = r;
    console.log(`dense: perplexity ${r.perplexity.toFixed(2)} on ${r.data} (${r.tokens} tokens)`);
  }
  let norms: Map<string, Float32Array> | undefined;
  if (score === "wanda") {
    const codec = await textCodec(dir);
    const { model, config } = await loadDecoderFolder(gpu, dir, { vocab: codec.vocab !== null });
    try {
      const seqLen = Math.min(
        numFlag("seq-len", v["seq-len"], config.positions, { int: true, min: 1 }),
        config.positions,
      );
      const tokens = numFlag("calib-tokens", v["calib-tokens"], 128 * seqLen, { int: true, min: 1 }, USAGE);
      const { ids, label } = await tokenStream(v.calib!, "train", codec, config.vocab, dir, "calib");
      const starts = calibrationStarts(ids.length, tokens, seqLen, seed, `--calib ${label}`);
      const { tensors } = await loadWeightFile(dir);
      const layers = prunableLayers(tensors, config.type === "gpt2");
      // Module names as the model has them (GPT-2 files may lack the `transformer.` prefix).
      const modName = (n: string) =>
        (config.type === "gpt2" && !n.startsWith("transformer.") ? `transformer.${n}` : n).replace(
          /\.weight$/,
          "",
        );
      const bar = await CountProgress.open("windows");
      const byModule = await calibrationNorms(
        model,
        ids,
        starts,
        seqLen,
        layers.map((l) => modName(l.name)),
        batch,
        (d, t) => bar.update(d, t, "calibration"),
      );
      bar.stop();
      norms = new Map(layers.map((l) => [l.name, byModule.get(modName(l.name))!]));
      console.log(`calibration: ${starts.length} windows of ${seqLen} tokens from ${label}`);
    } finally {
      model.release();
    }
  }
  const bar = await CountProgress.open("layers");
  const report = await pruneCheckpoint(gpu, dir, v.out, {
    sparsity,
    allocation,
    epsilon,
    score,
    mapping,
    norms,
    farms,
    onProgress: (done, total, what) => bar.update(done, total, what),
    onWarning: (m) => console.warn(m),
  });
  bar.stop();
  console.log(
    `pruned ${report.layers.length} layers: target ${sparsity}, achieved ${
      report.achieved.toFixed(6)
    } (${allocation}, ${score}${
      allocation === "uniform" ? "" : `, epsilon ${epsilon}, ${mapping}`
    }) → ${v.out}/sparsity.json`,
  );
  if (v.eval) {
    const r = await evaluate(gpu, v.out, v.eval, v["seq-len"], batch, "pruned");
    result.after = r;
    console.log(`pruned: perplexity ${r.perplexity.toFixed(2)} on ${r.data}`);
    const before = result.before as PerplexityResult & { data: string };
    await writeAtomic(
      `${v.out}/perplexity.json`,
      JSON.stringify(
        { data: before.data, tokens: before.tokens, before: before.perplexity, after: r.perplexity },
        null,
        2,
      ) + "\n",
    );
  }
  console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});
