import { equal, ok, rejects } from "node:assert/strict";
import { liveLayerMetrics } from "../../esd/live.ts";
import { fitPowerLaw } from "../../esd/plfit.ts";
import { eigvalshRef, matmulRef, ref } from "../reference/kernels.ts";
import { upload } from "../../kernels/runtime/tensor.ts";
import { Model } from "../../models/model.ts";
import { ResNet } from "../../models/resnet.ts";
import { TempBalance } from "../../optim/tempbalance.ts";
import { gpu, gpuTest, randArray } from "../_helpers.ts";

/** TempBalance's ESD in float64: slices (out, in) × sqrt(convNorm), Gram, eigvalsh, pooled. */
function esd64(w: ArrayLike<number>, shape: number[], convNorm = 0.5): Float64Array {
  const [O, I, kh = 1, kw = 1] = shape, S = kh * kw, mul = shape.length === 4 ? Math.sqrt(convNorm) : 1;
  const out: number[] = [];
  for (let s = 0; s < S; s++) {
    const m = new Float64Array(O * I);
    for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) m[o * I + i] = w[(o * I + i) * S + s] * mul;
    const a = ref(m, [O, I]);
    const g = O >= I ? matmulRef(a, a, { transA: true }) : matmulRef(a, a, { transB: true });
    out.push(...eigvalshRef(g.data, Math.min(O, I)).map((x) => Math.max(0, x)));
  }
  return Float64Array.from(out).sort();
}

gpuTest(
  "liveLayerMetrics(): alpha and λmax of GPU-resident weights match float64 (odd shapes, zeros, 1×N)",
  async () => {
    const cases: [string, number[], Float32Array][] = [
      ["conv 24×16×3×3", [24, 16, 3, 3], randArray(24 * 16 * 9, 1)],
      ["conv 5×13×3×3", [5, 13, 3, 3], randArray(5 * 13 * 9, 2)],
      ["linear 40×96", [40, 96], randArray(40 * 96, 3)],
      ["linear 1×50", [1, 50], randArray(50, 4)], // one eigenvalue: no fit
    ];
    // Rank-deficient: 6 of 20 output rows zero in every slice (84 of 180 eigenvalues... at least 6·9 zero).
    const rd = randArray(20 * 20 * 9, 5);
    rd.fill(0, 0, 6 * 20 * 9);
    cases.push(["rank-deficient conv 20×20×3×3", [20, 20, 3, 3], rd]);
    const ts = cases.map(([name, shape, v]) => upload(gpu, v, shape, "f32", name));
    const got = await liveLayerMetrics(gpu, ts);
    cases.forEach(([name, shape, v], k) => {
      const e = esd64(v, shape);
      const lmax = e[e.length - 1];
      ok(
        Math.abs(got[k].spectral_norm - lmax) <= 1e-4 * lmax,
        `${name}: λmax ${got[k].spectral_norm} vs ${lmax}`,
      );
      if (e.length < 2) {
        equal(got[k].alpha, null, name);
        return;
      }
      const want = fitPowerLaw(e).alpha;
      // Both must be numbers: null − null would pass a difference test.
      ok(
        typeof got[k].alpha === "number" && Number.isFinite(want),
        `${name}: alpha ${got[k].alpha} vs ${want}`,
      );
      ok(Math.abs(got[k].alpha! - want) <= 1e-3, `${name}: alpha ${got[k].alpha} vs float64 ${want}`);
      ok(Math.abs(got[k].alphahat! - want * Math.log10(lmax)) <= 2e-3, `${name}: alphahat`);
      ok(got[k].converged, name);
    });
    for (const t of ts) t.release();
    equal((await liveLayerMetrics(gpu, [])).length, 0);
    // All-zero weights: λmax 0, no alpha.
    const zero = upload(gpu, new Float32Array(8 * 8 * 9), [8, 8, 3, 3]);
    const [z] = await liveLayerMetrics(gpu, [zero]);
    zero.release();
    ok(z.spectral_norm === 0 && z.alpha === null && z.converged, JSON.stringify(z));
    await rejects(
      () => liveLayerMetrics(gpu, [], { fit: "gof" as "median" }),
      /fit "gof" needs the ESD on the CPU/,
    );
  },
);

gpuTest("TempBalance measures a model alike on live weights and by readback", async () => {
  const model = new Model(gpu, new ResNet([1, 1], [16, 32], { classes: 10, inChannels: 3 }), 9);
  const live = await new TempBalance(model, { esd: "live", onWarning: () => {} }).measure(0.1);
  const read = await new TempBalance(model, { esd: "readback", solver: "cpu", onWarning: () => {} }).measure(
    0.1,
  );
  equal(live.length, read.length);
  ok(live.length >= 2, `${live.length} layers measured`);
  live.forEach((l, i) => {
    equal(l.name, read[i].name);
    ok(
      typeof l.alpha === "number" && typeof read[i].alpha === "number",
      `${l.name}: alphas ${l.alpha}, ${read[i].alpha}`,
    );
    ok(
      Math.abs(l.alpha! - read[i].alpha!) <= 1e-3,
      `${l.name}: live ${l.alpha} vs readback ${read[i].alpha}`,
    );
    ok(Math.abs(l.lr - read[i].lr) <= 1e-3 * 0.1, `${l.name}: rate ${l.lr} vs ${read[i].lr}`);
  });
  model.release();
});
