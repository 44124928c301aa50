import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { eigvalshCpu } from "../../esd/eig_cpu.ts";
import { EigPool } from "../../esd/eig_pool.ts";
import { OptionError } from "../../util/errors.ts";
import { eigvalshRef } from "../reference/kernels.ts";
import { mulberry32 } from "../../util/random.ts";

function symmetric(n: number, seed: number, scale = 1): Float64Array {
  const r = mulberry32(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = (r() - 0.5) * scale;
  }
  return a;
}

function gram(rows: number, n: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  const w = Float64Array.from({ length: rows * n }, () => r() - 0.5);
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < rows; k++) s += w[k * n + i] * w[k * n + j];
      g[i * n + j] = s;
    }
  }
  return g;
}

/** Each eigenvalue within `tol`·max|λ| of the float64 reference's. */
function close(got: Float64Array, want: Float64Array, tol: number, what: string) {
  equal(got.length, want.length, what);
  const norm = Math.max(...Array.from(want, Math.abs), Number.MIN_VALUE);
  for (let i = 0; i < want.length; i++) {
    ok(Math.abs(got[i] - want[i]) <= tol * norm, `${what}: λ[${i}] ${got[i]} vs ${want[i]}`);
    if (i) ok(got[i] >= got[i - 1], `${what}: not ascending at ${i}`);
  }
}

Deno.test("eigvalshCpu (WebAssembly) matches the float64 Householder + QL reference: random, odd and tiny sizes", () => {
  for (const n of [0, 1, 2, 3, 4, 5, 7, 17, 64, 129, 300]) {
    const a = symmetric(n, n + 1);
    close(eigvalshCpu(a, n), eigvalshRef(a, n), 1e-13, `symmetric ${n}`);
    const g = gram(n + 3, n, 2 * n + 5);
    close(eigvalshCpu(Float32Array.from(g), n), eigvalshRef(Float32Array.from(g), n), 1e-13, `gram ${n}`);
  }
});

Deno.test("eigvalshCpu on awkward matrices: zeros, diagonal, repeated, rank one, zero rows, huge and tiny scales", () => {
  const n = 37;
  close(eigvalshCpu(new Float64Array(n * n), n), new Float64Array(n), 0, "zeros");
  const diag = new Float64Array(n * n);
  for (let i = 0; i < n; i++) diag[i * n + i] = (i * 7) % 11 - 3;
  close(eigvalshCpu(diag, n), eigvalshRef(diag, n), 1e-15, "diagonal (already tridiagonal)");
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 2;
  close(eigvalshCpu(eye, n), new Float64Array(n).fill(2), 1e-15, "repeated eigenvalue");
  const v = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  const one = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) one[i * n + j] = v[i] * v[j];
  const want = new Float64Array(n);
  want[n - 1] = v.reduce((s, x) => s + x * x, 0);
  close(eigvalshCpu(one, n), want, 1e-14, "rank one");
  // Rows and columns of zeros in the middle: the reflection of such a row is skipped (scale 0).
  const holes = symmetric(n, 9);
  for (const z of [3, 20, 36]) for (let k = 0; k < n; k++) holes[z * n + k] = holes[k * n + z] = 0;
  close(eigvalshCpu(holes, n), eigvalshRef(holes, n), 1e-13, "zero rows");
  for (const s of [1e150, 1e-150]) {
    const a = symmetric(n, 11, s);
    close(eigvalshCpu(a, n), eigvalshRef(a, n), 1e-13, `scale ${s}`);
  }
});

Deno.test("eigvalshCpu refuses a matrix of the wrong length, naming it", () => {
  throws(
    () => eigvalshCpu(new Float64Array(5), 2, "layer x"),
    (e) => e instanceof OptionError && /layer x has 5 values/.test(e.message),
  );
  throws(() => eigvalshCpu(new Float64Array(4), -2), OptionError);
});

Deno.test("EigPool: results bit for bit equal to one thread's, for 1, 2 and 3 workers; errors name the matrix", async () => {
  // Mixed sizes, enough work that the pool starts its workers (≥ 2·10^7 n³).
  const jobs = [300, 7, 129, 300, 1, 64, 200, 33].map((n, i) => ({
    data: Float32Array.from(gram(n + 2, n, i + 40)),
    n,
  }));
  const inline = jobs.map((j) => eigvalshCpu(j.data, j.n));
  const bytes = (a: Float64Array[]) =>
    a.map((x) => Array.from(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)));
  for (const size of [1, 2, 3]) {
    const pool = new EigPool(size);
    try {
      const got = await pool.solve(jobs);
      deepEqual(bytes(got), bytes(inline), `${size} workers`);
      // Views of a larger buffer are sent as copies (the same values).
      const big = new Float64Array(jobs[0].data.length + 10);
      big.set(jobs[0].data, 10);
      const view = await pool.solve([{ data: big.subarray(10), n: 300 }, ...jobs.slice(1)]);
      deepEqual(bytes(view), bytes(inline), `${size} workers, views`);
      await rejects(
        () => pool.solve([...jobs, { data: new Float64Array(3), n: 300, what: "the Gram of fc.weight" }]),
        /the Gram of fc\.weight has 3 values/,
      );
    } finally {
      pool.close();
    }
  }
});

Deno.test("esd/_eigvalsh_wasm.ts was built from the current wasm/eigvalsh.ts (else run deno task build:wasm)", async () => {
  const root = new URL("../../", import.meta.url);
  const src = await Deno.readFile(new URL("wasm/eigvalsh.ts", root));
  const hash = [...new Uint8Array(await crypto.subtle.digest("SHA-256", src))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const gen = await Deno.readTextFile(new URL("esd/_eigvalsh_wasm.ts", root));
  equal(gen.match(/source-sha256: ([0-9a-f]+)/)?.[1], hash);
});

Deno.test("gramEigvalsCpu: the Gram of the smaller side in float64 from float32, then the solve; tall, wide, odd, one row", async () => {
  const { gramEigvalsCpu } = await import("../../esd/eig_cpu.ts");
  const { matmulRef, ref } = await import("../reference/kernels.ts");
  for (const [r, c] of [[1, 1], [1, 9], [9, 1], [5, 3], [3, 5], [7, 7], [130, 33], [33, 130], [67, 64]]) {
    const rnd = mulberry32(r * 100 + c);
    const w = Float32Array.from({ length: r * c }, () => rnd() - 0.5);
    const g = matmulRef(ref(w, [r, c]), ref(w, [r, c]), r >= c ? { transA: true } : { transB: true });
    close(gramEigvalsCpu(w, r, c), eigvalshRef(g.data, Math.min(r, c)), 1e-13, `${r}×${c}`);
  }
  throws(() => gramEigvalsCpu(new Float32Array(5), 2, 3, "slice 4"), /slice 4 has 5 values, not 2×3/);
});

Deno.test("EigPool: slice jobs (Gram formed in the workers) are bit for bit the inline ones", async () => {
  const { gramEigvalsCpu } = await import("../../esd/eig_cpu.ts");
  const jobs = [[300, 200], [90, 150], [400, 64], [17, 5]].map(([r, c], i) => {
    const rnd = mulberry32(i + 70);
    return {
      data: Float32Array.from({ length: r * c }, () => rnd() - 0.5),
      n: Math.min(r, c),
      rows: r,
      cols: c,
    };
  });
  const inline = jobs.map((j) => gramEigvalsCpu(j.data, j.rows, j.cols));
  // This batch is below the default inline threshold: force the workers, and check they ran.
  const pool = new EigPool(2, { inlineWork: 0 });
  try {
    const got = await pool.solve(jobs);
    deepEqual(got.map((x) => Array.from(x)), inline.map((x) => Array.from(x)));
    deepEqual(pool.stats, { workerJobs: 4, inlineJobs: 0, fallback: null });
  } finally {
    pool.close();
  }
  // With the default threshold the same small batch stays on this thread — and says so.
  const small = new EigPool(2);
  try {
    await small.solve(jobs);
    deepEqual(small.stats, { workerJobs: 0, inlineJobs: 4, fallback: null });
  } finally {
    small.close();
  }
});

Deno.test("EigPool: when workers cannot start it warns once, names why, and solves on this thread", async () => {
  const warnings: string[] = [];
  const saved = globalThis.Worker;
  // A sandbox without workers: the constructor throws.
  (globalThis as { Worker: unknown }).Worker = class {
    constructor() {
      throw new Error("workers are disabled here");
    }
  };
  try {
    const pool = new EigPool(2, { inlineWork: 0, onWarning: (m) => warnings.push(m) });
    const jobs = [5, 6].map((n, i) => ({ data: Float64Array.from(gram(n + 1, n, i + 90)), n }));
    const got = await pool.solve(jobs);
    await pool.solve(jobs);
    deepEqual(got.map((x) => Array.from(x)), jobs.map((j) => Array.from(eigvalshCpu(j.data, j.n))));
    deepEqual(warnings, [
      "eigenvalue workers could not start (workers are disabled here): solving on one thread",
    ]);
    deepEqual(pool.stats, { workerJobs: 0, inlineJobs: 4, fallback: warnings[0] });
  } finally {
    globalThis.Worker = saved;
  }
});
