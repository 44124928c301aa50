/**
 * VGG-11/16/19 with BatchNorm for 32×32 inputs: `features` (conv3×3 with bias, BN, ReLU, and 2×2
 * max-pools) and a linear `classifier` on the 512·w features left at 1×1 — the CIFAR variant the
 * TempBalance experiments use. Names follow PyTorch: `features.0.weight`, `features.1.running_mean`,
 * `classifier.weight`.
 * @module
 */
import type { Tensor } from "../kernels/runtime/tensor.ts";
import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU } from "./layers.ts";
import { Module, Sequential, type StepContext } from "./module.ts";

const CONFIGS = {
  vgg11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
  vgg16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
  vgg19: [
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    512,
    "M",
  ],
} as const;

/** Which VGG. */
export type VggDepth = "vgg11" | "vgg16" | "vgg19";

/** VGG with BatchNorm. */
export class VGG extends Module {
  /** Convolutional features. */
  readonly features: Sequential;
  /** Flattens (N, C, 1, 1). */
  readonly flatten: Flatten = new Flatten();
  /** Linear classifier. */
  readonly classifier: Linear;

  /**
   * Creates the module.
   * @param depth `vgg11`, `vgg16` or `vgg19`.
   * @param options Classes (10), input channels (3), width factor (1).
   */
  constructor(depth: VggDepth, options: { classes?: number; inChannels?: number; width?: number } = {}) {
    super();
    const { classes = 10, inChannels = 3, width = 1 } = options;
    const layers: Module[] = [];
    let c = inChannels;
    for (const v of CONFIGS[depth]) {
      if (v === "M") layers.push(new MaxPool2d(2, 2));
      else {
        const out = Math.max(1, Math.round(v * width));
        layers.push(new Conv2d(c, out, 3, 1, 1, true), new BatchNorm2d(out), new ReLU());
        c = out;
      }
    }
    this.features = new Sequential(...layers);
    this.classifier = new Linear(c, classes);
  }

  /** features, classifier. */
  override children(): [string, Module][] {
    return [["features", this.features], ["classifier", this.classifier]];
  }

  /** Logits (N, classes); expects 32×32 inputs (the features end at 1×1). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    return new Sequential(this.features, this.flatten, this.classifier).forward(x, ctx);
  }

  /** Backward from dL/dlogits. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    return new Sequential(this.features, this.flatten, this.classifier).backward(dy, ctx);
  }
}
