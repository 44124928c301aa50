/**
 * Scale-invariant ConvNets of "Training Scale-Invariant Neural Networks on the Sphere Can Happen in
 * Three Regimes" (Kodryan et al., NeurIPS 2022; reference `nets/convnet_si.py`, depth 3), with its
 * module names (`conv_layers.N`, `linear_layers.2`):
 * conv3×3 in→c (no bias) + BN + ReLU; c→2c + BN + ReLU + MaxPool2; 2c→4c + BN + ReLU + MaxPool2;
 * 4c→8c + BN + ReLU + MaxPool2; max-pool over what is left (the reference's MaxPool2d(4) on its
 * 32×32 inputs' 4×4 maps; 3×3 for 28×28) → Linear(8c, classes).
 * ConvNetSI has BN without affine parameters, so the loss is invariant to scaling the conv weights;
 * ConvNetSIAf keeps BN's γ, β. The last layer can start at a fixed norm, `W ← initScale·W/‖W‖`
 * (the reference trains fully SI networks with initScale 10 and the last layer frozen).
 * @module
 */
import { OptionError } from "../util/errors.ts";
import type { Tensor } from "../kernels/runtime/tensor.ts";
import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU } from "./layers.ts";
import { Module, type ParamSpec, Sequential, type StepContext } from "./module.ts";

/** `nn.Linear` whose weight starts at a given Frobenius norm (PyTorch's init, then rescaled). */
export class FixedNormLinear extends Linear {
  /**
   * Creates the module.
   * @param inF Input features.
   * @param outF Output features.
   * @param norm The weight's norm at initialisation.
   * @param bias With a bias (default true).
   */
  constructor(inF: number, outF: number, readonly norm: number, bias = true) {
    super(inF, outF, bias);
  }

  /** weight rescaled to `norm` after PyTorch's default draw; bias as PyTorch. */
  override paramSpecs(): ParamSpec[] {
    const specs = super.paramSpecs();
    const w = specs[0], norm = this.norm;
    return [{
      ...w,
      init: (out, random) => {
        w.init(out, random);
        let s = 0;
        for (const v of out) s += v * v;
        const k = s > 0 ? norm / Math.sqrt(s) : 0;
        for (let i = 0; i < out.length; i++) out[i] *= k;
      },
    }, ...specs.slice(1)];
  }
}

/** Options of {@link ConvNetSI}. */
export interface ConvNetSIOptions {
  /** Classes (default 10). */
  classes?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /** Input height = width (default 32). */
  size?: number;
  /** Base width c (default 32). */
  channels?: number;
  /** BatchNorm with γ, β (ConvNetSIAf; default false). */
  affine?: boolean;
  /** The last layer's initial weight norm (default 10; ≤ 0: PyTorch's init). */
  initScale?: number;
}

/** ConvNetSI / ConvNetSIAf. */
export class ConvNetSI extends Module {
  /** The convolutional part (`conv_layers`). */
  readonly convLayers: Sequential;
  /** Pooling, flatten, linear (`linear_layers`). */
  readonly linearLayers: Sequential;
  /** The final linear layer. */
  readonly linear: Linear;

  /**
   * Creates the network.
   * @param o Classes, input channels and size, width, affine BN, last-layer norm.
   * @throws {OptionError} When the input is smaller than 8×8 (three 2×2 poolings need it).
   */
  constructor(o: ConvNetSIOptions = {}) {
    super();
    const { classes = 10, inChannels = 3, size = 32, channels: c = 32, affine = false, initScale = 10 } = o;
    const left = Math.floor(Math.floor(Math.floor(size / 2) / 2) / 2);
    if (left < 1) throw new OptionError(`ConvNetSI needs inputs of at least 8×8, got ${size}×${size}`);
    const conv = (
      i: number,
      out: number,
    ) => [new Conv2d(i, out, 3, 1, 1, false), new BatchNorm2d(out, affine), new ReLU()];
    this.convLayers = new Sequential(
      ...conv(inChannels, c),
      ...conv(c, 2 * c),
      new MaxPool2d(2),
      ...conv(2 * c, 4 * c),
      new MaxPool2d(2),
      ...conv(4 * c, 8 * c),
      new MaxPool2d(2),
    );
    this.linear = initScale > 0 ? new FixedNormLinear(8 * c, classes, initScale) : new Linear(8 * c, classes);
    this.linearLayers = new Sequential(new MaxPool2d(left), new Flatten(), this.linear);
  }

  /** conv_layers, linear_layers. */
  override children(): [string, Module][] {
    return [["conv_layers", this.convLayers], ["linear_layers", this.linearLayers]];
  }

  /** Logits (N, classes). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    return new Sequential(this.convLayers, this.linearLayers).forward(x, ctx);
  }

  /** Backward from dL/dlogits. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    return new Sequential(this.convLayers, this.linearLayers).backward(dy, ctx);
  }
}
