import { deepEqual, equal, match, ok } from "node:assert/strict";
import { writeSafetensors } from "../io/safetensors.ts";
import { randArray } from "./_helpers.ts";
import { runTask, taskFile } from "./_task.ts";
import { gpuTest } from "./_helpers.ts";

/** A fresh temp directory with `m.safetensors` holding random layers [name, shape, seed]. */
async function weightFile(layers: [string, number[], number][]): Promise<{ dir: string; file: string }> {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/m.safetensors`;
  await Deno.writeFile(
    file,
    writeSafetensors(layers.map(([name, shape, seed]) => ({
      name,
      shape,
      data: randArray(shape.reduce((p, d) => p * d), seed),
    }))),
  );
  return { dir, file };
}

async function task(args: string[]): Promise<{ code: number; out: string; err: string[] }> {
  const r = await runTask(taskFile("analyze"), args);
  return { code: r.code, out: r.out, err: r.err.split("\n").filter((l) => l) };
}

gpuTest(
  "deno task analyze prints a table, JSON named as stored, and CSV; bad input exits 1 with one line",
  async () => {
    const { dir, file } = await weightFile([
      ["features.0.weight", [16, 8, 3, 3], 1],
      ["classifier.weight", [40, 24], 2],
    ]);
    const table = await task([file]);
    equal(table.code, 0, table.err.join("\n"));
    match(
      table.out,
      /^name\s+shape\s+num_evals\s+alpha\s+alpha_weighted\s+spectral_norm\s+log_norm\s+stable_rank\s+D\s+xmin\s+warning/,
    );
    match(table.out, /features\.0\.weight\s+\[16,8,3,3\]\s+72\s/);
    match(table.out, /summary \(mean over layers\): alpha /);
    const json = await task([file, "--json", "--fit", "gof", "--csv", `${dir}/m.csv`]);
    const parsed = JSON.parse(json.out);
    equal(parsed.layers.length, 2);
    equal(parsed.layers[1].name, "classifier.weight");
    ok(parsed.layers[1].alpha > 1 && typeof parsed.summary.alpha === "number");
    // One worker and the Gram on the CPU: the same layers, alpha within the float32 Gram's reach.
    const cpu = JSON.parse(
      (await task([file, "--json", "--fit", "gof", "--workers", "1", "--gram", "cpu"])).out,
    );
    deepEqual(
      cpu.layers.map((l: { name: string }) => l.name),
      parsed.layers.map((l: { name: string }) => l.name),
    );
    cpu.layers.forEach((l: { alpha: number }, i: number) =>
      ok(Math.abs(l.alpha - parsed.layers[i].alpha) < 1e-3)
    );
    // ww with max_evals below the classifier's M = 24: it is reported, not fitted.
    const capped = JSON.parse((await task([file, "--json", "--convention", "ww", "--max-evals", "20"])).out);
    equal(capped.layers[1].alpha, null);
    match(capped.layers[1].warning, /above max_evals 20/);
    const only = JSON.parse((await task([file, "--json", "--layers", "^classifier"])).out);
    deepEqual(only.layers.map((l: { name: string }) => l.name), ["classifier.weight"]);
    // A checkpoint directory: its only .safetensors file.
    const dirJson = JSON.parse((await task([dir, "--json"])).out);
    deepEqual(dirJson.layers.map((l: { name: string }) => l.name), [
      "features.0.weight",
      "classifier.weight",
    ]);
    const plotted = await task([file, "--plots", `${dir}/plots`]);
    equal(plotted.code, 0, plotted.err.join("\n"));
    const svgs = [...Deno.readDirSync(`${dir}/plots`)].map((e) => e.name).sort();
    deepEqual(svgs, ["alpha.svg", "esd_classifier.weight.svg", "esd_features.0.weight.svg"]);
    const esd = await Deno.readTextFile(`${dir}/plots/esd_features.0.weight.svg`);
    match(esd, /^<svg/);
    match(esd, /features\.0\.weight: alpha \d/);
    const csv = (await Deno.readTextFile(`${dir}/m.csv`)).trim().split("\n");
    equal(csv.length, 3);
    match(csv[0], /^name,kind,shape,N,M,Q,num_evals,lambda_max/);
    for (
      const [args, pattern] of [
        [
          [`${dir}/missing.safetensors`],
          /^error: Invalid weight file ".*missing.safetensors": no such file$/,
        ],
        [[file, "--fit", "best"], /^error: Invalid --fit "best": expected one of median, mid, gof, peak$/],
        [[file, "--bogus"], /^error: Unknown option '--bogus'/],
        [[file, "--max-evals", "0"], /^error: Invalid --max-evals "0": expected an integer ≥ 1$/],
        [[file, "--workers", "0"], /^error: Invalid --workers "0": expected an integer ≥ 1$/],
        [[file, "--gram", "tpu"], /^error: Invalid --gram "tpu": expected one of auto, gpu, cpu$/],
        [
          [file, "--layers", "^nothing$"],
          /^error: --layers "\^nothing\$" matches no Conv2d or Linear tensor of /,
        ],
      ] as [string[], RegExp][]
    ) {
      const r = await task(args);
      equal(r.code, 1);
      match(r.err[0], pattern);
      ok(!r.err.some((l) => /^\s+at /.test(l)), `stack trace printed:\n${r.err.join("\n")}`);
    }
    await Deno.writeFile(`${dir}/bad.safetensors`, new Uint8Array([1, 2, 3]));
    const bad = await task([`${dir}/bad.safetensors`]);
    equal(bad.code, 1);
    match(
      bad.err[0],
      /^error: Invalid safetensors file ".*bad.safetensors": the file is 3 bytes: expected at least 8/,
    );
    await Deno.remove(dir, { recursive: true });
  },
);

gpuTest(
  "deno task analyze --out appends a line per layer; --resume keeps those lines and analyses the rest",
  async () => {
    const { dir, file } = await weightFile([
      ["a.weight", [16, 8, 3, 3], 11],
      ["b.weight", [40, 24], 12],
      ["c.weight", [24, 30], 13],
    ]);
    const out = `${dir}/rows.jsonl`;
    const full = await task([file, "--json", "--out", out]);
    equal(full.code, 0, full.err.join("\n"));
    const lines = (await Deno.readTextFile(out)).trim().split("\n");
    deepEqual(lines.map((l) => JSON.parse(l).name), ["a.weight", "b.weight", "c.weight"]);
    deepEqual(lines.map((l) => JSON.parse(l)), JSON.parse(full.out).layers);
    // An interrupted run: layer a done (doctored, to see that it is not measured again), b's line
    // cut mid-write.
    const a = { ...JSON.parse(lines[0]), alpha: 123 };
    await Deno.writeTextFile(out, JSON.stringify(a) + "\n" + lines[1].slice(0, 20));
    const resumed = await task([file, "--json", "--out", out, "--resume"]);
    equal(resumed.code, 0, resumed.err.join("\n"));
    const rows = JSON.parse(resumed.out).layers;
    deepEqual(rows.map((r: { name: string }) => r.name), ["a.weight", "b.weight", "c.weight"]);
    equal(rows[0].alpha, 123);
    deepEqual(rows.slice(1), JSON.parse(full.out).layers.slice(1));
    const after = (await Deno.readTextFile(out)).split("\n").filter((l) => l.trim());
    deepEqual(after.slice(-2).map((l) => JSON.parse(l).name), ["b.weight", "c.weight"]);
    // A broken line that is not the last, and --resume without --out: one-line errors.
    await Deno.writeTextFile(out, "{bad\n" + lines[2] + "\n");
    const broken = await task([file, "--out", out, "--resume"]);
    equal(broken.code, 1);
    match(broken.err[0], /^error: Cannot resume from ".*rows\.jsonl": line 1 is not a layer row/);
    const noOut = await task([file, "--resume"]);
    equal(noOut.code, 1);
    match(noOut.err[0], /^error: --resume needs --out FILE\.jsonl/);
    await Deno.remove(dir, { recursive: true });
  },
);
