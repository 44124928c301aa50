/**
 * `deno task tempbalance FILE --lr X [--metric alpha|spectral_norm|alphahat] [--fit median|mid|gof|peak]
 * [--assign linear|sqrt|log2|step] [--lr-min-ratio X] [--lr-max-ratio X] [--bn name|order]
 * [--keep-first] [--keep-last] [--eigs-thresh N] [--json]`: a TempBalance dry run on a checkpoint.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { parseArgs } from "node:util";
import { FIT_METHODS } from "../esd/plfit.ts";
import { tempBalanceDryRun } from "../optim/tb_file.ts";
import { TB_ASSIGNS } from "../optim/tb_assign.ts";
import { TB_METRICS } from "../optim/tb_options.ts";
import { choice as choiceOf, numFlag, oneFile, parsed } from "./_args.ts";
import { runMain } from "../cli/main.ts";

const USAGE = `usage: deno task tempbalance FILE --lr X [options]
  FILE                    a PyTorch-style state dict: .safetensors or .npz (convs OIHW)
  --lr X                  the untuned (global) learning rate
  --metric NAME           alpha (default) | spectral_norm | alphahat
  --fit METHOD            median (default) | mid | gof | peak
  --xmin-pos N            xmin index N_evals / N for median and mid (default 2)
  --assign NAME           linear (default, tb_linear_map) | sqrt | log2 | step
  --lr-min-ratio X        lower end of the rate range × lr (default 0.5)
  --lr-max-ratio X        upper end × lr (default 1.5)
  --bn name|order         tie BatchNorm to its conv by name (bn→conv, default) or by order
  --no-bn                 leave BatchNorm at the untuned rate
  --keep-first            tune the first Conv2d/Linear too (removed by default)
  --keep-last             tune the last Conv2d/Linear too (removed by default)
  --eigs-thresh N         layers with fewer eigenvalues stay untuned (default 50)
  --filter-zeros          drop eigenvalues ≤ 1e-5 before fitting
  --solver NAME           auto (default) | gpu | cpu
  --json                  print {"lr", "params": {name: rate}, "layers": [...]} instead of tables
Module order (first/last layer, BN by order): the file's __metadata__.module_order when present,
else the order the tensors are stored in.`;

const choice = <T extends string>(flag: string, value: string | undefined, valid: readonly T[], dflt: T): T =>
  choiceOf(flag, value, valid, dflt, USAGE);

const num = (flag: string, v: string | undefined, dflt: number, o: Parameters<typeof numFlag>[3] = {}) =>
  numFlag(flag, v, dflt, o);

await runMain(async () => {
  const { values: v, positionals } = parsed(() =>
    parseArgs({
      allowPositionals: true,
      options: {
        lr: { type: "string" },
        metric: { type: "string" },
        fit: { type: "string" },
        "xmin-pos": { type: "string" },
        assign: { type: "string" },
        "lr-min-ratio": { type: "string" },
        "lr-max-ratio": { type: "string" },
        bn: { type: "string" },
        "no-bn": { type: "boolean" },
        "keep-first": { type: "boolean" },
        "keep-last": { type: "boolean" },
        "eigs-thresh": { type: "string" },
        "filter-zeros": { type: "boolean" },
        solver: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }), USAGE);
  const file = oneFile(positionals, v.help, USAGE);
  if (file === null) return;
  if (v.lr === undefined) {
    throw new OptionError(`Missing --lr: the untuned learning rate is required\n${USAGE}`);
  }
  const lr = num("lr", v.lr, NaN, { min: 0, exclusive: true });
  const eigsThresh = num("eigs-thresh", v["eigs-thresh"], 50, { int: true, min: 1 });
  const lrMinRatio = num("lr-min-ratio", v["lr-min-ratio"], 0.5);
  const lrMaxRatio = num("lr-max-ratio", v["lr-max-ratio"], 1.5);
  if (lrMinRatio > lrMaxRatio) {
    throw new OptionError(`Invalid --lr-min-ratio ${lrMinRatio}: greater than --lr-max-ratio ${lrMaxRatio}`);
  }
  const run = await tempBalanceDryRun(file, lr, {
    metric: choice("metric", v.metric, TB_METRICS, "alpha"),
    fit: choice("fit", v.fit, FIT_METHODS, "median"),
    xminPos: num("xmin-pos", v["xmin-pos"], 2),
    assign: choice("assign", v.assign, TB_ASSIGNS, "linear"),
    lrMinRatio,
    lrMaxRatio,
    batchnorm: v["no-bn"] !== true,
    batchnormType: choice("bn", v.bn, ["name", "order"] as const, "name"),
    removeFirstLayer: v["keep-first"] !== true,
    removeLastLayer: v["keep-last"] !== true,
    eigsThresh,
    filterZeros: v["filter-zeros"] === true,
    solver: choice("solver", v.solver, ["auto", "gpu", "cpu"] as const, "auto"),
    onWarning: (m) => console.error(`warning: ${m}`),
  });
  if (v.json) {
    console.log(JSON.stringify(run));
    return;
  }
  const fmt = (
    x: number | null,
  ) => (x === null ? "-" : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(4) : x.toFixed(4));
  const table = (head: string[], rows: string[][]) => {
    const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    return [head, ...rows].map((r) => r.map((x, c) => x.padEnd(w[c])).join("  ").trimEnd()).join("\n");
  };
  console.log(
    `TempBalance at lr ${lr}: ${
      run.layers.filter((l) => l.tuned).length
    } of ${run.layers.length} layers tuned\n`,
  );
  console.log(table(
    ["layer", "num_evals", "metric", "tuned", "lr"],
    run.layers.map((l) => [l.name, String(l.num_evals), fmt(l.metric), l.tuned ? "yes" : "no", fmt(l.lr)]),
  ));
  console.log();
  console.log(table(["parameter", "lr"], Object.entries(run.params).map(([n, r]) => [n, fmt(r)])));
});
