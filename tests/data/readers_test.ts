import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { loadCifarBin, loadIdxSplits } from "../../data/dataset.ts";
import { parseIdx, readIdx } from "../../data/idx.ts";
import { FMNIST_DIR, fmnistTest } from "../_helpers.ts";

function idx(shape: number[], data: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + data.length);
  out.set([0, 0, 8, shape.length]);
  const dv = new DataView(out.buffer);
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * shape.length);
  return out;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

Deno.test("IDX files, gzipped and raw, load as Fashion-MNIST splits; bad files name the file and offset", async () => {
  const dir = await Deno.makeTempDir();
  const img = Array.from({ length: 3 * 4 }, (_, i) => i * 10), lab = [2, 0, 9];
  await Deno.writeFile(`${dir}/train-images-idx3-ubyte.gz`, await gzip(idx([3, 2, 2], img)));
  await Deno.writeFile(`${dir}/train-labels-idx1-ubyte.gz`, await gzip(idx([3], lab)));
  await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, idx([1, 2, 2], [1, 2, 3, 4]));
  await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, idx([1], [5]));
  const s = await loadIdxSplits(["/nonexistent-dir", dir]);
  deepEqual([s.train.count, s.train.height, s.train.width, s.train.channels], [3, 2, 2, 1]);
  deepEqual(Array.from(s.train.labels), lab);
  deepEqual(Array.from(s.train.images), img);
  deepEqual(Array.from(s.test.images), [1, 2, 3, 4]);
  await Deno.writeFile(`${dir}/short`, idx([5, 2, 2], [1, 2, 3]));
  await rejects(
    () => readIdx(`${dir}/short`),
    /Invalid data file ".*short": short file: data ends at byte offset 19, expected 36 bytes for shape \[5,2,2\]/,
  );
  await rejects(
    () => loadIdxSplits(["/a", "/b"]),
    /no IDX files found; tried \/a\/\{train,t10k\}.*; \/b\/.*Install Fashion-MNIST with 'apt-get install dataset-fashion-mnist'/,
  );
  await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, idx([1], [12]));
  await rejects(() => loadIdxSplits([dir]), /label 12 of image 0 is out of range: expected 0…9/);
  equal(parseIdx(idx([2], [7, 8]), "x").data[1], 8);
  throws(() => parseIdx(new Uint8Array([1, 2, 3, 4]), "bad.idx"), /bad\.idx": missing the IDX magic/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("CIFAR-10 and CIFAR-100 binary batches load; a cut record names the byte offset", async () => {
  const dir = await Deno.makeTempDir();
  const rec10 = (label: number, v: number) => [label, ...new Array(3072).fill(v)];
  await Deno.writeFile(`${dir}/data_batch_1.bin`, Uint8Array.from([...rec10(3, 1), ...rec10(9, 2)]));
  const c10 = await loadCifarBin([`${dir}/data_batch_1.bin`], "cifar10");
  deepEqual([c10.count, Array.from(c10.labels), c10.images[3072], c10.classes], [2, [3, 9], 2, 10]);
  await Deno.writeFile(`${dir}/train.bin`, Uint8Array.from([4, 77, ...new Array(3072).fill(5)]));
  const c100 = await loadCifarBin([`${dir}/train.bin`], "cifar100");
  deepEqual([c100.count, Array.from(c100.labels), c100.classes], [1, [77], 100]);
  await Deno.writeFile(`${dir}/cut.bin`, Uint8Array.from([...rec10(1, 0), 2, 3]));
  await rejects(
    () => loadCifarBin([`${dir}/cut.bin`], "cifar10"),
    /cut\.bin": size 3075 is not a multiple of the 3073-byte cifar10 record: the last record starts at byte offset 3073/,
  );
  await Deno.writeFile(`${dir}/badlabel.bin`, Uint8Array.from(rec10(11, 0)));
  await rejects(
    () => loadCifarBin([`${dir}/badlabel.bin`], "cifar10"),
    /label 11 of image 0 is out of range: expected 0…9/,
  );
  await Deno.remove(dir, { recursive: true });
});

// .ci/run installs Debian's dataset-fashion-mnist, the default data set of `deno task train`.
fmnistTest("the real Fashion-MNIST from Debian's package loads (60000 + 10000 images)", async () => {
  const s = await loadIdxSplits([FMNIST_DIR]);
  deepEqual([s.train.count, s.test.count, s.train.height, s.train.width], [60000, 10000, 28, 28]);
  equal(new Set(s.train.labels).size, 10);
});
