import { throws } from "node:assert/strict";
import { Recorder } from "../../kernels/runtime/recorder.ts";
import { readback } from "../../kernels/runtime/tensor.ts";
import { ParameterArena } from "../../models/params.ts";
import { SGD } from "../../optim/sgd.ts";
import { assertClose, gpu, gpuTest, randArray } from "../_helpers.ts";

/** torch.optim.SGD's update for one parameter, float64. */
function sgdRef(
  p: Float64Array,
  grads: Float64Array[],
  lrs: number[],
  o: { momentum: number; dampening: number; wd: number; nesterov: boolean },
): Float64Array {
  const w = Float64Array.from(p);
  let buf: Float64Array | null = null as Float64Array | null;
  grads.forEach((g0, step) => {
    const d = g0.map((g, i) => g + o.wd * w[i]);
    let upd: Float64Array = d;
    if (o.momentum !== 0) {
      buf = buf === null
        ? Float64Array.from(d)
        : buf.map((b, i) => o.momentum * b + (1 - o.dampening) * d[i]);
      upd = o.nesterov ? d.map((x, i) => x + o.momentum * buf![i]) : buf;
    }
    for (let i = 0; i < w.length; i++) w[i] -= lrs[step] * upd[i];
  });
  return w;
}

gpuTest(
  "SGD matches torch.optim.SGD over 3 steps: groups, momentum, dampening, nesterov, weight decay, lr changes",
  async () => {
    const shapes = [[3, 5], [7], [1100], [2, 2, 3, 3]]; // 1100 spans two chunks
    const arena = new ParameterArena(gpu, shapes.map((s, i) => ({ name: `p${i}`, shape: s })));
    const init = arena.params.map((p, i) => Float64Array.from(randArray(p.value.size, 10 + i)));
    init.forEach((v, i) =>
      gpu.device.queue.writeBuffer(
        arena.values.buffer,
        arena.values.byteOffset + arena.params[i].offset * 4,
        Float32Array.from(v),
      )
    );
    const cfg = [
      { momentum: 0.9, dampening: 0, wd: 5e-4, nesterov: false },
      { momentum: 0, dampening: 0, wd: 0.01, nesterov: false },
      { momentum: 0.9, dampening: 0, wd: 0, nesterov: true },
      { momentum: 0.5, dampening: 0.3, wd: 1e-3, nesterov: false },
    ];
    const opt = new SGD(arena, [
      { params: [arena.params[0]], momentum: 0.9, weightDecay: 5e-4 },
      { params: [arena.params[1]], lr: 0.5, momentum: 0, weightDecay: 0.01 },
      { params: [arena.params[2]], momentum: 0.9, nesterov: true },
      { params: [arena.params[3]], momentum: 0.5, dampening: 0.3, weightDecay: 1e-3 },
    ], { lr: 0.1 });
    const grads: Float64Array[][] = arena.params.map(() => []);
    const lrs: number[][] = arena.params.map(() => []);
    for (let step = 0; step < 3; step++) {
      arena.params.forEach((p, i) => {
        const g = Float64Array.from(randArray(p.value.size, 100 * step + i));
        grads[i].push(g);
        gpu.device.queue.writeBuffer(
          arena.grads.buffer,
          arena.grads.byteOffset + p.offset * 4,
          Float32Array.from(g),
        );
      });
      opt.paramGroups.forEach((g) => (g.lr = g.initialLr * (1 - 0.2 * step))); // a schedule
      opt.paramGroups.forEach((g, i) => lrs[i].push(g.lr));
      const rec = new Recorder(gpu);
      opt.step(rec);
      await rec.submit();
    }
    const got = await readback(gpu, ...arena.params.map((p) => p.value));
    arena.params.forEach((_, i) => {
      const want = sgdRef(init[i].map(Math.fround), grads[i].map((g) => g.map(Math.fround)), lrs[i], cfg[i]);
      assertClose(`param ${i}`, got[i], want, 1e-6, 1e-5);
    });
  },
);

gpuTest("SGD rejects a parameter in two groups, foreign parameters, and bad hyper-parameters", () => {
  const arena = new ParameterArena(gpu, [{ name: "a", shape: [4] }, { name: "b", shape: [4] }]);
  const other = new ParameterArena(gpu, [{ name: "c", shape: [4] }]);
  throws(
    () => new SGD(arena, [{ params: [arena.params[0]] }, { params: [arena.params[0]] }], { lr: 0.1 }),
    /parameter "a" appears in more than one group \(group 1\)/,
  );
  throws(
    () => new SGD(arena, [{ params: [other.params[0]] }], { lr: 0.1 }),
    /parameter "c" of group 0 is not in the optimizer's arena/,
  );
  throws(
    () => new SGD(arena, [{ params: arena.params, lr: -1 }], { lr: 0.1 }),
    /group 0 has lr -1: expected a finite number ≥ 0/,
  );
  throws(
    () => new SGD(arena, [{ params: arena.params }], { lr: 0.1, nesterov: true }),
    /nesterov momentum requires a momentum > 0/,
  );
});
