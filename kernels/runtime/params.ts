/**
 * Packs kernel parameters into a uniform struct. Slot 0 is `groups` (filled by the Recorder);
 * plain numbers are u32, `{ f }` is f32 and `{ i }` is i32. The size is padded to 16 bytes.
 * @module
 */

/** A parameter: a u32 as a plain number, or an f32 / i32 wrapped. */
export type Param = number | { f: number } | { i: number };

/** Packs `groups` (0, filled later) and the given fields into an ArrayBuffer. */
export function params(...fields: Param[]): ArrayBuffer {
  const n = Math.ceil((fields.length + 1) / 4) * 4;
  const buf = new ArrayBuffer(n * 4);
  const u = new Uint32Array(buf), f = new Float32Array(buf), i = new Int32Array(buf);
  fields.forEach((v, k) => {
    if (typeof v === "number") {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new RangeError(`Kernel parameter ${k} must be a u32, got ${v}`);
      }
      u[k + 1] = v;
    } else if ("f" in v) f[k + 1] = v.f;
    else i[k + 1] = v.i;
  });
  return buf;
}
