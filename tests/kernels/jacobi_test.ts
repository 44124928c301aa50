import { ok } from "node:assert/strict";
import { eighJacobi } from "../../kernels/jacobi.ts";
import { matmul } from "../../kernels/matmul.ts";
import { Recorder } from "../../kernels/recorder.ts";
import { eigvalshRef, matmulRef, ref } from "../../kernels/reference.ts";
import { readback, upload } from "../../kernels/tensor.ts";
import { assertClose, gpu, randArray } from "../_helpers.ts";

Deno.test("eigvalshRef() satisfies trace and known spectra", () => {
  const d = [3, -1, 0.5, 7];
  const diag = new Float64Array(16);
  d.forEach((v, i) => (diag[i * 5] = v));
  assertClose("diag", eigvalshRef(diag, 4), [-1, 0.5, 3, 7], 1e-12, 0);
  assertClose("2x2", eigvalshRef([2, 1, 1, 2], 2), [1, 3], 1e-12, 0);
});

Deno.test("eighJacobi() matches float64 on Gram matrices of odd sizes (trace, order, max)", async () => {
  let seed = 1;
  for (
    const [rows, n, batch] of [[5, 1, 1], [7, 2, 3], [9, 3, 2], [40, 17, 4], [70, 64, 2], [130, 97, 2], [
      150,
      131,
      1,
    ]]
  ) {
    const wv = randArray(batch * rows * n, seed++);
    const w = upload(gpu, wv, [batch, rows, n]);
    const rec = new Recorder(gpu);
    const g = matmul(rec, w, w, { transA: true });
    const e = eighJacobi(rec, g);
    await rec.submit();
    const [ev] = await readback(gpu, e);
    for (let b = 0; b < batch; b++) {
      const wb = ref(wv.subarray(b * rows * n, (b + 1) * rows * n), [rows, n]);
      const gram = matmulRef(wb, wb, { transA: true });
      const want = eigvalshRef(gram.data, n);
      const got = Float64Array.from(ev.subarray(b * (n + 1), b * (n + 1) + n)).sort();
      const lmax = want[n - 1];
      assertClose(`eig b=${b} ${rows}x${n}`, got, want, 1e-4 * lmax, 0); // the spec: 1e-4·λmax
      ok(ev[b * (n + 1) + n] >= 0, `matrix ${b} (${rows}x${n}) did not converge: ${ev[b * (n + 1) + n]}`);
      const trace = want.reduce((s, v) => s + v, 0);
      assertClose(
        `trace b=${b}`,
        [got.reduce((s, v) => s + v, 0)],
        [trace],
        1e-4 * lmax * Math.sqrt(n),
        1e-6,
      );
    }
  }
});

Deno.test("eighJacobi() splits sweeps into passes under lavapipe's loop cap: n = 200 converges and matches", async () => {
  const n = 200, wv = randArray(n * n, 77);
  const w = upload(gpu, wv, [n, n]);
  const rec = new Recorder(gpu);
  const e = eighJacobi(rec, matmul(rec, w, w, { transA: true }));
  await rec.submit();
  const [ev] = await readback(gpu, e);
  const want = eigvalshRef(matmulRef(ref(wv, [n, n]), ref(wv, [n, n]), { transA: true }).data, n);
  ok(ev[n] >= 0, `did not converge: ${ev[n]}`);
  assertClose("eig n=200", Float64Array.from(ev.subarray(0, n)).sort(), want, 1e-4 * want[n - 1], 0);
});

Deno.test("eighJacobi() handles zeros, identity and a rank-one matrix", async () => {
  const n = 6;
  const z = upload(gpu, new Float32Array(n * n), [n, n]);
  const id = upload(gpu, Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)), [n, n]);
  const u = [1, 2, 3, 4, 5, 6];
  const r1 = upload(gpu, Array.from({ length: n * n }, (_, i) => u[Math.floor(i / n)] * u[i % n]), [n, n]);
  const rec = new Recorder(gpu);
  const outs = [eighJacobi(rec, z), eighJacobi(rec, id), eighJacobi(rec, r1)];
  await rec.submit();
  const [zv, iv, rv] = await readback(gpu, ...outs);
  assertClose("zeros", zv.slice(0, n), new Float64Array(n), 0, 0);
  assertClose("identity", iv.slice(0, n), new Float64Array(n).fill(1), 1e-7, 0);
  assertClose("rank one", Float64Array.from(rv.slice(0, n)).sort(), [0, 0, 0, 0, 0, 91], 1e-4, 1e-6);
});
