/**
 * A pool of workers, one per core by default, that solve symmetric eigenproblems with
 * {@link eigvalshCpu}: the analyzer's CPU eigen path spread over every core. Each matrix is solved
 * by the same WebAssembly code whichever worker takes it, so the results are bit-identical to one
 * worker's (or to calling `eigvalshCpu` inline).
 * @module
 */
import { eigvalshCpu, gramEigvalsCpu } from "./eig_cpu.ts";

/**
 * One eigenproblem: a symmetric n×n matrix, row-major; or, with `rows` and `cols`, a rows×cols
 * float32 matrix whose Gram matrix (of its smaller side, n = min(rows, cols)) is formed first.
 */
export interface EigJob {
  /** n² values (only the lower triangle is read), or rows·cols. Float32 data is sent as is. */
  data: Float32Array | Float64Array;
  /** The order of the symmetric matrix. */
  n: number;
  /** Names the matrix in errors. */
  what?: string;
  /** With `cols`: `data` is this many rows of a matrix whose Gram's eigenvalues are wanted. */
  rows?: number;
  /** The matrix's columns (see `rows`). */
  cols?: number;
}

/** Solves one job on this thread (what a worker does with it). */
export function solveJob(job: EigJob): Float64Array {
  if (job.rows !== undefined && job.cols !== undefined) {
    const w = job.data instanceof Float32Array ? job.data : Float32Array.from(job.data);
    return gramEigvalsCpu(w, job.rows, job.cols, job.what);
  }
  return eigvalshCpu(job.data, job.n, job.what);
}

/** Below this many multiply-adds (≈ Σ n³) a batch is solved on the calling thread: ~5 ms of work. */
const INLINE_WORK = 2e7;

/** Options of an {@link EigPool}. */
export interface EigPoolOptions {
  /** The worker module (default `./_eig_worker.ts` beside this file; a bundled page passes its copy). */
  workerUrl?: string | URL;
  /** Batches of less work (multiply-adds, ≈ Σ n³) are solved on the calling thread (default 2·10⁷). */
  inlineWork?: number;
  /**
   * Told once when workers cannot be started and the pool solves on the calling thread instead
   * (default: `console.warn`).
   */
  onWarning?: (message: string) => void;
}

/** How an {@link EigPool}'s jobs were solved so far. */
export interface EigPoolStats {
  /** Jobs solved by the workers. */
  workerJobs: number;
  /** Jobs solved on the calling thread: batches below the inline threshold, or no workers. */
  inlineJobs: number;
  /** Why workers are not used, when they could not be started (else null). */
  fallback: string | null;
}

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
  #inlineWork: number;
  #warn: (message: string) => void;
  /** How the jobs were solved so far (which path ran is visible, never silent). */
  readonly stats: EigPoolStats = { workerJobs: 0, inlineJobs: 0, fallback: null };

  /**
   * A pool of `size` workers, started lazily.
   * @param size Workers to run (default `navigator.hardwareConcurrency`, at least 1). They start
   *   on the first batch big enough to need them.
   * @param options The worker module (or options: module, inline threshold, warning hook).
   */
  constructor(
    size: number = globalThis.navigator?.hardwareConcurrency ?? 1,
    options: string | URL | EigPoolOptions = {},
  ) {
    const o: EigPoolOptions = typeof options === "string" || options instanceof URL
      ? { workerUrl: options }
      : options;
    this.size = Math.max(1, Math.floor(size) || 1);
    this.#url = o.workerUrl ?? new URL("./_eig_worker.ts", import.meta.url);
    this.#inlineWork = o.inlineWork ?? INLINE_WORK;
    this.#warn = o.onWarning ?? ((m) => console.warn(`warning: ${m}`));
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
    } catch (e) {
      // No workers here (e.g. a sandbox without them): solve on this thread, with the same code,
      // and say so once.
      this.#failed = true;
      this.#workers = null;
      this.stats.fallback = `eigenvalue workers could not start (${
        (e as Error).message
      }): solving on one thread`;
      this.#warn(this.stats.fallback);
    }
    return this.#workers;
  }

  #run(w: Worker, job: EigJob): Promise<Float64Array> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // A view is cloned with its whole buffer: send a view of part of one as a copy.
      const data = job.data.byteLength === job.data.buffer.byteLength ? job.data : job.data.slice();
      w.postMessage({ id, data, n: job.n, what: job.what ?? "matrix", rows: job.rows, cols: job.cols });
    });
  }

  /**
   * Eigenvalues of every job, ascending, in the jobs' order.
   * @param jobs The matrices (their data is copied to the workers, not transferred).
   * @returns One Float64Array of n eigenvalues per job.
   */
  async solve(jobs: EigJob[]): Promise<Float64Array[]> {
    const work = jobs.reduce((s, j) => s + j.n ** 2 * Math.max(j.n, j.rows ?? 0, j.cols ?? 0), 0);
    const workers = this.size > 1 && jobs.length > 1 && work >= this.#inlineWork ? this.#start() : null;
    if (!workers) {
      this.stats.inlineJobs += jobs.length;
      return jobs.map(solveJob);
    }
    this.stats.workerJobs += jobs.length;
    const cost = (j: EigJob) => j.n ** 2 * Math.max(j.n, j.rows ?? 0, j.cols ?? 0);
    const order = jobs.map((_, i) => i).sort((a, b) => cost(jobs[b]) - cost(jobs[a]) || a - b);
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
