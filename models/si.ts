/**
 * Which weights of a model are scale-invariant: a convolution whose output goes straight into a
 * BatchNorm2d — the next layer with parameters or normalisation after it, in module order — makes
 * the loss invariant to scaling its weight (jointly with the other such weights when branches meet,
 * as in pre-activation ResNets). Biases and linear layers are not.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { BatchNorm2d, Conv2d, Linear } from "./layers.ts";
import type { Model } from "./model.ts";
import type { Parameter } from "./params.ts";

/**
 * The scale-invariant weights of a model, in module order.
 * @param model The model.
 * @returns The weights of every bias-free Conv2d followed by a BatchNorm2d.
 */
export function siParameters(model: Model): Parameter[] {
  const layers = model.modules.filter((m) =>
    m instanceof Conv2d || m instanceof BatchNorm2d || m instanceof Linear
  );
  const out: Parameter[] = [];
  layers.forEach((m, i) => {
    if (m instanceof Conv2d && !m.bias && layers[i + 1] instanceof BatchNorm2d) out.push(m.param("weight"));
  });
  return out;
}

/**
 * Checks that the named parameters are all scale-invariant.
 * @param model The model.
 * @param names Parameter names meant for the SI group.
 * @returns The parameters.
 * @throws {OptionError} Naming the first parameter that is not scale-invariant, and why.
 */
export function checkScaleInvariant(model: Model, names: string[]): Parameter[] {
  const si = new Map(siParameters(model).map((p) => [p.name, p]));
  return names.map((n) => {
    const p = si.get(n);
    if (p) return p;
    const known = model.arena.get(n);
    throw new OptionError(
      known
        ? `Parameter "${n}" is not scale-invariant: only the weight of a bias-free Conv2d followed by a BatchNorm2d is (SI here: ${
          [...si.keys()].join(", ") || "none"
        })`
        : `Parameter "${n}" is not in the model`,
    );
  });
}
