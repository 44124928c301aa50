import { deepEqual, equal, notDeepEqual, ok, throws } from "node:assert/strict";
import type { Dataset } from "../../data/dataset.ts";
import { batches } from "../../data/loader.ts";

function toy(count: number, C = 1, H = 3, W = 3): Dataset {
  const images = Uint8Array.from({ length: count * C * H * W }, (_, i) => (i * 37) % 256);
  return {
    images,
    labels: Int32Array.from({ length: count }, (_, i) => i % 10),
    count,
    channels: C,
    height: H,
    width: W,
    classes: 10,
  };
}

Deno.test("batches(): each image once per epoch, seeded orders, last partial batch kept or dropped", () => {
  const ds = toy(10);
  const e0 = [...batches(ds, 0, { batchSize: 4, seed: 5 })];
  deepEqual(e0.map((b) => b.size), [4, 4, 2]);
  deepEqual([...e0.flatMap((b) => [...b.indices])].sort((a, b) => a - b), [...Array(10).keys()]);
  deepEqual(
    [...batches(ds, 0, { batchSize: 4, seed: 5 })].map((b) => [...b.indices]),
    e0.map((b) => [...b.indices]),
  );
  notDeepEqual(
    [...batches(ds, 1, { batchSize: 4, seed: 5 })].map((b) => [...b.indices]),
    e0.map((b) => [...b.indices]),
  );
  deepEqual([...batches(ds, 0, { batchSize: 4, dropLast: true })].map((b) => b.size), [4, 4]);
  deepEqual(
    [...batches(ds, 3, { batchSize: 10, shuffle: false })][0].indices,
    Uint32Array.from([...Array(10).keys()]),
  );
  e0.forEach((b) => b.y.forEach((l, k) => equal(l, ds.labels[b.indices[k]])));
  throws(() => [...batches(ds, 0, { batchSize: 0 })], /Invalid batch size 0/);
});

Deno.test("batches(): normalisation, and crop/flip move pixels exactly (zero padding outside)", () => {
  const ds = toy(1, 2, 3, 3);
  const [plain] = [...batches(ds, 0, { batchSize: 1, shuffle: false, mean: [0.5, 0.25], std: [2, 4] })];
  plain.x.forEach((v, i) => {
    const c = Math.floor(i / 9);
    ok(Math.abs(v - (ds.images[i] / 255 - [0.5, 0.25][c]) / [2, 4][c]) < 1e-6, `pixel ${i}`);
  });
  // Over many epochs, every augmented image is a shifted (and maybe mirrored) copy of the original.
  for (let e = 0; e < 20; e++) {
    const [b] = [...batches(ds, e, { batchSize: 1, shuffle: false, cropPadding: 1, flip: true, seed: 3 })];
    let matched = false;
    for (const mirror of [false, true]) {
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const want = Array.from({ length: 18 }, (_, i) => {
            const c = Math.floor(i / 9), r = Math.floor((i % 9) / 3), col = i % 3;
            const si = r + dy, sj = (mirror ? 2 - col : col) + dx;
            return si >= 0 && si < 3 && sj >= 0 && sj < 3 ? ds.images[c * 9 + si * 3 + sj] / 255 : 0;
          });
          if (want.every((v, i) => Math.abs(v - b.x[i]) < 1e-6)) matched = true;
        }
      }
    }
    ok(matched, `epoch ${e}: not a shifted/mirrored copy`);
  }
});
