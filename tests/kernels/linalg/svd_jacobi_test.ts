import { deepEqual, ok, rejects } from "node:assert/strict";
import { eigvalshRef, matmulRef, ref } from "../../reference/kernels.ts";
import { JACOBI_MAX_COLUMNS, jacobiSvd, paddedRows, roundRobin } from "../../../kernels/linalg/svd_jacobi.ts";
import { upload } from "../../../kernels/runtime/tensor.ts";
import { assertNear, gpu, gpuTest, randArray } from "../../_helpers.ts";

/** Runs the solver on `batch` matrices (c, r) padded as required; returns sorted values per matrix. */
async function solve(
  mats: Float32Array[],
  c: number,
  r: number,
): Promise<{ vals: Float64Array[]; sweeps: number[] }> {
  const cPad = paddedRows(c), rPad = Math.ceil(r / 4) * 4;
  const data = new Float32Array(mats.length * cPad * rPad);
  mats.forEach((m, z) => {
    for (let i = 0; i < c; i++) for (let j = 0; j < r; j++) data[(z * cPad + i) * rPad + j] = m[i * r + j];
  });
  const x = upload(gpu, data, [mats.length, cPad, rPad]);
  const res = await jacobiSvd(gpu, x);
  x.release();
  const vals = mats.map((_, z) =>
    Float64Array.from(res.values.subarray(z * cPad, (z + 1) * cPad)).sort().subarray(cPad - c)
  );
  return { vals, sweeps: res.sweeps };
}

function reference(m: Float32Array, c: number, r: number): Float64Array {
  const w = ref(m, [c, r]);
  return eigvalshRef(matmulRef(w, w, { transB: true }).data, c);
}

Deno.test("roundRobin() pairs every block with every other exactly once per sweep", () => {
  for (const nb of [2, 4, 10]) {
    const seen = new Set<string>();
    for (const round of roundRobin(nb)) {
      deepEqual([...round].sort((a, b) => a - b), [...Array(nb).keys()]); // disjoint, all blocks
      for (let k = 0; k < round.length; k += 2) seen.add(`${round[k]},${round[k + 1]}`);
    }
    ok(seen.size === (nb * (nb - 1)) / 2, `nb=${nb}: ${seen.size} pairs`);
  }
});

gpuTest("jacobiSvd() matches float64 on odd shapes: 1×N, primes, padded rows and columns", async () => {
  let seed = 1;
  for (const [c, r, batch] of [[1, 5, 2], [3, 7, 2], [8, 8, 1], [13, 29, 3], [40, 67, 2], [100, 131, 2]]) {
    const mats = Array.from({ length: batch }, () => randArray(c * r, seed++));
    const { vals, sweeps } = await solve(mats, c, r);
    mats.forEach((m, z) => {
      const want = reference(m, c, r);
      const lmax = want[c - 1];
      assertNear(`svd ${c}x${r} #${z}`, vals[z], want, 1e-5 * lmax, 0); // spec: 1e-4·λmax
      ok(sweeps[z] > 0, `${c}x${r} #${z} did not converge`);
      // Invariants: the values sum to ‖W‖²_F and are non-negative.
      let fro = 0;
      for (const v of m) fro += v * v;
      assertNear(`trace ${c}x${r}`, [vals[z].reduce((s, v) => s + v, 0)], [fro], 0, 1e-5);
      ok(vals[z][0] >= 0);
    });
  }
});

gpuTest("jacobiSvd() is exact on zeros and rank one, and keeps large values within float32", async () => {
  const c = 6, r = 10;
  const u = [1, 2, 3, 4, 5, 6], v = [1, -1, 2, 0.5, 3, 1, 1, 2, 2, 1];
  const rank1 = Float32Array.from({ length: c * r }, (_, i) => u[Math.floor(i / r)] * v[i % r]);
  const big = Float32Array.from(randArray(c * r, 5), (x) => x * 1e15);
  const { vals } = await solve([new Float32Array(c * r), rank1, big], c, r);
  assertNear("zeros", vals[0], new Float64Array(c), 0, 0);
  const norm = u.reduce((s, x) => s + x * x, 0) * v.reduce((s, x) => s + x * x, 0);
  assertNear("rank one: top", [vals[1][c - 1]], [norm], 0, 1e-5);
  assertNear("rank one: rest", vals[1].subarray(0, c - 1), new Float64Array(c - 1), 1e-4 * norm, 0);
  const want = reference(big, c, r);
  assertNear("1e15 scale", vals[2], want, 1e-5 * want[c - 1], 0);
});

gpuTest(
  "jacobiSvd() at the loop-cap guard: rows of JACOBI_MAX_COLUMNS match float64, one vec4 more is refused",
  async () => {
    // 8 rows × 960000 columns: each lane loops 30000 times in each of its two loops, just under the
    // cap of 60000 iterations per invocation; a silently cut loop would leave the Gram incomplete.
    const c = 8, r = JACOBI_MAX_COLUMNS;
    const m = randArray(c * r, 77);
    const { vals, sweeps } = await solve([m], c, r);
    const want = reference(m, c, r);
    assertNear("eigenvalues at the cap", vals[0], want, 0, 2e-4);
    ok(sweeps[0] > 0, `sweeps ${sweeps[0]}`);
    const x = upload(gpu, new Float32Array(8 * (r + 4)), [1, 8, r + 4]);
    await rejects(
      jacobiSvd(gpu, x),
      new RegExp(`rows of ${r + 4} columns are longer than the supported ${r}`),
    );
    x.release();
  },
);
