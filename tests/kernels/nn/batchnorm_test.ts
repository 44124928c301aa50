import { throws } from "node:assert/strict";
import { batchNorm, batchNormBackward } from "../../../kernels/nn/batchnorm.ts";
import { Recorder } from "../../../kernels/runtime/recorder.ts";
import { batchNormBackwardRef, batchNormRef, ref } from "../../reference/kernels.ts";
import { readback, upload } from "../../../kernels/runtime/tensor.ts";
import { assertClose, assertNear, gpu, gpuTest, randArray } from "../../_helpers.ts";
import { centralDiff, dot } from "../../_fd.ts";

gpuTest(
  "batchNorm() train forward, running stats (unbiased, momentum 0.1), eval, and backward match float64, with and without the fused ReLU",
  async () => {
    let seed = 1;
    // HW 35, 6, 1 (one block per plane), 130 (3 strides per lane), 667 (two blocks of 8 strides);
    // 70 channels: the per-channel merge of the statistics spans two workgroups. Planes of a
    // multiple of 4 take the vec4 kernels: 28 values (7 vec4s: several planes per row of lanes),
    // 1152 (288 vec4s: past the workgroup), 4 (one vec4). Channels of ≥ 8192 loads take 256-lane
    // sums instead of 64: 2×128×128 (vec4) and 1024×3×3 (scalar, 28 planes per row of lanes).
    const shapes = [
      [3, 17, 5, 7],
      [1, 3, 5, 7],
      [4, 1, 2, 3],
      [5, 6],
      [3, 2, 10, 13],
      [2, 3, 23, 29],
      [
        2,
        70,
        3,
        3,
      ],
      [3, 5, 4, 7],
      [2, 3, 32, 36],
      [4, 2, 2, 2],
      [2, 2, 128, 128],
      [1024, 2, 3, 3],
    ];
    for (const shape of shapes) {
      for (const [affine, relu] of [[true, false], [false, false], [true, true], [false, true]]) {
        const [N, C] = shape, HW = shape.length === 4 ? shape[2] * shape[3] : 1;
        const xv = randArray(shape.reduce((p, d) => p * d), seed++, -2, 3);
        const gv = randArray(C, seed++, 0.5, 1.5), bv = randArray(C, seed++);
        const rm0 = randArray(C, seed++), rv0 = randArray(C, seed++, 0.5, 2);
        const r = batchNormRef(ref(xv, shape), affine ? ref(gv, [C]) : null, affine ? ref(bv, [C]) : null);
        const x = upload(gpu, xv, shape);
        const state = {
          weight: affine ? upload(gpu, gv, [C]) : null,
          bias: affine ? upload(gpu, bv, [C]) : null,
          running: upload(gpu, [...rm0, ...rv0], [2, C]),
          relu,
        };
        const rec = new Recorder(gpu);
        const { y, saved } = batchNorm(rec, x, state, true);
        // With the fused ReLU, dy is 0 where the output is within 1e-3 of 0, so that float32 and
        // float64 need not agree on which side of 0 those lie.
        const dyv = randArray(y.size, seed++).map((v, i) => relu && Math.abs(r.y.data[i]) < 1e-3 ? 0 : v);
        const dy = upload(gpu, dyv, shape);
        const g = batchNormBackward(
          rec,
          x,
          dy,
          saved!,
          state.weight,
          "bn",
          relu ? { relu: { bias: state.bias } } : {},
        );
        const ev = batchNorm(rec, x, state, false).y; // eval after the update
        await rec.submit();
        const outs = await readback(
          gpu,
          y,
          g.dx,
          state.running,
          ev,
          ...(affine ? [g.dweight!, g.dbias!] : []),
        );
        const tag = `${JSON.stringify(shape)} affine=${affine} relu=${relu}`;
        const act = (v: number) => (relu ? Math.max(v, 0) : v);
        assertClose(`y ${tag}`, outs[0], r.y.data.map(act), 1e-5, 1e-4);
        const m = N * HW;
        const rm = rm0.map((v, c) => 0.9 * v + 0.1 * r.mean[c]);
        const rv = rv0.map((v, c) => 0.9 * v + 0.1 * r.varB[c] * m / (m - 1));
        assertClose(`running ${tag}`, outs[2], [...rm, ...rv], 1e-6, 1e-5);
        const evalRef = Array.from(xv, (v, i) => {
          const c = Math.floor(i / HW) % C;
          return act(((v - rm[c]) / Math.sqrt(rv[c] + 1e-5)) * (affine ? gv[c] : 1) + (affine ? bv[c] : 0));
        });
        assertClose(`eval ${tag}`, outs[3], evalRef, 1e-5, 1e-4);
        // The ReLU's backward first: dy where the output was positive.
        const dyEff = dyv.map((v, i) => (relu && r.y.data[i] <= 0 ? 0 : v));
        const b = batchNormBackwardRef(ref(xv, shape), affine ? ref(gv, [C]) : null, ref(dyEff, shape));
        assertClose(`dx ${tag}`, outs[1], b.dx.data, 1e-4, 1e-3);
        if (affine) {
          assertClose(`dweight ${tag}`, outs[4], b.dgamma, 1e-4, 1e-4);
          assertClose(`dbias ${tag}`, outs[5], b.dbeta, 1e-4, 1e-4);
        }
      }
    }
  },
);

Deno.test("batchNormBackwardRef() matches central finite differences", () => {
  const shape = [2, 3, 2, 3], C = 3;
  const x = ref(randArray(36, 40, -1, 2), shape),
    g = ref(randArray(C, 41, 0.5, 1.5), [C]),
    b = ref(randArray(C, 42), [C]);
  const dy = ref(randArray(36, 43), shape);
  const loss = () => dot(batchNormRef(x, g, b).y.data, dy.data);
  const grads = batchNormBackwardRef(x, g, dy);
  const fd = (t: { data: Float64Array }) => centralDiff(t.data, loss);
  assertNear("dx", grads.dx.data, fd(x), 1e-6, 1e-5);
  assertNear("dgamma", grads.dgamma, fd(g), 1e-6, 1e-5);
  assertNear("dbeta", grads.dbeta, fd(b), 1e-6, 1e-5);
});

gpuTest("batchNorm() statistics stay exact for inputs far from zero (mean 1000, spread 5)", async () => {
  // Planes of 99 (scalar kernels) and 100 values (vec4 kernels).
  for (const W of [11, 12]) {
    const shape = [6, 4, 9, W], C = 4, m = 6 * 9 * W;
    const xv = Float32Array.from(randArray(4 * m, 61, -2, 3), (v) => v + 1000);
    const x = upload(gpu, xv, shape);
    const running = upload(gpu, [0, 0, 0, 0, 1, 1, 1, 1], [2, C]);
    const rec = new Recorder(gpu);
    const { y } = batchNorm(rec, x, { weight: null, bias: null, running }, true);
    await rec.submit();
    const [yv, rv] = await readback(gpu, y, running);
    const r = batchNormRef(ref(xv, shape), null, null);
    // float32 holds x to ±3e-5 here and sums ~600 of them to ~1e-4: y (spread ~1.4) within 5e-4. A
    // variance taken as E[x²] − mean² in float32 would be off by ~3% (E[x²] ≈ 1e6, ulp 0.06).
    assertClose(`y far from zero, W=${W}`, yv, r.y.data, 5e-4, 0);
    assertClose(`running mean, W=${W}`, rv.subarray(0, C), r.mean.map((v) => 0.1 * v), 1e-4, 1e-6);
    assertClose(
      `running var, W=${W}`,
      rv.subarray(C),
      r.varB.map((v) => 0.9 + 0.1 * v * m / (m - 1)),
      1e-5,
      1e-4,
    );
  }
});

gpuTest("batchNorm() names the layer on bad shapes and on one value per channel in training", () => {
  const rec = new Recorder(gpu);
  const running = upload(gpu, new Float32Array(8), [2, 4]);
  throws(
    () =>
      batchNorm(
        rec,
        upload(gpu, new Float32Array(2 * 3 * 4), [2, 3, 2, 2]),
        { weight: null, bias: null, running },
        true,
        "bn1",
      ),
    /bn1: argument "running" must have shape \[2, 3\]/,
  );
  throws(
    () =>
      batchNorm(
        rec,
        upload(gpu, new Float32Array(4), [1, 4, 1, 1]),
        { weight: null, bias: null, running },
        true,
        "layer1.0.bn1",
      ),
    /layer1\.0\.bn1: expected more than 1 value per channel when training/,
  );
});
