/**
 * `deno task train [options]`: trains a network on a data set with a method (`--method`: SGD with
 * cosine annealing by default, TempBalance, or a baseline), evaluating, logging (metrics and every
 * layer's alpha and rate) and checkpointing every epoch. With no flags: the small ResNet on
 * Fashion-MNIST (Debian's `dataset-fashion-mnist`) for 2 epochs.
 * @module
 */
import { OptionError } from "../kernels/errors.ts";
import { parseArgs } from "node:util";
import { DATASET_NAMES, loadDataset, subsetTrain } from "../data/registry.ts";
import { getGpu } from "../kernels/runtime.ts";
import { MODEL_NAMES } from "../models/zoo.ts";
import { EpochProgress } from "../report/progress.ts";
import { writeRunPlots } from "../report/train_plots.ts";
import { readCheckpoint } from "../train/checkpoint.ts";
import type { EpochMetrics } from "../train/metrics.ts";
import { createRun, type TrainConfig } from "../train/run.ts";
import { SCHEDULES } from "../train/schedule.ts";
import { NonFiniteLossError } from "../train/step.ts";
import { fit, RUN_FILES } from "../train/trainer.ts";
import { METHOD_PARAMS, METHODS, resolveMethod } from "../train/methods.ts";
import { choice as choiceOf, numFlag } from "./_args.ts";
import { runMain } from "../cli/main.ts";

const USAGE = `usage: deno task train [options]
  --model NAME        ${MODEL_NAMES.join(" | ")} (default small)
  --dataset NAME      ${DATASET_NAMES.join(" | ")} (default fashion-mnist)
  --data DIR          where the data set's files are (default: /usr/share/datasets/fashion-mnist
                      for fashion-mnist, ./data for the others)
  --epochs N          epochs (default 2 on fashion-mnist, 200 otherwise, as the reference runs)
  --batch-size N      batch size (default 128)
  --lr X              initial learning rate (default 0.1, as the reference)
  --wd X              weight decay (default 5e-4)
  --momentum X        momentum (default 0.9)
  --width X           channel multiplier (default 1; small uses widths 8·X, 16·X, 32·X)
  --seed N            seed of initialisation, shuffling and augmentation (default 0)
  --subset N          train on the first N images only (quick trials)
  --schedule NAME     ${SCHEDULES.join(" | ")} (default cosine: lr·0.5·(1+cos(π·epoch/epochs)))
  --lr-update WHEN    epoch (the reference) | step (the schedule at fractional epochs, so short runs
                      anneal within an epoch); default step on fashion-mnist, epoch otherwise
  --no-augment        no random crop / flip
  --method NAME       ${METHODS.join(" | ")} (default cal: SGD + the schedule)
  --elr X             train the scale-invariant weights on the sphere at this fixed effective learning
                      rate (models convnet-si, convnet-si-af, resnet18-si; constant schedule)
  --fixed-lr X        …or at this fixed learning rate with --wd, no projection (the ELR drifts)
  --per-filter        on the sphere, keep every filter's norm instead of the joint one
  --noninv-lr X       rate of the non-scale-invariant parameters on the sphere (default 0: frozen)
  --out DIR           output folder (default runs/<model>-<dataset>-<time>)
  --resume DIR        continue the run saved in DIR (its checkpoint decides everything but --data)
  -h, --help          this text
method options (each only with the methods named; defaults are the reference code's):
${methodHelp()}`;

function methodHelp(): string {
  return Object.entries(METHOD_PARAMS).map(([flag, p]) => {
    const d = typeof p.default === "object"
      ? Object.entries(p.default).map(([m, v]) => `${v} (${m})`).join(", ")
      : String(p.default);
    const kind = Array.isArray(p.kind) ? p.kind.join("|") : p.kind === "bool" ? "" : "X";
    return `  --${flag}${kind ? ` ${kind}` : ""}`.padEnd(38) +
      `${p.help}; default ${d} [${p.methods.join(", ")}]`;
  }).join("\n");
}

const choice = <T extends string>(flag: string, value: string | undefined, valid: readonly T[], dflt: T): T =>
  choiceOf(flag, value, valid, dflt, USAGE);

const usageError = (msg: string) => new OptionError(`${msg}\n${USAGE}`);

const num = (
  flag: string,
  value: string | undefined,
  dflt: number,
  o: { int?: boolean; min: number; exclusive?: boolean },
): number => numFlag(flag, value, dflt, o, USAGE);

/** Creates the folder and proves it writable before any training. */
async function checkWritable(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = `${dir}/.write-test-${Deno.pid}`;
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (e) {
    throw new OptionError(`Cannot write to output folder "${dir}": ${(e as Error).message}`);
  }
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

function epochLine(m: EpochMetrics, epochs: number): string {
  return `epoch ${m.epoch}/${epochs}  train loss ${m.train_loss.toFixed(4)} acc ${pct(m.train_acc)}  ` +
    `test loss ${m.test_loss.toFixed(4)} acc ${pct(m.test_acc)}  lr ${lrRange(m.lr)}  ` +
    `${m.seconds.toFixed(0)} s  ${m.images_per_s.toFixed(1)} img/s` +
    (m.esd_seconds
      ? `  ESD ${m.esd_seconds.toFixed(1)} s (${(100 * m.esd_seconds / m.seconds).toFixed(1)}%)`
      : "");
}

/** The sphere settings from the flags (undefined when training normally). */
function sphereConfig(
  a: Record<string, string | undefined>,
  raw: Record<string, string | boolean | undefined>,
): TrainConfig["sphere"] {
  const elr = a.elr, fixed = a["fixed-lr"];
  if (elr === undefined && fixed === undefined) {
    if (raw["per-filter"] || a["noninv-lr"] !== undefined) {
      throw usageError("--per-filter and --noninv-lr train on the sphere: give --elr X (or --fixed-lr X)");
    }
    return undefined;
  }
  if (elr !== undefined && fixed !== undefined) {
    throw usageError("Give one of --elr and --fixed-lr, not both");
  }
  const positive = (flag: string, v: string) => {
    const x = Number(v);
    if (v.trim() === "" || !(x > 0) || !Number.isFinite(x)) {
      throw usageError(`Invalid --${flag} "${v}": expected a number > 0`);
    }
    return x;
  };
  return {
    ...(elr !== undefined ? { elr: positive("elr", elr) } : { lr: positive("fixed-lr", fixed!) }),
    perFilter: raw["per-filter"] === true,
    noninvLr: num("noninv-lr", a["noninv-lr"], 0, { min: 0 }),
  };
}

function lrRange(lr: number[]): string {
  const lo = Math.min(...lr), hi = Math.max(...lr);
  return lo === hi ? lo.toPrecision(3) : `${lo.toPrecision(3)}–${hi.toPrecision(3)}`;
}

/** The closing lines: best and final accuracy, time, throughput, where the files are. */
function summary(h: EpochMetrics[], elapsed: number, out: string): void {
  if (!h.length) return;
  const best = h.reduce((b, m) => (m.test_acc > b.test_acc ? m : b));
  const last = h[h.length - 1];
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

await runMain(async () => {
  let raw: Record<string, string | boolean | undefined>;
  try {
    raw = parseArgs({
      options: {
        model: { type: "string" },
        dataset: { type: "string" },
        data: { type: "string" },
        epochs: { type: "string" },
        "batch-size": { type: "string" },
        lr: { type: "string" },
        wd: { type: "string" },
        momentum: { type: "string" },
        width: { type: "string" },
        seed: { type: "string" },
        subset: { type: "string" },
        schedule: { type: "string" },
        "no-augment": { type: "boolean" },
        "lr-update": { type: "string" },
        out: { type: "string" },
        resume: { type: "string" },
        method: { type: "string" },
        elr: { type: "string" },
        "fixed-lr": { type: "string" },
        "per-filter": { type: "boolean" },
        "noninv-lr": { type: "string" },
        help: { type: "boolean", short: "h" },
        ...Object.fromEntries(
          Object.entries(METHOD_PARAMS).map((
            [k, p],
          ) => [k, { type: p.kind === "bool" ? "boolean" : "string" } as const]),
        ),
      },
    }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    throw usageError((e as Error).message);
  }
  // Booleans are read from `raw`; every other flag is a string.
  const a = raw as Record<string, string | undefined>;
  if (raw.help) {
    console.log(USAGE);
    return;
  }
  let config: TrainConfig, out: string;
  const resume = a.resume ? await readCheckpoint(`${a.resume}/${RUN_FILES.checkpoint}`) : undefined;
  if (resume) {
    const fixed = Object.keys(raw).filter((k) => raw[k] !== undefined && !["resume", "data"].includes(k));
    if (fixed.length) {
      throw usageError(
        `--resume continues the saved run with its own settings: --${
          fixed.join(", --")
        } cannot be given with it`,
      );
    }
    config = resume.state.config as unknown as TrainConfig;
    if (a.data !== undefined) config.data = a.data; // the files may have moved
    out = a.resume!;
  } else {
    const model = choice("model", a.model, MODEL_NAMES, "small");
    const dataset = choice("dataset", a.dataset, DATASET_NAMES, "fashion-mnist");
    const given = Object.fromEntries(Object.keys(METHOD_PARAMS).map((k) => [k, raw[k]]));
    let method;
    try {
      method = resolveMethod(a.method ?? "cal", given);
    } catch (e) {
      throw usageError((e as Error).message);
    }
    config = {
      model,
      dataset,
      data: a.data,
      epochs: num("epochs", a.epochs, dataset === "fashion-mnist" ? 2 : 200, { int: true, min: 1 }),
      batchSize: num("batch-size", a["batch-size"], 128, { int: true, min: 1 }),
      lr: num("lr", a.lr, 0.1, { min: 0 }),
      weightDecay: num("wd", a.wd, 5e-4, { min: 0 }),
      momentum: num("momentum", a.momentum, 0.9, { min: 0 }),
      width: num("width", a.width, 1, { min: 0, exclusive: true }),
      seed: num("seed", a.seed, 0, { int: true, min: 0 }),
      subset: a.subset === undefined ? undefined : num("subset", a.subset, 0, { int: true, min: 1 }),
      schedule: choice("schedule", a.schedule, SCHEDULES, "cosine") as TrainConfig["schedule"],
      augment: raw["no-augment"] !== true,
      method: method.method,
      methodOptions: method.options,
      sphere: sphereConfig(a, raw),
      stepwise: choice(
        "lr-update",
        a["lr-update"],
        ["epoch", "step"],
        dataset === "fashion-mnist" ? "step" : "epoch",
      ) ===
        "step",
    };
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
    out = a.out ?? `runs/${model}-${dataset}-${stamp}`;
    await checkWritable(out);
    if (await Deno.stat(`${out}/${RUN_FILES.checkpoint}`).then(() => true, () => false)) {
      throw usageError(
        `Output folder "${out}" already holds a run: continue it with --resume ${out}, or choose another --out`,
      );
    }
  }
  if (resume) {
    await checkWritable(out);
    if (resume.state.epoch >= config.epochs) {
      console.log(
        `The run in ${out} is complete (${resume.state.epoch} of ${config.epochs} epochs): nothing to resume`,
      );
      summary(resume.state.history as unknown as EpochMetrics[], resume.state.elapsed, out);
      return;
    }
  }

  let data = await loadDataset(config.dataset, config.data);
  if (config.subset) data = subsetTrain(data, config.subset);
  const gpu = await getGpu();
  const run = createRun(gpu, config, data);
  const t = data.train;
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
      }, ${gpu.description} → ${out}`,
  );
  const bar = await EpochProgress.open();
  let result;
  try {
    result = await fit({
      model: run.model,
      optimizer: run.optimizer,
      schedule: run.schedule,
      monitor: run.monitor,
      esdClock: run.esdClock,
      train: t,
      test: data.test,
      epochs: config.epochs,
      batchSize: config.batchSize,
      seed: config.seed,
      ...run.loader,
      out,
      plots: writeRunPlots,
      config: config as unknown as Record<string, unknown>,
      resume,
      onStep: (p) => bar.update(p.epoch, p.step, p.steps, p.meanLoss, p.imagesPerSecond),
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
});
