/**
 * Image folders as torchvision's `ImageFolder` reads them — `root/<class>/…/<image>.{jpg,jpeg,png}`,
 * classes in sorted order — and TinyImageNet's layout (`train/<wnid>/images/*.JPEG`, with the
 * validation images in one folder labelled by `val/val_annotations.txt`). JPEG is decoded with npm
 * `jpeg-js`, PNG with npm `fast-png` (both loaded on first use); grayscale images become RGB, alpha is dropped. All images
 * must have the size of the first one (no resizing is done).
 * @module
 */
import type { Dataset } from "./dataset.ts";
import { DataFileError } from "./idx.ts";

const IMAGE = /\.(jpe?g|png)$/i;

type Codecs = { jpeg: typeof import("jpeg-js"); png: typeof import("fast-png") };
let codecs: Promise<Codecs> | null = null;

/** The JPEG and PNG decoders, imported on first use (importers who never decode never load them). */
function loadCodecs(): Promise<Codecs> {
  codecs ??= Promise.all([import("jpeg-js"), import("fast-png")]).then(([j, png]) => ({
    jpeg: (j as unknown as { default: typeof import("jpeg-js") }).default ?? j,
    png,
  }));
  return codecs;
}

/**
 * Decodes one JPEG or PNG into 3×H×W uint8 (planar RGB).
 * @param bytes The file's bytes.
 * @param file Its path, for errors.
 * @returns Pixels and size.
 * @throws {DataFileError} When the bytes are neither, or cannot be decoded.
 */
export async function decodeImage(
  bytes: Uint8Array,
  file: string,
): Promise<{ data: Uint8Array; height: number; width: number }> {
  const { jpeg, png } = await loadCodecs();
  let rgba: ArrayLike<number>, width: number, height: number, channels: number;
  try {
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const d = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      [rgba, width, height, channels] = [d.data, d.width, d.height, 4];
    } else if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
      const d = png.decode(bytes);
      if (d.depth !== 8) throw new Error(`${d.depth}-bit PNG: expected 8-bit channels`);
      if (d.palette) throw new Error("palette PNG: expected grayscale or RGB(A)");
      [rgba, width, height, channels] = [d.data, d.width, d.height, d.channels];
    } else {
      throw new Error("neither JPEG (FF D8) nor PNG (89 50 4E 47) at byte offset 0");
    }
  } catch (e) {
    throw new DataFileError(file, `cannot be decoded as an image: ${(e as Error).message}`);
  }
  const plane = width * height, data = new Uint8Array(3 * plane);
  const gray = channels <= 2;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) data[c * plane + p] = rgba[p * channels + (gray ? 0 : c)];
  }
  return { data, height, width };
}

async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await listImages(p));
    else if (e.isFile && IMAGE.test(e.name)) out.push(p);
  }
  return out.sort();
}

async function subdirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isDirectory) out.push(e.name);
  return out.sort();
}

/**
 * Decodes a list of labelled images into a data set.
 * @param items Path and label of each image.
 * @param classes Number of classes.
 * @param what What the list is, for errors (e.g. the folder).
 * @returns The data set.
 */
export async function imagesToDataset(
  items: { path: string; label: number }[],
  classes: number,
  what: string,
): Promise<Dataset> {
  if (!items.length) throw new DataFileError(what, "has no .jpg, .jpeg or .png images");
  let H = 0, W = 0, images = new Uint8Array(0);
  const labels = new Int32Array(items.length);
  for (const [i, it] of items.entries()) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(it.path);
    } catch (e) {
      throw new DataFileError(it.path, `cannot be read (${(e as Error).message})`);
    }
    const img = await decodeImage(bytes, it.path);
    if (i === 0) {
      [H, W] = [img.height, img.width];
      images = new Uint8Array(items.length * 3 * H * W);
    } else if (img.height !== H || img.width !== W) {
      throw new DataFileError(
        it.path,
        `is ${img.width}×${img.height}: expected ${W}×${H} like ${items[0].path} (images are not resized)`,
      );
    }
    images.set(img.data, i * 3 * H * W);
    labels[i] = it.label;
  }
  return { images, labels, count: items.length, channels: 3, height: H, width: W, classes };
}

/**
 * Reads `root/<class>/…/<image>` (torchvision `ImageFolder`): classes are the sorted sub-folder
 * names, labels their indices.
 * @param root The folder.
 * @param classNames Class order to use (default: the sorted sub-folders of `root`); a sub-folder
 *   not in the list is an error.
 * @returns The data set and the class names.
 */
export async function loadImageFolder(
  root: string,
  classNames?: string[],
): Promise<{ dataset: Dataset; classNames: string[] }> {
  let dirs: string[];
  try {
    dirs = await subdirs(root);
  } catch (e) {
    throw new DataFileError(root, `cannot be listed (${(e as Error).message})`);
  }
  const names = classNames ?? dirs;
  if (!names.length) throw new DataFileError(root, "has no class sub-folders: expected root/<class>/<image>");
  const index = new Map(names.map((n, i) => [n, i]));
  const items: { path: string; label: number }[] = [];
  for (const d of dirs) {
    const label = index.get(d);
    if (label === undefined) {
      throw new DataFileError(
        `${root}/${d}`,
        `is not one of the ${names.length} classes of the training split`,
      );
    }
    for (const path of await listImages(`${root}/${d}`)) items.push({ path, label });
  }
  return { dataset: await imagesToDataset(items, names.length, root), classNames: names };
}

/**
 * Reads TinyImageNet (`tiny-imagenet-200/`): `train/<wnid>/images/*.JPEG` and `val/images/*.JPEG`
 * labelled by `val/val_annotations.txt` (file, wnid, box). Classes: sorted wnids of `train/`.
 * @param root The `tiny-imagenet-200` folder.
 * @returns Train and validation (used as test) splits, 3×64×64, and the wnids.
 */
export async function loadTinyImageNet(
  root: string,
): Promise<{ train: Dataset; test: Dataset; classNames: string[] }> {
  const { dataset: train, classNames } = await loadImageFolder(`${root}/train`);
  const annFile = `${root}/val/val_annotations.txt`;
  let text: string;
  try {
    text = await Deno.readTextFile(annFile);
  } catch (e) {
    throw new DataFileError(annFile, `cannot be read (${(e as Error).message})`);
  }
  const index = new Map(classNames.map((n, i) => [n, i]));
  const items = text.split("\n").flatMap((line, i) => {
    if (!line.trim()) return [];
    const [file, wnid] = line.split("\t");
    const label = index.get(wnid ?? "");
    if (!file || label === undefined) {
      throw new DataFileError(
        annFile,
        `line ${i + 1} ("${line.slice(0, 60)}"): expected <file>\\t<wnid of train/>\\t…`,
      );
    }
    return [{ path: `${root}/val/images/${file}`, label }];
  });
  return { train, test: await imagesToDataset(items, classNames.length, annFile), classNames };
}
