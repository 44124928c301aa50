import { throws } from "node:assert/strict";
import { axpy, scale } from "../../../kernels/ops/axpy.ts";
import { addBias } from "../../../kernels/ops/bias.ts";
import { add, mul, sub } from "../../../kernels/ops/binary.ts";
import { copy } from "../../../kernels/ops/copy.ts";
import { fill } from "../../../kernels/ops/fill.ts";
import { Recorder } from "../../../kernels/runtime/recorder.ts";
import { addBiasRef, mapRef, ref, reluBackwardRef, reluRef } from "../../reference/kernels.ts";
import { addRelu, relu, reluBackward } from "../../../kernels/ops/relu.ts";
import { readback, upload } from "../../../kernels/runtime/tensor.ts";
import { assertClose, gpu, gpuTest, randArray } from "../../_helpers.ts";
import { centralDiff, dot } from "../../_fd.ts";

const SHAPES = [[1], [1, 1], [1, 67], [67, 1], [3, 5, 7], [257], [1000, 3], [300, 301]];

gpuTest("add/sub/mul/axpy/scale/relu/reluBackward/addRelu match float64 on edge shapes", async () => {
  let seed = 1;
  for (const shape of SHAPES) {
    const n = shape.reduce((p, d) => p * d);
    const xv = randArray(n, seed++), yv = randArray(n, seed++);
    const rx = ref(xv, shape), ry = ref(yv, shape);
    const x = upload(gpu, xv, shape), y = upload(gpu, yv, shape);
    const y2 = upload(gpu, yv, shape);
    const rec = new Recorder(gpu);
    const outs = [
      add(rec, x, y),
      sub(rec, x, y),
      mul(rec, x, y),
      scale(rec, -2.5, x),
      relu(rec, x),
      reluBackward(rec, y, x),
      addRelu(rec, x, y),
      axpy(rec, 0.75, x, y2),
    ];
    await rec.submit();
    const got = await readback(gpu, ...outs);
    const want = [
      mapRef((a, b) => a + b, rx, ry),
      mapRef((a, b) => a - b, rx, ry),
      mapRef((a, b) => a * b, rx, ry),
      mapRef((a) => -2.5 * a, rx),
      reluRef(rx),
      reluBackwardRef(ry, rx),
      reluRef(mapRef((a, b) => a + b, rx, ry)),
      mapRef((a, b) => 0.75 * a + b, rx, ry),
    ];
    const names = ["add", "sub", "mul", "scale", "relu", "reluBackward", "addRelu", "axpy"];
    got.forEach((g, i) => assertClose(`${names[i]} ${JSON.stringify(shape)}`, g, want[i].data, 1e-6, 1e-6));
    for (const t of [x, y, y2, ...outs.slice(0, 7)]) t.release();
  }
});

gpuTest("element-wise ops pass NaN through, overflow like float32 and work in place", async () => {
  const xv = [NaN, -1, 0, 2, 1e30, -1e30, 3e38, -0.5];
  const x = upload(gpu, xv, [8]);
  const one = upload(gpu, new Float32Array(8).fill(1), [8]);
  const inplace = upload(gpu, xv, [8]);
  const rec = new Recorder(gpu);
  const r = relu(rec, x);
  const s = add(rec, x, x);
  const m = mul(rec, x, x);
  const g = reluBackward(rec, one, x);
  const ar = addRelu(rec, x, one);
  add(rec, inplace, inplace, inplace); // 2x, in place
  relu(rec, inplace, inplace);
  await rec.submit();
  const [rv, sv, mv, gv, iv, arv] = await readback(gpu, r, s, m, g, inplace, ar);
  const rx = ref(xv, [8]);
  assertClose("relu", rv, reluRef(rx).data);
  assertClose("x+x", sv, rx.data.map((v) => v + v), 0, 1e-7);
  assertClose("x*x", mv, rx.data.map((v) => v * v), 0, 1e-7);
  assertClose("reluBackward", gv, reluBackwardRef(ref(new Float64Array(8).fill(1), [8]), rx).data);
  assertClose("in place", iv, reluRef(ref(rx.data.map((v) => 2 * v), [8])).data, 0, 1e-7);
  assertClose("addRelu", arv, reluRef(ref(rx.data.map((v) => v + 1), [8])).data, 0, 1e-7);
  if (!Number.isNaN(arv[0])) throw new Error(`addRelu(NaN, 1) must be NaN, got ${arv[0]}`);
});

gpuTest("fill(), copy() and addBias() match float64 for f32, i32 and u32", async () => {
  const f = upload(gpu, new Float32Array(300), [300]);
  const i = upload(gpu, new Int32Array(5), [5], "i32");
  const u = upload(gpu, new Uint32Array(5), [5], "u32");
  const xv = randArray(2 * 3 * 5 * 7, 5), bv = randArray(3, 6), lv = randArray(7, 7);
  const x = upload(gpu, xv, [2, 3, 5, 7]), b = upload(gpu, bv, [3]), bl = upload(gpu, lv, [7]);
  const rec = new Recorder(gpu);
  fill(rec, f, -3.25);
  fill(rec, i, -7);
  fill(rec, u, 4000000000);
  const c = copy(rec, x);
  const b1 = addBias(rec, x, b, 1);
  const b3 = addBias(rec, x, bl);
  await rec.submit();
  const [fv, iv, uv, cv, b1v, b3v] = await readback(gpu, f, i, u, c, b1, b3);
  assertClose("fill f32", fv, new Float64Array(300).fill(-3.25), 0, 0);
  assertClose("fill i32", iv, [-7, -7, -7, -7, -7], 0, 0);
  assertClose("fill u32", uv, new Float64Array(5).fill(4000000000), 0, 0);
  assertClose("copy", cv, xv, 0, 0);
  assertClose("addBias axis 1", b1v, addBiasRef(ref(xv, [2, 3, 5, 7]), ref(bv, [3]), 1).data, 1e-7, 1e-6);
  assertClose("addBias last", b3v, addBiasRef(ref(xv, [2, 3, 5, 7]), ref(lv, [7])).data, 1e-7, 1e-6);
  // addBias on odd shapes, along every axis, in place and out of place.
  let seed = 40;
  for (const shape of [[1], [1, 1], [7, 1], [1, 9], [3, 1, 5], [2, 3, 1, 7], [5, 13, 3]]) {
    for (let axis = 0; axis < shape.length; axis++) {
      const v = randArray(shape.reduce((p, d) => p * d, 1), seed++), bb = randArray(shape[axis], seed++);
      const t = upload(gpu, v, shape), bt = upload(gpu, bb, [shape[axis]]);
      const r = new Recorder(gpu);
      const fresh = addBias(r, t, bt, axis);
      const inPlace = copy(r, t);
      addBias(r, inPlace, bt, axis - shape.length, inPlace); // negative axis, out = input
      await r.submit();
      const [fv2, iv2] = await readback(gpu, fresh, inPlace);
      const want = addBiasRef(ref(v, shape), ref(bb, [shape[axis]]), axis).data;
      assertClose(`addBias [${shape}] axis ${axis}`, fv2, want, 1e-7, 1e-6);
      assertClose(`addBias in place [${shape}] axis ${axis - shape.length}`, iv2, want, 1e-7, 1e-6);
    }
  }
});

gpuTest("fill() covers 17·10^6 elements: a grid folded past 65535 workgroups", async () => {
  const n = 17_000_000;
  const t = upload(gpu, new Float32Array(n), [n]);
  const rec = new Recorder(gpu);
  fill(rec, t, 2.5);
  await rec.submit();
  const [v] = await readback(gpu, t);
  const bad = v.findIndex((x) => x !== 2.5);
  if (bad >= 0) throw new Error(`fill[${bad}]: got ${v[bad]}, expected 2.5`);
  t.release();
});

gpuTest("element-wise ops reject mismatched shapes and dtypes, naming op and argument", () => {
  const rec = new Recorder(gpu);
  const a = upload(gpu, new Float32Array(6), [2, 3]), b = upload(gpu, new Float32Array(6), [3, 2]);
  throws(
    () => add(rec, a, b),
    /add a=\[2, 3\] b=\[3, 2\]: argument "b" must have shape \[2, 3\], got \[3, 2\]/,
  );
  throws(() => axpy(rec, 1, a, b), /axpy .*argument "y" must have shape \[2, 3\]/);
  throws(() => relu(rec, upload(gpu, [1], [1], "i32")), /relu .*argument "x" must have dtype f32, got i32/);
  throws(
    () => addBias(rec, a, upload(gpu, [1, 2], [2])),
    /addBias .*argument "b" must have shape \[3\], got \[2\]/,
  );
  throws(
    () => addBias(rec, a, upload(gpu, [1, 2, 3], [3]), 2),
    /axis 2 is out of range for a tensor of rank 2/,
  );
  throws(() => copy(rec, a, upload(gpu, [1], [1])), /copy: argument "out" must hold 6 f32 values/);
  const gone = upload(gpu, [1, 2], [2]);
  gone.release();
  throws(() => fill(rec, gone, 0), /fill t=\[2\]: argument "t" .* was used after release/);
  throws(() => copy(rec, gone), /copy: argument "src" .* was used after release/);
  throws(() => relu(rec, gone), /relu x=\[2\]: argument "x" .* was used after release/);
  throws(() => upload(gpu, [], [0, 3]), /Invalid shape \[0, 3\].*positive integer/);
  throws(() => upload(gpu, [1, 2], [3]), /Cannot upload 2 values into "tensor" of shape \[3\]: expected 3/);
  throws(() => upload(gpu, [1], [1], "f64" as "f32"), /Invalid dtype "f64"/);
});

Deno.test("reluBackwardRef() and global-average-pool backward match central finite differences", () => {
  // Values kept away from 0, where ReLU has no derivative.
  const x = Float64Array.from(randArray(24, 90), (v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
  const dy = Float64Array.from(randArray(24, 91));
  const fd = (loss: () => number) => centralDiff(x, loss);
  const reluLoss = () => dot(reluRef(ref(x, [24])).data, dy);
  assertClose("relu dx", reluBackwardRef(ref(dy, [24]), ref(x, [24])).data, fd(reluLoss), 1e-6, 1e-6);
  // Global average pooling over 2×3 planes: 4 planes of 6.
  const g = Float64Array.from(randArray(4, 92));
  const gapLoss = () =>
    [0, 1, 2, 3].reduce((s, p) => s + g[p] * x.slice(6 * p, 6 * p + 6).reduce((a, b) => a + b, 0) / 6, 0);
  assertClose("gap dx", Array.from(x, (_, i) => g[Math.floor(i / 6)] / 6), fd(gapLoss), 1e-7, 1e-6);
});
