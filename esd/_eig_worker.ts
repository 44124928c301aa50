/**
 * A worker of {@link EigPool}: solves the symmetric eigenproblems it is sent with `eigvalshCpu`.
 * @module
 */
import { eigvalshCpu } from "./eig_cpu.ts";

interface Scope {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as Scope;

scope.onmessage = (ev: MessageEvent) => {
  const { id, data, n, what } = ev.data as { id: number; data: Float32Array; n: number; what: string };
  try {
    const values = eigvalshCpu(data, n, what);
    scope.postMessage({ id, values }, [values.buffer as ArrayBuffer]);
  } catch (e) {
    scope.postMessage({ id, error: (e as Error).message });
  }
};
