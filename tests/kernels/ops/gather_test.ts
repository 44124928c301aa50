import { throws } from "node:assert/strict";
import { slice, transpose } from "../../../kernels/ops/gather.ts";
import { Recorder } from "../../../kernels/runtime/recorder.ts";
import { ref, sliceRef, transposeRef } from "../../reference/kernels.ts";
import { readback, upload } from "../../../kernels/runtime/tensor.ts";
import { assertClose, gpu, gpuTest, randArray } from "../../_helpers.ts";

gpuTest("transpose() matches float64 for 2-D, 4-D and 1×N shapes, f32 and i32", async () => {
  const cases: [number[], number[] | undefined][] = [
    [[1, 67], undefined],
    [[67, 1], undefined],
    [[13, 17], undefined],
    [[2, 3, 5, 7], [0, 2, 3, 1]],
    [[2, 3, 5, 7], [3, 1, 0, 2]],
    [[300, 301], undefined],
  ];
  let seed = 1;
  for (const [shape, perm] of cases) {
    const xv = randArray(shape.reduce((p, d) => p * d), seed++);
    const x = upload(gpu, xv, shape);
    const xi = upload(gpu, xv.map((v) => Math.round(v * 1000)), shape, "i32");
    const rec = new Recorder(gpu);
    const y = transpose(rec, x, perm), yi = transpose(rec, xi, perm);
    await rec.submit();
    const [yv, yiv] = await readback(gpu, y, yi);
    const want = transposeRef(ref(xv, shape), perm);
    assertClose(`transpose ${shape} ${perm}`, yv, want.data, 0, 0);
    assertClose(
      `transpose i32 ${shape}`,
      yiv,
      transposeRef(ref(xv.map((v) => Math.round(v * 1000)), shape), perm).data,
      0,
      0,
    );
    if (y.shape.join() !== want.shape.join()) throw new Error(`shape ${y.shape} vs ${want.shape}`);
  }
});

gpuTest("slice() matches numpy-style start:end:step ranges", async () => {
  const shape = [6, 7, 5];
  const xv = randArray(6 * 7 * 5, 9);
  const x = upload(gpu, xv, shape);
  const cases = [
    [{ start: 1, end: 5, step: 2 }],
    [{}, { start: -3 }, { step: 4 }],
    [{ start: 5 }, { start: 6 }, { start: 4, end: 100 }],
    [{ end: -1, step: 3 }, { step: 7 }],
  ];
  for (const ranges of cases) {
    const rec = new Recorder(gpu);
    const y = slice(rec, x, ranges);
    await rec.submit();
    const want = sliceRef(ref(xv, shape), ranges);
    assertClose(`slice ${JSON.stringify(ranges)}`, (await readback(gpu, y))[0], want.data, 0, 0);
    if (y.shape.join() !== want.shape.join()) throw new Error(`slice shape ${y.shape} vs ${want.shape}`);
  }
});

gpuTest("transpose() and slice() reject bad permutations, empty ranges and bad steps", () => {
  const rec = new Recorder(gpu);
  const x = upload(gpu, new Float32Array(6), [2, 3]);
  throws(() => transpose(rec, x, [0, 0]), /perm must be a permutation of 0…1/);
  throws(() => slice(rec, x, [{ start: 2 }]), /axis 0 range 2:2:1 is empty \(zero-size result\)/);
  throws(() => slice(rec, x, [{}, { step: 0 }]), /axis 1 step 0 must be an integer ≥ 1/);
  throws(() => slice(rec, x, [{}, {}, {}]), /3 ranges given for a tensor of rank 2/);
  x.release();
  throws(
    () => transpose(rec, x),
    /transpose x=\[2, 3\].*argument "x" \(tensor "tensor" \[2, 3\]\) was used after release/,
  );
  throws(() => slice(rec, x, []), /slice x=\[2, 3\]: argument "x" .* was used after release/);
});
