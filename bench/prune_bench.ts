/**
 * `deno task bench` cases of the pruning kernels at the Brown model's largest projection
 * (`mlp.c_fc`, 512 × 128) and a 2048 × 2048 layer (TinyLlama's q_proj): Wanda's calibration
 * statistic over 2,048 tokens, and `pruneMask` at 50% by magnitude (row sorts + the layer-wide
 * threshold) and by Wanda (scores + row sorts + selection), readback of the mask included.
 * @module
 */
import { accumulateColumnSquares } from "../kernels/prune/wanda.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { upload } from "../kernels/runtime/tensor.ts";
import { pruneMask } from "../prune/select.ts";

const gpu = await getGpu();
const group = "prune";
const x = upload(gpu, Float32Array.from({ length: 2048 * 128 }, (_, i) => Math.sin(i)), [2048, 128]);
const acc = upload(gpu, new Float32Array(128), [128]);
Deno.bench({
  name: "column squares 2048 tokens × 128",
  group,
  async fn() {
    const rec = new Recorder(gpu);
    accumulateColumnSquares(rec, x, acc);
    await rec.submit();
    await gpu.device.queue.onSubmittedWorkDone();
  },
});
for (const [rows, cols] of [[512, 128], [2048, 2048]]) {
  const w = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.37));
  const norms = Float32Array.from({ length: cols }, (_, i) => 1 + (i % 7));
  for (const score of ["magnitude", "wanda"] as const) {
    Deno.bench({
      name: `pruneMask ${score} ${rows}×${cols} at 0.5`,
      group,
      n: rows * cols > 1e6 ? 2 : undefined,
      async fn() {
        await pruneMask(gpu, w, rows, cols, 0.5, { score, norms });
      },
    });
  }
}
