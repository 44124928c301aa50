/**
 * The chunk table every fused optimizer kernel walks: one row (arena offset, length ≤ {@link CHUNK},
 * tensor index, complex flag) of u32 per chunk (CHUNK is even, so a complex tensor's chunks hold
 * whole (real, imaginary) pairs), one workgroup per row (`array<vec4u>` in WGSL). The one place
 * that splits parameters into chunks: SGD, LARS, LAMB, SGDP, the sphere projection and spectral-norm
 * regularisation all read tables made here.
 * @module
 */

/** Elements per chunk (a workgroup of 256 lanes × 4). */
export const CHUNK = 1024;

/** A range of an arena: its offset, its length and the index of the tensor it belongs to. */
export interface ChunkRange {
  /** Offset in the arena (elements). */
  offset: number;
  /** Elements. */
  length: number;
  /** The tensor's index in whatever per-tensor table the kernel reads (default 0). */
  index?: number;
  /** A complex tensor ((real, imaginary) pairs at even offsets): the row's last field is 1. */
  complex?: boolean;
}

/**
 * The chunk rows of some ranges, in order.
 * @param ranges The ranges.
 * @returns u32 rows (offset, length, index, complex ? 1 : 0); one row (0, 0, 0, 0) when there is nothing, so
 *   that the table can still be bound.
 */
export function chunkRows(ranges: Iterable<ChunkRange>): Uint32Array {
  const rows: number[] = [];
  for (const r of ranges) {
    for (let k = 0; k < r.length; k += CHUNK) {
      rows.push(r.offset + k, Math.min(CHUNK, r.length - k), r.index ?? 0, r.complex ? 1 : 0);
    }
  }
  if (!rows.length) rows.push(0, 0, 0, 0);
  return Uint32Array.from(rows);
}
