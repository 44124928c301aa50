// Runs an optimizer of ours and a float64 reference side by side on random parameters and
// gradients, and compares the parameters after every step.
import { Recorder } from "../../kernels/runtime/recorder.ts";
import { readback } from "../../kernels/runtime/tensor.ts";
import { ParameterArena } from "../../models/params.ts";
import type { Optimizer } from "../../optim/optimizer.ts";
import { assertClose, gpu, randArray } from "../_helpers.ts";

/** A float64 reference step: updates `params` in place from `grads` (step counts from 0). */
export type RefStep = (params: Float64Array[], grads: Float64Array[], step: number) => void;

/**
 * Compares an optimizer with its reference over `steps` steps.
 * @param shapes Parameter shapes (names p0, p1, …).
 * @param make Builds the optimizer over the arena.
 * @param ref The reference step.
 * @param o Steps, tolerances, seed, and a hook run before each step (to change rates).
 */
export async function compareOptimizer(
  shapes: number[][],
  make: (arena: ParameterArena) => Optimizer,
  ref: RefStep,
  o: {
    steps?: number;
    atol?: number;
    rtol?: number;
    seed?: number;
    before?: (opt: Optimizer, step: number) => void;
    /** Which parameters are complex ((real, imaginary) pairs, last axis 2). */
    complex?: boolean[];
  } = {},
): Promise<void> {
  const { steps = 3, atol = 1e-6, rtol = 1e-5, seed = 1 } = o;
  const arena = new ParameterArena(
    gpu,
    shapes.map((s, i) => ({ name: `p${i}`, shape: s, complex: o.complex?.[i] })),
  );
  const w = arena.params.map((p, i) => Float64Array.from(randArray(p.value.size, seed * 100 + i)));
  arena.params.forEach((p, i) =>
    gpu.device.queue.writeBuffer(
      arena.values.buffer,
      arena.values.byteOffset + p.offset * 4,
      Float32Array.from(w[i]),
    )
  );
  const opt = make(arena);
  try {
    for (let step = 0; step < steps; step++) {
      const g = arena.params.map((p, i) =>
        Float64Array.from(randArray(p.value.size, seed * 1000 + 10 * step + i))
      );
      arena.params.forEach((p, i) =>
        gpu.device.queue.writeBuffer(
          arena.grads.buffer,
          arena.grads.byteOffset + p.offset * 4,
          Float32Array.from(g[i]),
        )
      );
      o.before?.(opt, step);
      const rec = new Recorder(gpu);
      opt.step(rec);
      await rec.submit();
      // The reference continues from the GPU's float32 parameters, so errors do not compound.
      const got = await readback(gpu, ...arena.params.map((p) => p.value));
      const start = w.map((x) => Float64Array.from(x));
      ref(start, g, step);
      start.forEach((want, i) => assertClose(`step ${step} p${i} [${shapes[i]}]`, got[i], want, atol, rtol));
      got.forEach((x, i) => w[i] = Float64Array.from(x));
    }
  } finally {
    opt.release();
    arena.release();
  }
}
