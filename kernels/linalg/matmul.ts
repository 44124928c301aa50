/**
 * Batched matrix multiply `C = alpha · op(A) · op(B) + beta · C`, with `op` an optional transpose.
 *
 * Three kernels, chosen per adapter and shape:
 * - `direct`: each invocation reads A and B straight from storage with vec4 loads and computes a
 *   32×16 block (32×8 when N ≤ 64, 32×4 when N ≤ 32). Fastest on software adapters (lavapipe), where every storage
 *   or workgroup-memory load lowers to per-lane scalar code, so tiling through workgroup memory
 *   only adds loads. Its workgroup is one 8-lane row (8×1), so the A rows a workgroup reads are
 *   the same for every lane: the driver loads them once and broadcasts (uniform loads) instead
 *   of gathering per lane (docs/performance.md; variants in bench/tune_matmul.ts).
 *   Needs N and K (and M when A is transposed) to be multiples of 4.
 * - `tiled`: classic 64×64 workgroup tiles staged through workgroup memory, 4×4 outputs per
 *   thread; the right design on hardware GPUs. Any size.
 * - `scalar`: direct scalar loads, 4×4 outputs per thread; any size (the software fallback for
 *   shapes that are not multiples of 4).
 * @module
 */
import { prod, requireDtype, requireRank } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

/** Which matmul kernel to run. `auto` picks by adapter and shape. */
export type MatmulVariant = "auto" | "direct" | "tiled" | "scalar";

/** Options for {@link matmul}. */
export interface MatmulOptions {
  /** Use Aᵀ: A is stored (K, M). Default false. */
  transA?: boolean;
  /** Use Bᵀ: B is stored (N, K). Default false. */
  transB?: boolean;
  /** Scale of the product. Default 1. */
  alpha?: number;
  /** Scale of the existing `out` added to the product (needs `out`). Default 0. */
  beta?: number;
  /** Write into this tensor (shape (M, N) or (batch, M, N)) instead of a new one. */
  out?: Tensor;
  /** Force a kernel (tests, benchmarks). Default `auto`. */
  variant?: MatmulVariant;
  /**
   * Only the lower triangle is wanted (M = N, e.g. a Gram matrix AᵀA for a symmetric solver that
   * reads its lower triangle): output tiles wholly above the diagonal are not computed, and what
   * lies above the diagonal is undefined. Saves up to half the work. Default false.
   */
  lower?: boolean;
}

interface Dims {
  batch: number;
  M: number;
  N: number;
  K: number;
  sA: number;
  sB: number;
}

// k0, k1: the K range this pass covers (in the kernel's loop units), so that no loop runs past
// LOOP_CAP iterations (see recorder.ts); longer K is split into passes that accumulate.
// lower, bm, bn: with lower ≠ 0, tiles (bm × bn) wholly above the diagonal are skipped.
const HEADER = `struct P { groups: u32, M: u32, N: u32, K: u32, tilesN: u32, tilesM: u32,
  sA: u32, sB: u32, sC: u32, alpha: f32, beta: f32, k0: u32, k1: u32, lower: u32, bm: u32, bn: u32,
  stride: u32 }
@group(0) @binding(0) var<uniform> p: P;`;

function bindings(elem: string): string {
  return `@group(0) @binding(1) var<storage, read> A: array<${elem}>;
@group(0) @binding(2) var<storage, read> B: array<${elem}>;
@group(0) @binding(3) var<storage, read_write> C: array<${elem}>;`;
}

// Locates this invocation's workgroup tile: b (batch), ty, tx.
const LOCATE = `${WID}
  if (wid >= p.groups) { return; }
  let tpb = p.tilesN * p.tilesM;
  let b = wid / tpb;
  // With lower, tiles are visited in a scattered order (a stride coprime with the tile count), so
  // that any contiguous range of workgroups holds its share of the lower triangle's tiles.
  let t = ((wid % tpb) * p.stride) % tpb;
  let ty = t / p.tilesN;
  let tx = t % p.tilesN;
  if (p.lower != 0u && tx * p.bn > ty * p.bm + p.bm - 1u) { return; }
  let aOff = b * p.sA; let bOff = b * p.sB; let cOff = b * p.sC;`;

const XYZW = ["x", "y", "z", "w"];

/** WGSL of the `direct` kernel: TM rows × 4·TN4 columns per invocation, vec4 loads. */
export function directSource(transA: boolean, transB: boolean, TM = 32, TN4 = 4, WX = 8, WY = 1): string {
  const L: string[] = [];
  const aS = (i: number, kk: number) => transA ? `at${kk}_${i >> 2}.${XYZW[i & 3]}` : `a${i}.${XYZW[kk]}`;
  const bV = (kk: number, j: number) =>
    transB ? `vec4f(${[0, 1, 2, 3].map((c) => `bt${4 * j + c}.${XYZW[kk]}`).join(", ")})` : `b${kk}_${j}`;
  L.push(`  let K4 = p.K / 4u; let N4 = p.N / 4u; let M4 = p.M / 4u;`);
  L.push(`  let nq0 = (tx * ${WX}u + lid.x) * ${TN4}u;`);
  L.push(`  let m0 = (ty * ${WY}u + lid.y) * ${TM}u;`);
  for (let i = 0; i < TM; i++) for (let j = 0; j < TN4; j++) L.push(`  var c${i}_${j} = vec4f(0.0);`);
  if (!transA) {
    for (let i = 0; i < TM; i++) {
      L.push(`  let ar${i} = aOff + min(m0 + ${i}u, p.M - 1u) * K4;`);
    }
  }
  if (transB) {
    for (let c = 0; c < 4 * TN4; c++) L.push(`  let br${c} = bOff + min(nq0 * 4u + ${c}u, p.N - 1u) * K4;`);
  } else for (let j = 0; j < TN4; j++) L.push(`  let bc${j} = bOff + min(nq0 + ${j}u, N4 - 1u);`);
  if (transA) {
    for (let q = 0; q < TM / 4; q++) L.push(`  let ac${q} = aOff + min(m0 / 4u + ${q}u, M4 - 1u);`);
  }
  L.push(`  for (var k = p.k0; k < p.k1; k++) {`);
  if (transA) {
    for (let kk = 0; kk < 4; kk++) {
      for (let q = 0; q < TM / 4; q++) {
        L.push(`    let at${kk}_${q} = A[ac${q} + (k * 4u + ${kk}u) * M4];`);
      }
    }
  } else for (let i = 0; i < TM; i++) L.push(`    let a${i} = A[ar${i} + k];`);
  if (transB) { for (let c = 0; c < 4 * TN4; c++) L.push(`    let bt${c} = B[br${c} + k];`); }
  else {
    L.push(`    let bk = k * 4u * N4;`);
    for (let kk = 0; kk < 4; kk++) {
      for (let j = 0; j < TN4; j++) L.push(`    let b${kk}_${j} = B[bc${j} + bk + ${kk}u * N4];`);
    }
  }
  for (let i = 0; i < TM; i++) {
    for (let j = 0; j < TN4; j++) {
      let e = `c${i}_${j}`;
      for (let kk = 3; kk >= 0; kk--) e = `fma(vec4f(${aS(i, kk)}), ${bV(kk, j)}, ${e})`;
      L.push(`    c${i}_${j} = ${e};`);
    }
  }
  L.push(`  }`);
  for (let i = 0; i < TM; i++) {
    L.push(`  if (m0 + ${i}u < p.M) {`);
    for (let j = 0; j < TN4; j++) {
      L.push(`    if (nq0 + ${j}u < N4) { let o = cOff + (m0 + ${i}u) * N4 + nq0 + ${j}u;`);
      L.push(`      var r = p.alpha * c${i}_${j}; if (p.beta != 0.0) { r += p.beta * C[o]; } C[o] = r; }`);
    }
    L.push(`  }`);
  }
  return `${HEADER}\n${bindings("vec4f")}
@compute @workgroup_size(${WX}, ${WY})
fn main(${WID_ARGS}, @builtin(local_invocation_id) lid: vec3u) {
  ${LOCATE}
${L.join("\n")}
}`;
}

// Element (m, k) of op(A) and (k, n) of op(B), as WGSL index expressions.
function aIndex(transA: boolean, m: string, k: string): string {
  return transA ? `aOff + (${k}) * p.M + (${m})` : `aOff + (${m}) * p.K + (${k})`;
}
function bIndex(transB: boolean, k: string, n: string): string {
  return transB ? `bOff + (${n}) * p.K + (${k})` : `bOff + (${k}) * p.N + (${n})`;
}

const STORE_4X4 = `
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n < p.N) {
        let o = cOff + m * p.N + n;
        var r = p.alpha * acc[i][j];
        if (p.beta != 0.0) { r += p.beta * C[o]; }
        C[o] = r;
      }
    }
  }`;

/** WGSL of the `scalar` kernel: 4×4 outputs per invocation, 8×8 invocations, any size. */
export function scalarSource(transA: boolean, transB: boolean): string {
  return `${HEADER}\n${bindings("f32")}
@compute @workgroup_size(8, 8)
fn main(${WID_ARGS}, @builtin(local_invocation_id) lid: vec3u) {
  ${LOCATE}
  let n0 = (tx * 8u + lid.x) * 4u;
  let m0 = (ty * 8u + lid.y) * 4u;
  var acc: array<vec4f, 4>;
  var mr: array<u32, 4>; var nc: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) { mr[i] = min(m0 + i, p.M - 1u); nc[i] = min(n0 + i, p.N - 1u); }
  for (var k = p.k0; k < p.k1; k++) {
    let bv = vec4f(B[${bIndex(transB, "k", "nc[0]")}], B[${bIndex(transB, "k", "nc[1]")}],
                   B[${bIndex(transB, "k", "nc[2]")}], B[${bIndex(transB, "k", "nc[3]")}]);
    for (var i = 0u; i < 4u; i++) { acc[i] = fma(vec4f(A[${aIndex(transA, "mr[i]", "k")}]), bv, acc[i]); }
  }${STORE_4X4}
}`;
}

/** WGSL of the `tiled` kernel: 64×64 tiles through workgroup memory, 16×16 threads, 4×4 each. */
export function tiledSource(transA: boolean, transB: boolean): string {
  return `${HEADER}\n${bindings("f32")}
var<workgroup> As: array<array<f32, 64>, 16>;
var<workgroup> Bs: array<array<f32, 64>, 16>;
@compute @workgroup_size(16, 16)
fn main(${WID_ARGS}, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  ${LOCATE}
  let mBase = ty * 64u; let nBase = tx * 64u;
  let m0 = mBase + lid.y * 4u; let n0 = nBase + lid.x * 4u;
  var acc: array<vec4f, 4>;
  for (var k0 = p.k0; k0 < p.k1; k0 += 16u) {
    for (var e = li; e < 1024u; e += 256u) {
      let kk = e / 64u; let c = e % 64u;
      let k = k0 + kk; let m = mBase + c; let n = nBase + c;
      var av = 0.0; var bv = 0.0;
      if (k < p.K && m < p.M) { av = A[${aIndex(transA, "m", "k")}]; }
      if (k < p.K && n < p.N) { bv = B[${bIndex(transB, "k", "n")}]; }
      As[kk][c] = av; Bs[kk][c] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let bv = vec4f(Bs[kk][lid.x * 4u], Bs[kk][lid.x * 4u + 1u], Bs[kk][lid.x * 4u + 2u], Bs[kk][lid.x * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) { acc[i] = fma(vec4f(As[kk][lid.y * 4u + i]), bv, acc[i]); }
    }
    workgroupBarrier();
  }${STORE_4X4}
}`;
}

// vec4 columns per invocation of the direct kernel: 8 lanes × 4·TN4 columns should not exceed N.
function directTn4(N: number): number {
  return N <= 32 ? 1 : N <= 64 ? 2 : 4;
}

function dims(op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean): Dims {
  requireDtype(op, "a", a);
  requireDtype(op, "b", b);
  requireRank(op, "a", a, 2, 3);
  requireRank(op, "b", b, 2, 3);
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const [M, Ka] = transA ? [ac, ar] : [ar, ac];
  const [Kb, N] = transB ? [bc, br] : [br, bc];
  if (Ka !== Kb) {
    throw new TypeError(
      `${op}: inner dimensions differ: a${transA ? "ᵀ" : ""} ${fmtShape(a.shape)} has K=${Ka}, ` +
        `b${transB ? "ᵀ" : ""} ${fmtShape(b.shape)} has K=${Kb}`,
    );
  }
  const ba = a.shape.length === 3 ? a.shape[0] : 1, bb = b.shape.length === 3 ? b.shape[0] : 1;
  if (a.shape.length === 3 && b.shape.length === 3 && ba !== bb) {
    throw new TypeError(`${op}: batch sizes differ: a ${fmtShape(a.shape)}, b ${fmtShape(b.shape)}`);
  }
  const batch = Math.max(ba, bb);
  return { batch, M, N, K: Ka, sA: a.shape.length === 3 ? M * Ka : 0, sB: b.shape.length === 3 ? Ka * N : 0 };
}

/** A stride near 0.618·n that is coprime with n (so i ↦ i·stride mod n is a permutation). */
function scatterStride(n: number): number {
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  for (let s = Math.max(1, Math.round(n * 0.618)); s < 2 * n + 2; s++) if (gcd(s, n) === 1) return s;
  return 1;
}

/** The kernel `auto` picks for these sizes on this kind of adapter. */
export function pickVariant(
  software: boolean,
  d: { M: number; N: number; K: number },
  transA: boolean,
): Exclude<MatmulVariant, "auto"> {
  if (!software) return "tiled";
  const aligned = d.N % 4 === 0 && d.K % 4 === 0 && (!transA || d.M % 4 === 0);
  return aligned ? "direct" : "scalar";
}

/**
 * Records a batched matrix multiply. A is (M, K) or (batch, M, K) (stored (K, M) when
 * `transA`); B is (K, N) or (batch, K, N) (stored (N, K) when `transB`); a 2-D operand is
 * broadcast over the other's batch.
 * @param rec The recorder.
 * @param a Left operand.
 * @param b Right operand.
 * @param options Transposes, scaling, output, kernel choice.
 * @returns C: (M, N), or (batch, M, N) when either operand is 3-D.
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { getGpu, matmul, readback, Recorder, upload } from "../mod.ts";
 * const gpu = await getGpu();
 * const rec = new Recorder(gpu);
 * const a = upload(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
 * const c = matmul(rec, a, a, { transB: true }); // a·aᵀ: (2, 2)
 * await rec.submit();
 * const [values] = await readback(gpu, c);
 * deepEqual([...values], [14, 32, 32, 77]);
 * ```
 */
export function matmul(rec: Recorder, a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const { transA = false, transB = false, alpha = 1, beta = 0, out, variant = "auto", lower = false } =
    options;
  const op = `matmul a=${fmtShape(a.shape)}${transA ? "ᵀ" : ""} b=${fmtShape(b.shape)}${transB ? "ᵀ" : ""}`;
  const d = dims(op, a, b, transA, transB);
  const threeD = a.shape.length === 3 || b.shape.length === 3;
  const cShape = threeD ? [d.batch, d.M, d.N] : [d.M, d.N];
  if (out) {
    requireDtype(op, "out", out);
    if (out.size !== prod(cShape) || (out.shape.length !== cShape.length)) {
      throw new TypeError(
        `${op}: argument "out" must have shape ${fmtShape(cShape)}, got ${fmtShape(out.shape)}`,
      );
    }
    if (out.buffer === a.buffer || out.buffer === b.buffer) {
      throw new TypeError(`${op}: argument "out" must not share memory with a or b`);
    }
  } else if (beta !== 0) {
    throw new TypeError(`${op}: beta = ${beta} needs an "out" tensor to accumulate into`);
  }
  if (lower && d.M !== d.N) throw new TypeError(`${op}: "lower" needs a square product, got ${d.M}×${d.N}`);
  const c = out ?? new Tensor(rec.gpu, cShape, "f32", "matmul.out");
  const v = variant === "auto" ? pickVariant(rec.gpu.isSoftware, d, transA) : variant;
  if (v === "direct" && pickVariant(true, d, transA) !== "direct") {
    throw new RangeError(
      `${op}: the "direct" kernel needs N, K${transA ? " and M" : ""} to be multiples of 4`,
    );
  }
  const [code, bm, bn] = v === "direct"
    ? [directSource(transA, transB, 32, directTn4(d.N)), 32, 32 * directTn4(d.N)]
    : v === "tiled"
    ? [tiledSource(transA, transB), 64, 64]
    : [scalarSource(transA, transB), 32, 32];
  const tilesM = Math.ceil(d.M / bm), tilesN = Math.ceil(d.N / bn);
  // The share of output tiles computed (all, or those reaching the lower triangle).
  let share = 1;
  if (lower) {
    let run = 0;
    for (let ty = 0; ty < tilesM; ty++) run += Math.min(tilesN, Math.floor((ty * bm + bm - 1) / bn) + 1);
    share = run / (tilesM * tilesN);
  }
  const vec = v === "direct" ? 4 : 1;
  // K per pass, within LOOP_CAP: the direct kernel loops K/4 times; the others run about 5·K
  // loop iterations (a 4-step loop nested in the K loop).
  const chunk = v === "direct" ? 4 * (LOOP_CAP - 100) : Math.floor(LOOP_CAP / 6 / 16) * 16;
  for (let k = 0; k < d.K; k += chunk) {
    const kEnd = Math.min(d.K, k + chunk);
    rec.dispatch({
      op,
      kernel: `matmul_${v}${transA ? "_tA" : ""}${transB ? "_tB" : ""}`,
      code,
      work: {
        kind: `matmul${transA ? " Aᵀ" : ""}${transB ? " Bᵀ" : ""}`,
        shape: `${d.batch > 1 ? `${d.batch}× ` : ""}${d.M}×${d.K}×${d.N}`,
        flops: 2 * d.batch * d.M * d.N * (kEnd - k) * share,
      },
      groups: tilesM * tilesN * d.batch,
      params: params(
        d.M,
        d.N,
        d.K,
        tilesN,
        tilesM,
        d.sA / vec,
        d.sB / vec,
        (d.M * d.N) / vec,
        { f: alpha },
        { f: k === 0 ? beta : 1 },
        k / vec,
        kEnd / vec,
        lower ? 1 : 0,
        bm,
        bn,
        // (i·stride stays below 2³² only for fewer than 2¹⁶ tiles; beyond, tiles go in order.)
        lower && tilesM * tilesN < 65536 ? scatterStride(tilesM * tilesN) : 1,
      ),
      tensors: [a, b, c],
    });
  }
  return c;
}
