/**
 * PDEBench's `UNet2d` with its state-dict names: four encoder blocks (conv 3×3 → BatchNorm → tanh,
 * twice; `encoderN.encNconv1`, `encNnorm1`, …) with 2×2 max pooling, a bottleneck block, four
 * decoder blocks fed by a 2×2 stride-2 transposed convolution (`upconvN`) concatenated with the
 * encoder's output of the same level, and a 1×1 convolution `conv`. NCHW activations; the grid's
 * sides must be multiples of 16.
 * @module
 */
import { activation, activationBackward } from "../../kernels/nn/activation.ts";
import { convTranspose2d, convTranspose2dBackward } from "../../kernels/nn/conv_transpose.ts";
import { add } from "../../kernels/ops/binary.ts";
import { concat, slice } from "../../kernels/ops/gather.ts";
import type { Tensor } from "../../kernels/runtime/tensor.ts";
import { uniformFanIn } from "../init.ts";
import { BatchNorm2d, Conv2d, MaxPool2d } from "../layers.ts";
import { later, Module, type ParamSpec, Sequential, type StepContext, storeGrad } from "../module.ts";

/** `nn.Tanh`. */
export class Tanh extends Module {
  #saved: Tensor | null = null;
  /** tanh(x). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    if (ctx.train) this.#saved = x;
    return activation(ctx.rec, "tanh", x);
  }
  /** dy·(1 − tanh²x). */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const dx = activationBackward(ctx.rec, "tanh", dy, this.#saved!);
    later(ctx.rec, this.#saved);
    this.#saved = null;
    return dx;
  }
}

/** `nn.Sequential(OrderedDict(...))`: children with given names. */
export class NamedSequential extends Sequential {
  readonly #names: string[];
  /**
   * Creates the sequence.
   * @param named The layers with their names, in order.
   */
  constructor(named: [string, Module][]) {
    super(...named.map(([, m]) => m));
    this.#names = named.map(([n]) => n);
  }
  /** The children by their names. */
  override children(): [string, Module][] {
    return this.layers.map((l, i) => [this.#names[i], l]);
  }
}

/** `nn.ConvTranspose2d(in, out, kernel_size=k, stride=k)`. */
export class ConvTranspose2d extends Module {
  #saved: Tensor | null = null;
  /**
   * Creates the layer.
   * @param inC Input channels.
   * @param outC Output channels.
   * @param kernel Kernel size, also the stride.
   */
  constructor(readonly inC: number, readonly outC: number, readonly kernel: number) {
    super();
  }
  /** weight (in, out, k, k) and bias (out); PyTorch's fan-in is out·k². */
  override paramSpecs(): ParamSpec[] {
    const fanIn = this.outC * this.kernel * this.kernel;
    return [
      { name: "weight", shape: [this.inC, this.outC, this.kernel, this.kernel], init: uniformFanIn(fanIn) },
      { name: "bias", shape: [this.outC], init: uniformFanIn(fanIn) },
    ];
  }
  /** Upsamples by the kernel size. */
  forward(x: Tensor, ctx: StepContext): Tensor {
    if (ctx.train) this.#saved = x;
    return convTranspose2d(ctx.rec, x, this.param("weight").value, this.param("bias").value, this.name);
  }
  /** Gradients of weight and bias; returns dx. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const x = this.#saved!;
    this.#saved = null;
    const g = convTranspose2dBackward(ctx.rec, x, this.param("weight").value, dy, true, this.name);
    storeGrad(ctx.rec, g.dw, this.param("weight").grad);
    storeGrad(ctx.rec, g.db!, this.param("bias").grad);
    later(ctx.rec, x);
    return g.dx;
  }
}

/** PDEBench's `UNet2d._block`: (conv 3×3 no bias → BatchNorm → tanh) × 2. */
function block(inC: number, features: number, name: string): NamedSequential {
  return new NamedSequential([
    [`${name}conv1`, new Conv2d(inC, features, 3, 1, 1, false)],
    [`${name}norm1`, new BatchNorm2d(features)],
    [`${name}tanh1`, new Tanh()],
    [`${name}conv2`, new Conv2d(features, features, 3, 1, 1, false)],
    [`${name}norm2`, new BatchNorm2d(features)],
    [`${name}tanh2`, new Tanh()],
  ]);
}

/** PDEBench's `UNet2d(in_channels, out_channels, init_features)`. */
export class UNet2d extends Module {
  /** encoder1…encoder4. */
  readonly encoders: NamedSequential[];
  /** pool1…pool4. */
  readonly pools: MaxPool2d[];
  /** The bottleneck block. */
  readonly bottleneck: NamedSequential;
  /** upconv1…upconv4 (index 0 is upconv1). */
  readonly upconvs: ConvTranspose2d[];
  /** decoder1…decoder4 (index 0 is decoder1). */
  readonly decoders: NamedSequential[];
  /** The final 1×1 convolution. */
  readonly conv: Conv2d;

  /**
   * Creates the model.
   * @param inC Input channels.
   * @param outC Output channels.
   * @param features Channels of the first level (doubled per level).
   */
  constructor(readonly inC: number, readonly outC: number, readonly features: number) {
    super();
    const f = [features, 2 * features, 4 * features, 8 * features];
    this.encoders = f.map((c, i) => block(i ? f[i - 1] : inC, c, `enc${i + 1}`));
    this.pools = f.map(() => new MaxPool2d(2, 2));
    this.bottleneck = block(f[3], 16 * features, "bottleneck");
    // upconvs[i] and decoders[i] are PDEBench's upconv{i+1} and decoder{i+1}.
    this.upconvs = f.map((c) => new ConvTranspose2d(2 * c, c, 2));
    this.decoders = f.map((c, i) => block(2 * c, c, `dec${i + 1}`));
    this.conv = new Conv2d(features, outC, 1);
  }

  /** PDEBench's definition order. */
  override children(): [string, Module][] {
    const out: [string, Module][] = [];
    for (let i = 0; i < 4; i++) {
      out.push([`encoder${i + 1}`, this.encoders[i]], [`pool${i + 1}`, this.pools[i]]);
    }
    out.push(["bottleneck", this.bottleneck]);
    for (let i = 3; i >= 0; i--) {
      out.push([`upconv${i + 1}`, this.upconvs[i]], [`decoder${i + 1}`, this.decoders[i]]);
    }
    out.push(["conv", this.conv]);
    return out;
  }

  /** x (B, in, H, W), H and W multiples of 16 → (B, out, H, W). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    const [, c, h, w] = x.shape;
    if (x.shape.length !== 4 || c !== this.inC || h % 16 || w % 16) {
      throw new TypeError(
        `UNet2d: expected input (B, ${this.inC}, H, W) with H and W multiples of 16, got [${x.shape}]`,
      );
    }
    const skips: Tensor[] = [];
    let hcur = x;
    for (let i = 0; i < 4; i++) {
      const e = this.encoders[i].forward(hcur, ctx);
      if (!ctx.train && hcur !== x) later(ctx.rec, hcur);
      skips.push(e);
      hcur = this.pools[i].forward(e, ctx);
    }
    let d = this.bottleneck.forward(hcur, ctx);
    if (!ctx.train) later(ctx.rec, hcur);
    for (let i = 3; i >= 0; i--) {
      const u = this.upconvs[i].forward(d, ctx);
      if (!ctx.train) later(ctx.rec, d);
      const joined = concat(ctx.rec, u, skips[i], 1);
      later(ctx.rec, u);
      if (!ctx.train) later(ctx.rec, skips[i]);
      d = this.decoders[i].forward(joined, ctx);
      if (!ctx.train) later(ctx.rec, joined);
    }
    const y = this.conv.forward(d, ctx);
    if (!ctx.train) later(ctx.rec, d);
    return y;
  }

  /** The backward pass; returns dL/dx. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    let g = this.conv.backward(dy, ctx);
    const dSkips: Tensor[] = [];
    for (let i = 0; i < 4; i++) {
      const c = this.upconvs[i].outC;
      const dJoined = this.decoders[i].backward(g, ctx);
      later(ctx.rec, g);
      const du = slice(ctx.rec, dJoined, [{}, { end: c }]);
      dSkips[i] = slice(ctx.rec, dJoined, [{}, { start: c }]);
      later(ctx.rec, dJoined);
      g = this.upconvs[i].backward(du, ctx);
      later(ctx.rec, du);
    }
    const dPooled = this.bottleneck.backward(g, ctx);
    later(ctx.rec, g);
    g = dPooled;
    for (let i = 3; i >= 0; i--) {
      const de = this.pools[i].backward(g, ctx);
      later(ctx.rec, g);
      add(ctx.rec, de, dSkips[i], de);
      later(ctx.rec, dSkips[i]);
      g = this.encoders[i].backward(de, ctx);
      later(ctx.rec, de);
    }
    return g;
  }
}
