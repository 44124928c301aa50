/**
 * The pre-activation residual block shared by WideResNet and ResNet18SI:
 * o = relu(bn1(x)); y = conv2(relu(bn2(conv1(o)))) + (x, or shortcut(o) where the shape changes).
 * Subclasses choose the BatchNorms (affine or not), the shortcut module and the child names.
 * @module
 */
import { add } from "../kernels/ops/binary.ts";
import type { Tensor } from "../kernels/runtime/tensor.ts";
import { addGrads, type BatchNorm2d, type Conv2d, ReLU } from "./layers.ts";
import { later, Module, type StepContext } from "./module.ts";

/** Pre-activation block: BN-ReLU-conv-BN-ReLU-conv plus the input or a projection of relu(bn1(x)). */
export abstract class PreActBlock extends Module {
  /** ReLU after bn1. */
  readonly relu1: ReLU = new ReLU();
  /** ReLU after bn2. */
  readonly relu2: ReLU = new ReLU();

  /**
   * Creates the block from its layers.
   * @param bn1 BN before conv1.
   * @param conv1 First convolution (carries the stride).
   * @param bn2 BN before conv2.
   * @param conv2 Second convolution.
   * @param projection The shortcut applied to relu(bn1(x)), or null for the identity.
   */
  constructor(
    readonly bn1: BatchNorm2d,
    readonly conv1: Conv2d,
    readonly bn2: BatchNorm2d,
    readonly conv2: Conv2d,
    readonly projection: Module | null,
  ) {
    super();
  }

  /** The input feeds the shortcut too: every gradient is kept. */
  override readsNetworkInput(): void {}

  /** conv2(relu(bn2(conv1(o)))) + (x or projection(o)), o = relu(bn1(x)). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    const a = this.bn1.forward(x, ctx);
    const o = this.relu1.forward(a, ctx);
    const h1 = this.conv1.forward(o, ctx);
    const b = this.bn2.forward(h1, ctx);
    const o2 = this.relu2.forward(b, ctx);
    const h = this.conv2.forward(o2, ctx);
    const sc = this.projection ? this.projection.forward(o, ctx) : x;
    add(ctx.rec, h, sc, h);
    if (!ctx.train) later(ctx.rec, a, o, h1, b, o2);
    if (sc !== x) later(ctx.rec, sc);
    return h;
  }

  /** Both branches; the shortcut's gradient joins at o (projection) or at x (identity). */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const release = (t: Tensor) => later(ctx.rec, t);
    const g2 = this.conv2.backward(dy, ctx);
    const gb = this.relu2.backward(g2, ctx);
    release(g2);
    const gh1 = this.bn2.backward(gb, ctx);
    release(gb);
    let go = this.conv1.backward(gh1, ctx);
    release(gh1);
    if (this.projection) go = addGrads(ctx.rec, go, this.projection.backward(dy, ctx));
    const ga = this.relu1.backward(go, ctx);
    release(go);
    const gx = this.bn1.backward(ga, ctx);
    release(ga);
    if (this.projection) return gx;
    return add(ctx.rec, gx, dy, gx);
  }
}
