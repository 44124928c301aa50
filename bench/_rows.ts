/**
 * The result rows every peer benchmark prints: a table, or with `--json` a JSON array of
 * `{op, shape, ours, peer, unit, ratio}` (ratio > 1: we are faster, or closer to peak).
 * @module
 */

/** One result row. */
export interface Row {
  op: string;
  shape: string;
  ours: number;
  peer: number | null;
  unit: string;
  ratio: number | null;
}

function fmt(x: number | null): string {
  if (x === null) return "-";
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

/** Prints rows as an aligned table (or JSON). */
export function printRows(rows: Row[], json: boolean, adapter: string): void {
  if (json) {
    console.log(JSON.stringify(rows));
    return;
  }
  console.log(`adapter: ${adapter}`);
  const head = ["op", "shape", "ours", "peer", "unit", "ratio"];
  const cells = rows.map((r) => [r.op, r.shape, fmt(r.ours), fmt(r.peer), r.unit, fmt(r.ratio)]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  for (const line of [head, w.map((n) => "-".repeat(n)), ...cells]) {
    console.log(line.map((c, i) => (i < 2 || i === 4 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  "));
  }
}
