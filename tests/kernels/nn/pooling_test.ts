import { throws } from "node:assert/strict";
import {
  avgPool2d,
  avgPool2dBackward,
  globalAvgPool,
  globalAvgPoolBackward,
  maxPool2d,
  maxPool2dBackward,
} from "../../../kernels/nn/pooling.ts";
import { Recorder } from "../../../kernels/runtime/recorder.ts";
import { poolRef, ref } from "../../reference/kernels.ts";
import { readback, upload } from "../../../kernels/runtime/tensor.ts";
import { assertClose, assertNear, gpu, gpuTest, randArray } from "../../_helpers.ts";
import { centralDiff, dot } from "../../_fd.ts";

gpuTest(
  "max/avg pooling forward and backward match float64 (kernel, stride, padding; overlapping windows)",
  async () => {
    let seed = 1;
    for (
      const [shape, k, s, p] of [[[1, 3, 5, 7], 2, 2, 0], [[3, 2, 7, 5], 3, 2, 1], [[2, 17, 4, 4], 3, 1, 1], [
        [1, 1, 8, 8],
        4,
        4,
        2,
      ]] as [number[], number, number, number][]
    ) {
      const xv = randArray(shape.reduce((a, b) => a * b), seed++);
      const x = upload(gpu, xv, shape);
      const opts = { kernel: k, stride: s, padding: p };
      const rec = new Recorder(gpu);
      const mx = maxPool2d(rec, x, opts), av = avgPool2d(rec, x, opts);
      const dyv = randArray(mx.y.size, seed++);
      const dy = upload(gpu, dyv, mx.y.shape);
      const dmx = maxPool2dBackward(rec, x, dy, mx.argmax, opts), dav = avgPool2dBackward(rec, x, dy, opts);
      await rec.submit();
      const [my, ay, mdx, adx] = await readback(gpu, mx.y, av, dmx, dav);
      const tag = `${JSON.stringify(shape)} k${k} s${s} p${p}`;
      const rm = poolRef(ref(xv, shape), "max", k, s, p, ref(dyv, mx.y.shape as number[]));
      const ra = poolRef(ref(xv, shape), "avg", k, s, p, ref(dyv, mx.y.shape as number[]));
      assertClose(`max y ${tag}`, my, rm.y.data, 0, 0);
      assertClose(`avg y ${tag}`, ay, ra.y.data, 1e-6, 1e-6);
      assertClose(`max dx ${tag}`, mdx, rm.dx!.data, 1e-6, 1e-6);
      assertClose(`avg dx ${tag}`, adx, ra.dx!.data, 1e-6, 1e-6);
    }
  },
);

Deno.test("pooling backward references match finite differences (avg everywhere, max away from ties)", () => {
  const shape = [2, 2, 5, 5];
  const x = ref(randArray(100, 9), shape);
  for (const kind of ["max", "avg"] as const) {
    const y0 = poolRef(x, kind, 3, 2, 1).y;
    const dy = ref(randArray(y0.data.length, 10), y0.shape);
    const loss = () => dot(poolRef(x, kind, 3, 2, 1).y.data, dy.data);
    const g = poolRef(x, kind, 3, 2, 1, dy).dx!;
    assertNear(`${kind} dx`, g.data, centralDiff(x.data, loss), 1e-6, 1e-5);
  }
});

gpuTest("global average pooling and its backward on odd shapes", async () => {
  let seed = 20;
  // [N, C, H, W]: 1×1 planes, one channel, primes, a plane of 31×33 (> one workgroup's reach).
  for (
    const shape of [[3, 5, 4, 6], [1, 1, 1, 1], [2, 7, 1, 1], [1, 1, 5, 3], [3, 2, 7, 11], [1, 3, 31, 33]]
  ) {
    const [N, C, H, W] = shape, P = H * W;
    const xv = randArray(N * C * P, seed++), dyv = randArray(N * C, seed++);
    const x = upload(gpu, xv, shape);
    const rec = new Recorder(gpu);
    const y = globalAvgPool(rec, x);
    const dx = globalAvgPoolBackward(rec, x, upload(gpu, dyv, [N, C, 1, 1]));
    await rec.submit();
    const [yv, dxv] = await readback(gpu, y, dx);
    const want = Array.from({ length: N * C }, (_, pl) => {
      let s = 0;
      for (let i = 0; i < P; i++) s += xv[pl * P + i];
      return s / P;
    });
    assertClose(`gap y [${shape}]`, yv, want, 1e-6, 1e-6);
    assertClose(`gap dx [${shape}]`, dxv, Array.from(xv, (_, i) => dyv[Math.floor(i / P)] / P), 1e-7, 1e-6);
  }
  const x = upload(gpu, randArray(3 * 5 * 4 * 6, 19), [3, 5, 4, 6]);
  const rec = new Recorder(gpu);
  throws(
    () => maxPool2d(rec, upload(gpu, new Float32Array(4), [1, 1, 2, 2]), { kernel: 3 }, "pool1"),
    /pool1: input \[1, 1, 2, 2\] is smaller than the 3×3 window/,
  );
  throws(() => avgPool2d(rec, x, { kernel: 2, padding: 2 }, "pool2"), /pool2: kernel 2, stride 2, padding 2/);
});
