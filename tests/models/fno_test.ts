/**
 * PDEBench's FNO2d and FNO1d: forward and every parameter's gradient against the float64 reference
 * (gradients by central differences of it), state-dict names and C64 weights, save → load identical.
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { Recorder } from "../../kernels/runtime/recorder.ts";
import { readback, upload } from "../../kernels/runtime/tensor.ts";
import { parseSafetensors, writeSafetensors } from "../../io/safetensors.ts";
import { Model } from "../../models/model.ts";
import { Fno, type FnoShape } from "../../models/operators/fno.ts";
import { fnoRef } from "../reference/spectral.ts";
import { centralDiff, dot } from "../_fd.ts";
import { assertNear, gpu, gpuTest, randArray } from "../_helpers.ts";

function absMax(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

async function check(shape: FnoShape, xShape: number[]): Promise<void> {
  const model = new Model(gpu, new Fno(shape), 3);
  const xv = randArray(xShape.reduce((a, b) => a * b), 8);
  const outShape = [...xShape.slice(0, -1), shape.numChannels];
  const dyv = randArray(outShape.reduce((a, b) => a * b), 9);
  const rec = new Recorder(gpu);
  const x = upload(gpu, xv, xShape), dy = upload(gpu, dyv, outShape);
  const y = model.forward(rec, x, true);
  model.backward(rec, dy);
  await rec.submit();
  const [got, ...grads] = await readback(gpu, y, ...model.arena.params.map((p) => p.grad));
  const values = await readback(gpu, ...model.arena.params.map((p) => p.value));
  const params = new Map(model.arena.params.map((p, i) => [p.name, Float64Array.from(values[i])]));
  const cfg = { width: shape.width, modes: shape.modes, outC: shape.numChannels };
  const want = fnoRef(params, xv, xShape, cfg);
  assertNear("y", got, want, 2e-5 * absMax(want), 1e-4);
  const loss = () => dot(dyv, fnoRef(params, xv, xShape, cfg));
  const fd = model.arena.params.map((p) => centralDiff(params.get(p.name)!, loss, 1e-4));
  const globalMax = Math.max(...fd.map(absMax));
  model.arena.params.forEach((p, i) => {
    assertNear(`grad ${p.name}`, grads[i], fd[i], 2e-3 * Math.max(absMax(fd[i]), 1e-2 * globalMax), 0);
  });
  for (const t of [x, dy, y]) t.release();
  model.release();
}

gpuTest("FNO2d forward and every parameter's gradient match the float64 reference", async () => {
  await check({ dims: 2, numChannels: 1, modes: [2, 3], width: 3, initialStep: 1 }, [2, 5, 6, 3]);
});

gpuTest("FNO1d forward and every parameter's gradient match the float64 reference", async () => {
  await check({ dims: 1, numChannels: 1, modes: [3], width: 4, initialStep: 2 }, [2, 9, 3]);
});

gpuTest("FNO2d: PDEBench's state-dict names, C64 spectral weights, save → load identical", async () => {
  const shape: FnoShape = { dims: 2, numChannels: 1, modes: [4, 4], width: 6, initialStep: 1 };
  const a = new Model(gpu, new Fno(shape), 1);
  const names = a.stateEntries().map((e) => e.name);
  deepEqual(names, [
    "fc0.weight",
    "fc0.bias",
    ...[0, 1, 2, 3].flatMap((i) => [`conv${i}.weights1`, `conv${i}.weights2`]),
    ...[0, 1, 2, 3].flatMap((i) => [`w${i}.weight`, `w${i}.bias`]),
    "fc1.weight",
    "fc1.bias",
    "fc2.weight",
    "fc2.bias",
  ]);
  const state = await a.stateDict();
  const w1 = state.find((t) => t.name === "conv0.weights1")!;
  equal(w1.dtype, "C64");
  deepEqual(w1.shape, [6, 6, 4, 4]);
  equal(w1.data.length, 2 * 6 * 6 * 4 * 4);
  // torch.rand(cfloat)·1/(in·out): real and imaginary parts in [0, 1/36).
  ok(Array.from(w1.data).every((v) => v >= 0 && v < 1 / 36) && absMax(w1.data) > 0.5 / 36);
  deepEqual(state.find((t) => t.name === "w0.weight")!.shape, [6, 6, 1, 1]);
  const bytes = writeSafetensors(state);
  const b = new Model(gpu, new Fno(shape), 2);
  b.loadStateDict(parseSafetensors(bytes, "fno.safetensors").tensors);
  const again = await b.stateDict();
  again.forEach((t, i) => deepEqual(Array.from(t.data), Array.from(state[i].data), t.name));
  a.release();
  b.release();
});
