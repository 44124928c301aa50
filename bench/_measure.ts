/**
 * Throughput measurement shared by the benchmarks: the slope of time over repeated work between
 * two syncs, so the fixed cost of one CPU←GPU sync (~11 ms on lavapipe) drops out. Reports the
 * median over trials; the first (compiling) run is excluded.
 * @module
 */

export { median, slope } from "../kernels/runtime/probe.ts";

/** Repetitions so that one run holds about `targetFlops` of work (at least 2). */
export function repsFor(flopsPerRep: number, targetFlops = 2e9): number {
  return Math.max(2, Math.round(targetFlops / flopsPerRep));
}
