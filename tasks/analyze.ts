/**
 * `deno task analyze FILE [--layers REGEX] [--fit median|mid|gof|peak] [--xmin-pos N] [--convention tb|ww]
 * [--layout torch|tfjs] [--solver auto|gpu|cpu] [--filter-zeros] [--max-evals N] [--farms [--farms-q Q]] [--workers N] [--gram auto|gpu|cpu] [--json]
 * [--csv FILE] [--plots DIR] [--out FILE.jsonl [--resume]]`
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { parseArgs } from "node:util";
import { analyze, noLayersError } from "../esd/analyze.ts";
import type { LayerRow } from "../esd/metrics.ts";
import { FIT_METHODS } from "../esd/plfit.ts";
import { alphaPlot, esdPlot, plotFileName } from "../report/plots.ts";
import { LayerProgress } from "../report/progress.ts";
import { formatCsv, formatTable } from "../report/table.ts";
import { choice as choiceOf, numFlag, oneFile, parsed } from "./_args.ts";
import { runMain } from "../cli/main.ts";

const USAGE = `usage: deno task analyze FILE [options]
  FILE                    a .safetensors, .npy or .npz weight file, a Hugging Face sharded checkpoint
                          (model.safetensors.index.json or its directory), or a tfjs model.json / manifest
  --layers REGEX          only the layers whose tensor name matches REGEX (e.g. "layers\.1[0-9]\.mlp")
  --fit METHOD            median (default) | mid | gof | peak
  --xmin-pos N            xmin index N_evals / N for median and mid (default 2)
  --convention NAME       tb (default: TempBalance) | ww (WeightWatcher)
  --layout NAME           torch (OIHW, (out,in); default) | tfjs (HWIO, (in,out); default for tfjs)
  --solver NAME           auto (default) | gpu | cpu (float64)
  --workers N             CPU eigen solves on N workers (default: one per core)
  --gram WHERE            the CPU path's Gram matrices: auto (default) | gpu | cpu (float64, in the workers)
  --filter-zeros          drop eigenvalues ≤ 1e-5 before fitting (always on for ww)
  --max-evals N           ww: layers with more than N eigenvalues (M > N) are not fitted (default 15000)
  --farms                 FARMS: fit fixed-aspect-ratio submatrices (mean over conv blocks)
  --farms-q Q             FARMS aspect ratio (default 1)
  --mp-fit                fit the Marchenko–Pastur bulk (bulk_max, num_spikes, mp_softrank)
  --randomize             rand_distance: ESD vs the element-shuffled layer's ESD
  --out FILE.jsonl        append one JSON line per finished layer as the analysis goes
  --resume                with --out: keep the layers already in FILE.jsonl, analyse the rest
  --json                  print {"layers": [...], "summary": {...}} instead of the table
  --csv FILE              also write the per-layer metrics as CSV
  --plots DIR             write per-layer log-log ESD plots and an alpha chart (SVG) to DIR`;

const choice = <T extends string>(flag: string, value: string | undefined, valid: readonly T[], dflt: T): T =>
  choiceOf(flag, value, valid, dflt, USAGE);

await runMain(async () => {
  const { values: v, positionals } = parsed(() =>
    parseArgs({
      allowPositionals: true,
      options: {
        fit: { type: "string" },
        layers: { type: "string" },
        "xmin-pos": { type: "string" },
        convention: { type: "string" },
        layout: { type: "string" },
        solver: { type: "string" },
        "filter-zeros": { type: "boolean" },
        "max-evals": { type: "string" },
        workers: { type: "string" },
        gram: { type: "string" },
        farms: { type: "boolean" },
        "mp-fit": { type: "boolean" },
        randomize: { type: "boolean" },
        "farms-q": { type: "string" },
        json: { type: "boolean" },
        out: { type: "string" },
        resume: { type: "boolean" },
        csv: { type: "string" },
        plots: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }), USAGE);
  const file = oneFile(positionals, v.help, USAGE);
  if (file === null) return;
  const xminPos = numFlag("xmin-pos", v["xmin-pos"], 2, { min: 1 });
  const workers = numFlag("workers", v.workers, undefined, { int: true, min: 1 });
  const maxEvals = numFlag("max-evals", v["max-evals"], undefined, { int: true, min: 1 });
  const farmsQ = numFlag("farms-q", v["farms-q"], 1, { min: 0, exclusive: true });
  if (v.resume && v.out === undefined) {
    throw new OptionError("--resume needs --out FILE.jsonl (the file to resume)");
  }
  const done = v.out !== undefined && v.resume ? await readDone(v.out) : undefined;
  if (v.out !== undefined && !v.resume) await Deno.writeTextFile(v.out, "");
  const out = v.out;
  const progress = await LayerProgress.open();
  const result = await analyze(file, {
    onProgress: (done, total, current) => progress.update(done, total, current),
    layers: v.layers,
    done,
    // Chunks of a few layers (about two matrices per worker, the default memory budget at most):
    // the bar moves and --out's lines are written as each chunk is done, and every worker has work.
    chunkMatrices: 2 * (workers ?? navigator.hardwareConcurrency ?? 1),
    onLayers: out === undefined
      ? undefined
      : (rows) =>
        Deno.writeTextFile(out, rows.map((r) => JSON.stringify(r) + "\n").join(""), { append: true }),
    fit: choice("fit", v.fit, FIT_METHODS, "median"),
    xminPos,
    convention: choice("convention", v.convention, ["tb", "ww"] as const, "tb"),
    layout: v.layout === undefined
      ? undefined
      : choice("layout", v.layout, ["torch", "tfjs"] as const, "torch"),
    solver: choice("solver", v.solver, ["auto", "gpu", "cpu"] as const, "auto"),
    filterZeros: v["filter-zeros"] === true,
    maxEvals,
    workers,
    gram: choice("gram", v.gram, ["auto", "gpu", "cpu"] as const, "auto"),
    farms: v.farms || v["farms-q"] !== undefined ? { q: farmsQ } : false,
    keepEvals: v.plots !== undefined,
    mpFit: v["mp-fit"] === true,
    randomize: v.randomize === true,
  }).finally(() => progress.stop());
  const none = noLayersError(result, file, v.layers);
  if (none) throw none;
  if (v.csv) await Deno.writeTextFile(v.csv, formatCsv(result));
  if (v.plots) {
    await Deno.mkdir(v.plots, { recursive: true });
    for (const [i, row] of result.layers.entries()) {
      if (result.evals![i].length) {
        await Deno.writeTextFile(
          `${v.plots}/${plotFileName(row.name)}`,
          await esdPlot(row, result.evals![i]),
        );
      }
    }
    await Deno.writeTextFile(`${v.plots}/alpha.svg`, await alphaPlot(result.layers));
  }
  if (v.json) {
    console.log(JSON.stringify({ layers: result.layers, summary: result.summary }));
  } else console.log(formatTable(result));
});

/**
 * The rows of a `--out` file to resume from, by layer name. A last line cut by an interruption is
 * dropped from the file (its layer runs again and is appended whole); any other unreadable line is
 * an error naming the file and line.
 */
async function readDone(path: string): Promise<Map<string, LayerRow>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return new Map();
    throw e;
  }
  const lines = text.split("\n");
  const done = new Map<string, LayerRow>();
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line) as LayerRow;
      if (typeof row?.name !== "string") throw new Error("no layer name");
      done.set(row.name, row);
    } catch (e) {
      if (i === lines.length - 1) {
        // Cut short by an interruption: measured again, so drop the fragment from the file.
        await Deno.writeTextFile(path, lines.slice(0, i).map((l) => l + "\n").join(""));
        break;
      }
      throw new OptionError(
        `Cannot resume from "${path}": line ${i + 1} is not a layer row (${(e as Error).message})`,
      );
    }
  }
  return done;
}
