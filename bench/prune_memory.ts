/**
 * `deno task bench:prune [--blocks N] [--llm-dir DIR] [--allocation A] [--sparsity S] [--json]`:
 * `deno task prune` on `bench:esd`'s synthetic sharded BF16 checkpoint with TinyLlama-1.1B's shapes
 * (22 blocks, 2.2 GB; `--blocks` fewer), run as a child process under GNU time: wall time and peak
 * resident memory (max RSS: the software GPU's buffers included), set beside the checkpoint's size
 * and its largest layer — the claim is that memory follows the layer, not the file.
 * @module
 */
import { parseArgs } from "node:util";
import { llamaShapes, writeLlama } from "./_llm.ts";
import { OptionError } from "../util/errors.ts";
import { runMain } from "../cli/main.ts";

await runMain(async () => {
  const { values } = parseArgs({
    options: {
      blocks: { type: "string" },
      "llm-dir": { type: "string" },
      allocation: { type: "string" },
      sparsity: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const blocks = Number(values.blocks ?? 22);
  if (!(Number.isInteger(blocks) && blocks >= 1)) {
    throw new OptionError(`Invalid --blocks "${values.blocks}": expected an integer ≥ 1`);
  }
  const shapes = llamaShapes(blocks);
  const keep = values["llm-dir"] !== undefined;
  const dir = keep ? values["llm-dir"]! : await Deno.makeTempDir({ prefix: "prune-mem-" });
  const out = `${dir}.pruned`;
  const bytes = shapes.reduce((s, [, sh]) => s + 2 * sh.reduce((p, d) => p * d, 1), 0);
  const largest = Math.max(
    ...shapes.filter(([n, sh]) => n.includes(".layers.") && sh.length === 2).map(([, sh]) => sh[0] * sh[1]),
  );
  try {
    try {
      await Deno.stat(`${dir}/model.safetensors.index.json`);
    } catch {
      console.error(`writing ${(bytes / 1e9).toFixed(2)} GB to ${dir} …`);
      await Deno.mkdir(dir, { recursive: true });
      await writeLlama(dir, shapes);
    }
    const args = [
      "-f",
      "%e %M",
      Deno.execPath(),
      "run",
      "-A",
      new URL("../tasks/prune.ts", import.meta.url).pathname,
      dir,
      "--sparsity",
      values.sparsity ?? "0.5",
      "--allocation",
      values.allocation ?? "alpha",
      "--out",
      out,
    ];
    const r = await new Deno.Command("/usr/bin/time", { args, stdout: "inherit", stderr: "piped" }).output();
    const err = new TextDecoder().decode(r.stderr).trim().split("\n");
    if (!r.success) throw new Error(`deno task prune failed:\n${err.join("\n")}`);
    const [seconds, kb] = err.at(-1)!.split(" ").map(Number);
    const row = {
      checkpoint: `${blocks} blocks, ${(bytes / 1e9).toFixed(2)} GB BF16, ${shapes.length} tensors`,
      largestLayerMB: (largest * 2) / 1e6,
      largestLayerF32MB: (largest * 4) / 1e6,
      seconds,
      peakRssGB: (kb * 1024) / 1e9,
    };
    console.log(values.json ? JSON.stringify(row) : row);
  } finally {
    if (!keep) await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
});
