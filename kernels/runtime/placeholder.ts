/**
 * A one-element tensor per GPU, bound where a kernel's optional input (bias, γ/β) is absent: a
 * binding cannot be left empty, nor alias the output.
 * @module
 */
import type { Gpu } from "./runtime.ts";
import { Tensor } from "./tensor.ts";

const PLACEHOLDERS = new WeakMap<Gpu, Tensor>();

/** The GPU's placeholder tensor (created once, never released). */
export function placeholder(gpu: Gpu): Tensor {
  let t = PLACEHOLDERS.get(gpu);
  if (!t) PLACEHOLDERS.set(gpu, t = new Tensor(gpu, [1], "f32", "placeholder"));
  return t;
}
