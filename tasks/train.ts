/**
 * `deno task train [options]`: trains a network on a data set with a method (`--method`: SGD with
 * cosine annealing by default, TempBalance, or a baseline), evaluating, logging (metrics and every
 * layer's alpha and rate) and checkpointing every epoch. With no flags: the small ResNet on
 * Fashion-MNIST (Debian's `dataset-fashion-mnist`) for 2 epochs.
 * @module
 */
import { loadDataset, subsetTrain } from "../data/registry.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { EpochProgress } from "../report/progress.ts";
import { writeRunPlots } from "../report/train_plots.ts";
import { type Checkpoint, readCheckpoint } from "../train/checkpoint.ts";
import type { EpochMetrics } from "../train/metrics.ts";
import { createRun, type Run, type TrainConfig } from "../train/run.ts";
import type { Splits } from "../data/dataset.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { NonFiniteLossError } from "../train/step.ts";
import { fit } from "../train/loop.ts";
import { RUN_FILES } from "../train/run_files.ts";
import { deriveEpochs, parseTrainArgs, TRAIN_USAGE } from "./_train_flags.ts";
import { runMain } from "../cli/main.ts";

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

function epochLine(m: EpochMetrics, epochs: number): string {
  return `epoch ${m.epoch}/${epochs}  train loss ${m.train_loss.toFixed(4)} acc ${pct(m.train_acc)}  ` +
    (m.test_acc === null
      ? "(not evaluated)  "
      : `test loss ${m.test_loss!.toFixed(4)} acc ${pct(m.test_acc)}  `) +
    `lr ${lrRange(m.lr)}  ` +
    `${m.seconds.toFixed(0)} s  ${m.images_per_s.toFixed(1)} img/s` +
    (m.esd_seconds
      ? `  ESD ${m.esd_seconds.toFixed(1)} s (${(100 * m.esd_seconds / m.seconds).toFixed(1)}%)`
      : "");
}

function lrRange(lr: number[]): string {
  const lo = Math.min(...lr), hi = Math.max(...lr);
  return lo === hi ? lo.toPrecision(3) : `${lo.toPrecision(3)}–${hi.toPrecision(3)}`;
}

/** The closing lines: best and final accuracy, time, throughput, where the files are. */
function summary(h: EpochMetrics[], elapsed: number, out: string): void {
  const evaluated = h.filter((m) => m.test_acc !== null) as (EpochMetrics & { test_acc: number })[];
  if (!evaluated.length) return;
  const best = evaluated.reduce((b, m) => (m.test_acc > b.test_acc ? m : b));
  const last = evaluated[evaluated.length - 1];
  const ips = h.reduce((s, m) => s + m.images_per_s, 0) / h.length;
  const esd = h.reduce((s, m) => s + (m.esd_seconds ?? 0), 0), secs = h.reduce((s, m) => s + m.seconds, 0);
  console.log(
    [
      `done: final test accuracy ${pct(last.test_acc)} (epoch ${last.epoch}), best ${
        pct(best.test_acc)
      } (epoch ${best.epoch})`,
      `  ${elapsed.toFixed(0)} s in all, ${ips.toFixed(1)} training images/s on average` +
      (esd ? `, ${esd.toFixed(1)} s (${(100 * esd / secs).toFixed(1)}%) measuring layer spectra` : ""),
      `  checkpoint ${out}/${RUN_FILES.checkpoint} (resume with --resume ${out}), weights ${out}/${RUN_FILES.model}`,
      `  metrics ${out}/${RUN_FILES.metricsCsv}, ${out}/${RUN_FILES.metricsJsonl}; plots ${out}/${RUN_FILES.lossPlot}, ${out}/${RUN_FILES.accuracyPlot}`,
      `  layers ${out}/${RUN_FILES.layersJsonl}; plots ${out}/${RUN_FILES.layerAlphaPlot}, ${out}/${RUN_FILES.layerLrPlot}`,
    ].join("\n"),
  );
}

/** What a run needs before its folder is touched: the data, the GPU and the run's parts. */
interface Prepared {
  data: Splits;
  gpu: Gpu;
  run: Run;
}

/**
 * Loads the data and builds the run: missing data, no adapter, or a model that does not fit the
 * images fail here, before any folder is created.
 */
async function prepare(config: TrainConfig): Promise<Prepared> {
  let data = await loadDataset(config.dataset, config.data);
  if (config.subset) data = subsetTrain(data, config.subset);
  deriveEpochs(config, data.train.count);
  const gpu = await getGpu();
  return { data, gpu, run: createRun(gpu, config, data) };
}

/** Trains a prepared run into its (locked) folder and prints the summary. */
async function trainRun(
  config: TrainConfig,
  out: string,
  resume: Checkpoint | undefined,
  { data, gpu, run }: Prepared,
): Promise<void> {
  const t = data.train;
  const startLine = () =>
    console.log(
      `${resume ? `resuming after epoch ${resume.state.epoch}: ` : ""}${config.model} (${
        run.model.arena.params.reduce((s, p) => s + p.value.size, 0).toLocaleString("en")
      } parameters) on ${config.dataset}: ${t.count} train / ${data.test.count} test images ` +
        `${t.channels}×${t.height}×${t.width}, ${config.epochs} epochs, batch ${config.batchSize}, ` +
        `${
          config.sphere
            ? config.sphere.elr !== undefined
              ? `on the sphere at ELR ${config.sphere.elr}${config.sphere.perFilter ? " (per filter)" : ""}`
              : `fixed lr ${config.sphere.lr}, wd ${config.weightDecay}`
            : `method ${config.method ?? "cal"}, lr ${config.lr} (${
              config.method === "sgdr" ? "sgdr" : config.schedule
            }, per ${config.stepwise ? "step" : "epoch"})`
        }${config.steps ? `, ${config.steps} steps` : ""}, ${gpu.description} → ${out}`,
    );
  const bar = await EpochProgress.open();
  let result;
  try {
    result = await fit<EpochMetrics>({
      ...run.loop,
      out,
      plots: writeRunPlots,
      resume: resume !== undefined,
      onStart: startLine,
      onStep: (p) => bar.update(p.epoch, p.step, p.steps, p.meanLoss, p.itemsPerSecond),
      onEpoch: (m) => {
        bar.stop();
        console.log(epochLine(m, config.epochs));
      },
    });
  } catch (e) {
    bar.stop();
    if (e instanceof NonFiniteLossError) {
      throw new NonFiniteLossError(e.step, e.loss, `resume the last good epoch with --resume ${out}`);
    }
    throw e;
  }
  summary(result.history, result.elapsed, out);
}

await runMain(async () => {
  const args = parseTrainArgs(Deno.args);
  if (args.kind === "help") {
    console.log(TRAIN_USAGE);
    return;
  }
  let config: TrainConfig, out: string, resume: Checkpoint | undefined;
  if (args.kind === "resume") {
    resume = await readCheckpoint(`${args.dir}/${RUN_FILES.checkpoint}`);
    config = resume.state.config as unknown as TrainConfig;
    if (args.data !== undefined) config.data = args.data; // the files may have moved
    out = args.dir;
    if (resume.state.epoch >= config.epochs) {
      console.log(
        `The run in ${out} is complete (${resume.state.epoch} of ${config.epochs} epochs): nothing to resume`,
      );
      summary(resume.state.history as unknown as EpochMetrics[], resume.state.elapsed, out);
      return;
    }
  } else {
    config = args.config;
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
    out = args.out ?? `runs/${config.model}-${config.dataset}-${stamp}`;
  }
  // Everything that can be refused is checked before the folder is created; the loop then locks it.
  await trainRun(config, out, resume, await prepare(config));
});
