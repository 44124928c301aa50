import { throws } from "node:assert/strict";
import { AdamW } from "../../optim/adamw.ts";
import { ParameterArena } from "../../models/params.ts";
import { adamwStepRef } from "../reference/optim.ts";
import { compareOptimizer } from "./_harness.ts";
import { gpu, gpuTest } from "../_helpers.ts";

// Odd shapes: a 3-D tensor, a bias, a matrix spanning two 1024-chunks, a 1×N and an N×1.
const SHAPES = [[6, 4, 3], [5], [40, 30], [1, 7], [9, 1]];

gpuTest(
  "AdamW matches torch.optim.AdamW + clip_grad_norm_ in float64: bias correction, decoupled decay, two groups with their own rates",
  async () => {
    for (const maxNorm of [0, 1, 1e3]) {
      const m = SHAPES.map((s) => new Float64Array(s.reduce((a, b) => a * b, 1)));
      const v = m.map((x) => new Float64Array(x.length));
      const lr = [0.01, 0.01, 0.003, 0.003, 0.003], wd = [0.1, 0.1, 0, 0, 0];
      await compareOptimizer(
        SHAPES,
        (arena) =>
          new AdamW(arena, [{ params: arena.params.slice(0, 2), weightDecay: 0.1 }, {
            params: arena.params.slice(2),
            lr: 0.003,
            weightDecay: 0,
          }], { lr: 0.01, maxNorm }),
        (p, g, step) =>
          adamwStepRef(p, g, m, v, step + 1, { lr, wd, beta1: 0.9, beta2: 0.999, eps: 1e-8, maxNorm }),
        { steps: 4, atol: 2e-6, rtol: 2e-5, seed: 7 + maxNorm },
      );
    }
    const arena = new ParameterArena(gpu, [{ name: "w", shape: [4] }]);
    throws(() => new AdamW(arena, [{ params: arena.params }], { lr: 1, eps: -1 }), /eps must be ≥ 0/);
    throws(
      () => new AdamW(arena, [{ params: arena.params }], { lr: 1, beta2: 1 }),
      /beta2 must be in \[0, 1\)/,
    );
    throws(() => new AdamW(arena, [{ params: arena.params }], { lr: 1, maxNorm: -1 }), /maxNorm must be/);
    arena.release();
  },
);

gpuTest(
  "Adam with L2 decay and complex parameters matches Model Balancing's Adam in float64: |g|² shared by a pair, chunks split in pairs",
  async () => {
    // A real matrix, a complex tensor (12 pairs), and one spanning three 1024-chunks (1300 pairs).
    const shapes = [[5, 7], [3, 4, 2], [1300, 2]], complex = [false, true, true];
    const m = shapes.map((s) => new Float64Array(s.reduce((a, b) => a * b, 1)));
    const v = m.map((x) => new Float64Array(x.length));
    await compareOptimizer(
      shapes,
      (arena) =>
        new AdamW(arena, [{ params: arena.params }], { lr: 0.01, weightDecay: 1e-2, decoupled: false }),
      (p, g, step) =>
        adamwStepRef(p, g, m, v, step + 1, {
          lr: [0.01, 0.01, 0.01],
          wd: [1e-2, 1e-2, 1e-2],
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          maxNorm: 0,
          l2: true,
          complex,
        }),
      { steps: 4, atol: 2e-6, rtol: 2e-5, seed: 3, complex },
    );
  },
);
