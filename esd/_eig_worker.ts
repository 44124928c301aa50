/**
 * A worker of `EigPool`: solves the eigenproblems it is sent (`solveJob`: `eigvalshCpu`, or
 * `gramEigvalsCpu` for a matrix whose Gram is formed here).
 * @module
 */
import { type EigJob, solveJob } from "./eig_pool.ts";

interface Scope {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as Scope;

scope.onmessage = (ev: MessageEvent) => {
  const { id, ...job } = ev.data as EigJob & { id: number };
  try {
    const values = solveJob(job);
    scope.postMessage({ id, values }, [values.buffer as ArrayBuffer]);
  } catch (e) {
    scope.postMessage({ id, error: (e as Error).message });
  }
};
