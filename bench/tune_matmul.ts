/**
 * `deno run -A bench/tune_matmul.ts`: sweeps the `direct` matmul kernel's block and workgroup
 * shapes on this adapter (the variants live here; only the winner ships in kernels/linalg/matmul.ts).
 * @module
 */
import { directSource } from "../kernels/linalg/matmul.ts";
import { params } from "../kernels/runtime/params.ts";
import { fill } from "../kernels/ops/fill.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { Tensor } from "../kernels/runtime/tensor.ts";
import { repsFor, slope } from "./_measure.ts";

const gpu = await getGpu();
const configs = Deno.args.length ? Deno.args.map((a) => a.split(",").map(Number)) : [
  [16, 2, 8, 8],
  [16, 2, 16, 4],
  [16, 2, 4, 16],
  [8, 2, 8, 8],
  [8, 4, 8, 8],
  [16, 2, 8, 4],
  [12, 2, 8, 8],
  [16, 3, 8, 8],
];
const sizes = [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [128, 128, 128], [4096, 64, 64]];
for (const [M, K, N] of sizes) {
  const a = new Tensor(gpu, [M, K]), b = new Tensor(gpu, [K, N]), c = new Tensor(gpu, [M, N]);
  const init = new Recorder(gpu);
  fill(init, a, 0.5);
  fill(init, b, 0.25);
  await init.submit();
  const line: string[] = [];
  for (const [TM, TN4, WX, WY] of configs) {
    const code = directSource(false, false, TM, TN4, WX, WY);
    const tilesM = Math.ceil(M / (TM * WY)), tilesN = Math.ceil(N / (TN4 * 4 * WX));
    const run = async (reps: number) => {
      const rec = new Recorder(gpu);
      for (let i = 0; i < reps; i++) {
        rec.dispatch({
          op: "tune",
          kernel: "tune",
          code,
          groups: tilesM * tilesN,
          params: params(M, N, K, tilesN, tilesM, 0, 0, 0, { f: 1 }, { f: 0 }),
          tensors: [a, b, c],
        });
      }
      await rec.submit();
      await gpu.device.queue.onSubmittedWorkDone();
    };
    const r = repsFor(2 * M * N * K);
    const g = 2 * M * N * K / (await slope(run, Math.max(1, r >> 2), r, 3)) / 1e9;
    line.push(`${TM}x${TN4 * 4}/${WX}x${WY}: ${g.toFixed(1)}`);
  }
  console.log(`${M}x${K}x${N}  ${line.join("  ")}`);
}
