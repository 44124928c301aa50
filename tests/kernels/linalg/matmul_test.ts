import { throws } from "node:assert/strict";
import { matmul, type MatmulVariant } from "../../../kernels/linalg/matmul.ts";
import { matmulRef, ref } from "../../reference/kernels.ts";
import { Recorder } from "../../../kernels/runtime/recorder.ts";
import { readback, type Tensor, upload } from "../../../kernels/runtime/tensor.ts";
import { assertClose, gpu, gpuTest, randArray } from "../../_helpers.ts";

interface Case {
  batch?: [number, number]; // batch dims of a and b (0 = 2-D)
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  /** Only the lower triangle is computed and checked (M = N). */
  lower?: boolean;
}

function shapeOf(batch: number, r: number, c: number): number[] {
  return batch ? [batch, r, c] : [r, c];
}

async function check(c: Case, variant: MatmulVariant, seed: number, lo = -1, hi = 1): Promise<void> {
  const [ba = 0, bb = 0] = c.batch ?? [];
  const aShape = c.transA ? shapeOf(ba, c.K, c.M) : shapeOf(ba, c.M, c.K);
  const bShape = c.transB ? shapeOf(bb, c.N, c.K) : shapeOf(bb, c.K, c.N);
  const av = randArray(aShape.reduce((p, d) => p * d), seed, lo, hi);
  const bv = randArray(bShape.reduce((p, d) => p * d), seed + 1, lo, hi);
  const a = upload(gpu, av, aShape), b = upload(gpu, bv, bShape);
  const rec = new Recorder(gpu);
  const out = matmul(rec, a, b, { transA: c.transA, transB: c.transB, variant, lower: c.lower });
  await rec.submit();
  const [got] = await readback(gpu, out);
  const t = { transA: c.transA, transB: c.transB };
  const want = matmulRef(ref(av, aShape), ref(bv, bShape), t).data;
  // Float32 error scaled to the data: 2·√K·eps·Σ_k |a_ik||b_kj| per element (measured: the
  // kernels stay under 0.19 of it from K = 64 to K = 240004).
  const absProducts = matmulRef(ref(av.map(Math.abs), aShape), ref(bv.map(Math.abs), bShape), t).data;
  const name = `matmul[${variant}] ${JSON.stringify(c)}`;
  for (let i = 0; i < want.length; i++) {
    if (c.lower && i % c.N > Math.floor(i / c.N) % c.M) continue; // above the diagonal: undefined
    const tol = 2 * Math.sqrt(c.K) * EPS32 * absProducts[i];
    if (!(Math.abs(got[i] - want[i]) <= tol)) {
      throw new Error(
        `${name}[${i}]: got ${got[i]}, expected ${want[i]} (|diff| ${Math.abs(got[i] - want[i])} > ${tol})`,
      );
    }
  }
  for (const t of [a, b, out] as Tensor[]) t.release();
}

/** Float32's unit round-off. */
const EPS32 = 2 ** -24;

const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

gpuTest("matmul() matches float64 on aligned shapes in every variant and transpose", async () => {
  let seed = 1;
  for (const variant of ["direct", "tiled", "scalar"] as const) {
    for (const [transA, transB] of TRANS) {
      for (const [M, N, K] of [[4, 4, 4], [64, 64, 64], [132, 72, 20], [8, 260, 36]]) {
        await check({ M, N, K, transA, transB }, variant, seed++);
      }
    }
  }
});

gpuTest("matmul() matches float64 on odd shapes: 1×1, 1×N, N×1 and primes", async () => {
  let seed = 100;
  const shapes = [[1, 1, 1], [1, 67, 5], [67, 1, 3], [3, 5, 7], [13, 17, 19], [31, 37, 1], [61, 59, 67], [
    2,
    3,
    131,
  ]];
  for (const variant of ["tiled", "scalar", "auto"] as const) {
    for (const [transA, transB] of TRANS) {
      for (const [M, N, K] of shapes) await check({ M, N, K, transA, transB }, variant, seed++);
    }
  }
});

gpuTest(
  "matmul({lower}) computes the lower triangle of square products in every variant: Gram shapes, batches, odd sizes",
  async () => {
    let seed = 500;
    for (const variant of ["direct", "tiled", "scalar"] as const) {
      for (const [M, K, batch] of [[4, 8, 0], [36, 20, 0], [260, 12, 3], [136, 100, 2]]) {
        await check({ M, N: M, K, transA: true, lower: true, batch: [batch, batch] }, variant, seed++);
        await check({ M, N: M, K, transB: true, lower: true, batch: [batch, 0] }, variant, seed++);
      }
    }
    for (const [M, K] of [[1, 1], [7, 3], [129, 5], [300, 2]]) {
      await check({ M, N: M, K, transA: true, lower: true }, "scalar", seed++);
      await check({ M, N: M, K, transA: true, lower: true }, "tiled", seed++);
    }
    const rec = new Recorder(gpu);
    const a = upload(gpu, new Float32Array(12), [3, 4]);
    throws(
      () => matmul(rec, a, a, { transB: false, lower: true, variant: "scalar" }),
      /inner dimensions differ/,
    );
    throws(
      () =>
        matmul(rec, a, a, { transB: true, transA: false, lower: false }) &&
        matmul(rec, a, upload(gpu, new Float32Array(8), [2, 4]), { transB: true, lower: true }),
      /"lower" needs a square product, got 3×2/,
    );
    a.release();
  },
);

gpuTest("matmul() batches, broadcasts a 2-D operand, and handles many batches", async () => {
  let seed = 300;
  for (const variant of ["auto", "direct", "tiled", "scalar"] as const) {
    await check({ batch: [3, 3], M: 8, N: 12, K: 16 }, variant, seed++);
    await check({ batch: [5, 0], M: 4, N: 8, K: 4, transA: true }, variant, seed++);
    await check({ batch: [0, 4], M: 12, N: 4, K: 8, transB: true }, variant, seed++);
  }
  await check({ batch: [3000, 3000], M: 5, N: 3, K: 7 }, "auto", seed++); // 3000 batches
  await check({ batch: [70000, 70000], M: 1, N: 1, K: 2 }, "scalar", seed++); // grid folds past 65535
});

gpuTest("matmul() on large and one-signed values: the tolerance follows the data", async () => {
  let seed = 400;
  for (const variant of ["direct", "tiled", "scalar"] as const) {
    await check({ M: 16, N: 20, K: 36 }, variant, seed++, -3e4, 3e4);
    await check({ M: 16, N: 20, K: 36, transA: true }, variant, seed++, 1e3, 2e3); // no cancellation
    await check({ M: 8, N: 4, K: 64, transB: true }, variant, seed++, -1e-3, 1e-3);
  }
});

gpuTest("matmul() splits K past lavapipe's 65535-iteration loop cap and still matches float64", async () => {
  let seed = 500;
  await check({ M: 1, N: 1, K: 70001 }, "scalar", seed++);
  await check({ M: 3, N: 2, K: 70001, transA: true }, "tiled", seed++);
  await check({ M: 4, N: 4, K: 240004, transB: true }, "direct", seed++);
});

gpuTest(
  "matmul() keeps zeros exact, overflows to Infinity like float32, and passes NaN through",
  async () => {
    const z = upload(gpu, new Float32Array(32), [8, 4]);
    const big = upload(gpu, new Float32Array(16).fill(1e30), [4, 4]);
    const nanA = upload(gpu, [1, NaN, 3, 4], [2, 2]);
    const one = upload(gpu, [1, 1, 1, 1], [2, 2]);
    for (const variant of ["direct", "tiled", "scalar"] as const) {
      const rec = new Recorder(gpu);
      const zz = matmul(rec, z, z, { transB: true, variant });
      const bb = matmul(rec, big, big, { variant });
      const nn = matmul(rec, nanA, one, { variant: variant === "direct" ? "scalar" : variant });
      await rec.submit();
      const [zv, bv, nv] = await readback(gpu, zz, bb, nn);
      assertClose(`zeros[${variant}]`, zv, new Float64Array(64));
      assertClose(`1e30[${variant}]`, bv, new Float64Array(16).fill(4e60)); // f32 → +Infinity
      assertClose(`NaN[${variant}]`, nv, [NaN, NaN, 7, 7]);
    }
    const small = upload(gpu, new Float32Array(16).fill(1e-19), [4, 4]);
    const rec = new Recorder(gpu);
    const sm = matmul(rec, small, small);
    await rec.submit();
    assertClose("1e-19²", (await readback(gpu, sm))[0], new Float64Array(16).fill(4e-38), 0, 1e-5);
  },
);

gpuTest("matmul() accumulates with alpha and beta into an out tensor", async () => {
  const av = randArray(6 * 8, 7), bv = randArray(8 * 4, 8), cv = randArray(6 * 4, 9);
  for (const variant of ["direct", "tiled", "scalar"] as const) {
    const a = upload(gpu, av, [6, 8]), b = upload(gpu, bv, [8, 4]), c = upload(gpu, cv, [6, 4]);
    const rec = new Recorder(gpu);
    matmul(rec, a, b, { alpha: 0.5, beta: -2, out: c, variant });
    await rec.submit();
    const want = matmulRef(ref(av, [6, 8]), ref(bv, [8, 4]), { alpha: 0.5, beta: -2, c: ref(cv, [6, 4]) });
    assertClose(`alpha/beta[${variant}]`, (await readback(gpu, c))[0], want.data, 1e-5, 1e-5);
  }
});

gpuTest("matmul() rejects mismatched shapes, wrong dtypes and released tensors, naming the argument", () => {
  const rec = new Recorder(gpu);
  const a = upload(gpu, new Float32Array(6), [2, 3]);
  const b = upload(gpu, new Float32Array(8), [4, 2]);
  throws(() => matmul(rec, a, b), /matmul a=\[2, 3\] b=\[4, 2\]: inner dimensions differ.*K=3.*K=4/);
  const i = upload(gpu, [1, 2, 3, 4, 5, 6], [3, 2], "i32");
  throws(() => matmul(rec, a, i), /argument "b" must have dtype f32, got i32/);
  const v = upload(gpu, [1, 2, 3], [3]);
  throws(() => matmul(rec, a, v), /argument "b" must have 2 or 3 dimensions, got \[3\]/);
  const c = upload(gpu, new Float32Array(6), [3, 2]);
  throws(() => matmul(rec, a, c, { out: a }), /argument "out" must have shape \[2, 2\]/);
  throws(() => matmul(rec, a, c, { beta: 1 }), /needs an "out" tensor/);
  throws(
    () =>
      matmul(rec, upload(gpu, new Float32Array(9), [3, 3]), upload(gpu, new Float32Array(9), [3, 3]), {
        variant: "direct",
      }),
    /multiples of 4/,
  );
  c.release();
  throws(() => matmul(rec, a, c), /argument "b" \(tensor "tensor" \[3, 2\]\) was used after release/);
  throws(
    () =>
      matmul(rec, upload(gpu, new Float32Array(12), [2, 2, 3]), upload(gpu, new Float32Array(18), [3, 3, 2])),
    /batch sizes differ/,
  );
});
