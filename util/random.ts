/**
 * The seeded random source shared by model initialisation and data batching (a module of its own
 * so that neither imports the other).
 * @module
 */

/**
 * Mulberry32: a small, fast seeded generator of floats in [0, 1).
 * @param seed The seed.
 * @returns The generator.
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
