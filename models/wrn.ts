/**
 * Wide ResNets (Zagoruyko & Komodakis), pre-activation: conv1 3×3 16, three groups of
 * (depth − 4)/6 blocks of widths 16k, 32k, 64k (strides 1, 2, 2), final BN-ReLU, 8×8 average
 * pooling, `fc`. Names follow the common PyTorch port: `block1.layer.0.bn1`, `…conv1`, `…bn2`,
 * `…conv2`, `…convShortcut`.
 * Ref: Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import type { Tensor } from "../kernels/runtime/tensor.ts";
import { BatchNorm2d, Conv2d, GlobalAvgPool, Linear, ReLU } from "./layers.ts";
import { PreActBlock } from "./preact.ts";
import { Module, Sequential, type StepContext } from "./module.ts";

/** The pre-activation wide block: BN-ReLU-conv-BN-ReLU-conv, plus the input (or its projection). */
export class WideBlock extends PreActBlock {
  /** 1×1 projection of relu(bn1(x)) when the shape changes. */
  readonly convShortcut: Conv2d | null;

  /**
   * Creates the module.
   * @param inC Input channels.
   * @param outC Output channels.
   * @param stride Stride.
   */
  constructor(inC: number, outC: number, stride: number) {
    const sc = inC !== outC || stride !== 1 ? new Conv2d(inC, outC, 1, stride, 0, false) : null;
    super(
      new BatchNorm2d(inC),
      new Conv2d(inC, outC, 3, stride, 1, false),
      new BatchNorm2d(outC),
      new Conv2d(outC, outC, 3, 1, 1, false),
      sc,
    );
    this.convShortcut = sc;
  }

  /** bn1, conv1, bn2, conv2, convShortcut. */
  override children(): [string, Module][] {
    const c: [string, Module][] = [["bn1", this.bn1], ["conv1", this.conv1], ["bn2", this.bn2], [
      "conv2",
      this.conv2,
    ]];
    if (this.convShortcut) c.push(["convShortcut", this.convShortcut]);
    return c;
  }
}

/** WRN-depth-k. */
export class WideResNet extends Module {
  /** Stem convolution. */
  readonly conv1: Conv2d;
  /** The three groups, each `blockN.layer`. */
  readonly groups: Sequential[];
  /** Final BN. */
  readonly bn1: BatchNorm2d;
  /** Final ReLU. */
  readonly relu: ReLU = new ReLU();
  /** Global average pooling (8×8 on 32×32 inputs). */
  readonly pool: GlobalAvgPool = new GlobalAvgPool();
  /** Classifier. */
  readonly fc: Linear;

  /**
   * Creates the module.
   * @param depth 16, 28, … (depth − 4 divisible by 6).
   * @param k Widen factor.
   * @param options Classes (10) and input channels (3).
   */
  constructor(depth: number, k: number, options: { classes?: number; inChannels?: number } = {}) {
    super();
    if ((depth - 4) % 6 !== 0 || depth < 10) {
      throw new OptionError(`WideResNet: depth ${depth} must be 6n + 4 (10, 16, 22, 28, …)`);
    }
    const { classes = 10, inChannels = 3 } = options;
    const n = (depth - 4) / 6, widths = [16 * k, 32 * k, 64 * k];
    this.conv1 = new Conv2d(inChannels, 16, 3, 1, 1, false);
    let c = 16;
    this.groups = widths.map((w, gi) => {
      const blocks: Module[] = [];
      for (let b = 0; b < n; b++) {
        blocks.push(new WideBlock(c, w, b === 0 && gi > 0 ? 2 : 1));
        c = w;
      }
      return new Sequential(...blocks);
    });
    this.bn1 = new BatchNorm2d(c);
    this.fc = new Linear(c, classes);
  }

  /** conv1, block1.layer …, bn1, fc. */
  override children(): [string, Module][] {
    const groups = this.groups.map((g, i): [string, Module] => [`block${i + 1}`, new GroupWrapper(g)]);
    return [["conv1", this.conv1], ...groups, ["bn1", this.bn1], ["fc", this.fc]];
  }

  /** Logits. */
  forward(x: Tensor, ctx: StepContext): Tensor {
    return new Sequential(this.conv1, ...this.groups, this.bn1, this.relu, this.pool, this.fc).forward(
      x,
      ctx,
    );
  }

  /** Backward from dL/dlogits. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    return new Sequential(this.conv1, ...this.groups, this.bn1, this.relu, this.pool, this.fc).backward(
      dy,
      ctx,
    );
  }
}

// `blockN.layer.i…`: the port nests each group's Sequential under `layer`.
class GroupWrapper extends Module {
  constructor(readonly layer: Sequential) {
    super();
  }
  override children(): [string, Module][] {
    return [["layer", this.layer]];
  }
  forward(x: Tensor, ctx: StepContext): Tensor {
    return this.layer.forward(x, ctx);
  }
  backward(dy: Tensor, ctx: StepContext): Tensor {
    return this.layer.backward(dy, ctx);
  }
}
