import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { textCorpus } from "../../data/lm_corpus.ts";
import { decoderConfig } from "../../models/transformer/config.ts";
import { createLmRun, type LmEpochMetrics, type LmRunOptions } from "../../train/lm_run.ts";
import { fit, type FitOptions, type FitResult } from "../../train/loop.ts";
import { OrderedBatches } from "../../train/lm_batches.ts";
import { gpu, gpuTest } from "../_helpers.ts";
import { killAfterCheckpoint, runTask } from "../_task.ts";

/** A PTB-format folder of a little synthetic language: repeated phrases, so a model can learn. */
async function corpusDir(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const phrases = [
    "the cat sat on the mat",
    "a dog ran to the park",
    "the bird sang a song",
    "my cat ate the fish",
  ];
  const lines = (n: number, k: number) =>
    Array.from({ length: n }, (_, i) => phrases[(i * k) % 4]).join("\n") + "\n";
  await Deno.writeTextFile(`${dir}/train.txt`, lines(120, 3));
  await Deno.writeTextFile(`${dir}/valid.txt`, lines(12, 1) + "an unseen word\n");
  await Deno.writeTextFile(`${dir}/test.txt`, lines(12, 3));
  return dir;
}

/** Trains (or resumes) a run through the one loop, as `deno task train-lm` does. */
async function trainLm(
  o: LmRunOptions,
  extra: Partial<FitOptions<LmEpochMetrics>> = {},
): Promise<FitResult<LmEpochMetrics>> {
  const run = await createLmRun(gpu, o, () => {});
  try {
    return await fit<LmEpochMetrics>({ ...run.loop, out: o.out, ...extra });
  } finally {
    run.optimizer.release();
    run.model.release();
  }
}

const base = (out: string): Omit<LmRunOptions, "corpus" | "config"> => ({
  method: "adam",
  lr: 1e-2,
  weightDecay: 0.01,
  clip: 1,
  epochs: 2,
  steps: null,
  warmup: 2,
  batch: 4,
  seqLen: 8,
  seed: 5,
  esdInterval: null,
  lrMinRatio: 1,
  lrMaxRatio: 2,
  layernorm: true,
  eigsThresh: 8,
  init: null,
  out,
});

gpuTest("OrderedBatches cuts the stream into B columns and steps of T (targets shifted by one)", () => {
  const s = Int32Array.from({ length: 23 }, (_, i) => i);
  const b = new OrderedBatches(s, 2, 3);
  equal(b.columnLength, 11);
  equal(b.stepsPerEpoch, 3);
  deepEqual([...b.at(1).inputs], [3, 4, 5, 14, 15, 16]);
  deepEqual([...b.at(1).targets], [4, 5, 6, 15, 16, 17]);
});

gpuTest(
  "An LM run through fit() learns a toy language (GPT-2 and LLaMA, Adam, TB, Model Balancing) and resumes bit for bit",
  async () => {
    const dir = await corpusDir();
    const corpus = await textCorpus(dir);
    // The vocabulary: training words by first appearance, <eos>, then <unk> (valid's "unseen" maps to it).
    deepEqual(corpus.vocab.tokens.slice(0, 7), ["the", "cat", "sat", "on", "mat", "<eos>", "my"]);
    equal(corpus.vocab.tokens.at(-1), "<unk>");
    for (
      const [type, method] of [["gpt2", "adam"], ["llama", "tb"], ["gpt2", "tb"], [
        "llama",
        "tb-sigmoid",
      ]] as const
    ) {
      const config = decoderConfig({
        type,
        vocab: 1,
        positions: 8,
        dim: 16,
        layers: 2,
        heads: 2,
        ffn: 24,
        dropout: 0.1,
      });
      const root = await Deno.makeTempDir();
      const opts = (out: string) => ({
        ...base(out),
        corpus,
        config,
        method,
        esdInterval: method === "adam" ? null : 3,
      });
      const whole = await trainLm(opts(`${root}/whole`));
      const [e1, e2] = whole.history;
      // Perplexity falls well below the vocabulary's size (a uniform guess) once it has learned.
      ok(
        e2.valid_ppl < e1.valid_ppl && e2.test_ppl < 0.5 * corpus.vocab.tokens.length,
        `${type} ${method}: ppl ${e1.valid_ppl} → ${e2.valid_ppl}, test ${e2.test_ppl}`,
      );
      // layers.jsonl: every measured layer after each epoch with its metric and rate (one format for
      // every task); TempBalance tunes some of them.
      const layers = (await Deno.readTextFile(`${root}/whole/layers.jsonl`)).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      deepEqual(Object.keys(layers[0]).sort(), ["alpha", "epoch", "layer", "lr", "metric", "tuned"]);
      deepEqual([...new Set(layers.map((l) => l.epoch))], [1, 2]);
      equal(layers.some((l) => l.tuned), method !== "adam", `${method}: tuned layers`);
      // The same run interrupted while writing epoch 2's files (trained, checkpoint not yet saved),
      // then resumed: it continues after epoch 1 and ends with the uninterrupted run's weights.
      await rejects(
        trainLm(opts(`${root}/resumed`), {
          plots: (_d, history) => {
            if (history.length === 2) throw new Error("killed");
            return Promise.resolve();
          },
        }),
        /killed/,
      );
      const logs: string[] = [];
      await trainLm(opts(`${root}/resumed`), {
        resume: true,
        onStart: (epoch) => logs.push(`resuming after epoch ${epoch}`),
      });
      match(logs[0], /resuming after epoch 1/);
      const full = await Deno.readFile(`${root}/whole/model/model.safetensors`);
      const again = await Deno.readFile(`${root}/resumed/model/model.safetensors`);
      deepEqual(again, full, `${type} ${method}: the resumed run differs from the uninterrupted one`);
    }
  },
);

gpuTest(
  "deno task train-lm: a run killed after an epoch resumes with --resume to the same weights; bad input is named",
  async () => {
    const dir = await corpusDir();
    const root = await Deno.makeTempDir();
    const task = new URL("../../tasks/train_lm.ts", import.meta.url);
    // A tiny model on the toy corpus; each case adds its own flags.
    const tiny = [
      "--data",
      dir,
      "--dim",
      "16",
      "--heads",
      "2",
      "--layers",
      "1",
      "--seq-len",
      "8",
      "--batch",
      "4",
    ];
    const flags = [
      ...tiny,
      "--epochs",
      "3",
      "--method",
      "tb",
      "--esd-interval",
      "4",
      "--eigs-thresh",
      "8",
    ];
    const a = await runTask(task, [...flags, "--out", `${root}/a`]);
    equal(a.code, 0, a.err);
    match(a.out, /epoch 3\/3 .* valid ppl/);
    // The same run, killed as soon as its first epoch's checkpoint exists.
    await killAfterCheckpoint(task.pathname, [...flags, "--out", `${root}/b`], `${root}/b`);
    const again = await runTask(task, [...flags, "--out", `${root}/b`]);
    equal(again.code, 1);
    match(again.err, /already holds a run: continue it with --resume/);
    const b = await runTask(task, ["--resume", `${root}/b`]);
    equal(b.code, 0, b.err);
    match(b.out, /resuming after epoch [12]/);
    deepEqual(
      await Deno.readFile(`${root}/b/model/model.safetensors`),
      await Deno.readFile(`${root}/a/model/model.safetensors`),
    );
    deepEqual(
      (await Deno.readTextFile(`${root}/b/metrics.jsonl`)).split("\n").map((l) =>
        l && JSON.parse(l).valid_ppl
      ),
      (await Deno.readTextFile(`${root}/a/metrics.jsonl`)).split("\n").map((l) =>
        l && JSON.parse(l).valid_ppl
      ),
    );
    const fail = async (args: string[], re: RegExp) => {
      const r = await runTask(task, args);
      equal(r.code, 1);
      match(r.err, re);
    };
    await fail(
      ["--data", `${root}/none`],
      /none\/train.txt: missing: a corpus folder needs train.txt, valid.txt and test.txt/,
    );
    await fail(["--data", dir, "--dim", "10", "--heads", "3"], /3 heads do not divide the width 10/);
    await fail(
      ["--data", dir, "--seq-len", "8", "--positions", "4"],
      /--seq-len 8: longer than the model's 4 positions/,
    );
    await fail(["--data", dir, "--categories", "news"], /--categories applies to the Brown Corpus only/);
    await fail(
      ["--data", dir, "--lr-min-ratio", "0.5"],
      /--lr-min-ratio applies to --method tb, not to --method adam/,
    );
    // TempBalance's own options are refused for Model Balancing too (they used to be ignored).
    await fail(
      ["--data", dir, "--method", "tb-sigmoid", "--layernorm"],
      /--layernorm applies to --method tb, not to --method tb-sigmoid/,
    );
    await fail(
      ["--data", dir, "--method", "tb-sigmoid", "--esd-interval", "2", "--eigs-thresh", "4"],
      /--eigs-thresh applies to --method tb, not to --method tb-sigmoid/,
    );
    // --init takes the shape from the folder: a shape flag beside it is a conflict, not silently dropped.
    await fail(
      ["--data", dir, "--init", `${root}/a/model`, "--dim", "32"],
      /--init .*a\/model takes the model's shape from its config.json: --dim cannot be given with it/,
    );
    // A folder another live process holds is refused before anything is written into it (run.json too).
    const held = `${root}/held`, sleeper = new Deno.Command("sleep", { args: ["60"] }).spawn();
    await Deno.mkdir(held);
    await Deno.writeTextFile(
      `${held}/run.lock`,
      JSON.stringify({ host: Deno.hostname(), pid: sleeper.pid, since: "now" }),
    );
    await fail([...flags, "--out", held], /is being trained by process \d+/);
    deepEqual([...Deno.readDirSync(held)].map((e) => e.name), ["run.lock"]);
    sleeper.kill();
    await sleeper.status;
    await fail(
      ["--resume", `${root}/b`, "--lr", "1"],
      /--resume continues the saved run with its own flags: --lr/,
    );
    await fail(
      [...tiny, "--lr", "1e30", "--clip", "0", "--epochs", "1", "--out", `${root}/nan`],
      /Loss is (NaN|-?Infinity) at step \d+: training stopped \(the last checkpoint is intact; lower --lr or set --clip/,
    );
  },
);
