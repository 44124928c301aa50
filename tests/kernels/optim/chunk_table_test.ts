import { deepEqual } from "node:assert/strict";
import { CHUNK, chunkRows } from "../../../kernels/optim/chunk_table.ts";

Deno.test("chunkRows(): ranges split into rows of at most CHUNK elements, with their tensor index; a dummy row for none", () => {
  deepEqual(
    Array.from(chunkRows([{ offset: 0, length: CHUNK + 5, index: 2 }, { offset: 5000, length: 3 }])),
    [0, CHUNK, 2, 0, CHUNK, 5, 2, 0, 5000, 3, 0, 0],
  );
  deepEqual(Array.from(chunkRows([])), [0, 0, 0, 0]);
  // A complex tensor's rows carry its flag.
  deepEqual(Array.from(chunkRows([{ offset: 64, length: 6, index: 1, complex: true }])), [64, 6, 1, 1]);
  deepEqual(Array.from(chunkRows([{ offset: 7, length: 0 }])), [0, 0, 0, 0]);
});
