import { throws } from "node:assert/strict";
import { conv2d, conv2dBackward } from "../../../kernels/nn/conv2d/conv2d.ts";
import { Recorder } from "../../../kernels/runtime/recorder.ts";
import { conv2dBackwardRef, conv2dRef, ref } from "../../reference/kernels.ts";
import { readback, upload } from "../../../kernels/runtime/tensor.ts";
import { assertClose, assertNear, gpu, gpuTest, randArray } from "../../_helpers.ts";
import { centralDiff, dot } from "../../_fd.ts";

interface Case {
  B: number;
  C: number;
  H: number;
  W: number;
  O: number;
  K: number;
  s: number;
  p: number;
  bias?: boolean;
  /** Kernel width, horizontal stride and padding where they differ from K, s, p. */
  KW?: number;
  sw?: number;
  pw?: number;
}

const CASES: Case[] = [
  { B: 1, C: 1, H: 5, W: 7, O: 3, K: 3, s: 1, p: 1, bias: true },
  { B: 3, C: 3, H: 5, W: 7, O: 17, K: 3, s: 2, p: 0 },
  { B: 2, C: 17, H: 7, W: 5, O: 5, K: 7, s: 1, p: 3, bias: true },
  { B: 3, C: 4, H: 6, W: 6, O: 8, K: 1, s: 1, p: 0 }, // pointwise → matmul
  { B: 1, C: 3, H: 9, W: 9, O: 20, K: 1, s: 2, p: 0, bias: true },
  { B: 2, C: 5, H: 8, W: 8, O: 33, K: 3, s: 2, p: 1 },
  // Row tiles of 4, 8, 16 and 32 (M = output channels forward, input channels backward).
  { B: 2, C: 8, H: 9, W: 9, O: 12, K: 3, s: 2, p: 1 },
  { B: 2, C: 12, H: 6, W: 7, O: 8, K: 3, s: 1, p: 1, bias: true },
  // Non-square kernels, unequal strides and paddings per axis (every stride class of backward-data).
  { B: 2, C: 3, H: 7, W: 9, O: 5, K: 3, KW: 5, s: 2, sw: 1, p: 1, pw: 2, bias: true },
  { B: 1, C: 4, H: 6, W: 10, O: 9, K: 1, KW: 3, s: 1, sw: 3, p: 0, pw: 1 },
  { B: 2, C: 2, H: 9, W: 5, O: 6, K: 5, KW: 2, s: 3, sw: 2, p: 2, pw: 0, bias: true },
  { B: 3, C: 5, H: 4, W: 11, O: 17, K: 1, KW: 7, s: 1, sw: 2, p: 0, pw: 3 }, // 1×7
  // Direct: rows of 19 (runs of 5 with a ragged last), odd heights, 9 → 2 input-channel tiles, a 1×N input.
  { B: 2, C: 9, H: 5, W: 19, O: 6, K: 3, s: 1, p: 1, bias: true },
  { B: 3, C: 2, H: 1, W: 13, O: 3, K: 1, KW: 3, s: 1, p: 0, pw: 1 },
  // im2col image by image (pixels, patch and channels multiples of 4): no scatter, no transpose.
  { B: 3, C: 4, H: 16, W: 8, O: 8, K: 3, s: 1, p: 1 },
  { B: 2, C: 4, H: 32, W: 16, O: 8, K: 3, s: 2, p: 1 }, // stride 2: dcols and col2im's stride-2 branch
  // Direct 1×1 stride 2 as GEMMs on the subsampled input; odd H: the scatter's last blocks are cut.
  { B: 2, C: 4, H: 7, W: 8, O: 6, K: 1, s: 2, p: 0 },
  // Direct backward-filter with two input channels per lane: 20 = one full tile of 16 + 4.
  { B: 2, C: 20, H: 6, W: 5, O: 6, K: 3, s: 1, p: 1 },
];

const ALGORITHMS = ["implicit", "im2col", "direct"] as const;

function tag(c: Case): string {
  const k = `${c.K}x${c.KW ?? c.K}`, st = `${c.s},${c.sw ?? c.s}`, pd = `${c.p},${c.pw ?? c.p}`;
  return `B${c.B} C${c.C} ${c.H}x${c.W} O${c.O} k${k} s${st} p${pd}${c.bias ? " bias" : ""}`;
}

gpuTest(
  "conv2d() forward and backward match float64 by every algorithm on odd shapes, strides and paddings",
  async () => {
    let seed = 1;
    for (const c of CASES) {
      const KW = c.KW ?? c.K;
      const st: [number, number] = [c.s, c.sw ?? c.s], pd: [number, number] = [c.p, c.pw ?? c.p];
      const xv = randArray(c.B * c.C * c.H * c.W, seed++), wv = randArray(c.O * c.C * c.K * KW, seed++);
      const bv = randArray(c.O, seed++);
      const x = upload(gpu, xv, [c.B, c.C, c.H, c.W]), w = upload(gpu, wv, [c.O, c.C, c.K, KW]);
      const b = c.bias ? upload(gpu, bv, [c.O]) : null;
      const opts = { stride: st, padding: pd };
      const rec = new Recorder(gpu);
      const ys = ALGORITHMS.map((algorithm) => conv2d(rec, x, w, b, { ...opts, algorithm }));
      const dyv = randArray(ys[0].size, seed++);
      const dy = upload(gpu, dyv, ys[0].shape);
      const gs = ALGORITHMS.map((algorithm) =>
        conv2dBackward(rec, x, w, dy, { ...opts, algorithm }, { dx: true, db: true })
      );
      await rec.submit();
      const want = conv2dRef(
        ref(xv, x.shape as number[]),
        ref(wv, w.shape as number[]),
        c.bias ? ref(bv, [c.O]) : null,
        st,
        pd,
      );
      const wb = conv2dBackwardRef(
        ref(xv, x.shape as number[]),
        ref(wv, w.shape as number[]),
        ref(dyv, ys[0].shape as number[]),
        st,
        pd,
      );
      const k = c.C * c.K * KW;
      for (const [i, algorithm] of ALGORITHMS.entries()) {
        const [yv, dxv, dwv, dbv] = await readback(gpu, ys[i], gs[i].dx!, gs[i].dw, gs[i].db!);
        const t = `${algorithm} ${tag(c)}`;
        assertClose(`y ${t}`, yv, want.data, 1e-5 * Math.sqrt(k), 1e-5);
        assertClose(`dx ${t}`, dxv, wb.dx.data, 1e-5 * Math.sqrt(c.O * c.K * KW), 1e-5);
        assertClose(`dw ${t}`, dwv, wb.dw.data, 1e-5 * Math.sqrt(ys[0].size / c.O), 1e-5);
        assertClose(`db ${t}`, dbv, wb.db.data, 1e-5 * Math.sqrt(ys[0].size / c.O), 1e-5);
      }
    }
  },
);

Deno.test("conv2dBackwardRef() matches central finite differences of conv2dRef", () => {
  // loss = Σ dy·conv(x, w) + Σ dy·b: its gradients are the backward pass.
  const c = { B: 2, C: 3, H: 5, W: 4, O: 2, K: 3 };
  const st: [number, number] = [2, 1], pd: [number, number] = [1, 2];
  const x = ref(randArray(c.B * c.C * c.H * c.W, 70), [c.B, c.C, c.H, c.W]);
  const w = ref(randArray(c.O * c.C * c.K * c.K, 71), [c.O, c.C, c.K, c.K]);
  const b = ref(randArray(c.O, 72), [c.O]);
  const y0 = conv2dRef(x, w, b, st, pd);
  const dy = ref(randArray(y0.data.length, 73), y0.shape);
  const loss = () => dot(conv2dRef(x, w, b, st, pd).data, dy.data);
  const g = conv2dBackwardRef(x, w, dy, st, pd);
  for (const [name, t, grad] of [["x", x, g.dx], ["w", w, g.dw], ["b", b, g.db]] as const) {
    assertNear(`d${name}`, grad.data, centralDiff(t.data, loss), 1e-6, 1e-6);
  }
});

gpuTest(
  "conv2d() by im2col splits the batch into chunks under the patch buffer (forward, bias, backward) and matches float64",
  async () => {
    // 64 channels at 64×64, 3×3: 2.4·10^6 patch values per image, so chunks of 3 images: 3 + 1.
    const c = { B: 4, C: 64, H: 64, W: 64, O: 8 };
    const xv = randArray(c.B * c.C * c.H * c.W, 90),
      wv = randArray(c.O * c.C * 9, 91),
      bv = randArray(c.O, 92);
    const x = upload(gpu, xv, [c.B, c.C, c.H, c.W]), w = upload(gpu, wv, [c.O, c.C, 3, 3]);
    const rec = new Recorder(gpu);
    const y = conv2d(rec, x, w, upload(gpu, bv, [c.O]), { padding: 1, algorithm: "im2col" });
    const y0 = conv2d(rec, x, w, null, { padding: 1, algorithm: "im2col" }); // image by image
    const dyv = randArray(c.B * c.O * c.H * c.W, 93);
    const dy = upload(gpu, dyv, [c.B, c.O, c.H, c.W]);
    const g = conv2dBackward(rec, x, w, dy, { padding: 1, algorithm: "im2col" });
    await rec.submit();
    const [yv, dxv, dwv, y0v] = await readback(gpu, y, g.dx!, g.dw, y0);
    const [X, Wt] = [ref(xv, [c.B, c.C, c.H, c.W]), ref(wv, [c.O, c.C, 3, 3])];
    const want = conv2dRef(X, Wt, ref(bv, [c.O]), [1, 1], [1, 1]);
    const wb = conv2dBackwardRef(X, Wt, ref(dyv, [c.B, c.O, c.H, c.W]), [1, 1], [1, 1]);
    // dW sums over all four images: the two chunks accumulate into it.
    assertClose("dw im2col chunked", dwv, wb.dw.data, 1e-5 * Math.sqrt(c.B * c.H * c.W), 1e-5);
    assertClose("dx im2col chunked", dxv, wb.dx.data, 1e-5 * Math.sqrt(c.O * 9), 1e-5);
    assertClose("y im2col chunked", yv, want.data, 1e-5 * Math.sqrt(c.C * 9), 1e-5);
    const want0 = conv2dRef(X, Wt, null, [1, 1], [1, 1]);
    assertClose("y im2col chunked, no bias", y0v, want0.data, 1e-5 * Math.sqrt(c.C * 9), 1e-5);
  },
);

gpuTest(
  "conv2d() backward-filter over long batch loops (implicit: passes past the loop cap; direct: row slices)",
  async () => {
    const c = { B: 40, C: 2, H: 32, W: 32, O: 3, K: 3 }; // 40·32·32 = 40960 positions per lane
    const xv = randArray(c.B * c.C * c.H * c.W, 80), wv = randArray(c.O * c.C * 9, 81);
    const x = upload(gpu, xv, [c.B, c.C, c.H, c.W]), w = upload(gpu, wv, [c.O, c.C, 3, 3]);
    const dyv = randArray(c.B * c.O * c.H * c.W, 82);
    const dy = upload(gpu, dyv, [c.B, c.O, c.H, c.W]);
    const rec = new Recorder(gpu);
    const gs = (["implicit", "direct"] as const).map((algorithm) =>
      conv2dBackward(rec, x, w, dy, { padding: 1, algorithm }, { dx: false })
    );
    await rec.submit();
    const dws = await readback(gpu, ...gs.map((g) => g.dw));
    const want = conv2dBackwardRef(
      ref(xv, x.shape as number[]),
      ref(wv, w.shape as number[]),
      ref(dyv, dy.shape as number[]),
      [1, 1],
      [1, 1],
    );
    assertClose("dw implicit (B=40, 32×32)", dws[0], want.dw.data, 1e-4 * Math.sqrt(40960), 1e-5);
    assertClose("dw direct (B=40, 32×32)", dws[1], want.dw.data, 1e-4 * Math.sqrt(40960), 1e-5);
  },
);

gpuTest("conv2d() rejects inputs whose shape the layer cannot take, naming the layer", () => {
  const rec = new Recorder(gpu);
  const w = upload(gpu, new Float32Array(8 * 3 * 9), [8, 3, 3, 3]);
  throws(
    () => conv2d(rec, upload(gpu, new Float32Array(2 * 4 * 25), [2, 4, 5, 5]), w, null, {}, "layer1.0.conv1"),
    /layer1\.0\.conv1: input has 4 channels but the weight \[8, 3, 3, 3\] expects 3: expected x of shape \[N, 3, H, W\], got \[2, 4, 5, 5\]/,
  );
  throws(
    () => conv2d(rec, upload(gpu, new Float32Array(3 * 4), [1, 3, 2, 2]), w, null, {}, "conv1"),
    /conv1: input \[1, 3, 2, 2\] is smaller than the kernel 3×3/,
  );
  throws(
    () =>
      conv2d(rec, upload(gpu, new Float32Array(3 * 25), [1, 3, 5, 5]), w, null, {
        algorithm: "winograd" as "direct",
      }, "conv1"),
    /conv1: unknown algorithm "winograd": expected one of implicit, im2col, direct/,
  );
  throws(
    () =>
      conv2d(
        rec,
        upload(gpu, new Float32Array(3 * 25), [1, 3, 5, 5]),
        w,
        upload(gpu, [1, 2], [2]),
        {},
        "conv1",
      ),
    /conv1: argument "bias" must have shape \[8\], got \[2\]/,
  );
  throws(
    () => conv2d(rec, upload(gpu, new Float32Array(3 * 25), [3, 5, 5]), w, null, {}, "conv1"),
    /conv1: argument "x" must have 4 dimensions/,
  );
});
