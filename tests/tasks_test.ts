import { deepEqual, equal, match, ok } from "node:assert/strict";
import { writeSafetensors } from "../io/safetensors.ts";
import { randArray } from "./_helpers.ts";
import { runTask, taskFile } from "./_task.ts";
import { gpuTest } from "./_helpers.ts";

async function task(args: string[]): Promise<{ code: number; out: string; err: string[] }> {
  const r = await runTask(taskFile("analyze"), args);
  return { code: r.code, out: r.out, err: r.err.split("\n").filter((l) => l) };
}

gpuTest(
  "deno task analyze prints a table, JSON named as stored, and CSV; bad input exits 1 with one line",
  async () => {
    const dir = await Deno.makeTempDir();
    const file = `${dir}/m.safetensors`;
    await Deno.writeFile(
      file,
      writeSafetensors([
        { name: "features.0.weight", shape: [16, 8, 3, 3], data: randArray(16 * 8 * 9, 1) },
        { name: "classifier.weight", shape: [40, 24], data: randArray(40 * 24, 2) },
      ]),
    );
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
