import { ok } from "node:assert/strict";
import { snrTermRef } from "../reference/optim.ts";
import { snrStart } from "../../kernels/optim/spectral_reg.ts";
import { SGD } from "../../optim/sgd.ts";
import { compareOptimizer } from "./_harness.ts";
import { gpuTest } from "../_helpers.ts";

Deno.test("snrStart() draws standard normals", () => {
  const x = Array.from({ length: 20000 }, (_, i) => snrStart(3, 7, 1, i));
  const mean = x.reduce((s, v) => s + v) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05, `mean ${mean}, variance ${variance}`);
});

gpuTest(
  "SGD with spectral-norm regularisation matches SGDSNR in float64 (odd shapes, chunks, bias untouched)",
  async () => {
    // Weights with dim > 1 get the term; the 1-D bias does not. (40, 30) spans two 1024-chunks.
    const shapes = [[6, 4, 3, 3], [5], [40, 30], [1, 7], [9, 1]];
    const sg = 0.05, momentum = 0.9, wd = 5e-4, lr = 0.1;
    let buf: Float64Array[] | null = null;
    await compareOptimizer(
      shapes,
      (arena) =>
        new SGD(arena, [{ params: arena.params }], {
          lr,
          momentum,
          weightDecay: wd,
          spectralReg: { sg, seed: 11 },
        }),
      (p, g, step) => {
        let layer = 0;
        const d = p.map((w, k) => {
          const out = g[k].map((x, i) => x + wd * w[i]);
          if (shapes[k].length > 1) {
            const m = shapes[k][0], n = w.length / m;
            const t = snrTermRef(w, m, n, { sg, iterations: 5, seed: 11, step, layer: layer++ });
            for (let i = 0; i < out.length; i++) out[i] += t[i];
          }
          return out;
        });
        buf = buf === null
          ? d.map((x) => Float64Array.from(x))
          : buf.map((b, k) => b.map((x, i) => momentum * x + d[k][i]));
        p.forEach((w, k) => w.forEach((_, i) => (w[i] -= lr * buf![k][i])));
      },
      { steps: 3, atol: 2e-6, rtol: 1e-4 },
    );
  },
);
