// Toy data for the training tests: a learnable 8×8 set, in memory or as IDX files.
import type { Dataset, Splits } from "../../data/dataset.ts";

/** A learnable toy set: class k has a bright k-th quadrant-ish stripe, plus noise. */
export function toySplits(train = 80, test = 40, size = 8, classes = 4): Splits {
  let s = 12345;
  const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const make = (n: number): Dataset => {
    const images = new Uint8Array(n * size * size), labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const k = i % classes;
      labels[i] = k;
      for (let p = 0; p < size * size; p++) {
        const row = Math.floor(p / size);
        images[i * size * size + p] = Math.floor(rnd() * 80) +
          (Math.floor(row * classes / size) === k ? 170 : 0);
      }
    }
    return { images, labels, count: n, channels: 1, height: size, width: size, classes };
  };
  return { train: make(train), test: make(test) };
}

function idx(shape: number[], data: Uint8Array | Int32Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * shape.length);
  head.set([0, 0, 8, shape.length]);
  shape.forEach((d, i) => new DataView(head.buffer).setUint32(4 + 4 * i, d));
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(Uint8Array.from(data), head.length);
  return out;
}

/** A toy Fashion-MNIST folder (IDX files) of 8×8 images. */
export async function toyIdx(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const { train, test } = toySplits(96, 32);
  for (const [stem, ds] of [["train", train], ["t10k", test]] as const) {
    await Deno.writeFile(`${dir}/${stem}-images-idx3-ubyte`, idx([ds.count, 8, 8], ds.images));
    await Deno.writeFile(`${dir}/${stem}-labels-idx1-ubyte`, idx([ds.count], ds.labels));
  }
  return dir;
}
