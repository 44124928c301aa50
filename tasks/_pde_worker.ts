/**
 * A worker of `pde-data`: generates the blocks it is sent and posts each back.
 * @module
 */
import { generateBlock, type PdeGenSpec } from "../data/pde/generate.ts";

/** The worker's global scope, typed for what it uses. */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<{ spec: PdeGenSpec; block: number }>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
};

scope.onmessage = (e) => {
  const { spec, block } = e.data;
  const fields = generateBlock(spec, block);
  scope.postMessage({ block, fields }, fields.map((f) => f.buffer as ArrayBuffer));
};
