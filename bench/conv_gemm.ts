/**
 * `deno task bench:conv [--batch N] [--json]`: our convolutions beside our matmul at their GEMM
 * shape, at the four CIFAR ResNet-18 stages (3×3, padding 1, C → C channels at 32², 16², 8², 4²).
 * Per stage: forward, backward-data and backward-filter GFLOPS (useful flops; backward-filter timed
 * alone, backward-data the difference of the backward slopes), the matmul's GFLOPS at
 * M = N·OH·OW (capped at 64 MiB of A), K = C·9, N = C, and each direction's fraction of it. Throughput is the slope of time
 * over dispatches per sync, median of 3 trials, as in `bench:peers`.
 * @module
 */
import { parseArgs } from "node:util";
import { runMain } from "../cli/main.ts";
import { OptionError } from "../util/errors.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { type MatmulShape, oursConv, oursMatmul } from "./_ours.ts";

const STAGES: [number, number][] = [[64, 32], [128, 16], [256, 8], [512, 4]];

await runMain(async () => {
  const { values } = parseArgs({ options: { batch: { type: "string" }, json: { type: "boolean" } } });
  const B = Number(values.batch ?? 32);
  if (!Number.isInteger(B) || B < 1) {
    throw new OptionError(`--batch must be an integer ≥ 1, got ${values.batch}`);
  }
  const gpu = await getGpu();
  const rows = [];
  for (const [C, H] of STAGES) {
    const conv = await oursConv(gpu, B, C, H, H);
    // M capped so that A stays under 64 MiB (one binding): the matmul's rate is flat in M by then.
    const M = Math.min(B * H * H, Math.floor((1 << 24) / (9 * C) / 64) * 64);
    const g: MatmulShape = { label: `${M}x${9 * C}x${C}`, M, K: 9 * C, N: C };
    const gemm = await oursMatmul(gpu, g);
    rows.push({
      shape: `${B}x${C}x${H}x${H} k3`,
      fwd: conv.fwd,
      bwdData: conv.data,
      bwdFilter: conv.filter,
      gemm,
      gemmShape: g.label,
    });
  }
  if (values.json) {
    console.log(JSON.stringify({ device: gpu.description, batch: B, rows }));
    return;
  }
  console.log(`adapter: ${gpu.description}; GFLOPS, and % of our matmul at the conv's GEMM shape`);
  const pct = (v: number, m: number) => `${v.toFixed(1)} (${(100 * v / m).toFixed(0)}%)`;
  console.log("| shape | fwd | bwd-data | bwd-filter | matmul (M×K×N) |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    console.log(
      `| ${r.shape} | ${pct(r.fwd, r.gemm)} | ${pct(r.bwdData, r.gemm)} | ${pct(r.bwdFilter, r.gemm)} | ${
        r.gemm.toFixed(1)
      } (${r.gemmShape}) |`,
    );
  }
});
