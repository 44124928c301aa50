import { deepEqual, equal, throws } from "node:assert/strict";
import { pruneAllocation } from "../../prune/allocation.ts";
import { assertNear } from "../_helpers.ts";

const quiet = { onWarning: () => {} };

Deno.test("pruneAllocation() maps metrics linearly into [1−ε, 1+ε]·S, parameter-weighted to S (FARMS' ww_sparsity)", () => {
  // r = 0.8, 1.0, 1.2; Σn·r = 420 for Σn = 400 → scaler 0.5·400/420.
  const s = 0.5 * 400 / 420;
  assertNear(
    "layer mapping",
    pruneAllocation([2, 3, 4], [100, 100, 200], 0.5, 0.2, { mapping: "layer", ...quiet }),
    [0.8 * s, s, 1.2 * s],
  );
  // Block mapping (the default): blocks of two average to 2 and 6 → 0.8·S, 0.8·S, 1.2·S, 1.2·S.
  assertNear(
    "block mapping",
    pruneAllocation([1, 3, 5, 7], [10, 10, 10, 10], 0.6, 0.2, { layersPerBlock: 2 }),
    [0.48, 0.48, 0.72, 0.72],
  );
  // Equal block means → uniform.
  deepEqual(pruneAllocation([2, 4, 3, 3], [5, 5, 5, 5], 0.4, 0.3, { layersPerBlock: 2 }), [
    0.4,
    0.4,
    0.4,
    0.4,
  ]);
  // ε = 0 → uniform.
  assertNear("ε = 0", pruneAllocation([1, 9], [3, 7], 0.3, 0, { mapping: "layer" }), [0.3, 0.3]);
});

Deno.test("pruneAllocation() edge cases: a null metric at S with a warning, the reference's cap with the mean restored, impossible targets refused", () => {
  const warnings: string[] = [];
  assertNear(
    "null metric",
    pruneAllocation([2, null, 4], [10, 10, 10], 0.5, 0.2, {
      mapping: "layer",
      names: ["a", "b", "c"],
      onWarning: (m) => warnings.push(m),
    }),
    [0.4, 0.5, 0.6],
  );
  equal(warnings.length, 1);
  deepEqual(/b has no metric/.test(warnings[0]), true);
  // 0.63 and 1.17 → the second capped at 0.998, the first raised to 0.802 so the mean is 0.9 again.
  assertNear("cap", pruneAllocation([1, 2], [10, 10], 0.9, 0.3, { mapping: "layer" }), [0.802, 0.998]);
  // At S = 0.7 the reference caps at 0.99999.
  assertNear("cap at 0.7", pruneAllocation([1, 2], [10, 10], 0.7, 0.5, { mapping: "layer" }), [
    1.4 - 0.99999,
    0.99999,
  ]);
  throws(
    () => pruneAllocation([1, 2], [10, 10], 0.999, 0.3, { mapping: "layer" }),
    /Sparsity 0.999 with epsilon 0.3 cannot be allocated/,
  );
  throws(() => pruneAllocation([1], [1], 1, 0.1), /Invalid --sparsity 1: expected a number in \(0, 1\)/);
  throws(() => pruneAllocation([1], [1], 0.5, 1), /Invalid --epsilon 1/);
  throws(
    () => pruneAllocation([1, 2, 3], [1, 1, 1], 0.5, 0.1, { layersPerBlock: 2 }),
    /3 layers do not split into blocks of 2/,
  );
  throws(() => pruneAllocation([1, 2], [1], 0.5, 0.1), /2 metrics for 1 layer sizes/);
});
