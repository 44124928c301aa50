import { equal, throws } from "node:assert/strict";
import { activation, activationBackward, swiglu, swigluBackward } from "../../../kernels/nn/activation.ts";
import { ATTENTION_MAX_T, causalAttention, causalAttentionBackward } from "../../../kernels/nn/attention.ts";
import { dropout, dropoutKeeps } from "../../../kernels/nn/dropout.ts";
import { embedding, embeddingBackward, tokenIndex } from "../../../kernels/nn/embedding.ts";
import { mergeHeads, splitHeads, sumHeadGroups } from "../../../kernels/nn/heads.ts";
import { norm, normBackward } from "../../../kernels/nn/norm.ts";
import { tokenNll } from "../../../kernels/nn/lm_loss.ts";
import { rope, ropeTable } from "../../../kernels/nn/rope.ts";
import { Recorder } from "../../../kernels/runtime/recorder.ts";
import { readback, upload } from "../../../kernels/runtime/tensor.ts";
import { assertClose, gpu, gpuTest, randArray } from "../../_helpers.ts";
import { centralDiff, dot } from "../../_fd.ts";
import { actRef, attentionRef, embeddingRef, normRef, ropeRef } from "../../reference/transformer.ts";

const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

gpuTest("norm() LayerNorm and RMSNorm forward and backward match float64 on odd shapes", async () => {
  let seed = 10;
  for (const [R, D] of [[1, 1], [3, 5], [7, 13], [2, 64], [33, 3], [4, 130]]) {
    for (const kind of ["layer", "rms"] as const) {
      for (const withBias of kind === "layer" ? [true, false] : [false]) {
        const xv = randArray(R * D, seed++, -2, 3),
          wv = randArray(D, seed++, 0.5, 1.5),
          bv = randArray(D, seed++);
        const dyv = randArray(R * D, seed++);
        const eps = 1e-5;
        const x = upload(gpu, xv, [R, D]),
          w = upload(gpu, wv, [D]),
          b = withBias ? upload(gpu, bv, [D]) : null;
        const dy = upload(gpu, dyv, [R, D]);
        const rec = new Recorder(gpu);
        const { y, stats } = norm(rec, kind, x, w, b, eps);
        const g = normBackward(rec, kind, x, w, stats, dy, withBias);
        await rec.submit();
        const [yv, dx, dw, db] = await readback(gpu, y, g.dx, g.dw, ...(g.db ? [g.db] : []));
        const tag = `${kind} ${R}×${D}${withBias ? " bias" : ""}`;
        const X = f64(xv), W = f64(wv), Bv = f64(bv);
        assertClose(`${tag} y`, yv, normRef(kind, X, W, withBias ? Bv : null, eps), 1e-5, 1e-4);
        // D = 1 LayerNorm: the output is the bias whatever x is; dx is 0 (up to the FD noise).
        const loss = () => dot(dyv, normRef(kind, X, W, withBias ? Bv : null, eps));
        assertClose(`${tag} dx`, dx, centralDiff(X, loss, 1e-4), 2e-3, 2e-3);
        assertClose(`${tag} dw`, dw, centralDiff(W, loss, 1e-4), 2e-3, 2e-3);
        if (withBias) assertClose(`${tag} db`, db, centralDiff(Bv, loss, 1e-4), 2e-3, 2e-3);
      }
    }
  }
});

gpuTest(
  "activation() GELU (tanh and erf), SiLU, tanh and SwiGLU forward and backward match float64",
  async () => {
    let seed = 40;
    for (const n of [1, 7, 64, 1003]) {
      // Large magnitudes too: the saturating forms must not give NaN.
      const xv = randArray(n, seed++, -6, 6);
      if (n > 4) xv.set([-80, 80, 0, -0.5], 0);
      const dyv = randArray(n, seed++);
      for (const kind of ["gelu_new", "gelu_pytorch_tanh", "gelu", "silu", "tanh"] as const) {
        const x = upload(gpu, xv, [n]), dy = upload(gpu, dyv, [n]);
        const rec = new Recorder(gpu);
        const y = activation(rec, kind, x);
        const dx = activationBackward(rec, kind, dy, x);
        await rec.submit();
        const [yv, dxv] = await readback(gpu, y, dx);
        assertClose(`${kind} n=${n} y`, yv, [...xv].map((v) => actRef(kind, v)), 2e-6, 2e-5);
        const h = 1e-5;
        const d = [...xv].map((v, i) => dyv[i] * (actRef(kind, v + h) - actRef(kind, v - h)) / (2 * h));
        assertClose(`${kind} n=${n} dx`, dxv, d, 1e-4, 1e-4);
      }
      const gv = randArray(n, seed++, -5, 5), uv = randArray(n, seed++, -2, 2);
      const g = upload(gpu, gv, [n]), u = upload(gpu, uv, [n]), dy = upload(gpu, dyv, [n]);
      const rec = new Recorder(gpu);
      const y = swiglu(rec, g, u);
      const b = swigluBackward(rec, dy, g, u);
      await rec.submit();
      const [yv, dg, du] = await readback(gpu, y, b.dgate, b.dup);
      const G = f64(gv), U = f64(uv);
      const f = () => [...G].map((v, i) => actRef("silu", v) * U[i]);
      assertClose(`swiglu n=${n}`, yv, f(), 1e-5, 1e-5);
      assertClose(`swiglu n=${n} dgate`, dg, centralDiff(G, () => dot(dyv, f())), 1e-5, 1e-4);
      assertClose(`swiglu n=${n} dup`, du, centralDiff(U, () => dot(dyv, f())), 1e-5, 1e-4);
    }
    const rec = new Recorder(gpu);
    throws(() => activation(rec, "relu6" as "silu", upload(gpu, [1], [1])), /unknown activation "relu6"/);
  },
);

gpuTest(
  "embedding() gathers rows and adds positions; its backward sums repeated tokens deterministically",
  async () => {
    let seed = 70;
    for (const [B, T, V, D] of [[1, 1, 1, 1], [2, 5, 7, 3], [3, 17, 11, 64], [1, 40, 3, 5]]) {
      const idv = Array.from({ length: B * T }, (_, i) => (i * 7 + (i % 3)) % V);
      const wv = randArray(V * D, seed++),
        pv = randArray((T + 2) * D, seed++),
        dyv = randArray(B * T * D, seed++);
      const ids = upload(gpu, idv, [B, T], "i32"),
        w = upload(gpu, wv, [V, D]),
        p = upload(gpu, pv, [T + 2, D]);
      const dy = upload(gpu, dyv, [B, T, D]);
      const index = tokenIndex(gpu, idv, V);
      const rec = new Recorder(gpu);
      const y0 = embedding(rec, ids, w);
      const y1 = embedding(rec, ids, w, p);
      const dw = embeddingBackward(rec, dy, index, V);
      await rec.submit();
      const [a, b, c] = await readback(gpu, y0, y1, dw);
      assertClose(`${B}×${T} V${V} D${D} no positions`, a, embeddingRef(idv, wv, D, null, T), 0, 0);
      assertClose(`${B}×${T} V${V} D${D} positions`, b, embeddingRef(idv, wv, D, pv, T), 1e-7, 1e-7);
      const W = f64(wv);
      assertClose(
        `dW`,
        c,
        centralDiff(W, () => dot(dyv, embeddingRef(idv, W, D, null, T)), 1e-3),
        1e-4,
        1e-4,
      );
    }
    throws(() => tokenIndex(gpu, [0, 5], 5), /Token id 5 at position 1 is outside \[0, 5\)/);
  },
);

gpuTest("rope() rotates pairs as Hugging Face's rotate_half, and its inverse is the backward", async () => {
  let seed = 90;
  for (const [BH, T, hd] of [[1, 1, 2], [3, 7, 6], [2, 33, 16]]) {
    const xv = randArray(BH * T * hd, seed++), dyv = randArray(BH * T * hd, seed++);
    const table = ropeTable(gpu, T + 3, hd, 10000);
    const x = upload(gpu, xv, [BH, T, hd]), dy = upload(gpu, dyv, [BH, T, hd]);
    const rec = new Recorder(gpu);
    const y = rope(rec, x, table);
    const dx = rope(rec, dy, table, true);
    await rec.submit();
    const [yv, dxv] = await readback(gpu, y, dx);
    assertClose(`rope ${BH}×${T}×${hd}`, yv, ropeRef(xv, T, hd, 10000), 1e-6, 1e-5);
    const X = f64(xv);
    assertClose(`rope dx`, dxv, centralDiff(X, () => dot(dyv, ropeRef(X, T, hd, 10000))), 1e-5, 1e-4);
  }
  throws(() => ropeTable(gpu, 4, 5, 10000), /even head dimension/);
});

gpuTest("causalAttention() forward and backward match float64 (through splitHeads/mergeHeads)", async () => {
  let seed = 110;
  for (const [B, T, H, hd] of [[1, 1, 1, 1], [2, 5, 3, 4], [1, 19, 2, 7], [2, 70, 2, 8]]) {
    const D = H * hd, BH = B * H;
    const qkv = randArray(B * T * 3 * D, seed++, -1.5, 1.5), dov = randArray(BH * T * hd, seed++);
    const x = upload(gpu, qkv, [B, T, 3 * D]), dout = upload(gpu, dov, [BH, T, hd]);
    const rec = new Recorder(gpu);
    const q = splitHeads(rec, x, H, hd, 0),
      k = splitHeads(rec, x, H, hd, D),
      v = splitHeads(rec, x, H, hd, 2 * D);
    const { out, probs } = causalAttention(rec, q, k, v);
    const g = causalAttentionBackward(rec, q, k, v, probs, dout);
    const merged = mergeHeads(rec, [g.dq, g.dk, g.dv], B);
    const [qv, kv, vv] = await (async () => {
      await rec.submit();
      return await readback(gpu, q, k, v);
    })();
    const [ov, dqkv] = await readback(gpu, out, merged);
    const tag = `${B}×${T} H${H} hd${hd}`;
    const Q = f64(qv), K = f64(kv), Vv = f64(vv);
    // splitHeads: head h of part s is columns s·D + h·hd … of the token's row.
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < H; h++) {
          equal(qv[((b * H + h) * T + t) * hd], qkv[(b * T + t) * 3 * D + h * hd], `${tag} q`);
          equal(vv[((b * H + h) * T + t) * hd + hd - 1], qkv[(b * T + t) * 3 * D + 2 * D + h * hd + hd - 1]);
        }
      }
    }
    const f = () => attentionRef(Q, K, Vv, BH, T, hd);
    assertClose(`${tag} out`, ov, f(), 1e-5, 1e-4);
    const loss = () => dot(dov, f());
    const dq = centralDiff(Q, loss, 1e-4), dk = centralDiff(K, loss, 1e-4), dv = centralDiff(Vv, loss, 1e-4);
    // mergeHeads is splitHeads' inverse: part s of the merged rows holds dq, dk, dv.
    const expect = new Float64Array(B * T * 3 * D);
    [dq, dk, dv].forEach((part, s) => {
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          for (let t = 0; t < T; t++) {
            for (let e = 0; e < hd; e++) {
              expect[(b * T + t) * 3 * D + s * D + h * hd + e] = part[((b * H + h) * T + t) * hd + e];
            }
          }
        }
      }
    });
    assertClose(`${tag} d(qkv)`, dqkv, expect, 1e-3, 1e-3);
  }
});

gpuTest(
  "dropout() keeps each element by the counter hash, scales by 1/(1−p), and replays the same mask",
  async () => {
    const n = 5000, p = 0.3;
    const xv = randArray(n, 5, 0.5, 1.5);
    const x = upload(gpu, xv, [n]);
    const rec = new Recorder(gpu);
    const a = dropout(rec, x, p, 42, 7), b = dropout(rec, x, p, 42, 7), c = dropout(rec, x, p, 42, 8);
    const z = dropout(rec, x, 0, 42, 7);
    await rec.submit();
    const [av, bv, cv, zv] = await readback(gpu, a, b, c, z);
    assertClose("p = 0 is the identity", zv, xv, 0, 0);
    assertClose("same stream, same mask", bv, av, 0, 0);
    let kept = 0, same = 0;
    for (let i = 0; i < n; i++) {
      const keep = dropoutKeeps(42, 7, i, p);
      equal(av[i], keep ? Math.fround(xv[i] * Math.fround(1 / (1 - p))) : 0, `element ${i}`);
      kept += keep ? 1 : 0;
      same += (av[i] === 0) === (cv[i] === 0) ? 1 : 0;
    }
    // 5000 Bernoulli(0.7) draws: 3500 ± 32 (1σ); another stream agrees on ~58% of elements.
    if (Math.abs(kept - 3500) > 200) throw new Error(`kept ${kept} of ${n}, expected about 3500`);
    if (same > 0.7 * n) throw new Error(`streams 7 and 8 agree on ${same} of ${n} elements`);
    throws(() => dropout(rec, x, 1, 0, 0), /p must be in \[0, 1\)/);
  },
);

gpuTest(
  "tokenNll() gives each row's −log softmax at its target and the gradient of the scaled sum, ignoring −1",
  async () => {
    let seed = 130;
    for (const [N, V] of [[1, 1], [3, 7], [5, 64], [9, 1000], [2, 50257]]) {
      const zv = randArray(N * V, seed++, -4, 4);
      if (N * V > 10) zv[3] = 60; // a dominant logit
      const tv = Array.from({ length: N }, (_, i) => (i === 1 ? -1 : (i * 13) % V));
      const z = upload(gpu, zv, [N, V]), t = upload(gpu, tv, [N], "i32"), z2 = upload(gpu, zv, [N, V]);
      const rec = new Recorder(gpu);
      const a = tokenNll(rec, z, t);
      const b = tokenNll(rec, z2, t, 0.25);
      await rec.submit();
      const [av, bv, gv] = await readback(gpu, a, b, z2);
      const ref = new Float64Array(N), grad = new Float64Array(N * V);
      for (let r = 0; r < N; r++) {
        if (tv[r] < 0) continue;
        let m = -Infinity, s = 0;
        for (let c = 0; c < V; c++) m = Math.max(m, zv[r * V + c]);
        for (let c = 0; c < V; c++) s += Math.exp(zv[r * V + c] - m);
        const lse = m + Math.log(s);
        ref[r] = lse - zv[r * V + tv[r]];
        for (let c = 0; c < V; c++) {
          grad[r * V + c] = 0.25 * (Math.exp(zv[r * V + c] - lse) - (c === tv[r] ? 1 : 0));
        }
      }
      assertClose(`nll ${N}×${V}`, av, ref, 2e-5, 1e-5);
      assertClose(`nll+grad ${N}×${V}`, bv, ref, 2e-5, 1e-5);
      assertClose(`grad ${N}×${V}`, gv, grad, 1e-6, 1e-4);
    }
  },
);

gpuTest(
  "grouped splitHeads() gives every query head its key/value head, and sumHeadGroups() is its adjoint, on odd shapes",
  async () => {
    let seed = 300;
    for (
      const [B, T, H, g, hd] of [[1, 1, 2, 2, 1], [2, 5, 4, 2, 3], [3, 7, 6, 3, 5], [1, 9, 4, 4, 2], [
        2,
        3,
        3,
        1,
        4,
      ]]
    ) {
      const KV = H / g, W = KV * hd + 2; // two spare columns: the kv block sits at an offset
      const xs = randArray(B * T * W, seed++), dys = randArray(B * H * T * hd, seed++);
      const rec = new Recorder(gpu);
      const x = upload(gpu, xs, [B, T, W]), dy = upload(gpu, dys, [B * H, T, hd]);
      const y = splitHeads(rec, x, H, hd, 1, g);
      const s = sumHeadGroups(rec, dy, g);
      await rec.submit();
      const [yv, sv] = await readback(gpu, y, s);
      const tag = `B${B} T${T} H${H} g${g} hd${hd}`;
      equal(sv.length, B * KV * T * hd, `${tag} sum shape`);
      // Query head h reads key/value head ⌊h/g⌋; the gradient of kv head k sums its g query heads.
      const ySplit = new Float64Array(B * H * T * hd), sum = new Float64Array(B * KV * T * hd);
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          const k = Math.floor(h / g);
          for (let t = 0; t < T; t++) {
            for (let e = 0; e < hd; e++) {
              const i = ((b * H + h) * T + t) * hd + e;
              ySplit[i] = xs[(b * T + t) * W + 1 + k * hd + e];
              sum[((b * KV + k) * T + t) * hd + e] += dys[i];
            }
          }
        }
      }
      assertClose(`${tag} split`, yv, ySplit, 0, 0);
      assertClose(`${tag} sum`, sv, sum, 1e-6, 1e-6);
      // Adjoint: <split(x), dy> = <x's kv block, sum(dy)>.
      let lhs = 0, rhs = 0;
      for (let i = 0; i < ySplit.length; i++) lhs += ySplit[i] * dys[i];
      for (let b = 0; b < B; b++) {
        for (let k = 0; k < KV; k++) {
          for (let t = 0; t < T; t++) {
            for (let e = 0; e < hd; e++) {
              rhs += xs[(b * T + t) * W + 1 + k * hd + e] * sum[((b * KV + k) * T + t) * hd + e];
            }
          }
        }
      }
      assertClose(`${tag} adjoint`, [lhs], [rhs], 1e-6, 1e-6);
      for (const t of [x, dy, y, s]) t.release();
    }
    const rec = new Recorder(gpu);
    const bad = upload(gpu, randArray(5 * 2 * 3, 1), [5, 2, 3]);
    throws(() => sumHeadGroups(rec, bad, 2), /5 head blocks are not a multiple of the group 2/);
    throws(
      () => splitHeads(rec, upload(gpu, randArray(12, 1), [1, 2, 6]), 3, 2, 0, 2),
      /group 2 must divide the 3 heads/,
    );
  },
);

gpuTest(
  "causalAttention() refuses a sequence whose softmax loop would pass lavapipe's loop cap (3T − 1)",
  () => {
    equal(ATTENTION_MAX_T, 20000);
    const rec = new Recorder(gpu);
    const q = upload(gpu, new Float32Array(20001), [1, 20001, 1]);
    throws(() => causalAttention(rec, q, q, q), /a sequence of 20001 is longer than the supported 20000/);
    q.release();
  },
);
