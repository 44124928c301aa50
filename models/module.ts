/**
 * Modules with explicit forward and backward passes (as llm.c writes them), not an autograd
 * graph. A module declares its parameters and buffers with PyTorch's `state_dict` names, records
 * its forward into the step's Recorder (keeping what backward needs), and its backward writes the
 * parameters' gradients into the arena and returns the input's gradient.
 *
 * Who frees a tensor is one rule, written on {@link Module} and followed by every layer.
 * @module
 */
import type { Recorder } from "../kernels/runtime/recorder.ts";
import type { Tensor } from "../kernels/runtime/tensor.ts";
import type { Parameter, ParameterArena } from "./params.ts";

/** What every forward/backward call gets. */
export interface StepContext {
  /** The step's recorder. */
  rec: Recorder;
  /** Train mode (batch statistics in BatchNorm, saved activations for backward). */
  train: boolean;
  /**
   * Called with every Linear (and GPT-2 Conv1D) module and its input as the forward records it,
   * like a PyTorch forward pre-hook: what pruning's calibration pass reads (Wanda's ‖X_j‖²).
   */
  tap?: (module: Module, input: Tensor) => void;
}

/** A parameter's declaration: its local name, shape and PyTorch's default initialisation. */
export interface ParamSpec {
  /** Local name (`weight`, `bias`). */
  name: string;
  /** Shape. */
  shape: number[];
  /** Initialiser: fills `out` (float32) given a random source in [0, 1). */
  init: (out: Float32Array, random: () => number) => void;
  /**
   * A complex parameter (PyTorch `cfloat`): the last axis of `shape` is 2 and holds (real,
   * imaginary); the state dict names it with that axis dropped, dtype `C64`.
   */
  complex?: boolean;
}

/** A non-trained buffer (BatchNorm's running statistics). */
export interface BufferSpec {
  /** Local name (`running_mean`). */
  name: string;
  /** Shape. */
  shape: number[];
  /** `F32` or `I64` (num_batches_tracked). */
  dtype: "F32" | "I64";
}

/**
 * Releases tensors after the step's submit (rule 1 of this module's ownership rule).
 * @param rec The step's recorder.
 * @param ts Tensors to give back (null and undefined are skipped).
 */
export function later(rec: Recorder, ...ts: (Tensor | null | undefined)[]): void {
  rec.after(() => ts.forEach((t) => t?.release()));
}

/**
 * Copies a freshly computed gradient into the parameter's arena slot and releases it after the step.
 * @param rec The step's recorder.
 * @param g The gradient (owned by the calling module).
 * @param dst The parameter's gradient view.
 */
export function storeGrad(rec: Recorder, g: Tensor, dst: Tensor): void {
  rec.copy(g, dst);
  later(rec, g);
}

/**
 * A layer or a composition of layers.
 *
 * Who frees a tensor — the one rule every CNN and Transformer layer follows:
 * 1. Releases are deferred: module code gives a tensor back only with {@link later} (after the
 *    step's submit). A training step records forward and backward into one Recorder, so a tensor
 *    released "later" stays valid for everything recorded in that step.
 * 2. A module owns every tensor it creates and releases it, except the one it returns.
 * 3. What `forward` returns belongs to the caller. In train mode the caller hands it to the next
 *    module, which takes it over: a train-mode `forward(x)` owns `x` and releases it (at the latest
 *    when its backward is recorded). In eval mode `x` stays the caller's. A returned reshape of the
 *    input passes the input on.
 * 4. `backward(dy)` borrows `dy` (the caller's) and returns a `dx` that the caller owns.
 *
 * A tensor released twice is released once (its storage is shared by its views), so a module that
 * hands its input to two children is safe. `tests/models/steady_state_test.ts` holds every model
 * family to the rule: no new GPU buffer after two warm-up steps.
 */
export abstract class Module {
  /** Its prefix in the model (`layer1.0.conv1`); "" for the root. */
  name = "";
  /** Its parameters, bound after the arena is built. */
  protected bound: Map<string, Parameter> = new Map();

  /** Direct children, in order, with their local names. */
  children(): [string, Module][] {
    return [];
  }

  /**
   * Told by the model when this module reads the network's input batch, whose gradient nobody
   * needs. A chain passes it to its first child (which reads the input first); a convolution then
   * skips computing dL/dx. A module that reads its input in more than one place (a residual
   * block) overrides this to do nothing.
   */
  readsNetworkInput(): void {
    const c = this.children();
    if (c.length) c[0][1].readsNetworkInput();
  }

  /** Parameters declared by this module itself (not its children). */
  paramSpecs(): ParamSpec[] {
    return [];
  }

  /** Records the forward pass; returns the output. */
  abstract forward(x: Tensor, ctx: StepContext): Tensor;

  /** Records the backward pass for the last forward; returns dL/dx (or null where not needed). */
  abstract backward(dy: Tensor, ctx: StepContext): Tensor;

  /** Qualified name of a local parameter. */
  qualified(local: string): string {
    return this.name ? `${this.name}.${local}` : local;
  }

  /** Binds this module's parameters from the arena (called once by the model). */
  bind(arena: ParameterArena): void {
    for (const s of this.paramSpecs()) {
      const p = arena.get(this.qualified(s.name));
      if (!p) throw new Error(`Parameter "${this.qualified(s.name)}" is missing from the arena`);
      this.bound.set(s.name, p);
    }
  }

  /** The bound parameter with this local name. */
  param(local: string): Parameter {
    const p = this.bound.get(local);
    if (!p) throw new Error(`Module "${this.name}" has no bound parameter "${local}"`);
    return p;
  }

  /** This module and every descendant, depth-first, with qualified names set. */
  modules(prefix = ""): Module[] {
    this.name = prefix;
    const out: Module[] = [this];
    for (const [local, child] of this.children()) {
      out.push(...child.modules(prefix ? `${prefix}.${local}` : local));
    }
    return out;
  }
}

/** Runs children in order (PyTorch's `nn.Sequential`, children named 0, 1, …). */
export class Sequential extends Module {
  /** The layers. */
  readonly layers: Module[];

  /**
   * Creates the sequence.
   * @param layers The layers, in order.
   */
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
  }

  /** The children named by index. */
  override children(): [string, Module][] {
    return this.layers.map((l, i) => [String(i), l]);
  }

  /** Forward through every layer. */
  forward(x: Tensor, ctx: StepContext): Tensor {
    let h = x;
    for (const l of this.layers) {
      const next = l.forward(h, ctx);
      // Train mode: the next layer took h over. Eval mode: h was made here and is released here.
      if (h !== x && !ctx.train && !next.sharesMemory(h)) later(ctx.rec, h);
      h = next;
    }
    return h;
  }

  /** Backward through every layer, in reverse. */
  backward(dy: Tensor, ctx: StepContext): Tensor {
    let g = dy;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const next = this.layers[i].backward(g, ctx);
      if (g !== dy && !next.sharesMemory(g)) later(ctx.rec, g);
      g = next;
    }
    return g;
  }
}
