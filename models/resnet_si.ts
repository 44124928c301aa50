/**
 * ResNet18SI of the three-regimes paper (reference `nets/resnet_si.py`, after Li & Arora's
 * scale-invariant pre-activation ResNet): pre-activation blocks with BatchNorm without affine
 * parameters, a BatchNorm + 1×1 conv shortcut where the shape changes (applied to relu(bn1(x))),
 * then BN → ReLU → global average pooling (the reference's AvgPool(4) on 4×4 maps) → Linear without
 * bias at a fixed norm (`initScale`, default 10). Every convolution is scale-invariant jointly.
 * Names: `conv1`, `layerN.M.bn1|conv1|bn2|conv2|shortcut.0|shortcut.1`, `bn`, `linear`.
 * @module
 */
import type { Tensor } from "../kernels/runtime/tensor.ts";
import { FixedNormLinear } from "./convnet_si.ts";
import { BatchNorm2d, Conv2d, GlobalAvgPool, Linear, ReLU } from "./layers.ts";
import { PreActBlock } from "./preact.ts";
import { Module, Sequential, type StepContext } from "./module.ts";

/** The scale-invariant pre-activation block (BN without affine; BN + 1×1 conv shortcut). */
export class PreActBlockSI extends PreActBlock {
  /** BN + 1×1 conv on relu(bn1(x)) where the shape changes. */
  readonly shortcut: Sequential | null;

  /**
   * Creates the block.
   * @param inC Input channels.
   * @param outC Output channels.
   * @param stride Stride.
   */
  constructor(inC: number, outC: number, stride: number) {
    const sc = stride !== 1 || inC !== outC
      ? new Sequential(new BatchNorm2d(inC, false), new Conv2d(inC, outC, 1, stride, 0, false))
      : null;
    super(
      new BatchNorm2d(inC, false),
      new Conv2d(inC, outC, 3, stride, 1, false),
      new BatchNorm2d(outC, false),
      new Conv2d(outC, outC, 3, 1, 1, false),
      sc,
    );
    this.shortcut = sc;
  }

  /** bn1, conv1, bn2, conv2, shortcut — the reference's order. */
  override children(): [string, Module][] {
    const c: [string, Module][] = [["bn1", this.bn1], ["conv1", this.conv1], ["bn2", this.bn2], [
      "conv2",
      this.conv2,
    ]];
    if (this.shortcut) c.push(["shortcut", this.shortcut]);
    return c;
  }
}

/** Options of {@link ResNet18SI}. */
export interface ResNet18SIOptions {
  /** Classes (default 10). */
  classes?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /** Base width (default 64). */
  channels?: number;
  /** The last layer's initial weight norm (default 10; ≤ 0: PyTorch's init). */
  initScale?: number;
}

/** ResNet18SI: [2, 2, 2, 2] pre-activation blocks, widths c, 2c, 4c, 8c. */
export class ResNet18SI extends Module {
  /** Stem convolution. */
  readonly conv1: Conv2d;
  /** The four stages (`layer1` … `layer4`). */
  readonly stages: Sequential[];
  /** Final BN (no affine). */
  readonly bn: BatchNorm2d;
  /** Final ReLU. */
  readonly relu: ReLU = new ReLU();
  /** Global average pooling. */
  readonly pool: GlobalAvgPool = new GlobalAvgPool();
  /** The fixed-norm classifier (no bias). */
  readonly linear: Linear;

  /**
   * Creates the network.
   * @param o Classes, input channels, width, last-layer norm.
   */
  constructor(o: ResNet18SIOptions = {}) {
    super();
    const { classes = 10, inChannels = 3, channels: c = 64, initScale = 10 } = o;
    this.conv1 = new Conv2d(inChannels, c, 3, 1, 1, false);
    let inC = c;
    this.stages = [c, 2 * c, 4 * c, 8 * c].map((w, s) => {
      const blocks = [new PreActBlockSI(inC, w, s === 0 ? 1 : 2), new PreActBlockSI(w, w, 1)];
      inC = w;
      return new Sequential(...blocks);
    });
    this.bn = new BatchNorm2d(8 * c, false);
    this.linear = initScale > 0
      ? new FixedNormLinear(8 * c, classes, initScale, false)
      : new Linear(8 * c, classes, false);
  }

  /** conv1, layer1–4, bn, linear. */
  override children(): [string, Module][] {
    return [
      ["conv1", this.conv1],
      ...this.stages.map((s, i): [string, Module] => [`layer${i + 1}`, s]),
      ["bn", this.bn],
      ["linear", this.linear],
    ];
  }

  #seq(): Sequential {
    return new Sequential(this.conv1, ...this.stages, this.bn, this.relu, this.pool, this.linear);
  }

  /** Logits. */
  forward(x: Tensor, ctx: StepContext): Tensor {
    return this.#seq().forward(x, ctx);
  }

  /** Backward from dL/dlogits. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    return this.#seq().backward(dy, ctx);
  }
}
