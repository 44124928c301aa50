/**
 * Parameters live in one arena per model: all values in one buffer, all gradients in another, at
 * the same 256-byte-aligned offsets, so an optimizer updates any group of them with one dispatch
 * over a table of (offset, length) chunks.
 * @module
 */
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { Tensor } from "../kernels/runtime/tensor.ts";

/** One named parameter: views of its value and gradient in the arena. */
export interface Parameter {
  /** PyTorch `state_dict` name, e.g. `layer1.0.conv1.weight`. */
  name: string;
  /** The value (a view into the arena). */
  value: Tensor;
  /** The gradient (a view into the gradient arena, same offset). */
  grad: Tensor;
  /** First element in the arena. */
  offset: number;
  /** A complex parameter: (real, imaginary) pairs, its last axis of 2 (see `ParamSpec.complex`). */
  complex?: boolean;
}

const ALIGN = 64; // elements: 256 bytes

/** Values and gradients of a set of parameters, each in one buffer. */
export class ParameterArena {
  /** All values. */
  readonly values: Tensor;
  /** All gradients. */
  readonly grads: Tensor;
  /** The parameters, in creation order. */
  readonly params: Parameter[];

  /**
   * Allocates an arena for the given shapes (values and gradients uninitialised).
   * @param gpu The GPU.
   * @param specs Name and shape of each parameter, and whether it is complex.
   */
  constructor(gpu: Gpu, specs: { name: string; shape: number[]; complex?: boolean }[]) {
    let total = 0;
    const offsets = specs.map((s) => {
      const o = total;
      total += Math.ceil(s.shape.reduce((p, d) => p * d, 1) / ALIGN) * ALIGN;
      return o;
    });
    this.values = new Tensor(gpu, [Math.max(total, 1)], "f32", "parameters");
    this.grads = new Tensor(gpu, [Math.max(total, 1)], "f32", "gradients");
    this.params = specs.map((s, i) => ({
      name: s.name,
      value: this.values.view(offsets[i], s.shape, s.name),
      grad: this.grads.view(offsets[i], s.shape, `${s.name}.grad`),
      offset: offsets[i],
      ...(specs[i].complex ? { complex: true } : {}),
    }));
  }

  /** Looks a parameter up by name. */
  get(name: string): Parameter | undefined {
    return this.params.find((p) => p.name === name);
  }

  /** Frees both buffers. */
  release(): void {
    this.values.release();
    this.grads.release();
  }
}
