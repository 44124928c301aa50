/**
 * `deno task pde-data darcy|burgers --samples N [--resolution R] [--seed S] --out FILE.hdf5`:
 * generates a PDE data set with the toolkit's own solvers in PDEBench's HDF5 layout. Blocks of
 * samples are solved on every core and written as they finish to `FILE.hdf5.partial`; an
 * interrupted run resumes where it stopped when started again with the same flags.
 * @module
 */
import { parseArgs } from "node:util";
import { OptionError } from "../util/errors.ts";
import { Hdf5File } from "../io/hdf5.ts";
import {
  blockSize,
  coordinates,
  PDE_KINDS,
  type PdeGenSpec,
  type PdeKind,
  sampleDatasets,
  withDefaults,
} from "../data/pde/generate.ts";
import { numFlag, parsed } from "./_args.ts";
import { runMain } from "../cli/main.ts";
import process from "node:process";

const USAGE = `Usage: deno task pde-data darcy|burgers --samples N --out FILE.hdf5 [options]
  darcy     2D Darcy flow −∇·(ν∇u) = β, u = 0 on the boundary (PDEBench's 2D_DarcyFlow): nu, tensor
  burgers   1D Burgers, periodic, 201 frames to t = 2 (PDEBench's 1D_Burgers_Sols): tensor
  --samples N       samples to generate
  --out FILE        the HDF5 file to write (refused if it exists)
  --resolution R    cells per side (darcy: 128, burgers: 1024, as PDEBench)
  --seed S          seed (default 0); the same seed gives the same file
  --beta B          darcy's source term (default 100)
  --nu V            burgers' viscosity ν, diffusion ν/π (default 0.01)
  --workers W       solver threads (default: the machine's cores)`;

await runMain(async () => {
  const { values, positionals } = parsed(() =>
    parseArgs({
      options: {
        samples: { type: "string" },
        out: { type: "string" },
        resolution: { type: "string" },
        seed: { type: "string" },
        beta: { type: "string" },
        nu: { type: "string" },
        workers: { type: "string" },
        help: { type: "boolean" },
      },
      allowPositionals: true,
    }), USAGE);
  if (values.help) return console.log(USAGE);
  const kind = positionals[0] as PdeKind;
  if (positionals.length !== 1 || !PDE_KINDS.includes(kind)) {
    throw new OptionError(
      `Expected one equation, darcy or burgers; got "${positionals.join(" ")}"\n${USAGE}`,
    );
  }
  if (values.samples === undefined) throw new OptionError(`--samples is required\n${USAGE}`);
  if (values.out === undefined) throw new OptionError(`--out is required\n${USAGE}`);
  if (kind === "darcy" && values.nu !== undefined) throw new OptionError("--nu is a burgers option");
  if (kind === "burgers" && values.beta !== undefined) throw new OptionError("--beta is a darcy option");
  const spec = withDefaults({
    kind,
    samples: numFlag("samples", values.samples, 0, { int: true, min: 1 }),
    resolution: numFlag("resolution", values.resolution, undefined, {
      int: true,
      min: kind === "darcy" ? 3 : 4,
    }),
    seed: numFlag("seed", values.seed, 0, { int: true, min: 0 }),
    beta: numFlag("beta", values.beta, undefined, {}),
    nu: numFlag("nu", values.nu, undefined, { min: 0, exclusive: true }),
  });
  const workers = numFlag("workers", values.workers, navigator.hardwareConcurrency || 1, {
    int: true,
    min: 1,
  });
  const out = values.out;
  if (await exists(out)) throw new OptionError(`--out ${out} exists: delete it or choose another file`);
  await generate(spec, out, workers);
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Opens the partial file of an interrupted run with the same spec, or starts a new one. */
async function partialFile(spec: PdeGenSpec, path: string): Promise<{ file: Hdf5File; done: number }> {
  const key = JSON.stringify(spec);
  if (await exists(path)) {
    try {
      const f = await Hdf5File.open(path, "a");
      if (f.attr("generator") === key) return { file: f, done: Number(f.attr("samples_done") ?? 0) };
      f.close();
      console.log(`${path} was started with other flags: starting again`);
    } catch {
      console.log(`${path} is unreadable: starting again`);
    }
  }
  const f = await Hdf5File.create(path);
  for (const d of sampleDatasets(spec)) {
    f.write(d.name, new Float32Array(d.shape.reduce((a, b) => a * b, 1)), d.shape, {
      chunks: [1, ...d.shape.slice(1)],
    });
  }
  for (const [name, values] of Object.entries(coordinates(spec))) f.write(name, values, [values.length]);
  f.setAttr("generator", key);
  f.setAttr("samples_done", 0);
  f.flush();
  return { file: f, done: 0 };
}

async function generate(spec: PdeGenSpec, out: string, workerCount: number): Promise<void> {
  const partial = `${out}.partial`;
  const { file, done } = await partialFile(spec, partial);
  const size = blockSize(spec.kind), blocks = Math.ceil(spec.samples / size);
  const datasets = sampleDatasets(spec);
  // Blocks are written in order, so `samples_done` always marks a prefix that is complete.
  let next = Math.ceil(done / size), written = next;
  if (done > 0) console.log(`resuming after ${done} of ${spec.samples} samples`);
  console.log(
    `${spec.kind}: ${spec.samples} samples at ${spec.resolution}${
      spec.kind === "darcy" ? "²" : " cells"
    }, seed ${spec.seed}${
      spec.kind === "darcy" ? `, β = ${spec.beta}` : `, ν = ${spec.nu}`
    }, ${workerCount} worker${workerCount > 1 ? "s" : ""} → ${out}`,
  );
  const t0 = performance.now();
  const ready = new Map<number, Float32Array[]>();
  const pool = Array.from(
    { length: Math.min(workerCount, blocks - next) },
    () => new Worker(new URL("./_pde_worker.ts", import.meta.url).href, { type: "module" }),
  );
  const bar = await progress(spec.samples, done);
  try {
    await new Promise<void>((resolve, reject) => {
      if (written === blocks) return resolve();
      const send = (w: Worker) => {
        if (next < blocks) w.postMessage({ spec, block: next++ });
      };
      for (const w of pool) {
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`pde-data worker: ${e.message}`));
        };
        w.onmessage = (e: MessageEvent<{ block: number; fields: Float32Array[] }>) => {
          ready.set(e.data.block, e.data.fields);
          send(w);
          try {
            while (ready.has(written)) {
              const fields = ready.get(written)!;
              ready.delete(written);
              fields.forEach((values, i) => file.writeRows(datasets[i].name, written * size, values));
              written++;
              const n = Math.min(written * size, spec.samples);
              file.setAttr("samples_done", n);
              file.flush();
              bar(n, (performance.now() - t0) / 1000);
            }
          } catch (err) {
            reject(err);
          }
          if (written === blocks) resolve();
        };
        send(w);
      }
    });
  } finally {
    for (const w of pool) w.terminate();
    file.close();
  }
  await Deno.rename(partial, out);
  console.log(
    `wrote ${out}: ${datasets.map((d) => `${d.name} (${d.shape.join(", ")})`).join(", ")} in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
}

/** A progress bar on a terminal, else a line at every tenth of the samples. */
async function progress(total: number, start: number): Promise<(n: number, seconds: number) => void> {
  if (Deno.stderr.isTerminal()) {
    const lib = (await import("cli-progress")).default;
    const bar = new lib.SingleBar(
      { format: "samples [{bar}] {value}/{total} | eta {eta_formatted}", stream: process.stderr },
      lib.Presets.shades_classic,
    );
    bar.start(total, start);
    return (n) => {
      bar.update(n);
      if (n >= total) bar.stop();
    };
  }
  let shown = Math.floor((start / total) * 10);
  return (n, seconds) => {
    const tenth = Math.floor((n / total) * 10);
    if (tenth > shown) {
      shown = tenth;
      console.log(`  ${n}/${total} samples  ${seconds.toFixed(0)} s`);
    }
  };
}
