import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import jpeg from "jpeg-js";
import { encode as encodePng } from "fast-png";
import { parseMat } from "../../data/mat.ts";
import { loadSvhnMat } from "../../data/svhn.ts";
import { decodeImage, loadImageFolder, loadTinyImageNet } from "../../data/image_folder.ts";
import { loadDataset, subsetTrain } from "../../data/registry.ts";
import { DataFileError } from "../../data/idx.ts";
import { matFile, matrix, svhnVars } from "./_mat.ts";

Deno.test("SVHN .mat (MATLAB v5, raw and zlib-compressed) loads in (N, C, H, W) order with 10 → digit 0", async () => {
  const dir = await Deno.makeTempDir();
  for (const compress of [false, true]) {
    const file = `${dir}/train_32x32_${compress}.mat`;
    await Deno.writeFile(file, await matFile(svhnVars(3, [10, 1, 7]), compress));
    const ds = await loadSvhnMat(file);
    deepEqual([ds.count, ds.channels, ds.height, ds.width, ds.classes], [3, 3, 4, 5, 10]);
    deepEqual([...ds.labels], [0, 1, 7]);
    for (const [n, c, h, w] of [[0, 0, 0, 0], [2, 1, 3, 4], [1, 2, 2, 1]]) {
      equal(
        ds.images[((n * 3 + c) * 4 + h) * 5 + w],
        (n * 60 + c * 20 + h * 5 + w) % 256,
        `${n},${c},${h},${w}`,
      );
    }
  }
  // Variables of other stored types convert to float64.
  const vars = await parseMat(await matFile([matrix("z", [2, 2], [1.5, -2, 3, 4], 6, "f64")], true), "z.mat");
  deepEqual([...vars.get("z")!.data], [1.5, -2, 3, 4]);
  deepEqual(vars.get("z")!.dims, [2, 2]);
});

Deno.test("bad .mat files name the file and byte offset; labels out of range are refused", async () => {
  const dir = await Deno.makeTempDir();
  const good = await matFile(svhnVars(2, [1, 2]), false);
  const cut = `${dir}/cut.mat`;
  await Deno.writeFile(cut, good.subarray(0, good.length - 40));
  await rejects(loadSvhnMat(cut), (e: Error) => {
    ok(e instanceof DataFileError);
    match(e.message, /cut\.mat.*byte offset \d+/);
    return true;
  });
  const corrupt = await matFile(svhnVars(2, [1, 2]), true);
  corrupt.fill(0xaa, 140, 160);
  await Deno.writeFile(`${dir}/corrupt.mat`, corrupt);
  await rejects(loadSvhnMat(`${dir}/corrupt.mat`), /corrupt\.mat.*compressed element at byte offset 128/);
  await Deno.writeFile(
    `${dir}/h5.mat`,
    new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
  );
  await rejects(loadSvhnMat(`${dir}/h5.mat`), /h5\.mat.*v7\.3 \(HDF5\).*-v7/);
  await Deno.writeFile(`${dir}/short.mat`, new Uint8Array(20));
  await rejects(loadSvhnMat(`${dir}/short.mat`), /short\.mat.*20 bytes/);
  await Deno.writeFile(`${dir}/label.mat`, await matFile(svhnVars(2, [3, 11]), true));
  await rejects(
    loadSvhnMat(`${dir}/label.mat`),
    /label\.mat.*label 11 of image 1 is out of range: expected 1…10/,
  );
  await Deno.writeFile(`${dir}/noy.mat`, await matFile([svhnVars(2, [1, 2])[0]], false));
  await rejects(loadSvhnMat(`${dir}/noy.mat`), /noy\.mat.*has no "y" variable/);
});

/** A 6×4 RGB test pattern as RGBA. */
function pattern(seed: number, w = 6, h = 4): Uint8Array {
  const px = new Uint8Array(w * h * 4);
  for (let p = 0; p < w * h; p++) {
    px.set([(p * 40 + seed * 17) % 256, (p * 13 + seed * 60) % 256, (255 - p * 9) % 256, 255], p * 4);
  }
  return px;
}

Deno.test("image folders: JPEG and PNG (RGB, RGBA, gray) decode to planar RGB; classes are sorted folders", async () => {
  const root = await Deno.makeTempDir();
  for (const c of ["cat", "ant", "bee"]) await Deno.mkdir(`${root}/train/${c}/sub`, { recursive: true });
  const rgba = pattern(1);
  await Deno.writeFile(
    `${root}/train/cat/a.png`,
    encodePng({ width: 6, height: 4, data: rgba, channels: 4 }),
  );
  const rgb = Uint8Array.from({ length: 24 * 3 }, (_, i) => rgba[Math.floor(i / 3) * 4 + (i % 3)]);
  await Deno.writeFile(`${root}/train/ant/b.png`, encodePng({ width: 6, height: 4, data: rgb, channels: 3 }));
  const gray = Uint8Array.from({ length: 24 }, (_, i) => i * 10);
  await Deno.writeFile(
    `${root}/train/bee/sub/c.png`,
    encodePng({ width: 6, height: 4, data: gray, channels: 1 }),
  );
  await Deno.writeFile(
    `${root}/train/bee/d.jpg`,
    jpeg.encode({ data: pattern(2), width: 6, height: 4 }, 100).data,
  );
  await Deno.writeTextFile(`${root}/train/bee/notes.txt`, "not an image");
  const { dataset: ds, classNames } = await loadImageFolder(`${root}/train`);
  deepEqual(classNames, ["ant", "bee", "cat"]);
  deepEqual([ds.count, ds.channels, ds.height, ds.width, ds.classes], [4, 3, 4, 6, 3]);
  deepEqual([...ds.labels], [0, 1, 1, 2]); // ant/b, bee/d.jpg, bee/sub/c, cat/a (sorted paths)
  const img = (i: number) => ds.images.subarray(i * 72, (i + 1) * 72);
  const plane = (px: Uint8Array, c: number) => Array.from({ length: 24 }, (_, p) => px[p * 4 + c]);
  for (const c of [0, 1, 2]) {
    deepEqual([...img(0).subarray(c * 24, c * 24 + 24)], plane(rgba, c), `RGB PNG channel ${c}`);
    deepEqual([...img(3).subarray(c * 24, c * 24 + 24)], plane(rgba, c), `RGBA PNG channel ${c}`);
    deepEqual([...img(2).subarray(c * 24, c * 24 + 24)], [...gray], `gray PNG → channel ${c}`);
    // JPEG is lossy: quality 100 keeps every pixel within a few levels.
    const want = plane(pattern(2), c), got = img(1).subarray(c * 24, c * 24 + 24);
    ok(want.every((v, p) => Math.abs(v - got[p]) <= 12), `JPEG channel ${c}: ${[...got]} vs ${want}`);
  }
  // A differently sized image, and bytes that are not an image, name the file.
  await Deno.writeFile(
    `${root}/train/cat/big.png`,
    encodePng({ width: 7, height: 4, data: pattern(3, 7), channels: 4 }),
  );
  await rejects(loadImageFolder(`${root}/train`), /big\.png.*is 7×4: expected 6×4/);
  await rejects(decodeImage(new Uint8Array([1, 2, 3, 4]), "x.png"), /"x\.png".*neither JPEG/);
  await rejects(decodeImage(new Uint8Array([0xff, 0xd8, 0, 0]), "y.jpg"), /"y\.jpg".*cannot be decoded/);
  await rejects(loadImageFolder(`${root}/missing`), /missing.*cannot be listed/);
});

Deno.test("TinyImageNet layout: train/<wnid>/images and val/images labelled by val_annotations.txt", async () => {
  const root = `${await Deno.makeTempDir()}/tiny-imagenet-200`;
  for (const w of ["n02", "n01"]) {
    await Deno.mkdir(`${root}/train/${w}/images`, { recursive: true });
    await Deno.writeFile(
      `${root}/train/${w}/images/${w}_0.JPEG`,
      jpeg.encode({ data: pattern(w === "n01" ? 1 : 2), width: 6, height: 4 }, 90).data,
    );
  }
  await Deno.mkdir(`${root}/val/images`, { recursive: true });
  for (const i of [0, 1, 2]) {
    await Deno.writeFile(
      `${root}/val/images/val_${i}.JPEG`,
      jpeg.encode({ data: pattern(i), width: 6, height: 4 }, 90).data,
    );
  }
  await Deno.writeTextFile(
    `${root}/val/val_annotations.txt`,
    "val_0.JPEG\tn02\t0\t0\t5\t3\nval_1.JPEG\tn01\t1\t1\t4\t3\nval_2.JPEG\tn02\t0\t0\t6\t4\n",
  );
  const t = await loadTinyImageNet(root);
  deepEqual(t.classNames, ["n01", "n02"]);
  deepEqual([...t.train.labels], [0, 1]);
  deepEqual([...t.test.labels], [1, 0, 1]);
  equal(t.test.count, 3);
  // Through the registry, from the parent folder (the archive's sub-folder is found).
  const splits = await loadDataset("tiny-imagenet", root.slice(0, root.lastIndexOf("/")));
  equal(splits.train.count, 2);
  await Deno.writeTextFile(`${root}/val/val_annotations.txt`, "val_0.JPEG\tn99\t0\t0\t5\t3\n");
  await rejects(loadTinyImageNet(root), /val_annotations\.txt.*line 1/);
});

Deno.test("missing data sets name every path tried and how to get them; --subset keeps the first N", async () => {
  const dir = await Deno.makeTempDir();
  for (
    const [name, hint] of [
      ["cifar10", /cifar-10-binary\.tar\.gz/],
      ["cifar100", /cifar-100-binary/],
      [
        "svhn",
        /ufldl\.stanford\.edu/,
      ],
      ["tiny-imagenet", /tiny-imagenet-200\.zip/],
      ["fashion-mnist", /apt-get install dataset-fashion-mnist/],
    ] as const
  ) {
    await rejects(loadDataset(name, `${dir}/nowhere`), (e: Error) => {
      ok(e instanceof DataFileError, name);
      match(e.message, hint);
      ok(e.message.includes(`${dir}/nowhere`), `${name}: ${e.message}`);
      return true;
    });
  }
  await rejects(loadDataset("cifar10", dir), new RegExp(`${dir}/cifar-10-batches-bin/\\{data_batch_1\\.bin`));
  await rejects(
    loadDataset("imagenet", dir),
    /Unknown data set "imagenet": expected one of fashion-mnist, cifar10/,
  );
  const toy = {
    images: Uint8Array.from({ length: 40 }, (_, i) => i),
    labels: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    count: 10,
    channels: 1,
    height: 2,
    width: 2,
    classes: 10,
  };
  const sub = subsetTrain({ train: toy, test: toy }, 3);
  deepEqual([sub.train.count, sub.train.images.length, [...sub.train.labels]], [3, 12, [0, 1, 2]]);
  equal(sub.test.count, 10);
  throws(() => subsetTrain({ train: toy, test: toy }, 0), /Invalid subset 0/);
});
