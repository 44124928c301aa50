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
  // Every augmented image is exactly one shifted (and maybe mirrored) copy of its original, and
  // over a seeded run each shift and the mirror happen at their rates (identity is not a pass).
  const C = 2, H = 4, W = 4, P = 1, n = 300, epochs = 10, img = C * H * W;
  const data: Dataset = {
    images: Uint8Array.from({ length: n * img }, (_, i) => ((i * 37) % 255) + 1), // distinct per image, no 0
    labels: new Int32Array(n),
    count: n,
    channels: C,
    height: H,
    width: W,
    classes: 10,
  };
  const shifts = new Map<string, number>();
  let mirrored = 0, identity = 0, samples = 0;
  for (let e = 0; e < epochs; e++) {
    for (const b of batches(data, e, { batchSize: 64, cropPadding: P, flip: true, seed: 3 })) {
      for (let k = 0; k < b.size; k++) {
        const src = data.images.subarray(b.indices[k] * img, (b.indices[k] + 1) * img);
        const got = b.x.subarray(k * img, (k + 1) * img);
        const found: [number, number, boolean][] = [];
        for (const mirror of [false, true]) {
          for (let dy = -P; dy <= P; dy++) {
            for (let dx = -P; dx <= P; dx++) {
              const same = got.every((v, i) => {
                const c = Math.floor(i / (H * W)), r = Math.floor((i % (H * W)) / W), col = i % W;
                const si = r + dy, sj = (mirror ? W - 1 - col : col) + dx;
                const want = si >= 0 && si < H && sj >= 0 && sj < W ? src[c * H * W + si * W + sj] / 255 : 0;
                return Math.abs(v - want) < 1e-6;
              });
              if (same) found.push([dy, dx, mirror]);
            }
          }
        }
        equal(found.length, 1, `epoch ${e}, image ${b.indices[k]}: ${found.length} transforms match`);
        const [dy, dx, mirror] = found[0];
        shifts.set(`${dy},${dx}`, (shifts.get(`${dy},${dx}`) ?? 0) + 1);
        if (mirror) mirrored++;
        if (!mirror && dy === 0 && dx === 0) identity++;
        samples++;
      }
    }
  }
  equal(samples, n * epochs);
  // Each of the 9 shifts at 1/9 and the mirror at 1/2, within 4 standard deviations.
  const within = (count: number, p: number, what: string) => {
    const sd = Math.sqrt(p * (1 - p) / samples);
    ok(Math.abs(count / samples - p) < 4 * sd, `${what}: rate ${count / samples}, expected ${p} ± ${4 * sd}`);
  };
  equal(shifts.size, 9);
  for (const [shift, count] of shifts) within(count, 1 / 9, `shift ${shift}`);
  within(mirrored, 1 / 2, "mirror");
  within(identity, 1 / 18, "identity");
});
