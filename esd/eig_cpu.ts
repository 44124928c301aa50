/**
 * Eigenvalues of symmetric matrices on the CPU, in float64: Householder tridiagonalization fused
 * with the next step's matrix-vector product (one pass over the lower triangle per step), then
 * implicit QL — compiled to WebAssembly with SIMD from `wasm/eigvalsh.ts`, about four times the
 * speed of the TypeScript Householder + QL (`eigvalshRef`; figures: docs/performance.md).
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { WASM_BASE64 } from "./_eigvalsh_wasm.ts";

interface Exports {
  memory: WebAssembly.Memory;
  eigvalsh(n: number, a: number, d: number, e: number, work: number): number;
  gramLower(K: number, n: number, x: number, g: number, scratch: number): void;
  heapBase(): number;
}

let instance: Exports | null = null;

function exports(): Exports {
  if (!instance) {
    const bin = atob(WASM_BASE64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const abort = () => {
      throw new Error("eigvalsh: WebAssembly abort");
    };
    instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { abort } })
      .exports as unknown as Exports;
  }
  return instance;
}

/** The largest n whose matrix and work space fit in 32-bit WebAssembly memory (4 GiB). */
export const EIG_CPU_MAX_N = 23000;

/**
 * The eigenvalues of the symmetric n×n matrix `a` (row-major; only its lower triangle is read), in
 * ascending order, computed in float64. Deterministic: the same input gives the same bits on any
 * thread of one machine.
 * @param a The matrix, n² values (float32 or float64).
 * @param n Its order.
 * @param what Names the matrix in errors.
 * @returns n eigenvalues, ascending.
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { eigvalshCpu } from "./eig_cpu.ts";
 * deepEqual(Array.from(eigvalshCpu([2, 1, 1, 2], 2), (x) => Math.round(x * 1e12) / 1e12), [1, 3]);
 * ```
 */
export function eigvalshCpu(a: ArrayLike<number>, n: number, what = "matrix"): Float64Array {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new OptionError(`eigvalshCpu: ${what} has ${a.length} values, not n² for n = ${n}`);
  }
  if (n > EIG_CPU_MAX_N) {
    throw new OptionError(
      `eigvalshCpu: ${what} is ${n}×${n}; the CPU solver holds at most ${EIG_CPU_MAX_N}×${EIG_CPU_MAX_N}`,
    );
  }
  if (n === 0) return new Float64Array(0);
  const ex = exports();
  const { f, o, d, e, work } = layout(ex, n, 0);
  f.set(a, o);
  return solve(ex, f, n, o, d, e, work, what);
}

// Linear memory: the n×n matrix, d, e, 5n of work and 4n of scratch (float64), then K·n float32.
function layout(ex: Exports, n: number, xFloats: number) {
  const base = ex.heapBase();
  const need = base + 8 * (n * n + 11 * n) + 4 * xFloats;
  const have = ex.memory.buffer.byteLength;
  if (need > have) ex.memory.grow(Math.ceil((need - have) / 65536));
  const f = new Float64Array(ex.memory.buffer);
  const o = base / 8, d = o + n * n, e = d + n, work = e + n, scratch = work + 5 * n, x = scratch + 4 * n;
  return { f, o, d, e, work, scratch, x };
}

function solve(
  ex: Exports,
  f: Float64Array,
  n: number,
  o: number,
  d: number,
  e: number,
  work: number,
  what: string,
): Float64Array {
  if (ex.eigvalsh(n, o * 8, d * 8, e * 8, work * 8) !== 0) {
    throw new Error(`eigvalshCpu: QL iteration did not converge on ${what} (${n}×${n})`);
  }
  return f.slice(d, d + n).sort();
}

/**
 * The eigenvalues of the Gram matrix of a rows×cols matrix's smaller side (WᵀW when rows ≥ cols,
 * else WWᵀ), ascending: the Gram's lower triangle formed in float64 from the float32 values (exact
 * products, float64 sums; WebAssembly SIMD), then {@link eigvalshCpu}'s solve. The whole ESD of a
 * slice on the CPU, with no GPU round trip.
 * @param w The matrix, row-major float32.
 * @param rows Its rows.
 * @param cols Its columns.
 * @param what Names it in errors.
 * @returns min(rows, cols) eigenvalues.
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { gramEigvalsCpu } from "./eig_cpu.ts";
 * // [[1, 0], [0, 2], [0, 0]]ᵀ · itself = diag(1, 4)
 * deepEqual(Array.from(gramEigvalsCpu(new Float32Array([1, 0, 0, 2, 0, 0]), 3, 2)), [1, 4]);
 * ```
 */
export function gramEigvalsCpu(w: Float32Array, rows: number, cols: number, what = "matrix"): Float64Array {
  if (
    !Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || w.length !== rows * cols
  ) {
    throw new OptionError(`gramEigvalsCpu: ${what} has ${w.length} values, not ${rows}×${cols}`);
  }
  const n = Math.min(rows, cols), K = Math.max(rows, cols);
  if (n > EIG_CPU_MAX_N || 8 * n * n + 4 * K * n > 3.5 * 2 ** 30) {
    throw new OptionError(`gramEigvalsCpu: ${what} (${rows}×${cols}) does not fit in WebAssembly memory`);
  }
  if (n === 0) return new Float64Array(0);
  const ex = exports();
  const { f, o, d, e, work, scratch, x } = layout(ex, n, K * n);
  const xs = new Float32Array(ex.memory.buffer, x * 8, K * n);
  if (rows >= cols) xs.set(w);
  else {
    // The tall orientation: row k of Wᵀ is column k of W.
    for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) xs[k * rows + i] = w[i * cols + k];
  }
  ex.gramLower(K, n, x * 8, o * 8, scratch * 8);
  return solve(ex, f, n, o, d, e, work, what);
}
