/**
 * `deno task train-lm [options]`: trains a GPT-2- or LLaMA-layout language model on the Brown
 * Corpus (default) or a PTB-format folder, with Adam, TempBalance or Model Balancing rates.
 * @module
 */
import { parseArgs } from "node:util";
import { OptionError } from "../util/errors.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { trainLm } from "../train/lm_run.ts";
import { writeAtomic } from "../io/atomic.ts";
import { lossCurvePlot } from "../report/lm_plots.ts";
import { parsed } from "./_args.ts";
import { corpusOf } from "./_lm_data.ts";
import { LM_FLAGS, LM_USAGE, type LmFlags, parseLmFlags } from "./_lm_flags.ts";
import { runMain } from "../cli/main.ts";

await runMain(async () => {
  const { values } = parsed(() => parseArgs({ options: LM_FLAGS, allowPositionals: false }), LM_USAGE);
  if (values.help) return console.log(LM_USAGE);
  let v: LmFlags = values;
  const resuming = v.resume !== undefined;
  if (resuming) {
    const others = Object.keys(v).filter((k) => v[k] !== undefined && k !== "resume");
    if (others.length) {
      throw new OptionError(
        `--resume continues the saved run with its own flags: --${others[0]} cannot be changed`,
      );
    }
    try {
      v = { ...JSON.parse(await Deno.readTextFile(`${v.resume}/run.json`)).flags, out: v.resume };
    } catch {
      throw new OptionError(`--resume ${v.resume}: no run.json there: not a train-lm run folder`);
    }
  }
  const { opts, config } = parseLmFlags(v);
  const out = opts.out, method = opts.method, seqLen = opts.seqLen;
  if (!resuming) {
    try {
      await Deno.stat(`${out}/checkpoint.safetensors`);
      throw new OptionError(
        `${out} already holds a run: continue it with --resume ${out}, or choose another --out`,
      );
    } catch (e) {
      if (e instanceof OptionError) throw e;
    }
  }
  const corpus = await corpusOf(v);
  const gpu = await getGpu();
  await Deno.mkdir(out, { recursive: true });
  const flags = Object.fromEntries(Object.entries(v).filter(([k, x]) => x !== undefined && k !== "resume"));
  await writeAtomic(
    `${out}/run.json`,
    JSON.stringify({ flags: { ...flags, out: undefined } }, null, 2) + "\n",
  );
  console.log(
    `${config.type}: ${config.layers} layers, width ${config.dim}, ${config.heads} heads, ffn ${config.ffn}; ${corpus.name}: ${corpus.train.length} train / ${corpus.valid.length} valid / ${corpus.test.length} test tokens, vocabulary ${corpus.vocab.tokens.length}; method ${method}, lr ${opts.lr}, batch ${opts.batch}×${seqLen}, ${gpu.description} → ${out}`,
  );
  const r = await trainLm(gpu, { ...opts, corpus, config }, (s) => console.log(s));
  const last = r.history.at(-1);
  if (last) {
    await writeAtomic(`${out}/loss.svg`, await lossCurvePlot(r.history));
    console.log(
      `done: ${r.parameters.toLocaleString("en-US")} parameters, valid ppl ${
        last.valid_ppl.toFixed(2)
      }, test ppl ${
        last.test_ppl.toFixed(2)
      }; model folder ${out}/model, metrics ${out}/metrics.csv, loss curve ${out}/loss.svg`,
    );
  }
});
