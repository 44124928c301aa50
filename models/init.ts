/**
 * Parameter initialisers, as PyTorch and Hugging Face define them: each fills a float32 array from a
 * uniform random source in [0, 1) (the model's seeded generator).
 * @module
 */
import type { ParamSpec } from "./module.ts";

/**
 * kaiming_uniform_(a=√5) as nn.Conv2d/nn.Linear use: U(−1/√fan_in, 1/√fan_in).
 * @param fanIn The layer's fan-in.
 * @returns The initialiser.
 */
export function uniformFanIn(fanIn: number): ParamSpec["init"] {
  const bound = 1 / Math.sqrt(fanIn);
  return (out, random) => {
    for (let i = 0; i < out.length; i++) out[i] = (2 * random() - 1) * bound;
  };
}

/**
 * A constant.
 * @param v The value.
 * @returns The initialiser.
 */
export const constantInit = (v: number): ParamSpec["init"] => (out) => out.fill(v);

/**
 * Normal(0, std²) by Box–Muller from the uniform source (Hugging Face's decoders).
 * @param std The standard deviation.
 * @returns The initialiser.
 */
export function normalInit(std: number): ParamSpec["init"] {
  return (out, random) => {
    for (let i = 0; i < out.length; i += 2) {
      const u = 1 - random(), v = random();
      const r = Math.sqrt(-2 * Math.log(u)) * std;
      out[i] = r * Math.cos(2 * Math.PI * v);
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
  };
}
