import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { accumulateColumnSquares, selectSmallest, wandaScores } from "../../kernels/prune/wanda.ts";
import { sortRows } from "../../kernels/ops/sort.ts";
import { Recorder } from "../../kernels/runtime/recorder.ts";
import { upload } from "../../kernels/runtime/tensor.ts";
import { pruneMask, rowCounts, selectSmallestCpu } from "../../prune/select.ts";
import { assertClose, gpu, gpuTest, randArray, read } from "../_helpers.ts";

/** The float64 rule: the k smallest of each row, ties by index. */
function smallestRef(s: ArrayLike<number>, rows: number, cols: number, k: ArrayLike<number>): number[] {
  const mask = new Array<number>(rows * cols).fill(0);
  for (let r = 0; r < rows; r++) {
    const idx = Array.from({ length: cols }, (_, j) => j);
    idx.sort((a, b) => s[r * cols + a] - s[r * cols + b] || a - b);
    for (let j = 0; j < k[r]; j++) mask[r * cols + idx[j]] = 1;
  }
  return mask;
}

gpuTest(
  "Wanda on the GPU: ‖X_j‖² over batches and |W|·‖X_j‖ match float64 on planted activations",
  async () => {
    const out = 5, inF = 7, tokens = [13, 4];
    // Planted: column 2 carries large activations, column 5 none, the rest noise.
    const batches = tokens.map((n, b) =>
      Float32Array.from({ length: n * inF }, (_, i) => {
        const j = i % inF;
        return j === 2 ? 10 + (i % 3) : j === 5 ? 0 : Math.sin(i * 1.7 + b);
      })
    );
    const w = randArray(out * inF, 3);
    const acc = upload(gpu, new Float32Array(inF), [inF]);
    for (const [b, x] of batches.entries()) {
      const xt = upload(gpu, x, [tokens[b], inF]);
      const rec = new Recorder(gpu);
      accumulateColumnSquares(rec, xt, acc);
      await rec.submit();
      xt.release();
    }
    const norms = new Float64Array(inF);
    for (const x of batches) for (let i = 0; i < x.length; i++) norms[i % inF] += x[i] * x[i];
    assertClose("‖X_j‖²", await read(acc), norms, 1e-6, 1e-6);
    const wt = upload(gpu, w, [out, inF]);
    const rec = new Recorder(gpu);
    const s = wandaScores(rec, wt, acc);
    await rec.submit();
    const want = Float64Array.from(w, (v, i) => Math.abs(v) * Math.sqrt(norms[i % inF]));
    assertClose("scores", await read(s), want, 1e-6, 1e-6);
    // The planted column-5 weights score 0 and are pruned first; column 2's survive at 50%.
    const mask = await pruneMask(gpu, w, out, inF, 0.5, { score: "wanda", norms: Float32Array.from(norms) });
    for (let r = 0; r < out; r++) {
      equal(mask[r * inF + 5], 1, `row ${r}: the dead input's weight is pruned`);
      equal(mask[r * inF + 2], 0, `row ${r}: the loud input's weight is kept`);
    }
    for (const t of [acc, wt, s]) t.release();
  },
);

gpuTest(
  "accumulateColumnSquares counts every row of a calibration batch longer than lavapipe's loop cap (130,001 tokens)",
  async () => {
    const rows = 130_001, cols = 3;
    // Row r holds 1 in column r % 3, and the last row 2 everywhere: a truncated loop misses counts.
    const x = new Float32Array(rows * cols);
    for (let r = 0; r < rows - 1; r++) x[r * cols + (r % cols)] = 1;
    x.fill(2, (rows - 1) * cols);
    const want = [0, 1, 2].map((j) => Math.floor((rows - 1 - j + cols - 1) / cols) + 4);
    const xt = upload(gpu, x, [rows, cols]), acc = upload(gpu, [0.5, 0, 0], [cols]);
    const rec = new Recorder(gpu);
    accumulateColumnSquares(rec, xt, acc);
    await rec.submit();
    deepEqual([...await read(acc)], [want[0] + 0.5, want[1], want[2]]);
    xt.release();
    acc.release();
  },
);

gpuTest(
  "selectSmallest marks exactly k per row (ties by index) as float64 sorting does: odd sizes, 1×N, k 0 and cols",
  async () => {
    const cases: [number, number, number[] | null][] = [
      [3, 5, [0, 2, 5]],
      [1, 1, [1]],
      [1, 300, [137]],
      [4, 33, null],
      [2, 8, [3, 8]],
    ];
    for (const [rows, cols, ks] of cases) {
      // Scores with many ties (a few distinct values) and zeros.
      const s = Float32Array.from(
        { length: rows * cols },
        (_, i) => Math.floor(Math.abs(Math.sin(i * 3.1)) * 4) / 4,
      );
      const k = Uint32Array.from(ks ?? Array.from({ length: rows }, (_, r) => (r * 7) % (cols + 1)));
      const st = upload(gpu, s, [rows, cols]);
      const kt = upload(gpu, k, [rows], "u32");
      const rec = new Recorder(gpu);
      const m = selectSmallest(rec, st, sortRows(rec, st), kt);
      await rec.submit();
      const want = smallestRef(s, rows, cols, k);
      deepEqual([...await read(m)], want, `${rows}×${cols}`);
      deepEqual([...selectSmallestCpu(s, rows, cols, k)], want, `${rows}×${cols} cpu`);
      for (const t of [st, kt, m]) t.release();
    }
  },
);

gpuTest(
  "pruneMask zeroes round(n·s) weights: magnitude layer-wide, Wanda spread over rows within one; CPU fallback agrees",
  async () => {
    const rows = 9, cols = 23, n = rows * cols;
    const w = randArray(n, 11);
    const norms = randArray(cols, 12, 0.1, 4);
    for (const s of [0.1, 0.37, 0.5, 0.8, 0.999]) {
      const K = Math.round(n * s);
      const mag = await pruneMask(gpu, w, rows, cols, s);
      equal(mag.reduce((a, b) => a + b, 0), K);
      // Every pruned |w| is ≤ every kept one.
      let maxPruned = 0, minKept = Infinity;
      mag.forEach((m, i) =>
        m ? (maxPruned = Math.max(maxPruned, Math.abs(w[i]))) : (minKept = Math.min(minKept, Math.abs(w[i])))
      );
      ok(maxPruned <= minKept, `s=${s}`);
      const wan = await pruneMask(gpu, w, rows, cols, s, { score: "wanda", norms });
      equal(wan.reduce((a, b) => a + b, 0), K);
      for (let r = 0; r < rows; r++) {
        const c = wan.subarray(r * cols, (r + 1) * cols).reduce((a, b) => a + b, 0);
        ok(Math.abs(c - cols * s) < 1, `row ${r}: ${c} vs ${cols * s}`);
      }
      // A binding too small for one row sends the layer to the CPU: the same masks.
      deepEqual(await pruneMask(gpu, w, rows, cols, s, { bindingLimit: 64 }), mag);
      deepEqual(await pruneMask(gpu, w, rows, cols, s, { score: "wanda", norms, bindingLimit: 64 }), wan);
      // Rows batched two per binding: the same.
      deepEqual(
        await pruneMask(gpu, w, rows, cols, s, { score: "wanda", norms, bindingLimit: 2 * 32 * 4 }),
        wan,
      );
    }
    // Many ties (BF16-like coarse values, zeros): the row-sorted layer-wide selection is the one sort
    // of the whole layer by (|w|, index) would make.
    const coarse = Float32Array.from(w, (v) => Math.round(v * 4) / 4);
    for (const s of [0.2, 0.5, 0.77]) {
      deepEqual(
        await pruneMask(gpu, coarse, rows, cols, s),
        selectSmallestCpu(coarse.map(Math.abs), 1, n, rowCounts(1, n, s)),
      );
    }
    deepEqual([...rowCounts(4, 10, 0.45)], [5, 5, 4, 4]);
    const bad = Float32Array.from(w);
    bad[30] = NaN;
    await rejects(pruneMask(gpu, bad, rows, cols, 0.5, { name: "h.0.mlp" }), /h\.0\.mlp: weight 1,7 is NaN/);
    await rejects(
      pruneMask(gpu, w, rows, cols, 0.5, { score: "wanda", name: "q" }),
      /q: Wanda needs 23 input norms/,
    );
  },
);
