/**
 * The layers: Conv2d, BatchNorm2d, ReLU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Flatten and
 * Linear, with PyTorch's parameter names, default initialisation and semantics. Each keeps what
 * its backward needs in train mode and releases it when backward has been recorded (the ownership
 * rule of `module.ts`).
 * @module
 */
import { add } from "../kernels/ops/binary.ts";
import { batchNorm, batchNormBackward } from "../kernels/nn/batchnorm.ts";
import { conv2d, conv2dBackward } from "../kernels/nn/conv2d/conv2d.ts";
import { linear, linearBackward } from "../kernels/nn/linear.ts";
import {
  avgPool2d,
  avgPool2dBackward,
  globalAvgPool,
  globalAvgPoolBackward,
  maxPool2d,
  maxPool2dBackward,
} from "../kernels/nn/pooling.ts";
import { addRelu, relu, reluBackward } from "../kernels/ops/relu.ts";
import type { Recorder } from "../kernels/runtime/recorder.ts";
import { Tensor } from "../kernels/runtime/tensor.ts";
import { constantInit, uniformFanIn } from "./init.ts";
import { later, Module, type ParamSpec, type StepContext, storeGrad } from "./module.ts";

/** `nn.Conv2d` (square kernel). */
export class Conv2d extends Module {
  /**
   * Whether backward computes dL/dx. The model turns it off for the layer that reads the input
   * batch, whose gradient nobody needs (its backward then returns a one-element placeholder).
   */
  inputGrad: boolean = true;

  /** The input is the network's: backward skips dL/dx. */
  override readsNetworkInput(): void {
    this.inputGrad = false;
  }
  #saved: Tensor | null = null;
  /**
   * Creates the module.
   * @param inC Input channels.
   * @param outC Output channels.
   * @param kernel Kernel size.
   * @param stride Stride (default 1).
   * @param padding Padding (default 0).
   * @param bias With a bias (default true, as PyTorch).
   */
  constructor(
    readonly inC: number,
    readonly outC: number,
    readonly kernel: number,
    readonly stride: number = 1,
    readonly padding: number = 0,
    readonly bias: boolean = true,
  ) {
    super();
  }

  /** weight (out, in, k, k) and bias (out). */
  override paramSpecs(): ParamSpec[] {
    const fanIn = this.inC * this.kernel * this.kernel;
    const specs: ParamSpec[] = [{
      name: "weight",
      shape: [this.outC, this.inC, this.kernel, this.kernel],
      init: uniformFanIn(fanIn),
    }];
    if (this.bias) specs.push({ name: "bias", shape: [this.outC], init: uniformFanIn(fanIn) });
    return specs;
  }

  /** y = conv(x). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    if (ctx.train) this.#saved = x;
    const b = this.bias ? this.param("bias").value : null;
    return conv2d(
      ctx.rec,
      x,
      this.param("weight").value,
      b,
      { stride: this.stride, padding: this.padding },
      this.name,
    );
  }

  /** Gradients of weight (and bias); returns dx. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const x = this.#saved!;
    const g = conv2dBackward(
      ctx.rec,
      x,
      this.param("weight").value,
      dy,
      { stride: this.stride, padding: this.padding },
      { dx: this.inputGrad, db: this.bias },
      this.name,
    );
    storeGrad(ctx.rec, g.dw, this.param("weight").grad);
    if (g.db) storeGrad(ctx.rec, g.db, this.param("bias").grad);
    later(ctx.rec, x);
    this.#saved = null;
    return g.dx ?? new Tensor(ctx.rec.gpu, [1], "f32", `${this.name}.dx-unused`);
  }
}

/** `nn.BatchNorm2d` (also (N, C) inputs). Buffers: running_mean, running_var, num_batches_tracked. */
export class BatchNorm2d extends Module {
  /** Running mean and variance, (2, C); set by the model. */
  running: Tensor | null = null;
  /** num_batches_tracked. */
  batchesTracked = 0;
  /**
   * Fused with the ReLU that follows it: the output is `max(bn(x), 0)` in one pass, and the
   * gradient that backward receives is the ReLU output's. Set by blocks that drop that ReLU from
   * their path (ResNet's conv–BN–ReLU); the state dict is unchanged.
   */
  relu = false;
  #saved: { x: Tensor; stats: Tensor } | null = null;

  /**
   * Creates the module.
   * @param channels Channels.
   * @param affine Learnable γ, β (default true).
   * @param momentum Running-statistics momentum (default 0.1).
   * @param eps Variance epsilon (default 1e-5).
   */
  constructor(
    readonly channels: number,
    readonly affine: boolean = true,
    readonly momentum: number = 0.1,
    readonly eps: number = 1e-5,
  ) {
    super();
  }

  /** weight (ones) and bias (zeros) when affine. */
  override paramSpecs(): ParamSpec[] {
    if (!this.affine) return [];
    return [
      { name: "weight", shape: [this.channels], init: constantInit(1) },
      { name: "bias", shape: [this.channels], init: constantInit(0) },
    ];
  }

  /** Normalises with batch statistics (train) or running ones (eval). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    const state = {
      weight: this.affine ? this.param("weight").value : null,
      bias: this.affine ? this.param("bias").value : null,
      running: this.running!,
      momentum: this.momentum,
      eps: this.eps,
      relu: this.relu,
    };
    const { y, saved } = batchNorm(ctx.rec, x, state, ctx.train, this.name);
    if (ctx.train) {
      this.batchesTracked++;
      this.#saved = { x, stats: saved! };
    }
    return y;
  }

  /** Gradients of γ, β; returns dx. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const { x, stats } = this.#saved!;
    const g = batchNormBackward(
      ctx.rec,
      x,
      dy,
      stats,
      this.affine ? this.param("weight").value : null,
      this.name,
      this.relu ? { relu: { bias: this.affine ? this.param("bias").value : null } } : {},
    );
    if (g.dweight) storeGrad(ctx.rec, g.dweight, this.param("weight").grad);
    if (g.dbias) storeGrad(ctx.rec, g.dbias, this.param("bias").grad);
    later(ctx.rec, x, stats);
    this.#saved = null;
    return g.dx;
  }
}

/** `nn.ReLU`. Keeps its input for backward (x > 0 exactly where the output is positive). */
export class ReLU extends Module {
  #saved: Tensor | null = null;
  /** max(x, 0). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    if (ctx.train) this.#saved = x;
    return relu(ctx.rec, x);
  }
  /**
   * `max(a + b, 0)` in one pass (a residual sum and this ReLU); backward then reads the output, whose
   * sign pattern is the sum's, and returns the gradient of the sum.
   */
  forwardSum(a: Tensor, b: Tensor, ctx: StepContext): Tensor {
    const y = addRelu(ctx.rec, a, b);
    if (ctx.train) this.#saved = y;
    return y;
  }
  /** dy where the input was positive. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const dx = reluBackward(ctx.rec, dy, this.#saved!);
    later(ctx.rec, this.#saved);
    this.#saved = null;
    return dx;
  }
}

/** `nn.MaxPool2d`. */
export class MaxPool2d extends Module {
  #saved: { x: Tensor; argmax: Tensor } | null = null;
  /**
   * Creates the module.
   * @param kernel Kernel size.
   * @param stride Stride (default: kernel).
   * @param padding Padding (default 0).
   */
  constructor(readonly kernel: number, readonly stride: number = kernel, readonly padding: number = 0) {
    super();
  }
  /** Window maxima. */
  forward(x: Tensor, ctx: StepContext): Tensor {
    const { y, argmax } = maxPool2d(ctx.rec, x, {
      kernel: this.kernel,
      stride: this.stride,
      padding: this.padding,
    }, this.name);
    if (ctx.train) this.#saved = { x, argmax };
    else later(ctx.rec, argmax);
    return y;
  }
  /** Gradients to the argmax of each window. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const { x, argmax } = this.#saved!;
    const dx = maxPool2dBackward(ctx.rec, x, dy, argmax, {
      kernel: this.kernel,
      stride: this.stride,
      padding: this.padding,
    }, this.name);
    later(ctx.rec, x, argmax);
    this.#saved = null;
    return dx;
  }
}

/** `nn.AvgPool2d` (count_include_pad=True). */
export class AvgPool2d extends Module {
  #saved: Tensor | null = null;
  /**
   * Creates the module.
   * @param kernel Kernel size.
   * @param stride Stride (default: kernel).
   * @param padding Padding (default 0).
   */
  constructor(readonly kernel: number, readonly stride: number = kernel, readonly padding: number = 0) {
    super();
  }
  /** Window means. */
  forward(x: Tensor, ctx: StepContext): Tensor {
    if (ctx.train) this.#saved = x;
    return avgPool2d(
      ctx.rec,
      x,
      { kernel: this.kernel, stride: this.stride, padding: this.padding },
      this.name,
    );
  }
  /** Spreads each gradient over its window. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const dx = avgPool2dBackward(ctx.rec, this.#saved!, dy, {
      kernel: this.kernel,
      stride: this.stride,
      padding: this.padding,
    }, this.name);
    later(ctx.rec, this.#saved);
    this.#saved = null;
    return dx;
  }
}

/** `nn.AdaptiveAvgPool2d((1, 1))` followed by flattening to (N, C). */
export class GlobalAvgPool extends Module {
  #saved: Tensor | null = null;
  /** Means over H, W, as (N, C). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    if (ctx.train) this.#saved = x;
    const y = globalAvgPool(ctx.rec, x, this.name);
    return y.reshape([x.shape[0], x.shape[1]]);
  }
  /** Broadcasts dy / (H·W). */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const dx = globalAvgPoolBackward(ctx.rec, this.#saved!, dy, this.name);
    later(ctx.rec, this.#saved);
    this.#saved = null;
    return dx;
  }
}

/** `nn.Flatten` (N, …) → (N, rest). */
export class Flatten extends Module {
  #shape: readonly number[] = [];
  /** A reshaped view (shares memory). */
  forward(x: Tensor, _ctx: StepContext): Tensor {
    this.#shape = x.shape;
    return x.reshape([x.shape[0], x.size / x.shape[0]]);
  }
  /** The gradient reshaped back. */
  backward(dy: Tensor, _ctx: StepContext): Tensor {
    return dy.reshape(this.#shape);
  }
}

/** `nn.Linear`. */
export class Linear extends Module {
  #saved: Tensor | null = null;
  /** Whether backward computes dL/dx (off for the layer that reads the input batch, as Conv2d's). */
  inputGrad: boolean = true;

  /** The input is the network's: backward skips dL/dx. */
  override readsNetworkInput(): void {
    this.inputGrad = false;
  }
  /**
   * Creates the module.
   * @param inF Input features.
   * @param outF Output features.
   * @param bias With a bias (default true).
   */
  constructor(readonly inF: number, readonly outF: number, readonly bias: boolean = true) {
    super();
  }
  /** weight (out, in), bias (out). */
  override paramSpecs(): ParamSpec[] {
    const specs: ParamSpec[] = [{
      name: "weight",
      shape: [this.outF, this.inF],
      init: uniformFanIn(this.inF),
    }];
    if (this.bias) specs.push({ name: "bias", shape: [this.outF], init: uniformFanIn(this.inF) });
    return specs;
  }
  /** y = x·Wᵀ + b. */
  forward(x: Tensor, ctx: StepContext): Tensor {
    if (ctx.train) this.#saved = x;
    ctx.tap?.(this, x);
    return linear(
      ctx.rec,
      x,
      this.param("weight").value,
      this.bias ? this.param("bias").value : null,
      this.name,
    );
  }
  /** Gradients of W, b; returns dx. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const g = linearBackward(
      ctx.rec,
      this.#saved!,
      this.param("weight").value,
      dy,
      this.bias,
      this.name,
      this.inputGrad,
    );
    storeGrad(ctx.rec, g.dw, this.param("weight").grad);
    if (g.db) storeGrad(ctx.rec, g.db, this.param("bias").grad);
    later(ctx.rec, this.#saved);
    this.#saved = null;
    return g.dx ?? new Tensor(ctx.rec.gpu, [1], "f32", `${this.name}.dx-unused`);
  }
}

/** Sums two branches' gradients: used by residual blocks. */
export function addGrads(rec: Recorder, a: Tensor, b: Tensor): Tensor {
  const s = add(rec, a, b, a);
  later(rec, b);
  return s;
}
