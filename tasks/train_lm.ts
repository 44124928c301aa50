/**
 * `deno task train-lm [options]`: trains a GPT-2- or LLaMA-layout language model on the Brown
 * Corpus (default) or a PTB-format folder, with Adam, TempBalance or Model Balancing rates.
 * @module
 */
import { parseArgs } from "node:util";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { createLmRun, type LmEpochMetrics } from "../train/lm_run.ts";
import { fit } from "../train/loop.ts";
import { NonFiniteLossError } from "../train/step.ts";
import { writeAtomic } from "../io/atomic.ts";
import { lossCurvePlot } from "../report/lm_plots.ts";
import { parsed, resumeFlags } from "./_args.ts";
import { corpusOf } from "./_lm_data.ts";
import { LM_FLAGS, LM_USAGE, type LmFlags, parseLmFlags } from "./_lm_flags.ts";
import { runMain } from "../cli/main.ts";

await runMain(async () => {
  const { values } = parsed(() => parseArgs({ options: LM_FLAGS, allowPositionals: false }), LM_USAGE);
  if (values.help) return console.log(LM_USAGE);
  const resuming = values.resume !== undefined;
  const v: LmFlags = await resumeFlags<LmFlags>(values, "train-lm");
  const { opts, config } = parseLmFlags(v);
  const out = opts.out, method = opts.method, seqLen = opts.seqLen;
  const corpus = await corpusOf(v);
  const gpu = await getGpu();
  const run = await createLmRun(gpu, { ...opts, corpus, config }, (s) => console.log(s));
  const c = run.config;
  const flags = Object.fromEntries(Object.entries(v).filter(([k, x]) => x !== undefined && k !== "resume"));
  const perEpoch = run.task.stepsPerEpoch, every = Math.max(1, Math.floor(perEpoch / 10));
  const r = await fit<LmEpochMetrics>({
    ...run.loop,
    out,
    resume: resuming,
    startFiles: { "run.json": JSON.stringify({ flags: { ...flags, out: undefined } }, null, 2) + "\n" },
    plots: async (dir, history) => await writeAtomic(`${dir}/loss.svg`, await lossCurvePlot(history)),
    onStart: (epoch, steps) => {
      if (resuming) console.log(`resuming after epoch ${epoch} (step ${steps})`);
      console.log(
        `${c.type}: ${c.layers} layers, width ${c.dim}, ${c.heads} heads${
          c.kvHeads !== c.heads ? ` (${c.kvHeads} key/value)` : ""
        }, ffn ${c.ffn}${
          opts.init ? ` (from ${opts.init})` : ""
        }; ${corpus.name}: ${corpus.train.length} train / ${corpus.valid.length} valid / ${corpus.test.length} test tokens, vocabulary ${corpus.vocab.tokens.length}; method ${method}, lr ${opts.lr}, batch ${opts.batch}×${seqLen}, ${gpu.description} → ${out}`,
      );
    },
    onStep: (p) => {
      if (p.step % every === 0 && p.step < perEpoch) {
        console.log(
          `  step ${p.step}/${perEpoch}  loss ${p.meanLoss.toFixed(4)}  ${p.itemsPerSecond.toFixed(0)} tok/s`,
        );
      }
    },
    onEpoch: (m) =>
      console.log(
        `epoch ${m.epoch}/${run.epochs}  step ${m.steps}  train loss ${m.train_loss.toFixed(4)}  valid ppl ${
          m.valid_ppl.toFixed(2)
        }  test ppl ${m.test_ppl.toFixed(2)}  lr ${lrRange(m.lr)}  ${m.seconds.toFixed(0)} s  ${
          m.tokens_per_s.toFixed(0)
        } tok/s${m.esd_seconds ? `  ESD ${m.esd_seconds.toFixed(1)} s` : ""}`,
      ),
  }).catch((e) => {
    if (e instanceof NonFiniteLossError) {
      throw new NonFiniteLossError(
        e.step,
        e.loss,
        `lower --lr or set --clip; resume the last good epoch with --resume ${out}`,
      );
    }
    throw e;
  });
  run.optimizer.release();
  run.model.release();
  const last = r.history.at(-1);
  if (last) {
    console.log(
      `done: ${run.parameters.toLocaleString("en-US")} parameters, valid ppl ${
        last.valid_ppl.toFixed(2)
      }, test ppl ${
        last.test_ppl.toFixed(2)
      }; model folder ${out}/model, metrics ${out}/metrics.csv, loss curve ${out}/loss.svg`,
    );
  }
});

function lrRange(lrs: number[]): string {
  const lo = Math.min(...lrs), hi = Math.max(...lrs);
  return lo === hi ? lo.toExponential(2) : `${lo.toExponential(2)}–${hi.toExponential(2)}`;
}
