/**
 * Central finite differences, the one helper every backward-pass check uses.
 * @module
 */

/**
 * dL/dv by central differences: each element of `values` is moved by ±h in place (and restored),
 * and `loss()` is evaluated at both points.
 * @param values The float64 inputs `loss` reads (changed and restored).
 * @param loss The scalar function of them.
 * @param h The step (default 1e-6).
 * @returns One derivative per element.
 */
export function centralDiff(values: Float64Array, loss: () => number, h = 1e-6): Float64Array {
  return values.map((_, i) => {
    const v = values[i];
    values[i] = v + h;
    const up = loss();
    values[i] = v - h;
    const dn = loss();
    values[i] = v;
    return (up - dn) / (2 * h);
  });
}

/** Σ a·b: the loss `⟨dy, f(x)⟩` whose gradient is a backward pass given dy. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
