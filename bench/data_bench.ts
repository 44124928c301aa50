// deno bench of the data pipeline: one augmented, normalised batch assembled on the CPU (it runs
// while the GPU executes the previous step), and JPEG/PNG decoding for image folders.
import jpeg from "jpeg-js";
import { encode as encodePng } from "fast-png";
import { batches } from "../data/loader.ts";
import { decodeImage } from "../data/image_folder.ts";
import type { Dataset } from "../data/dataset.ts";

function synthetic(count: number, C: number, H: number): Dataset {
  const images = new Uint8Array(count * C * H * H).map((_, i) => (i * 31) % 251);
  return { images, labels: new Int32Array(count), count, channels: C, height: H, width: H, classes: 10 };
}

const fmnist = synthetic(1024, 1, 28), cifar = synthetic(1024, 3, 32);
for (
  const [name, ds, crop, flip] of [
    ["batch 128×1×28×28 (Fashion-MNIST: normalise)", fmnist, 0, false],
    ["batch 128×3×32×32 (CIFAR: crop 4 + flip + normalise)", cifar, 4, true],
  ] as const
) {
  let epoch = 0;
  Deno.bench({
    name,
    group: "batch",
    fn: () => {
      const it = batches(ds, epoch++, {
        batchSize: 128,
        cropPadding: crop,
        flip,
        mean: new Array(ds.channels).fill(0.5),
        std: new Array(ds.channels).fill(0.25),
      });
      it.next();
    },
  });
}

const rgba = new Uint8Array(64 * 64 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 7) % 256));
const jpg = jpeg.encode({ data: rgba, width: 64, height: 64 }, 90).data;
const png = encodePng({ width: 64, height: 64, data: rgba, channels: 4 });
Deno.bench({
  name: "decode 64×64 JPEG (TinyImageNet size)",
  group: "decode",
  fn: async () => void await decodeImage(jpg, "x.jpg"),
});
Deno.bench({
  name: "decode 64×64 PNG",
  group: "decode",
  fn: async () => void await decodeImage(png, "x.png"),
});
