import { equal, throws } from "node:assert/strict";
import { CE_MAX_CLASSES, crossEntropy } from "../../../kernels/nn/cross_entropy.ts";
import { linear, linearBackward } from "../../../kernels/nn/linear.ts";
import { Recorder } from "../../../kernels/runtime/recorder.ts";
import { matmulRef, ref } from "../../reference/kernels.ts";
import { readback, upload } from "../../../kernels/runtime/tensor.ts";
import { assertClose, assertNear, gpu, gpuTest, randArray } from "../../_helpers.ts";
import { centralDiff } from "../../_fd.ts";

function ceRef(
  z: Float64Array,
  labels: number[],
  C: number,
): { loss: number; grad: Float64Array; correct: number } {
  const N = labels.length, grad = new Float64Array(z.length);
  let loss = 0, correct = 0;
  for (let r = 0; r < N; r++) {
    const row = z.subarray(r * C, (r + 1) * C);
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
    loss += (lse - row[labels[r]]) / N;
    if (row.indexOf(mx) === labels[r]) correct++;
    for (let c = 0; c < C; c++) grad[r * C + c] = (Math.exp(row[c] - lse) - (c === labels[r] ? 1 : 0)) / N;
  }
  return { loss, grad, correct };
}

gpuTest(
  "crossEntropy() matches float64 loss, gradient and correct count; huge logits stay finite",
  async () => {
    for (const [N, C, scale] of [[1, 2, 1], [7, 10, 3], [33, 100, 1], [4, 5, 1e4]]) {
      const zv = Float32Array.from(randArray(N * C, N + C), (v) => v * scale);
      const labels = Array.from({ length: N }, (_, i) => (i * 7) % C);
      const rec = new Recorder(gpu);
      const r = crossEntropy(rec, upload(gpu, zv, [N, C]), upload(gpu, labels, [N], "i32"));
      await rec.submit();
      const [loss, correct, grad] = await readback(gpu, r.loss, r.correct, r.grad);
      const want = ceRef(Float64Array.from(zv), labels, C);
      assertClose(`loss ${N}x${C}`, loss, [want.loss], 1e-5, 1e-5);
      assertClose(`grad ${N}x${C}`, grad, want.grad, 1e-7, 1e-4);
      equal(correct[0], want.correct);
    }
    // The gradient is the derivative of the mean loss: central differences in float64.
    const C = 4, z = Float64Array.from(randArray(12, 5)), labels = [1, 3, 0];
    const g = ceRef(z, labels, C).grad;
    const fd = centralDiff(z, () => ceRef(z, labels, C).loss);
    assertNear("CE grad vs finite differences", g, fd, 1e-8, 1e-6);
  },
);

gpuTest(
  "crossEntropy() at the loop-cap guard: CE_MAX_CLASSES classes match float64, one more is refused",
  async () => {
    // 20000 classes: a row's three loops (max, sum of exp, gradient) run 60000 iterations, just under
    // the software driver's cap; a cut loop would miss classes in the max or the sum.
    const N = 3, C = CE_MAX_CLASSES;
    const zv = Float32Array.from(randArray(N * C, 88), (v) => 4 * v);
    const labels = [0, C - 1, 12345];
    zv[C - 1] = 9; // row 0's largest logit sits at the last class, past where a cut loop stops
    const rec = new Recorder(gpu);
    const r = crossEntropy(rec, upload(gpu, zv, [N, C]), upload(gpu, labels, [N], "i32"));
    await rec.submit();
    const [loss, correct, grad] = await readback(gpu, r.loss, r.correct, r.grad);
    const want = ceRef(Float64Array.from(zv), labels, C);
    assertClose("loss at the cap", loss, [want.loss], 1e-5, 1e-5);
    assertClose("grad at the cap", grad, want.grad, 1e-9, 1e-4);
    equal(correct[0], want.correct);
    throws(
      () => crossEntropy(rec, upload(gpu, new Float32Array(C + 1), [1, C + 1]), upload(gpu, [0], [1], "i32")),
      new RegExp(`${C + 1} classes are more than the supported ${C}`),
    );
  },
);

gpuTest("crossEntropy() reports NaN logits as a NaN loss", async () => {
  const rec = new Recorder(gpu);
  const r = crossEntropy(rec, upload(gpu, [1, NaN, 2, 0, 1, 2], [2, 3]), upload(gpu, [0, 2], [2], "i32"));
  await rec.submit();
  const [loss] = await readback(gpu, r.loss);
  equal(Number.isNaN(loss[0]), true);
});

gpuTest("linear() and linearBackward() match float64 on odd shapes (with and without bias)", async () => {
  let seed = 1;
  // [N, in, out]: 1×1, a single sample, a single output, primes, a wide layer, and many rows (the
  // weight gradient split into slices of 1024 rows: 4 whole slices, and 5 with a remainder of 77).
  for (
    const [N, I, O] of [
      [5, 7, 3],
      [1, 1, 1],
      [1, 13, 5],
      [9, 4, 1],
      [17, 31, 23],
      [3, 130, 67],
      [4096, 3, 5],
      [5197, 20, 7],
      [300, 20, 128], // dx through its transpose (few inputs, many outputs)
      [301, 3, 70],
    ]
  ) {
    for (const withBias of [true, false]) {
      const xv = randArray(N * I, seed++), wv = randArray(O * I, seed++), bv = randArray(O, seed++);
      const dyv = randArray(N * O, seed++);
      const x = upload(gpu, xv, [N, I]), w = upload(gpu, wv, [O, I]), b = upload(gpu, bv, [O]);
      const dy = upload(gpu, dyv, [N, O]);
      const rec = new Recorder(gpu);
      const y = linear(rec, x, w, withBias ? b : null, "fc");
      const g = linearBackward(rec, x, w, dy, withBias, "fc");
      await rec.submit();
      const [yv, dx, dw, ...db] = await readback(gpu, y, g.dx!, g.dw, ...(g.db ? [g.db] : []));
      const tag = `[${N}, ${I}] → ${O}${withBias ? " + bias" : ""}`;
      const yr = matmulRef(ref(xv, [N, I]), ref(wv, [O, I]), { transB: true }).data.map((v, i) =>
        v + (withBias ? bv[i % O] : 0)
      );
      const tol = 1e-6 * Math.sqrt(Math.max(I, N));
      assertClose(`y ${tag}`, yv, yr, tol, 1e-5);
      assertClose(`dx ${tag}`, dx, matmulRef(ref(dyv, [N, O]), ref(wv, [O, I])).data, tol, 1e-5);
      assertClose(
        `dw ${tag}`,
        dw,
        matmulRef(ref(dyv, [N, O]), ref(xv, [N, I]), { transA: true }).data,
        tol,
        1e-5,
      );
      equal(db.length, withBias ? 1 : 0);
      if (withBias) {
        const want = Array.from({ length: O }, (_, o) => {
          let s = 0;
          for (let n = 0; n < N; n++) s += dyv[n * O + o];
          return s;
        });
        assertClose(`db ${tag}`, db[0], want, tol, 1e-5);
      }
    }
  }
  const rec = new Recorder(gpu);
  const w = upload(gpu, new Float32Array(21), [3, 7]);
  throws(
    () => linear(rec, upload(gpu, new Float32Array(8), [2, 4]), w, null, "fc"),
    /fc: expected input of shape \[N, 7\] for weight \[3, 7\], got \[2, 4\]/,
  );
});

Deno.test("linear backward (dx = dy·W, dW = dyᵀ·x, db = Σ dy) matches central finite differences", () => {
  const [N, I, O] = [3, 4, 2];
  const x = Float64Array.from(randArray(N * I, 60)),
    w = Float64Array.from(randArray(O * I, 61)),
    b = Float64Array.from(randArray(O, 62));
  const dy = Float64Array.from(randArray(N * O, 63));
  const loss = () => {
    const y = matmulRef(ref(x, [N, I]), ref(w, [O, I]), { transB: true }).data;
    return y.reduce((s, v, i) => s + (v + b[i % O]) * dy[i], 0);
  };
  const fd = (t: Float64Array) => centralDiff(t, loss);
  assertNear("dx", matmulRef(ref(dy, [N, O]), ref(w, [O, I])).data, fd(x), 1e-8, 1e-6);
  assertNear("dW", matmulRef(ref(dy, [N, O]), ref(x, [N, I]), { transA: true }).data, fd(w), 1e-8, 1e-6);
  assertNear(
    "db",
    Array.from({ length: O }, (_, o) => [0, 1, 2].reduce((s, n) => s + dy[n * O + o], 0)),
    fd(b),
    1e-8,
    1e-6,
  );
});
