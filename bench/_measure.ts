/**
 * Throughput measurement shared by the benchmarks: the slope of time over repeated work between
 * two syncs, so the fixed cost of one CPU←GPU sync (~11 ms on lavapipe) drops out. Reports the
 * median over trials; the first (compiling) run is excluded.
 * @module
 */

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Seconds per unit of work: `run(r)` must do `r` units and wait for them. Times `run(r1)` and
 * `run(r2)` per trial and takes the median slope.
 */
export async function slope(
  run: (reps: number) => Promise<void>,
  r1: number,
  r2: number,
  trials = 5,
): Promise<number> {
  await run(1); // warm-up: compile, allocate
  const out: number[] = [];
  for (let t = 0; t < trials; t++) {
    let s = performance.now();
    await run(r1);
    const t1 = performance.now() - s;
    s = performance.now();
    await run(r2);
    const t2 = performance.now() - s;
    out.push(Math.max(1e-9, (t2 - t1) / 1000 / (r2 - r1)));
  }
  return median(out);
}

/** Repetitions so that one run holds about `targetFlops` of work (at least 2). */
export function repsFor(flopsPerRep: number, targetFlops = 2e9): number {
  return Math.max(2, Math.round(targetFlops / flopsPerRep));
}
