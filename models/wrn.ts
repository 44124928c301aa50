/**
 * Wide ResNets (Zagoruyko & Komodakis), pre-activation: conv1 3×3 16, three groups of
 * (depth − 4)/6 blocks of widths 16k, 32k, 64k (strides 1, 2, 2), final BN-ReLU, 8×8 average
 * pooling, `fc`. Names follow the common PyTorch port: `block1.layer.0.bn1`, `…conv1`, `…bn2`,
 * `…conv2`, `…convShortcut`.
 * Ref: Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016.
 * @module
 */
import { add } from "../kernels/binary.ts";
import type { Tensor } from "../kernels/tensor.ts";
import { addGrads, BatchNorm2d, Conv2d, GlobalAvgPool, Linear, ReLU } from "./layers.ts";
import { Module, Sequential, type StepContext } from "./module.ts";

/** The pre-activation wide block: BN-ReLU-conv-BN-ReLU-conv, plus the input (or its projection). */
export class WideBlock extends Module {
  /** BN before the first conv. */
  readonly bn1: BatchNorm2d;
  /** ReLU after bn1. */
  readonly relu1: ReLU = new ReLU();
  /** First convolution (carries the stride). */
  readonly conv1: Conv2d;
  /** BN before the second conv. */
  readonly bn2: BatchNorm2d;
  /** ReLU after bn2. */
  readonly relu2: ReLU = new ReLU();
  /** Second convolution. */
  readonly conv2: Conv2d;
  /** 1×1 projection of relu(bn1(x)) when the shape changes. */
  readonly convShortcut: Conv2d | null;

  /**
   * Creates the module.
   * @param inC Input channels.
   * @param outC Output channels.
   * @param stride Stride.
   */
  constructor(inC: number, outC: number, stride: number) {
    super();
    this.bn1 = new BatchNorm2d(inC);
    this.conv1 = new Conv2d(inC, outC, 3, stride, 1, false);
    this.bn2 = new BatchNorm2d(outC);
    this.conv2 = new Conv2d(outC, outC, 3, 1, 1, false);
    this.convShortcut = inC !== outC || stride !== 1 ? new Conv2d(inC, outC, 1, stride, 0, false) : null;
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

  /** conv2(relu(bn2(conv1(o)))) + (x or convShortcut(o)), o = relu(bn1(x)). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    const a = this.bn1.forward(x, ctx);
    const o = this.relu1.forward(a, ctx);
    const h1 = this.conv1.forward(o, ctx);
    const b = this.bn2.forward(h1, ctx);
    const o2 = this.relu2.forward(b, ctx);
    const h = this.conv2.forward(o2, ctx);
    const sc = this.convShortcut ? this.convShortcut.forward(o, ctx) : x;
    add(ctx.rec, h, sc, h);
    if (!ctx.train) ctx.rec.after(() => [a, o, h1, b, o2].forEach((t) => t.release()));
    if (sc !== x) ctx.rec.after(() => sc.release());
    return h;
  }

  /** Both branches; the shortcut's gradient joins at o (projection) or at x (identity). */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const release = (t: Tensor) => ctx.rec.after(() => t.release());
    const g2 = this.conv2.backward(dy, ctx);
    const gb = this.relu2.backward(g2, ctx);
    release(g2);
    const gh1 = this.bn2.backward(gb, ctx);
    release(gb);
    let go = this.conv1.backward(gh1, ctx);
    release(gh1);
    if (this.convShortcut) go = addGrads(ctx.rec, go, this.convShortcut.backward(dy, ctx));
    const ga = this.relu1.backward(go, ctx);
    release(go);
    const gx = this.bn1.backward(ga, ctx);
    release(ga);
    if (this.convShortcut) return gx;
    return add(ctx.rec, gx, dy, gx);
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
      throw new RangeError(`WideResNet: depth ${depth} must be 6n + 4 (10, 16, 22, 28, …)`);
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
