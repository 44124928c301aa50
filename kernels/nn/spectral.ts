/**
 * Fourier layers of neural operators (PDEBench's `SpectralConv1d` and `SpectralConv2d_fast`), forward
 * and backward, on channels-last activations: y = irfft(W · rfft(x) restricted to the low modes).
 *
 * Only the kept modes are ever computed, as truncated DFTs: small constant tables (float64
 * trigonometry rounded once to float32) applied along one grid axis at a time ({@link contractAxis}):
 * 2D, x (B, N1, N2, C): y-DFT (2·m2 × N2) per row → x-DFT (2·K1 × N1) per sample, K1 = 2·m1 kept
 * kx (0…m1−1 and N1−m1…N1−1, PDEBench's `weights1` and `weights2`), → per-mode complex mixing with the
 * weights (this file's kernels) → inverse x-DFT → inverse real y-DFT (c2r: the zero and Nyquist
 * columns counted once, their imaginary parts dropped as `irfft2` drops them).
 * 1D, x (B, N, C): DFT (2·m × N) → mixing → inverse real DFT.
 *
 * Complex weights are stored interleaved, (C_in, C_out, modes…, 2) with (re, im) last: the memory
 * layout of PyTorch's `cfloat` and of safetensors' `C64`.
 * @module
 */
import { requireDtype, requireRank, requireShape } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor, upload } from "../runtime/tensor.ts";
import type { Gpu } from "../runtime/runtime.ts";

/** The DFT tables of one axis, cached per GPU and size: forward, inverse, and their transposes (the backward). */
interface AxisTables {
  /** Forward, (rows, n). */
  fwd: AxisTable;
  /** Inverse, (n, rows). */
  inv: AxisTable;
  /** Forward transposed, (n, rows). */
  fwdT: AxisTable;
  /** Inverse transposed, (rows, n). */
  invT: AxisTable;
}

const tables = new WeakMap<Gpu, Map<string, AxisTables>>();

/** The kept frequencies of a full complex axis: 0…m−1 then n−m…n−1 (PyTorch's `[:m]` and `[-m:]`). */
export function keptModes(n: number, m: number): number[] {
  return [...Array.from({ length: m }, (_, k) => k), ...Array.from({ length: m }, (_, k) => n - m + k)];
}

/**
 * Tables of a real axis (rfft/irfft over `n` points keeping frequencies 0…m−1):
 * fwd (2m, n) = [cos; −sin], inv (n, 2m) = [c·cos/n, −c·sin/n] with c = 1 at 0 and n/2, else 2.
 * Tables of a complex axis (kept frequencies {@link keptModes}, K = 2m of them):
 * fwd (2K, n) = [cos; sin], inv (n, 2K) = [cos/n, sin/n].
 */
export function dftTables(
  kind: "real" | "complex",
  n: number,
  m: number,
): { fwd: Float64Array; inv: Float64Array } {
  const freqs = kind === "real" ? Array.from({ length: m }, (_, k) => k) : keptModes(n, m);
  const K = freqs.length;
  const fwd = new Float64Array(2 * K * n), inv = new Float64Array(n * 2 * K);
  for (let k = 0; k < K; k++) {
    const c = kind === "complex" ? 1 : freqs[k] === 0 || 2 * freqs[k] === n ? 1 : 2;
    for (let x = 0; x < n; x++) {
      // The angle reduced exactly in integers first: cos/sin of 2π·(f·x mod n)/n.
      const a = (2 * Math.PI * ((freqs[k] * x) % n)) / n;
      const cs = Math.cos(a), sn = Math.sin(a);
      fwd[k * n + x] = cs;
      fwd[(K + k) * n + x] = kind === "real" ? -sn : sn;
      inv[x * 2 * K + k] = (c * cs) / n;
      inv[x * 2 * K + K + k] = ((kind === "real" ? -c : c) * sn) / n;
    }
  }
  return { fwd, inv };
}

function axisTables(gpu: Gpu, kind: "real" | "complex", n: number, m: number): AxisTables {
  let byGpu = tables.get(gpu);
  if (!byGpu) tables.set(gpu, byGpu = new Map());
  const key = `${kind}:${n}:${m}`;
  let t = byGpu.get(key);
  if (!t) {
    const { fwd, inv } = dftTables(kind, n, m);
    const R = 2 * (kind === "real" ? m : 2 * m);
    const tr = (v: Float64Array, rows: number, cols: number) =>
      Float64Array.from({ length: v.length }, (_, i) => v[(i % rows) * cols + Math.floor(i / rows)]);
    t = {
      fwd: axisTable(gpu, fwd, R, n, `dft.${key}.fwd`),
      inv: axisTable(gpu, inv, n, R, `dft.${key}.inv`),
      fwdT: axisTable(gpu, tr(fwd, R, n), n, R, `dft.${key}.fwdT`),
      invT: axisTable(gpu, tr(inv, n, R), R, n, `dft.${key}.invT`),
    };
    byGpu.set(key, t);
  }
  return t;
}

// ---- DFT along one axis ------------------------------------------------------------------------
// out[a, k, c] = Σ_n T[k, n] · x[a, n, c], T stored transposed, (N, Kp) with Kp a multiple of 8 (zero
// columns past K). One invocation computes 8 rows k and four consecutive c: per step of n, two vec4
// loads of the table and one of x feed 32 FMAs (on software adapters loads and loop steps, not
// arithmetic, are the cost). The batched matmul would do the same
// work, but its tiles are built for large operands and its vector kernels need K and N multiples of
// 4, which the padded grids (34, 66, 130 points) are not.
function contractCode(vec: boolean, R: number, Q: number, WG: number): string {
  const T = vec ? "vec4<f32>" : "f32";
  const rows = Array.from({ length: R }, (_, j) => j), cols = Array.from({ length: Q }, (_, q) => q);
  return `struct P { groups: u32, n: u32, K: u32, N: u32, C: u32, KB: u32, CB: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> t: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<${T}>;
@group(0) @binding(3) var<storage, read_write> y: array<${T}>;
@compute @workgroup_size(${WG})
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * ${WG}u + li;
  if (i >= p.n) { return; }
  let cb = i % p.CB;
  let kb = (i / p.CB) % p.KB;
  let a = i / (p.CB * p.KB);
  let c0 = cb * ${Q}u;
  ${rows.flatMap((j) => cols.map((q) => `var a${j}_${q} = ${T}(0.0);`)).join(" ")}
  let k0 = kb * ${R}u;
  let Kp4 = p.KB * ${R / 4}u;
  for (var m = 0u; m < p.N; m++) {
    let xb = (a * p.N + m) * p.C;
    ${cols.map((q) => `let v${q} = x[xb + min(c0 + ${q}u, p.C - 1u)];`).join(" ")}
    let tb = m * Kp4 + k0 / 4u;
    ${Array.from({ length: R / 4 }, (_, q) => `let t${q} = t[tb + ${q}u];`).join(" ")}
    ${
    rows.flatMap((j) =>
      cols.map((q) => `a${j}_${q} = fma(${T}(t${j >> 2}.${"xyzw"[j % 4]}), v${q}, a${j}_${q});`)
    )
      .join("\n    ")
  }
  }
  let base = a * p.K;
  ${
    rows.map((j) =>
      `if (k0 + ${j}u < p.K) { ${
        cols.map((q) => `if (c0 + ${q}u < p.C) { y[(base + k0 + ${j}u) * p.C + c0 + ${q}u] = a${j}_${q}; }`)
          .join(" ")
      } }`
    ).join("\n  ")
  }
}`;
}

/**
 * Blocking of {@link contractAxis}: table rows × vec4 columns per invocation, invocations per
 * workgroup. Software adapters (lavapipe) pay per load, not per FMA: large register blocks and few
 * invocations (measured best of 15 settings at the FNO's shapes); hardware GPUs want many light
 * invocations.
 */
export const CONTRACT_TUNING = {
  software: { rows: 24, cols: 8, workgroup: 8 },
  hardware: { rows: 8, cols: 1, workgroup: 64 },
};

/** A table prepared for {@link contractAxis}: its transpose (N, Kp) in float32 on the GPU, columns past K zero. */
export interface AxisTable {
  /** The padded transpose. */
  t: Tensor;
  /** Its rows K. */
  K: number;
  /** Its columns N. */
  N: number;
}

/**
 * Uploads a table (K, N) for {@link contractAxis}: transposed, rows padded with zeros to a multiple of the
 * adapter's blocking ({@link CONTRACT_TUNING}).
 * @param gpu The GPU.
 * @param values K·N values, row-major (float64 is rounded once).
 * @param K Rows.
 * @param N Columns.
 * @param name The tensor's name.
 * @returns The table.
 */
export function axisTable(
  gpu: Gpu,
  values: ArrayLike<number>,
  K: number,
  N: number,
  name: string,
): AxisTable {
  const { rows } = CONTRACT_TUNING[gpu.isSoftware ? "software" : "hardware"];
  const Kp = Math.ceil(K / rows) * rows;
  const padded = new Float32Array(N * Kp);
  for (let k = 0; k < K; k++) for (let m = 0; m < N; m++) padded[m * Kp + k] = values[k * N + m];
  return { t: upload(gpu, padded, [N, Kp], "f32", name), K, N };
}

/**
 * Records out[a, k, c] = Σ_n T[k, n]·x[a, n, c]: a small table applied along the middle axis of a
 * batch (a DFT along one grid axis).
 * @param rec The recorder.
 * @param table T, from {@link axisTable}.
 * @param x (A, N, C).
 * @returns (A, K, C).
 */
export function contractAxis(rec: Recorder, table: AxisTable, x: Tensor): Tensor {
  const op = `contractAxis table=${table.K}×${table.N} x=${fmtShape(x.shape)}`;
  requireDtype(op, "x", x);
  requireRank(op, "x", x, 3);
  const [A, N, C] = x.shape, K = table.K;
  if (table.N !== N) {
    throw new TypeError(`${op}: the table's ${table.N} columns do not match the axis of ${N}`);
  }
  const y = new Tensor(rec.gpu, [A, K, C], "f32", "dft.out");
  const tune = CONTRACT_TUNING[rec.gpu.isSoftware ? "software" : "hardware"];
  const R = tune.rows, WG = tune.workgroup;
  if (table.t.shape[1] % R) throw new RangeError(`${op}: the table was made for another adapter's blocking`);
  const vec = C % 4 === 0, Cv = vec ? C / 4 : C, KB = Math.ceil(K / R);
  const Q = Math.min(tune.cols, Cv), CB = Math.ceil(Cv / Q), n = A * KB * CB;
  rec.dispatch({
    op,
    kernel: `contract_axis${vec ? "_vec4" : ""}_${R}_${Q}_${WG}`,
    code: contractCode(vec, R, Q, WG),
    groups: Math.ceil(n / WG),
    params: params(n, K, N, Cv, KB, CB),
    tensors: [table.t, x, y],
    work: { kind: "dft", shape: `${A}×(${K}×${N})×${C}`, flops: 2 * A * K * N * C },
  });
  return y;
}

// ---- 2D mode mixing --------------------------------------------------------------------------
// P (B, 2K1, 2·m2·C): rows k < K1 hold [C·Ar | C·Ai], rows K1 + k hold [S·Ar | S·Ai] (C, S: the
// x-DFT's cos and sin rows applied to the y-DFT's real and imaginary parts), so
// X = (C·Ar + S·Ai) + i(C·Ai − S·Ar). T (B, 2K1, 2·m2·O): rows k hold [Or | Oi], rows K1 + k hold
// [−Oi | Or], which the inverse x-DFT turns into [Br | Bi] with one matmul.
// One generator for the forward mixing and its input gradient, which have the same shape: for each
// kept mode, out[b, j] = Σ_i in[b, i]·W(i, j) with W the weight (forward) or its conjugate transpose
// (dX). An invocation computes a block of JB outputs for BB batch elements of one mode (k, ky): each
// weight load serves BB elements and each input load JB outputs (software adapters pay per load).
// Consecutive invocations take consecutive ky, so their weight loads are adjacent in PyTorch's
// (C, O, m1, m2) layout. Input and output layouts: the forward reads P (rows k hold [C·Ar | C·Ai], rows
// K1 + k [S·Ar | S·Ai], so X = (C·Ar + S·Ai) + i(C·Ai − S·Ar)) and writes T (rows k [Or | Oi], rows
// K1 + k [−Oi | Or], which the inverse x-DFT turns into [Br | Bi] with one pass); dX reads dT, with
// dO = (dT[k][re] + dT[K1+k][im]) + i(dT[k][im] − dT[K1+k][re]), and writes dP in P's layout:
// d(C·Ar) = d(S·Ai) = dXr, d(C·Ai) = dXi, d(S·Ar) = −dXi.
function mixCode(JB: number, BB: number, grad: boolean): string {
  const js = Array.from({ length: JB }, (_, j) => j), bs = Array.from({ length: BB }, (_, j) => j);
  // forward: in = C channels (x), out = O (t), weight index (i, j); dX: in = O (dt), out = C (dx), (j, i)
  const [IN, OUT] = grad ? ["p.O", "p.C"] : ["p.C", "p.O"];
  const widx = (i: string, j: string) =>
    grad
      ? `(((${j} * p.O + ${i}) * p.m1 + kk) * p.m2 + ky) * 2u`
      : `(((${i} * p.O + ${j}) * p.m1 + kk) * p.m2 + ky) * 2u`;
  // forward: (xr·wr − xi·wm, xr·wm + xi·wr); dX: (gr·wr + gi·wm, gi·wr − gr·wm)
  const acc = (b: number, j: number) =>
    grad
      ? `re${b}_${j} = fma(ur${b}, wr${j}, fma(ui${b}, wm${j}, re${b}_${j})); im${b}_${j} = fma(ui${b}, wr${j}, fma(-ur${b}, wm${j}, im${b}_${j}));`
      : `re${b}_${j} = fma(ur${b}, wr${j}, fma(-ui${b}, wm${j}, re${b}_${j})); im${b}_${j} = fma(ur${b}, wm${j}, fma(ui${b}, wr${j}, im${b}_${j}));`;
  const loop = (w: string) =>
    `for (var i = 0u; i < ${IN}; i++) {
    ${
      js.map((j) =>
        `let wi${j} = ${
          widx("i", `min(j0 + ${j}u, ${OUT} - 1u)`)
        }; let wr${j} = ${w}[wi${j}]; let wm${j} = ${w}[wi${j} + 1u];`
      ).join("\n    ")
    }
    ${
      bs.map((b) =>
        `let a${b} = bases${b} + ky * ${IN} + i;
    let ur${b} = src[a${b}] + src[a${b} + so + hs]; let ui${b} = src[a${b} + hs] - src[a${b} + so];`
      ).join("\n    ")
    }
    ${bs.flatMap((b) => js.map((j) => acc(b, j))).join("\n    ")}
  }`;
  return `struct P { groups: u32, n: u32, K1: u32, m1: u32, m2: u32, C: u32, O: u32, JBS: u32, B: u32, BBS: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> w1: array<f32>;
@group(0) @binding(3) var<storage, read> w2: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let gi = wid * 64u + li;
  if (gi >= p.n) { return; }
  // gi = ((bb·K1 + k)·JBS + jb)·m2 + ky
  let ky = gi % p.m2;
  let jb = (gi / p.m2) % p.JBS;
  let k = (gi / (p.m2 * p.JBS)) % p.K1;
  let bb = gi / (p.m2 * p.JBS * p.K1);
  let j0 = jb * ${JB}u;
  let kk = k % p.m1;
  // A sample's row k holds [re | im] halves of hs values each; its row K1 + k sits so further.
  let hs = p.m2 * ${IN};
  let so = p.K1 * 2u * hs;
  ${
    bs.map((b) =>
      `let b${b} = min(bb * ${BB}u + ${b}u, p.B - 1u); let bases${b} = (b${b} * 2u * p.K1 + k) * 2u * hs;`
    ).join("\n  ")
  }
  ${bs.flatMap((b) => js.map((j) => `var re${b}_${j} = 0.0; var im${b}_${j} = 0.0;`)).join(" ")}
  if (k < p.m1) {
  ${loop("w1")}
  } else {
  ${loop("w2")}
  }
  let ho = p.m2 * ${OUT};
  ${
    bs.map((b) =>
      `if (bb * ${BB}u + ${b}u < p.B) {
    let top = (b${b} * 2u * p.K1 + k) * 2u * ho;
    let bot = (b${b} * 2u * p.K1 + p.K1 + k) * 2u * ho;
    ${
        js.map((j) =>
          `if (j0 + ${j}u < ${OUT}) { let a = ky * ${OUT} + j0 + ${j}u; dst[top + a] = re${b}_${j}; dst[top + ho + a] = im${b}_${j}; dst[bot + a] = -im${b}_${j}; dst[bot + ho + a] = re${b}_${j}; }`
        ).join("\n    ")
      }
  }`
    ).join("\n  ")
  }
}`;
}

/** Channels and batch elements per invocation of the mode-mixing kernels. */
const MIX_BLOCK = 8, MIX_BATCH = 4;

// dW[c, o, kk, ky] = Σ_b dO·conj(X), for weights1 (k = kk) and weights2 (k = m1 + kk) in one pass.
// Blocked BC input × BO output channels per invocation: per batch element, BC + BO complex loads feed
// BC·BO complex FMAs. Invocation order: ky fastest (adjacent weights), then the channel blocks, then k.
function mix2DwCode(BC: number, BO: number): string {
  const cs = Array.from({ length: BC }, (_, j) => j), os = Array.from({ length: BO }, (_, j) => j);
  const pairs = cs.flatMap((c) => os.map((o) => [c, o] as const));
  return `struct P { groups: u32, n: u32, K1: u32, m1: u32, m2: u32, C: u32, O: u32, B: u32, CBS: u32, OBS: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dt: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw1: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw2: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 64u + li;
  if (i >= p.n) { return; }
  // i = ((k·CBS + cb)·OBS + ob)·m2 + ky
  let ky = i % p.m2;
  let ob = (i / p.m2) % p.OBS;
  let cb = (i / (p.m2 * p.OBS)) % p.CBS;
  let k = i / (p.m2 * p.OBS * p.CBS);
  let c0 = cb * ${BC}u;
  let o0 = ob * ${BO}u;
  let ho = p.m2 * p.O;
  let hx = p.m2 * p.C;
  ${pairs.map(([c, o]) => `var re${c}_${o} = 0.0; var im${c}_${o} = 0.0;`).join(" ")}
  for (var b = 0u; b < p.B; b++) {
    let top = (b * 2u * p.K1 + k) * 2u * ho + ky * p.O;
    let bot = (b * 2u * p.K1 + p.K1 + k) * 2u * ho + ky * p.O;
    let rowC = (b * 2u * p.K1 + k) * 2u * hx + ky * p.C;
    let rowS = (b * 2u * p.K1 + p.K1 + k) * 2u * hx + ky * p.C;
    ${
    os.map((o) =>
      `let ao${o} = min(o0 + ${o}u, p.O - 1u); let gr${o} = dt[top + ao${o}] + dt[bot + ho + ao${o}]; let gi${o} = dt[top + ho + ao${o}] - dt[bot + ao${o}];`
    ).join("\n    ")
  }
    ${
    cs.map((c) =>
      `let ax${c} = min(c0 + ${c}u, p.C - 1u); let xr${c} = x[rowC + ax${c}] + x[rowS + hx + ax${c}]; let xi${c} = x[rowC + hx + ax${c}] - x[rowS + ax${c}];`
    ).join("\n    ")
  }
    ${
    pairs.map(([c, o]) =>
      `re${c}_${o} = fma(gr${o}, xr${c}, fma(gi${o}, xi${c}, re${c}_${o})); im${c}_${o} = fma(gi${o}, xr${c}, fma(-gr${o}, xi${c}, im${c}_${o}));`
    ).join("\n    ")
  }
  }
  let kk = k % p.m1;
  ${
    pairs.map(([c, o]) =>
      `if (c0 + ${c}u < p.C && o0 + ${o}u < p.O) { let wi = ((((c0 + ${c}u) * p.O + o0 + ${o}u) * p.m1 + kk) * p.m2 + ky) * 2u;
    if (k < p.m1) { dw1[wi] = re${c}_${o}; dw1[wi + 1u] = im${c}_${o}; } else { dw2[wi] = re${c}_${o}; dw2[wi + 1u] = im${c}_${o}; } }`
    ).join("\n  ")
  }
}`;
}

// ---- 1D mode mixing --------------------------------------------------------------------------
// A (B, 2m, C): rows k hold Xr, rows m + k hold Xi; T (B, 2m, O) likewise for O.
const MIX1 = `struct P { groups: u32, n: u32, m: u32, C: u32, O: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> t: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 64u + li;
  if (i >= p.n) { return; }
  let o = i % p.O;
  let k = (i / p.O) % p.m;
  let b = i / (p.O * p.m);
  var re = 0.0;
  var im = 0.0;
  for (var c = 0u; c < p.C; c++) {
    let xr = x[(b * 2u * p.m + k) * p.C + c];
    let xi = x[(b * 2u * p.m + p.m + k) * p.C + c];
    let wi = ((c * p.O + o) * p.m + k) * 2u;
    re += xr * w[wi] - xi * w[wi + 1u];
    im += xr * w[wi + 1u] + xi * w[wi];
  }
  t[(b * 2u * p.m + k) * p.O + o] = re;
  t[(b * 2u * p.m + p.m + k) * p.O + o] = im;
}`;

const MIX1_DX = `struct P { groups: u32, n: u32, m: u32, C: u32, O: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dt: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 64u + li;
  if (i >= p.n) { return; }
  let c = i % p.C;
  let k = (i / p.C) % p.m;
  let b = i / (p.C * p.m);
  var re = 0.0;
  var im = 0.0;
  for (var o = 0u; o < p.O; o++) {
    let gr = dt[(b * 2u * p.m + k) * p.O + o];
    let gi = dt[(b * 2u * p.m + p.m + k) * p.O + o];
    let wi = ((c * p.O + o) * p.m + k) * 2u;
    re += gr * w[wi] + gi * w[wi + 1u];
    im += gi * w[wi] - gr * w[wi + 1u];
  }
  dx[(b * 2u * p.m + k) * p.C + c] = re;
  dx[(b * 2u * p.m + p.m + k) * p.C + c] = im;
}`;

const MIX1_DW = `struct P { groups: u32, n: u32, m: u32, C: u32, O: u32, B: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dt: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@compute @workgroup_size(64)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 64u + li;
  if (i >= p.n) { return; }
  // i = (c·O + o)·m + k
  let k = i % p.m;
  let o = (i / p.m) % p.O;
  let c = i / (p.m * p.O);
  var re = 0.0;
  var im = 0.0;
  for (var b = 0u; b < p.B; b++) {
    let gr = dt[(b * 2u * p.m + k) * p.O + o];
    let gi = dt[(b * 2u * p.m + p.m + k) * p.O + o];
    let xr = x[(b * 2u * p.m + k) * p.C + c];
    let xi = x[(b * 2u * p.m + p.m + k) * p.C + c];
    re += gr * xr + gi * xi;
    im += gi * xr - gr * xi;
  }
  dw[i * 2u] = re;
  dw[i * 2u + 1u] = im;
}`;

/** What the forward keeps for the backward: the input's kept modes (owned by the caller). */
export interface SpectralSaved {
  /** The mode coefficients (2D: P; 1D: A — see the kernels' layouts). */
  modes: Tensor;
}

function check2d(
  op: string,
  x: Tensor,
  w1: Tensor,
  w2: Tensor,
): { B: number; N1: number; N2: number; C: number; O: number; m1: number; m2: number } {
  requireDtype(op, "x", x);
  requireRank(op, "x", x, 4);
  requireRank(op, "weights1", w1, 5);
  requireShape(op, "weights2", w2, w1.shape);
  const [B, N1, N2, C] = x.shape;
  const [Ci, O, m1, m2, two] = w1.shape;
  if (Ci !== C || two !== 2) {
    throw new TypeError(
      `${op}: weights ${fmtShape(w1.shape)} do not fit (C_in=${C}, C_out, m1, m2, 2) for x ${
        fmtShape(x.shape)
      }`,
    );
  }
  if (2 * m1 > N1 || m2 > Math.floor(N2 / 2) + 1) {
    throw new RangeError(
      `${op}: ${m1}×${m2} modes do not fit a ${N1}×${N2} grid (need 2·m1 ≤ ${N1}, m2 ≤ ${
        Math.floor(N2 / 2) + 1
      })`,
    );
  }
  return { B, N1, N2, C, O, m1, m2 };
}

/**
 * Records a 2D spectral convolution (PDEBench's `SpectralConv2d_fast`) on channels-last input.
 * @param rec The recorder.
 * @param x (B, N1, N2, C).
 * @param w1 `weights1` (C, O, m1, m2, 2): modes kx = 0…m1−1.
 * @param w2 `weights2` (C, O, m1, m2, 2): modes kx = N1−m1…N1−1.
 * @param op The layer's name for errors.
 * @returns y (B, N1, N2, O) and what the backward needs (release `saved.modes` after it).
 */
export function spectralConv2d(
  rec: Recorder,
  x: Tensor,
  w1: Tensor,
  w2: Tensor,
  op = "spectralConv2d",
): { y: Tensor; saved: SpectralSaved } {
  const { B, N1, N2, C, O, m1, m2 } = check2d(op, x, w1, w2);
  const K1 = 2 * m1;
  const ty = axisTables(rec.gpu, "real", N2, m2), tx = axisTables(rec.gpu, "complex", N1, m1);
  const a = contractAxis(rec, ty.fwd, x.reshape([B * N1, N2, C])); // (B·N1, 2m2, C)
  const modes = contractAxis(rec, tx.fwd, a.reshape([B, N1, 2 * m2 * C])); // (B, 2K1, 2m2C)
  rec.after(() => a.release());
  const t = new Tensor(rec.gpu, [B, 2 * K1, 2 * m2 * O], "f32", `${op}.modes_out`);
  const JB = Math.min(MIX_BLOCK, O),
    JBS = Math.ceil(O / JB),
    BB = Math.min(MIX_BATCH, B),
    BBS = Math.ceil(B / BB);
  const n = BBS * K1 * JBS * m2;
  rec.dispatch({
    op: `${op} x=${fmtShape(x.shape)}`,
    kernel: `spectral_mix2d_${JB}_${BB}`,
    code: mixCode(JB, BB, false),
    groups: Math.ceil(n / 64),
    params: params(n, K1, m1, m2, C, O, JBS, B, BBS),
    tensors: [modes, w1, w2, t],
    work: { kind: "spectral mix", shape: `${B}×${K1}×${m2}×${C}→${O}`, flops: 8 * B * K1 * m2 * O * C },
  });
  const bq = contractAxis(rec, tx.inv, t); // (B, N1, 2m2O)
  rec.after(() => t.release());
  const y = contractAxis(rec, ty.inv, bq.reshape([B * N1, 2 * m2, O])); // (B·N1, N2, O)
  rec.after(() => bq.release());
  return { y: y.reshape([B, N1, N2, O]), saved: { modes } };
}

/**
 * Records the backward of {@link spectralConv2d}.
 * @param rec The recorder.
 * @param saved What the forward returned (not released here).
 * @param w1 `weights1`.
 * @param w2 `weights2`.
 * @param dy dL/dy (B, N1, N2, O).
 * @param op The layer's name for errors.
 * @returns dx (B, N1, N2, C), dw1 and dw2 (C, O, m1, m2, 2).
 */
export function spectralConv2dBackward(
  rec: Recorder,
  saved: SpectralSaved,
  w1: Tensor,
  w2: Tensor,
  dy: Tensor,
  op = "spectralConv2d",
): { dx: Tensor; dw1: Tensor; dw2: Tensor } {
  requireRank(`${op} backward`, "dy", dy, 4);
  const [B, N1, N2, O] = dy.shape;
  const [C, , m1, m2] = w1.shape;
  const K1 = 2 * m1;
  requireShape(`${op} backward`, "saved modes", saved.modes, [B, 2 * K1, 2 * m2 * C]);
  const ty = axisTables(rec.gpu, "real", N2, m2), tx = axisTables(rec.gpu, "complex", N1, m1);
  const dbq = contractAxis(rec, ty.invT, dy.reshape([B * N1, N2, O])); // (B·N1, 2m2, O)
  const dt = contractAxis(rec, tx.invT, dbq.reshape([B, N1, 2 * m2 * O])); // (B, 2K1, 2m2O)
  rec.after(() => dbq.release());
  const dp = new Tensor(rec.gpu, [B, 2 * K1, 2 * m2 * C], "f32", `${op}.dmodes`);
  const JB = Math.min(MIX_BLOCK, C),
    JBS = Math.ceil(C / JB),
    BB = Math.min(MIX_BATCH, B),
    BBS = Math.ceil(B / BB);
  const nx = BBS * K1 * JBS * m2;
  rec.dispatch({
    op: `${op} backward dx`,
    kernel: `spectral_mix2d_dx_${JB}_${BB}`,
    code: mixCode(JB, BB, true),
    groups: Math.ceil(nx / 64),
    params: params(nx, K1, m1, m2, C, O, JBS, B, BBS),
    tensors: [dt, w1, w2, dp],
    work: { kind: "spectral mix bwd", shape: `${B}×${K1}×${m2}×${O}→${C}`, flops: 8 * B * K1 * m2 * C * O },
  });
  const dw1 = new Tensor(rec.gpu, w1.shape, "f32", `${op}.dweights1`);
  const dw2 = new Tensor(rec.gpu, w2.shape, "f32", `${op}.dweights2`);
  const BC = Math.min(8, C), BO = Math.min(8, O), cBlocks = Math.ceil(C / BC), oBlocks = Math.ceil(O / BO);
  const nw = K1 * cBlocks * oBlocks * m2;
  rec.dispatch({
    op: `${op} backward dw`,
    kernel: `spectral_mix2d_dw_${BC}_${BO}`,
    code: mix2DwCode(BC, BO),
    groups: Math.ceil(nw / 64),
    params: params(nw, K1, m1, m2, C, O, B, cBlocks, oBlocks),
    tensors: [dt, saved.modes, dw1, dw2],
    work: {
      kind: "spectral mix bwd",
      shape: `${C}×${O}×${K1}×${m2} over ${B}`,
      flops: 8 * C * O * K1 * m2 * B,
    },
  });
  rec.after(() => dt.release());
  const da = contractAxis(rec, tx.fwdT, dp); // (B, N1, 2m2C)
  rec.after(() => dp.release());
  const dx = contractAxis(rec, ty.fwdT, da.reshape([B * N1, 2 * m2, C])); // (B·N1, N2, C)
  rec.after(() => da.release());
  return { dx: dx.reshape([B, N1, N2, C]), dw1, dw2 };
}

/**
 * Records a 1D spectral convolution (PDEBench's `SpectralConv1d`) on channels-last input.
 * @param rec The recorder.
 * @param x (B, N, C).
 * @param w `weights1` (C, O, m, 2).
 * @param op The layer's name for errors.
 * @returns y (B, N, O) and what the backward needs (release `saved.modes` after it).
 */
export function spectralConv1d(
  rec: Recorder,
  x: Tensor,
  w: Tensor,
  op = "spectralConv1d",
): { y: Tensor; saved: SpectralSaved } {
  requireDtype(op, "x", x);
  requireRank(op, "x", x, 3);
  requireRank(op, "weights1", w, 4);
  const [B, N, C] = x.shape;
  const [Ci, O, m, two] = w.shape;
  if (Ci !== C || two !== 2) {
    throw new TypeError(
      `${op}: weights ${fmtShape(w.shape)} do not fit (C_in=${C}, C_out, m, 2) for x ${fmtShape(x.shape)}`,
    );
  }
  if (m > Math.floor(N / 2) + 1) {
    throw new RangeError(`${op}: ${m} modes do not fit ${N} points (m ≤ ${Math.floor(N / 2) + 1})`);
  }
  const tb = axisTables(rec.gpu, "real", N, m);
  const modes = contractAxis(rec, tb.fwd, x); // (B, 2m, C)
  const t = new Tensor(rec.gpu, [B, 2 * m, O], "f32", `${op}.modes_out`);
  const n = B * m * O;
  rec.dispatch({
    op: `${op} x=${fmtShape(x.shape)}`,
    kernel: "spectral_mix1d",
    code: MIX1,
    groups: Math.ceil(n / 64),
    params: params(n, m, C, O),
    tensors: [modes, w, t],
    work: { kind: "spectral mix", shape: `${B}×${m}×${C}→${O}`, flops: 8 * n * C },
  });
  const y = contractAxis(rec, tb.inv, t); // (B, N, O)
  rec.after(() => t.release());
  return { y, saved: { modes } };
}

/**
 * Records the backward of {@link spectralConv1d}.
 * @param rec The recorder.
 * @param saved What the forward returned (not released here).
 * @param w `weights1` (C, O, m, 2).
 * @param dy dL/dy (B, N, O).
 * @param op The layer's name for errors.
 * @returns dx (B, N, C) and dw (C, O, m, 2).
 */
export function spectralConv1dBackward(
  rec: Recorder,
  saved: SpectralSaved,
  w: Tensor,
  dy: Tensor,
  op = "spectralConv1d",
): { dx: Tensor; dw: Tensor } {
  requireRank(`${op} backward`, "dy", dy, 3);
  const [B, N, O] = dy.shape;
  const [C, , m] = w.shape;
  requireShape(`${op} backward`, "saved modes", saved.modes, [B, 2 * m, C]);
  const tb = axisTables(rec.gpu, "real", N, m);
  const dt = contractAxis(rec, tb.invT, dy); // (B, 2m, O)
  const da = new Tensor(rec.gpu, [B, 2 * m, C], "f32", `${op}.dmodes`);
  const nx = B * m * C;
  rec.dispatch({
    op: `${op} backward dx`,
    kernel: "spectral_mix1d_dx",
    code: MIX1_DX,
    groups: Math.ceil(nx / 64),
    params: params(nx, m, C, O),
    tensors: [dt, w, da],
    work: { kind: "spectral mix bwd", shape: `${B}×${m}×${O}→${C}`, flops: 8 * nx * O },
  });
  const dw = new Tensor(rec.gpu, w.shape, "f32", `${op}.dweights1`);
  const nw = C * O * m;
  rec.dispatch({
    op: `${op} backward dw`,
    kernel: "spectral_mix1d_dw",
    code: MIX1_DW,
    groups: Math.ceil(nw / 64),
    params: params(nw, m, C, O, B),
    tensors: [dt, saved.modes, dw],
    work: { kind: "spectral mix bwd", shape: `${C}×${O}×${m} over ${B}`, flops: 8 * nw * B },
  });
  rec.after(() => dt.release());
  const dx = contractAxis(rec, tb.fwdT, da); // (B, N, C)
  rec.after(() => da.release());
  return { dx, dw };
}
