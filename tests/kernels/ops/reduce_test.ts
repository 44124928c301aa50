import { ok, throws } from "node:assert/strict";
import { argmax } from "../../../kernels/ops/argmax.ts";
import { Recorder } from "../../../kernels/runtime/recorder.ts";
import { max, sum, sumSquares } from "../../../kernels/ops/reduce.ts";
import { argmaxRef, reduceRef, ref } from "../../reference/kernels.ts";
import { readback, upload } from "../../../kernels/runtime/tensor.ts";
import { assertClose, gpu, gpuTest, randArray } from "../../_helpers.ts";

gpuTest("sum/sumSquares/max match float64 along every axis of odd shapes", async () => {
  let seed = 1;
  // [3, 2000], [64, 40], [9, 7, 33] reduce short axes over wide inner extents (the strided pass);
  // [65, 40] just past it.
  const shapes = [
    [1],
    [1, 1],
    [1, 67],
    [67, 1],
    [3, 5, 7],
    [2, 3000, 3],
    [5000],
    [4, 1, 9, 2],
    [3, 2000],
    [
      64,
      40,
    ],
    [65, 40],
    [9, 7, 33],
  ];
  for (const shape of shapes) {
    const n = shape.reduce((p, d) => p * d);
    const xv = randArray(n, seed++);
    const x = upload(gpu, xv, shape), rx = ref(xv, shape);
    for (
      const [axis, tree] of [undefined, ...shape.map((_, i) => i), -1].flatMap((a) =>
        [[a, "serial"], [a, "parallel"]] as const
      )
    ) {
      const rec = new Recorder(gpu);
      const outs = [
        sum(rec, x, { axis, tree }),
        sumSquares(rec, x, { axis, tree }),
        max(rec, x, { axis, tree }),
      ];
      await rec.submit();
      const got = await readback(gpu, ...outs);
      const tag = `${JSON.stringify(shape)} axis=${axis} ${tree}`;
      const L = axis === undefined ? n : shape.at(axis)!;
      assertClose(`sum ${tag}`, got[0], reduceRef(rx, "sum", axis).data, 1e-6 * Math.sqrt(L), 1e-6);
      assertClose(`sumSquares ${tag}`, got[1], reduceRef(rx, "sumsq", axis).data, 1e-7, 1e-6);
      assertClose(`max ${tag}`, got[2], reduceRef(rx, "max", axis).data, 0, 0);
      const want = reduceRef(rx, "sum", axis).shape;
      if (JSON.stringify(outs[0].shape) !== JSON.stringify(want)) {
        throw new Error(`sum ${tag}: shape ${outs[0].shape}, expected ${want}`);
      }
      outs.forEach((t) => t.release());
    }
  }
});

gpuTest("the strided pass (short axis, wide inner) passes NaN through and sums like float64", async () => {
  const L = 11, inner = 300;
  const xv = randArray(L * inner, 77, -1e3, 1e3);
  xv[5 * inner + 17] = NaN; // column 17
  const x = upload(gpu, xv, [L, inner]);
  const rec = new Recorder(gpu);
  const outs = [sum(rec, x, { axis: 0 }), max(rec, x, { axis: 0 })];
  await rec.submit();
  const [s, m] = await readback(gpu, ...outs);
  const rx = ref(xv, [L, inner]);
  assertClose("strided sum", s, reduceRef(rx, "sum", 0).data, 1e-3, 1e-6);
  assertClose("strided max", m, reduceRef(rx, "max", 0).data, 0, 0);
  ok(Number.isNaN(s[17]) && Number.isNaN(m[17]));
});

gpuTest("sum over 10^6 and 4·10^6 elements stays within 1e-6 relative of float64", async () => {
  for (const [n, seed, tree] of [[1_000_000, 11, "serial"], [4_000_000, 12, "parallel"]] as const) {
    const xv = randArray(n, seed, 0, 1);
    const x = upload(gpu, xv, [n]);
    const rec = new Recorder(gpu);
    const s = sum(rec, x, { tree }), q = sumSquares(rec, x, { tree });
    const rows = sum(rec, x.reshape([1000, n / 1000]), { axis: 0 }); // strided, 1000 long
    await rec.submit();
    const [sv, qv, rv] = await readback(gpu, s, q, rows);
    const rx = ref(xv, [n]);
    assertClose(`sum(${n})`, sv, reduceRef(rx, "sum").data, 0, 1e-6);
    assertClose(`sumSquares(${n})`, qv, reduceRef(rx, "sumsq").data, 0, 1e-6);
    assertClose(`column sums (${n})`, rv, reduceRef(ref(xv, [1000, n / 1000]), "sum", 0).data, 0, 1e-6);
    x.release();
  }
});

gpuTest("reductions pass NaN through, overflow like float32 and keep dims when asked", async () => {
  const x = upload(gpu, [1, NaN, 3, 4, 1e30, 2e30, -1e30, 5, -Infinity, -Infinity, -Infinity, -Infinity], [
    3,
    4,
  ]);
  const rec = new Recorder(gpu);
  const s = sum(rec, x, { axis: 1 }), q = sumSquares(rec, x, { axis: 1 }), m = max(rec, x, { axis: 1 });
  const k = sum(rec, x, { axis: 0, keepDims: true }), all = max(rec, x, { keepDims: true });
  await rec.submit();
  const [sv, qv, mv] = await readback(gpu, s, q, m);
  assertClose("sum", sv, [NaN, 2e30 + 5, -Infinity], 0, 1e-6);
  assertClose("sumSquares", qv, [NaN, Infinity, Infinity]);
  assertClose("max", mv, [NaN, 2e30, -Infinity], 0, 0);
  if (k.shape.join() !== "1,4" || all.shape.join() !== "1,1") {
    throw new Error(`keepDims shapes ${k.shape} ${all.shape}`);
  }
});

gpuTest("argmax() per row matches NumPy: first index on ties, first NaN wins", async () => {
  const rows = [[3, 1, 3, 2], [NaN, 5, NaN, 1], [-1, -1, -1, -1], [1, 2, NaN, 9]];
  const xv = randArray(7 * 1001, 3);
  const x = upload(gpu, rows.flat(), [4, 4]),
    big = upload(gpu, xv, [7, 1001]),
    one = upload(gpu, [4, 9, 2], [3]);
  const rec = new Recorder(gpu);
  const a = argmax(rec, x), b = argmax(rec, big), c = argmax(rec, one);
  await rec.submit();
  const [av, bv, cv] = await readback(gpu, a, b, c);
  assertClose("argmax rows", av, [0, 0, 0, 2], 0, 0);
  assertClose("argmax big", bv, argmaxRef(ref(xv, [7, 1001])).data, 0, 0);
  assertClose("argmax 1-D", cv, [1], 0, 0);
  if (a.dtype !== "i32") throw new Error(`argmax dtype ${a.dtype}`);
});

gpuTest("reductions reject bad axes and dtypes", () => {
  const rec = new Recorder(gpu);
  const x = upload(gpu, [1, 2, 3, 4], [2, 2]);
  throws(
    () => sum(rec, x, { axis: 2 }),
    /sum x=\[2, 2\] axis=2: axis 2 is out of range for a tensor of rank 2/,
  );
  throws(() => max(rec, upload(gpu, [1], [1], "u32")), /argument "x" must have dtype f32, got u32/);
});
