/**
 * PDEBench's Fourier Neural Operators, `FNO1d` and `FNO2d`, with its state-dict names: `fc0` lifts
 * [u, grid] to `width` channels, four Fourier layers `convK` (complex `weights1`/`weights2`) plus
 * 1×1 convolutions `wK` with GELU between them, on a grid padded by 2 at the end of each axis
 * (PDEBench's padding for non-periodic data), then `fc1` (width → 128), GELU, `fc2`.
 *
 * Activations are channels-last throughout, (B, x, [y,] channels), the layout PDEBench feeds the
 * model, so the 1×1 convolutions and the linear layers are matmuls over rows of grid points.
 * @module
 */
import { activation, activationBackward } from "../../kernels/nn/activation.ts";
import {
  spectralConv1d,
  spectralConv1dBackward,
  spectralConv2d,
  spectralConv2dBackward,
  type SpectralSaved,
} from "../../kernels/nn/spectral.ts";
import { add } from "../../kernels/ops/binary.ts";
import { padEnd, slice } from "../../kernels/ops/gather.ts";
import type { Tensor } from "../../kernels/runtime/tensor.ts";
import { linear, linearBackward } from "../../kernels/nn/linear.ts";
import { uniformFanIn } from "../init.ts";
import { Linear } from "../layers.ts";
import { later, Module, type ParamSpec, type StepContext, storeGrad } from "../module.ts";

/** PyTorch's `scale · torch.rand(…, dtype=cfloat)`: real and imaginary parts each uniform on [0, scale). */
function complexUniform(scale: number): ParamSpec["init"] {
  return (out, random) => {
    for (let i = 0; i < out.length; i++) out[i] = scale * random();
  };
}

/** PDEBench's `SpectralConv1d` / `SpectralConv2d_fast`: `weights1` (and `weights2`), complex. */
export class SpectralConv extends Module {
  #saved: SpectralSaved | null = null;

  /**
   * Creates the layer.
   * @param inC Input channels.
   * @param outC Output channels.
   * @param modes Modes kept per axis: [m] (1D) or [m1, m2] (2D).
   */
  constructor(readonly inC: number, readonly outC: number, readonly modes: number[]) {
    super();
  }

  /** `weights1` (in, out, modes…) complex, and in 2D `weights2`. */
  override paramSpecs(): ParamSpec[] {
    const shape = [this.inC, this.outC, ...this.modes, 2];
    const init = complexUniform(1 / (this.inC * this.outC));
    const specs: ParamSpec[] = [{ name: "weights1", shape, init, complex: true }];
    if (this.modes.length === 2) specs.push({ name: "weights2", shape, init, complex: true });
    return specs;
  }

  /** y = irfft(W · rfft(x)) on the kept modes; x (B, n, C) or (B, n1, n2, C). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    const r = this.modes.length === 2
      ? spectralConv2d(ctx.rec, x, this.param("weights1").value, this.param("weights2").value, this.name)
      : spectralConv1d(ctx.rec, x, this.param("weights1").value, this.name);
    // The backward needs only the input's modes, not the input.
    if (ctx.train) {
      this.#saved = r.saved;
      later(ctx.rec, x);
    } else later(ctx.rec, r.saved.modes);
    return r.y;
  }

  /** Gradients of the weights; returns dx. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const saved = this.#saved!;
    this.#saved = null;
    later(ctx.rec, saved.modes);
    if (this.modes.length === 2) {
      const g = spectralConv2dBackward(
        ctx.rec,
        saved,
        this.param("weights1").value,
        this.param("weights2").value,
        dy,
        this.name,
      );
      storeGrad(ctx.rec, g.dw1, this.param("weights1").grad);
      storeGrad(ctx.rec, g.dw2, this.param("weights2").grad);
      return g.dx;
    }
    const g = spectralConv1dBackward(ctx.rec, saved, this.param("weights1").value, dy, this.name);
    storeGrad(ctx.rec, g.dw, this.param("weights1").grad);
    return g.dx;
  }
}

/** `nn.Conv1d`/`nn.Conv2d` with a 1×1 kernel on channels-last input: a matmul over grid points. */
export class PointwiseConv extends Module {
  #saved: Tensor | null = null;

  /**
   * Creates the layer.
   * @param inC Input channels.
   * @param outC Output channels.
   * @param dims 1 (`Conv1d`, weight (out, in, 1)) or 2 (`Conv2d`, weight (out, in, 1, 1)).
   */
  constructor(readonly inC: number, readonly outC: number, readonly dims: 1 | 2) {
    super();
  }

  /** weight (out, in, 1[, 1]) and bias (out), PyTorch's default initialisation. */
  override paramSpecs(): ParamSpec[] {
    return [
      {
        name: "weight",
        shape: [this.outC, this.inC, ...Array(this.dims).fill(1)],
        init: uniformFanIn(this.inC),
      },
      { name: "bias", shape: [this.outC], init: uniformFanIn(this.inC) },
    ];
  }

  #matrix(): Tensor {
    return this.param("weight").value.reshape([this.outC, this.inC]);
  }

  /** y = x·Wᵀ + b per grid point; x (B, …, in) → (B, …, out). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    const rows = x.reshape([x.size / this.inC, this.inC]);
    if (ctx.train) this.#saved = rows;
    const y = linear(ctx.rec, rows, this.#matrix(), this.param("bias").value, this.name);
    return y.reshape([...x.shape.slice(0, -1), this.outC]);
  }

  /** Gradients of weight and bias; returns dx. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const x = this.#saved!;
    this.#saved = null;
    const g = linearBackward(
      ctx.rec,
      x,
      this.#matrix(),
      dy.reshape([x.shape[0], this.outC]),
      true,
      this.name,
    );
    storeGrad(ctx.rec, g.dw, this.param("weight").grad.reshape([this.outC, this.inC]));
    storeGrad(ctx.rec, g.db!, this.param("bias").grad);
    later(ctx.rec, x);
    return g.dx!.reshape([...dy.shape.slice(0, -1), this.inC]);
  }
}

/** The constructor arguments of PDEBench's `FNO1d` and `FNO2d`. */
export interface FnoShape {
  /** 1 (`FNO1d`) or 2 (`FNO2d`). */
  dims: 1 | 2;
  /** Output channels, and input channels per time step. */
  numChannels: number;
  /** Modes kept per axis ([modes] or [modes1, modes2]). */
  modes: number[];
  /** Channels of the Fourier layers. */
  width: number;
  /** Time steps in the input. */
  initialStep: number;
}

/** The padding PDEBench appends to each spatial axis (`self.padding`). */
export const FNO_PADDING = 2;

/**
 * PDEBench's FNO: input (B, x, [y,] initial_step·num_channels + dims) — the solution frames and the
 * grid coordinates, concatenated as PDEBench's `forward(x, grid)` does — output (B, x, [y,] num_channels).
 */
export class Fno extends Module {
  /** Lifts [u, grid] to `width` channels. */
  readonly fc0: Linear;
  /** The Fourier layers conv0…conv3. */
  readonly convs: SpectralConv[];
  /** The 1×1 convolutions w0…w3. */
  readonly ws: PointwiseConv[];
  /** width → 128. */
  readonly fc1: Linear;
  /** 128 → num_channels. */
  readonly fc2: Linear;
  #saved: { spatial: number[]; pre: Tensor[]; hidden: Tensor | null } | null = null;

  /**
   * Creates the model.
   * @param shape PDEBench's constructor arguments.
   */
  constructor(readonly shape: FnoShape) {
    super();
    const { dims, numChannels, modes, width, initialStep } = shape;
    if (modes.length !== dims) {
      throw new RangeError(`FNO${dims}d: expected ${dims} mode counts, got ${modes.length}`);
    }
    this.fc0 = new Linear(initialStep * numChannels + dims, width);
    this.convs = [0, 1, 2, 3].map(() => new SpectralConv(width, width, modes));
    this.ws = [0, 1, 2, 3].map(() => new PointwiseConv(width, width, dims));
    this.fc1 = new Linear(width, 128);
    this.fc2 = new Linear(128, numChannels);
  }

  /** fc0, conv0…3, w0…3, fc1, fc2: PDEBench's order. */
  override children(): [string, Module][] {
    return [
      ["fc0", this.fc0],
      ...this.convs.map((c, i): [string, Module] => [`conv${i}`, c]),
      ...this.ws.map((w, i): [string, Module] => [`w${i}`, w]),
      ["fc1", this.fc1],
      ["fc2", this.fc2],
    ];
  }

  /** The model reads the input batch in fc0 alone, whose dL/dx nobody needs. */
  override readsNetworkInput(): void {
    this.fc0.readsNetworkInput();
  }

  /** The forward pass (see the class). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    const { dims, width, numChannels } = this.shape;
    const B = x.shape[0], spatial = x.shape.slice(1, -1), inC = x.shape[x.shape.length - 1];
    if (spatial.length !== dims || inC !== this.fc0.inF) {
      throw new TypeError(
        `FNO${dims}d: expected input (B, ${dims === 2 ? "x, y" : "x"}, ${this.fc0.inF}), got [${x.shape}]`,
      );
    }
    const points = spatial.reduce((a, b) => a * b, 1);
    const lifted = this.fc0.forward(x.reshape([B * points, inC]), ctx).reshape([B, ...spatial, width]);
    let h = padEnd(ctx.rec, lifted, [0, ...spatial.map(() => FNO_PADDING)]);
    later(ctx.rec, lifted);
    const pre: Tensor[] = [];
    for (let l = 0; l < 4; l++) {
      const s = this.convs[l].forward(h, ctx);
      const p = this.ws[l].forward(h, ctx);
      if (!ctx.train) later(ctx.rec, h);
      const sum = add(ctx.rec, s, p, s);
      later(ctx.rec, p);
      if (l === 3) {
        h = sum;
        break;
      }
      h = activation(ctx.rec, "gelu", sum);
      if (ctx.train) pre.push(sum);
      else later(ctx.rec, sum);
    }
    const cropped = slice(ctx.rec, h, [{}, ...spatial.map((n) => ({ end: n }))]);
    later(ctx.rec, h);
    const f1 = this.fc1.forward(cropped.reshape([B * points, width]), ctx);
    if (!ctx.train) later(ctx.rec, cropped);
    const hidden = activation(ctx.rec, "gelu", f1);
    if (ctx.train) this.#saved = { spatial, pre, hidden: f1 };
    else later(ctx.rec, f1);
    const y = this.fc2.forward(hidden, ctx);
    if (!ctx.train) later(ctx.rec, hidden);
    return y.reshape([B, ...spatial, numChannels]);
  }

  /** The backward pass; returns dL/d(input). */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const { width } = this.shape;
    const saved = this.#saved!;
    this.#saved = null;
    const { spatial, pre } = saved;
    const B = dy.shape[0], points = spatial.reduce((a, b) => a * b, 1);
    const dHidden = this.fc2.backward(dy.reshape([B * points, this.shape.numChannels]), ctx);
    const dF1 = activationBackward(ctx.rec, "gelu", dHidden, saved.hidden!);
    later(ctx.rec, dHidden, saved.hidden);
    const dCropped = this.fc1.backward(dF1, ctx).reshape([B, ...spatial, width]);
    later(ctx.rec, dF1);
    let dh = padEnd(ctx.rec, dCropped, [0, ...spatial.map(() => FNO_PADDING)]);
    later(ctx.rec, dCropped);
    for (let l = 3; l >= 0; l--) {
      if (l < 3) {
        const d = activationBackward(ctx.rec, "gelu", dh, pre[l]);
        later(ctx.rec, dh, pre[l]);
        dh = d;
      }
      const ds = this.convs[l].backward(dh, ctx);
      const dp = this.ws[l].backward(dh, ctx);
      later(ctx.rec, dh);
      dh = add(ctx.rec, ds, dp, ds);
      later(ctx.rec, dp);
    }
    const dLifted = slice(ctx.rec, dh, [{}, ...spatial.map((n) => ({ end: n }))]);
    later(ctx.rec, dh);
    const dx = this.fc0.backward(dLifted.reshape([B * points, width]), ctx);
    later(ctx.rec, dLifted);
    // The network's input: fc0 returned a placeholder.
    return this.fc0.inputGrad ? dx.reshape([B, ...spatial, this.fc0.inF]) : dx;
  }
}
