/**
 * The implicit-GEMM kernel generator behind the convolutions: C[m, n] = Σ_k A[m, k]·B[k, n] where
 * B is gathered on the fly, never stored. A direction (forward, backward-data, backward-filter)
 * describes itself with index callbacks — how a column n maps to input coordinates, the loops
 * over the inner K taps, the A element of a row, the B element of a column — and this module emits
 * the one kernel shape they share:
 *
 * - a workgroup is one 8-lane row of TM m-rows × 8·16 columns; the TM rows are the same for every
 *   lane, so A's loads are uniform (cheap on software adapters), and each lane gathers B for its
 *   own 16 columns;
 * - columns and accumulators live in named registers, unrolled (a dynamically indexed array would
 *   sit in per-lane scratch memory on software adapters, several times slower);
 * - the outer K index `u` runs over `[kA, kB)`: a pass of the K range (`k0`, `k1`) split into
 *   `kstep`-sized slices, one per split-K slice of workgroups, each writing its own `M·N` slab;
 * - the epilogue adds the bias (`bias == 1`) and what C holds (`acc == 1`, for passes under the
 *   loop cap).
 *
 * The uniform struct is `groups` then the GEMM's own fields ({@link GEMM_FIELDS}) then the
 * direction's, all u32, packed by name with {@link packUniform}.
 * @module
 */
import { params } from "../../runtime/params.ts";
import { WID, WID_ARGS } from "../../runtime/recorder.ts";

/** Columns per lane. */
export const TN = 16;
/** Lanes per workgroup (one row of lanes). */
export const LANES = 8;

/** The uniform fields every implicit GEMM has, after `groups`. */
export const GEMM_FIELDS = ["M", "N", "tilesN", "tiles", "k0", "k1", "kstep", "acc", "bias"] as const;

/** The registers of one column, as the index callbacks name them. */
export interface ColumnRegs {
  /** i32: the column's first input row (before the tap offset). */
  iy: string;
  /** i32: the column's first input column. */
  ix: string;
  /** u32: the column's base offset into B's tensor. */
  base: string;
  /** u32: the column's offset into C (the row stride is added per m). */
  so: string;
}

/** One direction of the convolution, as index callbacks returning WGSL. */
export interface ImplicitGemmSpec {
  /** Kernel name prefix, e.g. `conv2d_fwd`. */
  name: string;
  /** The direction's uniform fields (u32), after {@link GEMM_FIELDS}; read in WGSL as `p.<field>`. */
  fields: readonly string[];
  /** Statements setting the column registers from the column index `n` (a u32 `let`). */
  column(n: string, r: ColumnRegs): string;
  /** The loops over the two inner K indices around `body`; they bind what `a` and `b` use. */
  taps(body: string): string;
  /** The A element of m-row `row` at the current (u, taps), an f32 expression. */
  a(row: string): string;
  /** The B element of a column at the current (u, taps): set-up statements, bounds, index into X. */
  b(r: ColumnRegs): { lets: string; inBounds: string; index: string };
  /** C's stride between consecutive m-rows, a u32 expression. */
  rowStride: string;
}

const XYZW = ["x", "y", "z", "w"];

/**
 * The WGSL of a direction with TM rows per workgroup. Bindings: 0 the uniform, 1 A, 2 X (B's
 * tensor), 3 bias, 4 C.
 * @param spec The direction.
 * @param TM Rows per workgroup (4, 8, 16 or 32).
 * @returns The kernel source.
 */
export function implicitGemmSource(spec: ImplicitGemmSpec, TM: number): string {
  const fields = ["groups", ...GEMM_FIELDS, ...spec.fields];
  const regs = (j: number): ColumnRegs => ({ iy: `iy${j}`, ix: `ix${j}`, base: `base${j}`, so: `so${j}` });
  const columns = Array.from({ length: TN }, (_, j) => {
    const r = regs(j);
    return `  var ${r.iy}: i32; var ${r.ix}: i32; var ${r.base}: u32; var ${r.so}: u32; let ok${j} = n0 + ${j}u < p.N;
  { let n = min(n0 + ${j}u, p.N - 1u);
    ${spec.column("n", r)} }`;
  }).join("\n");
  const accumulators = Array.from(
    { length: TM * TN / 4 },
    (_, k) => `  var c${Math.floor(k / (TN / 4))}_${k % (TN / 4)} = vec4f(0.0);`,
  ).join("\n");
  const aRows = Array.from({ length: TM }, (_, i) => `        let a${i} = ${spec.a(`m0 + ${i}u`)};`).join(
    "\n",
  );
  const bZero = Array.from({ length: TN / 4 }, (_, q) => `        var bv${q} = vec4f(0.0);`).join("\n");
  const bGather = Array.from({ length: TN }, (_, j) => {
    const b = spec.b(regs(j));
    return `        { ${b.lets}
          if (${b.inBounds} && ok${j}) { bv${j >> 2}.${XYZW[j & 3]} = X[${b.index}]; } }`;
  }).join("\n");
  const fmas = Array.from(
    { length: TM },
    (_, i) =>
      Array.from({ length: TN / 4 }, (_, q) => `        c${i}_${q} = fma(vec4f(a${i}), bv${q}, c${i}_${q});`)
        .join("\n"),
  ).join("\n");
  const stores = Array.from(
    { length: TM },
    (_, i) =>
      Array.from({ length: TN }, (_, j) =>
        `  { let m = m0 + ${i}u; let n = n0 + ${j}u;
    if (m < p.M && n < p.N) {
      let o = so${j} + m * ${spec.rowStride};
      var r = c${i}_${j >> 2}.${XYZW[j & 3]};
      if (p.bias == 1u) { r += bias[m]; }
      if (p.acc == 1u) { r += C[cOff + o]; }
      C[cOff + o] = r;
    } }`).join("\n"),
  ).join("\n");
  return `struct P { ${fields.map((f) => `${f}: u32`).join(", ")} }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(${LANES})
fn main(${WID_ARGS}, @builtin(local_invocation_index) lane: u32) {
  ${WID}
  if (wid >= p.groups) { return; }
  // Split-K: workgroups past the first \`tiles\` take later K slices and write their own slab.
  let sp = wid / p.tiles; let tw = wid % p.tiles;
  let tm = tw / p.tilesN; let tn = tw % p.tilesN;
  let kA = p.k0 + sp * p.kstep; let kB = min(p.k1, kA + p.kstep);
  let cOff = sp * p.M * p.N;
  // Rows past M read zeros or stale pool memory (WebGPU bounds every access) and are not stored.
  let m0 = tm * ${TM}u;
  let n0 = (tn * ${LANES}u + lane) * ${TN}u;
${columns}
${accumulators}
  for (var u = kA; u < kB; u++) {
${
    spec.taps(`${aRows}
${bZero}
${bGather}
${fmas}`)
  }
  }
${stores}
}`;
}

/**
 * Packs a direction's uniform by field name (every field must be given, as a u32).
 * @param spec The direction.
 * @param values `GEMM_FIELDS` and the direction's fields.
 * @returns The uniform's bytes (slot 0, `groups`, is filled by the recorder).
 */
export function packUniform(spec: ImplicitGemmSpec, values: Record<string, number>): ArrayBuffer {
  return params(
    ...[...GEMM_FIELDS, ...spec.fields].map((f) => {
      const v = values[f];
      if (v === undefined) throw new Error(`${spec.name}: uniform field "${f}" not given`);
      return v;
    }),
  );
}
