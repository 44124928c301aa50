/**
 * `deno task regimes --elrs 1e-5,1e-4,1e-3,1e-2,1e-1 [--model convnet-si|convnet-si-af|resnet18-si]
 * [--width C] [--dataset NAME] [--data DIR] [--epochs N] [--subset N] [--per-filter]
 * [--fixed-lr X --wd X] [--seed N] [--batch-size N] --out DIR`: one training run per ELR on the
 * sphere through `deno task train` (finished runs kept, interrupted ones resumed), then the plots,
 * `regimes.csv` and `regimes.md` in DIR.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { parseArgs } from "node:util";
import { writeAtomic } from "../io/atomic.ts";
import { readCheckpoint } from "../train/checkpoint.ts";
import type { EpochMetrics } from "../train/metrics.ts";
import { RUN_FILES } from "../train/run_files.ts";
import { classifyRun, regimePlots, regimesCsv, regimesMarkdown } from "../report/regimes.ts";
import { numFlag, parsed, runTrain } from "./_args.ts";
import { recordSettings } from "../train/run_record.ts";
import { runStatus } from "../train/run_folder.ts";
import { runMain } from "../cli/main.ts";

const USAGE = `usage: deno task regimes --elrs X1,X2,… --out DIR [options]
  --elrs LIST        effective learning rates, one run each (default 1e-5,1e-4,1e-3,1e-2,1e-1)
  --model NAME       convnet-si (default) | convnet-si-af | resnet18-si
  --width C          base channels (default 32 for the ConvNets, 64 for ResNet18SI)
  --dataset NAME     default fashion-mnist; --data DIR where its files are
  --epochs N         default 20;  --subset N  train on the first N images
  --per-filter       keep every filter's norm instead of the joint one
  --fixed-lr X       train in the whole space at this learning rate with --wd (the ELR drifts; the
                     runs are then labelled by X)
  --wd X             weight decay with --fixed-lr (default 5e-4)
  --seed N, --batch-size N
  --out DIR          runs go to DIR/elr_<X>; plots, regimes.csv and regimes.md to DIR (required)
Runs use no augmentation and a constant rate, as the reference; the non-scale-invariant last layer
stays fixed at norm 10.`;

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

/** The settings of a regimes run from its flags: where, which rates, and the flags every run gets. */
interface RegimesSetup {
  out: string;
  raw: string[];
  rates: number[];
  fixedLr: boolean;
  base: number;
  data?: string;
  common: string[];
}

function regimesSetup(v: Record<string, string | boolean | undefined>): RegimesSetup {
  const a = v as Record<string, string | undefined>;
  if (!a.out) throw new OptionError(`Missing --out DIR\n${USAGE}`);
  const model = a.model ?? "convnet-si";
  if (!["convnet-si", "convnet-si-af", "resnet18-si"].includes(model)) {
    throw new OptionError(
      `Invalid --model "${model}": expected convnet-si, convnet-si-af or resnet18-si\n${USAGE}`,
    );
  }
  const raw = (a["fixed-lr"] ?? a.elrs ?? "1e-5,1e-4,1e-3,1e-2,1e-1").split(",").map((s) => s.trim());
  const rates = raw.map(Number);
  rates.forEach((x, i) => {
    if (!(x > 0) || !Number.isFinite(x)) {
      throw new OptionError(
        `Invalid ${a["fixed-lr"] ? "--fixed-lr" : "--elrs"} value "${
          raw[i]
        }": every rate must be a number > 0`,
      );
    }
  });
  const base = model === "resnet18-si" ? 64 : 32;
  const width = numFlag("width", a.width, base, { min: 0, exclusive: true }, USAGE) / base;
  const common = [
    `--model=${model}`,
    `--width=${width}`,
    `--epochs=${a.epochs ?? 20}`,
    "--no-augment",
    "--schedule=constant",
    "--momentum=0",
    ...(a.dataset ? [`--dataset=${a.dataset}`] : []),
    ...(a.data ? [`--data=${a.data}`] : []),
    ...(a.subset ? [`--subset=${a.subset}`] : []),
    ...(a.seed ? [`--seed=${a.seed}`] : []),
    ...(a["batch-size"] ? [`--batch-size=${a["batch-size"]}`] : []),
    ...(v["per-filter"] ? ["--per-filter"] : []),
    ...(a["fixed-lr"] ? [`--wd=${a.wd ?? 5e-4}`] : ["--wd=0"]),
  ];
  return { out: a.out, raw, rates, fixedLr: a["fixed-lr"] !== undefined, base, data: a.data, common };
}

await runMain(async () => {
  const { values: v } = parsed(() =>
    parseArgs({
      options: {
        elrs: { type: "string" },
        model: { type: "string" },
        width: { type: "string" },
        dataset: { type: "string" },
        data: { type: "string" },
        epochs: { type: "string" },
        subset: { type: "string" },
        "per-filter": { type: "boolean" },
        "fixed-lr": { type: "string" },
        wd: { type: "string" },
        seed: { type: "string" },
        "batch-size": { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }), USAGE);
  if (v.help) {
    console.log(USAGE);
    return;
  }
  const { out, raw, rates, fixedLr, base, data, common } = regimesSetup(v);
  // The flags every run shares are recorded: rerunning with others (another --epochs, say) is
  // refused instead of silently keeping runs made under the old ones. More rates may be added.
  await recordSettings(out, "regimes.json", { flags: common.filter((f) => !f.startsWith("--data=")) }, {
    flags: "train flags",
  });
  const runs: { elr: number; h: EpochMetrics[] }[] = [];
  let classes = 10, title = "";
  for (const [i, rate] of rates.entries()) {
    const dir = `${out}/${fixedLr ? "lr" : "elr"}_${raw[i]}`;
    const ckpt = `${dir}/${RUN_FILES.checkpoint}`;
    let args: string[];
    const status = await runStatus(dir);
    if (status.state === "finished") {
      console.log(`== ${raw[i]}: finished (${status.epoch} epochs), kept`);
      args = [];
    } else if (status.state === "partial") {
      console.log(`== ${raw[i]}: resuming after epoch ${status.epoch}`);
      args = ["--resume", dir, ...(data ? [`--data=${data}`] : [])];
    } else {
      console.log(`== ${fixedLr ? "lr" : "ELR"} ${raw[i]}`);
      args = [...common, fixedLr ? `--fixed-lr=${rate}` : `--elr=${rate}`, `--out=${dir}`];
    }
    if (args.length) {
      const code = await runTrain(args);
      // A diverging ELR whose loss turns NaN stops its run: a result to record, not a failure.
      if (code !== 0) {
        console.log(`== ${raw[i]}: stopped early (exit ${code}); recorded with the epochs it finished`);
      }
    }
    const metrics = `${dir}/${RUN_FILES.metricsJsonl}`;
    const h = !await exists(metrics)
      ? []
      : (await Deno.readTextFile(metrics)).split("\n").filter((l) => l.trim()).map((l) =>
        JSON.parse(l) as EpochMetrics
      );
    runs.push({ elr: rate, h });
    if (!title && await exists(ckpt)) {
      const c = (await readCheckpoint(ckpt)).state.config;
      classes = (c.classes as number | undefined) ?? 10;
      title = `${c.model} (width ${Math.round(base * (c.width as number))}) on ${c.dataset}${
        c.subset ? ` (first ${c.subset} images)` : ""
      }, ${c.epochs} epochs, batch ${c.batchSize}, ${fixedLr ? "fixed lr + wd" : "fixed ELR on the sphere"}`;
    }
  }
  const rows = runs.map((r) => classifyRun(r.elr, r.h, classes));
  const plots = await regimePlots(runs, rows);
  await writeAtomic(`${out}/train_loss.svg`, plots.trainLoss);
  await writeAtomic(`${out}/test_error.svg`, plots.testError);
  await writeAtomic(`${out}/eff_grad_norm.svg`, plots.effGradNorm);
  await writeAtomic(`${out}/phase.svg`, plots.phase);
  await writeAtomic(`${out}/regimes.csv`, regimesCsv(rows));
  const md = regimesMarkdown(rows, title);
  await writeAtomic(`${out}/regimes.md`, md);
  console.log(`\n${md}\nplots: ${out}/train_loss.svg, test_error.svg, eff_grad_norm.svg, phase.svg`);
});
