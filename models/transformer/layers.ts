/**
 * The Transformer's own layers with Hugging Face's parameter names: `Embedding` (with the batch's
 * token index for its deterministic backward), `LayerNorm`/`RMSNorm`, and GPT-2's `Conv1D` (a
 * linear layer whose weight is stored (in, out)). `nn.Linear` is the CNN engine's. Tensors follow
 * the ownership rule of `../module.ts`.
 * @module
 */
import { embedding, embeddingBackward, type TokenIndex } from "../../kernels/nn/embedding.ts";
import { norm, normBackward } from "../../kernels/nn/norm.ts";
import { addBias } from "../../kernels/ops/bias.ts";
import { sum } from "../../kernels/ops/reduce.ts";
import { matmul } from "../../kernels/linalg/matmul.ts";
import { Tensor } from "../../kernels/runtime/tensor.ts";
import { constantInit, normalInit } from "../init.ts";
import { later, Module, type ParamSpec, type StepContext, storeGrad } from "../module.ts";

/** Shared per-step state of a decoder: the batch's token index, dropout's seed and counter. */
export interface LmStepState {
  /** The batch's token index (train mode; for embedding backward). */
  index: TokenIndex | null;
  /** Dropout seed (the run's). */
  seed: number;
  /** Optimizer step number (dropout streams differ per step). */
  step: number;
}

/** `nn.Embedding(V, D)`: `weight` (V, D). */
export class Embedding extends Module {
  /**
   * Creates the module.
   * @param vocab Rows V.
   * @param dim Width D.
   * @param state The decoder's step state (the token index for backward).
   * @param std Initial standard deviation (0.02, as GPT-2 and LLaMA).
   */
  constructor(
    readonly vocab: number,
    readonly dim: number,
    readonly state: LmStepState,
    readonly std = 0.02,
  ) {
    super();
  }
  /** weight (V, D). */
  override paramSpecs(): ParamSpec[] {
    return [{ name: "weight", shape: [this.vocab, this.dim], init: normalInit(this.std) }];
  }
  /** Gathers rows: ids (B, T) i32 → (B, T, D). */
  forward(ids: Tensor, ctx: StepContext): Tensor {
    return embedding(ctx.rec, ids, this.param("weight").value, null, this.name);
  }
  /** Writes dW from the batch's token index; returns a placeholder (ids have no gradient). */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    if (!this.state.index) throw new Error(`${this.name}: backward needs the batch's token index`);
    const dw = embeddingBackward(ctx.rec, dy, this.state.index, this.vocab, this.name);
    storeGrad(ctx.rec, dw, this.param("weight").grad);
    return new Tensor(ctx.rec.gpu, [1], "f32", `${this.name}.dx-unused`);
  }
}

/** `nn.LayerNorm(D)` (weight, bias) or LLaMA's RMSNorm (weight). */
export class Norm extends Module {
  #x: Tensor | null = null;
  #stats: Tensor | null = null;
  /**
   * Creates the module.
   * @param kind `layer` or `rms`.
   * @param dim D.
   * @param eps Epsilon.
   */
  constructor(readonly kind: "layer" | "rms", readonly dim: number, readonly eps: number) {
    super();
  }
  /** weight (D) = 1, bias (D) = 0 (LayerNorm). */
  override paramSpecs(): ParamSpec[] {
    const s: ParamSpec[] = [{ name: "weight", shape: [this.dim], init: constantInit(1) }];
    if (this.kind === "layer") s.push({ name: "bias", shape: [this.dim], init: constantInit(0) });
    return s;
  }
  /** Normalises the last axis. */
  forward(x: Tensor, ctx: StepContext): Tensor {
    const bias = this.kind === "layer" ? this.param("bias").value : null;
    const { y, stats } = norm(ctx.rec, this.kind, x, this.param("weight").value, bias, this.eps, this.name);
    if (ctx.train) [this.#x, this.#stats] = [x, stats];
    else later(ctx.rec, stats);
    return y;
  }
  /** Gradients of weight (and bias); returns dx. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const g = normBackward(
      ctx.rec,
      this.kind,
      this.#x!,
      this.param("weight").value,
      this.#stats!,
      dy,
      this.kind === "layer",
      this.name,
    );
    storeGrad(ctx.rec, g.dw, this.param("weight").grad);
    if (g.db) storeGrad(ctx.rec, g.db, this.param("bias").grad);
    later(ctx.rec, this.#x, this.#stats); // the input was taken over in train mode
    this.#x = this.#stats = null;
    return g.dx;
  }
}

/** GPT-2's `Conv1D(out, in)`: y = x·W + b with W stored (in, out). */
export class Conv1D extends Module {
  #x: Tensor | null = null;
  /**
   * Creates the module.
   * @param inF Input features.
   * @param outF Output features.
   * @param std Initial standard deviation of W (bias starts at 0).
   */
  constructor(readonly inF: number, readonly outF: number, readonly std = 0.02) {
    super();
  }
  /** weight (in, out), bias (out). */
  override paramSpecs(): ParamSpec[] {
    return [
      { name: "weight", shape: [this.inF, this.outF], init: normalInit(this.std) },
      { name: "bias", shape: [this.outF], init: constantInit(0) },
    ];
  }
  /** x (N, in) → (N, out). */
  forward(x: Tensor, ctx: StepContext): Tensor {
    if (ctx.train) this.#x = x;
    ctx.tap?.(this, x);
    const y = matmul(ctx.rec, x, this.param("weight").value);
    addBias(ctx.rec, y, this.param("bias").value, -1, y);
    return y;
  }
  /** dW = xᵀ·dy, db = Σ dy, dx = dy·Wᵀ. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    const x = this.#x!;
    storeGrad(ctx.rec, matmul(ctx.rec, x, dy, { transA: true }), this.param("weight").grad);
    storeGrad(ctx.rec, sum(ctx.rec, dy, { axis: 0 }), this.param("bias").grad);
    later(ctx.rec, x); // the input was taken over in train mode
    this.#x = null;
    return matmul(ctx.rec, dy, this.param("weight").value, { transB: true });
  }
}
