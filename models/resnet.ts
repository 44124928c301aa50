/**
 * ResNets for small images: the CIFAR ResNet-18/34 (3×3 stem, no max-pool, BasicBlocks
 * [2,2,2,2] / [3,4,6,3], widths 64·w … 512·w, global average pooling, linear head) and a small
 * ResNet for 28×28 grayscale. Names follow torchvision: `conv1`, `bn1`, `layer1.0.conv1`,
 * `layer2.0.downsample.0`, `fc`.
 * @module
 */
import type { Tensor } from "../kernels/runtime/tensor.ts";
import { addGrads, BatchNorm2d, Conv2d, GlobalAvgPool, Linear, ReLU } from "./layers.ts";
import { later, Module, Sequential, type StepContext } from "./module.ts";

/**
 * A residual block: a main path of layers, an optional projection shortcut, their sum, and a final
 * ReLU. BasicBlock and Bottleneck differ only in their main path.
 */
export abstract class ResidualBlock extends Module {
  /** Projection shortcut (1×1 conv + BN) when the shape changes, else the identity. */
  abstract readonly downsample: Sequential | null;
  /** Final ReLU after the sum. */
  readonly out: ReLU = new ReLU();

  /** The main path's layers, in order. */
  abstract mainPath(): Module[];

  /** The input feeds the shortcut too: every gradient is kept. */
  override readsNetworkInput(): void {}

  /** relu(main(x) + shortcut(x)). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    let h = x;
    for (const m of this.mainPath()) {
      const next = m.forward(h, ctx);
      if (!ctx.train && h !== x) later(ctx.rec, h);
      h = next;
    }
    const sc = this.downsample ? this.downsample.forward(x, ctx) : x;
    // relu(h + shortcut) in one pass; h (the last BN's output) is saved by no one.
    const y = this.out.forwardSum(h, sc, ctx);
    if (sc !== x) later(ctx.rec, sc);
    later(ctx.rec, h);
    return y;
  }

  /** Backward through both branches; dx is their sum. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const g = this.out.backward(dy, ctx);
    let main = g;
    for (const m of [...this.mainPath()].reverse()) {
      const next = m.backward(main, ctx);
      if (main !== g) later(ctx.rec, main);
      main = next;
    }
    if (this.downsample) {
      const sc = this.downsample.backward(g, ctx);
      later(ctx.rec, g);
      return addGrads(ctx.rec, main, sc);
    }
    return addGrads(ctx.rec, main, g);
  }
}

/** The ResNet basic block: conv3×3-BN-ReLU-conv3×3-BN, plus the (projected) input, then ReLU. */
export class BasicBlock extends ResidualBlock {
  /** First convolution. */
  readonly conv1: Conv2d;
  /** First BatchNorm. */
  readonly bn1: BatchNorm2d;
  /** ReLU after bn1 (run fused into bn1: `bn1.relu`; kept to describe the block). */
  readonly relu1: ReLU = new ReLU();
  /** Second convolution. */
  readonly conv2: Conv2d;
  /** Second BatchNorm. */
  readonly bn2: BatchNorm2d;
  /** Projection shortcut (1×1 conv + BN) when the shape changes. */
  readonly downsample: Sequential | null;

  /**
   * Creates the block.
   * @param inC Input channels.
   * @param outC Output channels.
   * @param stride Stride of the first convolution and the shortcut.
   */
  constructor(inC: number, outC: number, stride = 1) {
    super();
    this.conv1 = new Conv2d(inC, outC, 3, stride, 1, false);
    this.bn1 = new BatchNorm2d(outC);
    this.bn1.relu = true;
    this.conv2 = new Conv2d(outC, outC, 3, 1, 1, false);
    this.bn2 = new BatchNorm2d(outC);
    this.downsample = stride !== 1 || inC !== outC
      ? new Sequential(new Conv2d(inC, outC, 1, stride, 0, false), new BatchNorm2d(outC))
      : null;
  }

  /** conv1, bn1, conv2, bn2, downsample (PyTorch's registration order). */
  override children(): [string, Module][] {
    const c: [string, Module][] = [["conv1", this.conv1], ["bn1", this.bn1], ["conv2", this.conv2], [
      "bn2",
      this.bn2,
    ]];
    if (this.downsample) c.push(["downsample", this.downsample]);
    return c;
  }

  /** conv1, bn1 (+ relu, fused), conv2, bn2. */
  mainPath(): Module[] {
    return [this.conv1, this.bn1, this.conv2, this.bn2];
  }
}

/** The ResNet bottleneck block (expansion 4): 1×1, 3×3 (stride), 1×1 convs with BN, plus the input. */
export class Bottleneck extends ResidualBlock {
  /** Output channels are `planes · expansion`. */
  static readonly expansion = 4;
  /** 1×1 reduce. */
  readonly conv1: Conv2d;
  /** BN after conv1. */
  readonly bn1: BatchNorm2d;
  /** ReLU after bn1 (run fused into bn1). */
  readonly relu1: ReLU = new ReLU();
  /** 3×3 (carries the stride). */
  readonly conv2: Conv2d;
  /** BN after conv2. */
  readonly bn2: BatchNorm2d;
  /** ReLU after bn2 (run fused into bn2). */
  readonly relu2: ReLU = new ReLU();
  /** 1×1 expand. */
  readonly conv3: Conv2d;
  /** BN after conv3. */
  readonly bn3: BatchNorm2d;
  /** Projection shortcut when the shape changes. */
  readonly downsample: Sequential | null;

  /**
   * Creates the block.
   * @param inC Input channels.
   * @param planes Inner channels (output = planes·4).
   * @param stride Stride of the 3×3 conv and the shortcut.
   */
  constructor(inC: number, planes: number, stride = 1) {
    super();
    const out = planes * Bottleneck.expansion;
    this.conv1 = new Conv2d(inC, planes, 1, 1, 0, false);
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = new Conv2d(planes, planes, 3, stride, 1, false);
    this.bn2 = new BatchNorm2d(planes);
    this.bn1.relu = this.bn2.relu = true;
    this.conv3 = new Conv2d(planes, out, 1, 1, 0, false);
    this.bn3 = new BatchNorm2d(out);
    this.downsample = stride !== 1 || inC !== out
      ? new Sequential(new Conv2d(inC, out, 1, stride, 0, false), new BatchNorm2d(out))
      : null;
  }

  /** conv1, bn1, conv2, bn2, conv3, bn3, downsample. */
  override children(): [string, Module][] {
    const c: [string, Module][] = [
      ["conv1", this.conv1],
      ["bn1", this.bn1],
      ["conv2", this.conv2],
      ["bn2", this.bn2],
      ["conv3", this.conv3],
      ["bn3", this.bn3],
    ];
    if (this.downsample) c.push(["downsample", this.downsample]);
    return c;
  }

  /** conv1, bn1 (+ relu), conv2, bn2 (+ relu), conv3, bn3: the ReLUs run fused into the BNs. */
  mainPath(): Module[] {
    return [this.conv1, this.bn1, this.conv2, this.bn2, this.conv3, this.bn3];
  }
}

/** Options of the ResNets. */
export interface ResNetOptions {
  /** Classes (default 10). */
  classes?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /** Width factor on the stage widths (default 1). */
  width?: number;
}

/** A CIFAR-style ResNet: stem conv3×3-BN-ReLU, stages of BasicBlocks, pooling, linear head. */
export class ResNet extends Module {
  /** Stem convolution. */
  readonly conv1: Conv2d;
  /** Stem BatchNorm. */
  readonly bn1: BatchNorm2d;
  /** Stem ReLU (run fused into bn1). */
  readonly relu: ReLU = new ReLU();
  /** Stages layer1 … layerN. */
  readonly stages: Sequential[];
  /** Global average pooling. */
  readonly pool: GlobalAvgPool = new GlobalAvgPool();
  /** Classifier. */
  readonly fc: Linear;

  /**
   * Creates the module.
   * @param blocks Blocks per stage (e.g. [2, 2, 2, 2]).
   * @param widths Channels per stage before the width factor (e.g. [64, 128, 256, 512]).
   * @param options Classes, input channels, width factor.
   */
  constructor(blocks: number[], widths: number[], options: ResNetOptions = {}) {
    super();
    const { classes = 10, inChannels = 3, width = 1 } = options;
    const w = widths.map((c) => Math.max(1, Math.round(c * width)));
    this.conv1 = new Conv2d(inChannels, w[0], 3, 1, 1, false);
    this.bn1 = new BatchNorm2d(w[0]);
    this.bn1.relu = true;
    let inC = w[0];
    this.stages = blocks.map((n, s) => {
      const layers: Module[] = [];
      for (let b = 0; b < n; b++) {
        layers.push(new BasicBlock(inC, w[s], b === 0 && s > 0 ? 2 : 1));
        inC = w[s];
      }
      return new Sequential(...layers);
    });
    this.fc = new Linear(inC, classes);
  }

  /** conv1, bn1, layer1…, fc. */
  override children(): [string, Module][] {
    return [
      ["conv1", this.conv1],
      ["bn1", this.bn1],
      ...this.stages.map((s, i): [string, Module] => [`layer${i + 1}`, s]),
      ["fc", this.fc],
    ];
  }

  /** Logits (N, classes). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    return new Sequential(this.conv1, this.bn1, ...this.stages, this.pool, this.fc).forward(
      x,
      ctx,
    );
  }

  /** Backward from dL/dlogits; returns dL/dx. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    return new Sequential(this.conv1, this.bn1, ...this.stages, this.pool, this.fc).backward(
      dy,
      ctx,
    );
  }
}

/** CIFAR ResNet-18. */
export function resnet18(options: ResNetOptions = {}): ResNet {
  return new ResNet([2, 2, 2, 2], [64, 128, 256, 512], options);
}

/** CIFAR ResNet-34. */
export function resnet34(options: ResNetOptions = {}): ResNet {
  return new ResNet([3, 4, 6, 3], [64, 128, 256, 512], options);
}

/**
 * A small ResNet for 28×28 grayscale (Fashion-MNIST), the default of `deno task train`: stages
 * [1, 1, 1] of widths 8, 16, 32 (× `width`), sized so that two epochs train in about ten minutes
 * on a software adapter.
 */
export function smallResNet(options: ResNetOptions = {}): ResNet {
  return new ResNet([1, 1, 1], [8, 16, 32], { inChannels: 1, ...options });
}
