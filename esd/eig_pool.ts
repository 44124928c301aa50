/**
 * A pool of workers, one per core by default, that solve symmetric eigenproblems with
 * {@link eigvalshCpu}: the analyzer's CPU eigen path spread over every core. Each matrix is solved
 * by the same WebAssembly code whichever worker takes it, so the results are bit-identical to one
 * worker's (or to calling `eigvalshCpu` inline).
 * @module
 */
import { eigvalshCpu } from "./eig_cpu.ts";

/** One eigenproblem: a symmetric n×n matrix, row-major. */
export interface EigJob {
  /** n² values (only the lower triangle is read). Float32 data is sent as is (half the bytes). */
  data: Float32Array | Float64Array;
  /** The order. */
  n: number;
  /** Names the matrix in errors. */
  what?: string;
}

/** Below this many multiply-adds (≈ Σ n³) a batch is solved on the calling thread: ~5 ms of work. */
const INLINE_WORK = 2e7;

interface Pending {
  resolve(v: Float64Array): void;
  reject(e: Error): void;
}

/**
 * Workers that solve {@link EigJob}s, largest first, each worker taking the next job as it frees.
 * Open one per analysis and {@link EigPool.close} it at the end (live workers keep a process
 * alive).
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { EigPool } from "./eig_pool.ts";
 * const pool = new EigPool(2);
 * try {
 *   const [a, b] = await pool.solve([{ data: new Float64Array([2, 1, 1, 2]), n: 2 }, { data: new Float64Array([5]), n: 1 }]);
 *   deepEqual([Math.round(a[0]), Math.round(a[1]), b[0]], [1, 3, 5]);
 * } finally {
 *   pool.close();
 * }
 * ```
 */
export class EigPool {
  /** Number of workers (at least 1). */
  readonly size: number;
  #workers: Worker[] | null = null;
  #failed = false;
  #next = 0;
  #pending = new Map<number, Pending>();
  #url: string | URL;

  /**
   * A pool of `size` workers, started lazily.
   * @param size Workers to run (default `navigator.hardwareConcurrency`, at least 1). They start
   *   on the first batch big enough to need them.
   * @param workerUrl The worker module (default `./_eig_worker.ts` beside this file; a bundled
   *   page passes its bundled copy).
   */
  constructor(size: number = globalThis.navigator?.hardwareConcurrency ?? 1, workerUrl?: string | URL) {
    this.size = Math.max(1, Math.floor(size) || 1);
    this.#url = workerUrl ?? new URL("./_eig_worker.ts", import.meta.url);
  }

  #start(): Worker[] | null {
    if (this.#workers || this.#failed) return this.#workers;
    try {
      this.#workers = Array.from({ length: this.size }, () => {
        const w = new Worker(this.#url, { type: "module" });
        w.onmessage = (ev: MessageEvent) => {
          const { id, values, error } = ev.data as { id: number; values?: Float64Array; error?: string };
          const p = this.#pending.get(id);
          this.#pending.delete(id);
          if (!p) return;
          if (error !== undefined) p.reject(new Error(error));
          else p.resolve(values!);
        };
        w.onerror = (ev: ErrorEvent) => {
          ev.preventDefault();
          const err = new Error(`eigenvalue worker failed: ${ev.message}`);
          for (const p of this.#pending.values()) p.reject(err);
          this.#pending.clear();
        };
        return w;
      });
    } catch {
      // No workers here (e.g. a sandbox without them): solve on this thread, with the same code.
      this.#failed = true;
      this.#workers = null;
    }
    return this.#workers;
  }

  #run(w: Worker, job: EigJob): Promise<Float64Array> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // A view is cloned with its whole buffer: send a view of part of one as a copy.
      const data = job.data.byteLength === job.data.buffer.byteLength ? job.data : job.data.slice();
      w.postMessage({ id, data, n: job.n, what: job.what ?? "matrix" });
    });
  }

  /**
   * Eigenvalues of every job, ascending, in the jobs' order.
   * @param jobs The matrices (their data is copied to the workers, not transferred).
   * @returns One Float64Array of n eigenvalues per job.
   */
  async solve(jobs: EigJob[]): Promise<Float64Array[]> {
    const work = jobs.reduce((s, j) => s + j.n ** 3, 0);
    const workers = this.size > 1 && jobs.length > 1 && work >= INLINE_WORK ? this.#start() : null;
    if (!workers) return jobs.map((j) => eigvalshCpu(j.data, j.n, j.what));
    const order = jobs.map((_, i) => i).sort((a, b) => jobs[b].n - jobs[a].n || a - b);
    const out: Float64Array[] = new Array(jobs.length);
    let at = 0;
    await Promise.all(workers.map(async (w) => {
      while (at < order.length) {
        const i = order[at++];
        out[i] = await this.#run(w, jobs[i]);
      }
    }));
    return out;
  }

  /** Stops the workers (a later {@link EigPool.solve} starts new ones). */
  close(): void {
    for (const w of this.#workers ?? []) w.terminate();
    this.#workers = null;
    for (const p of this.#pending.values()) p.reject(new Error("EigPool closed"));
    this.#pending.clear();
  }
}
