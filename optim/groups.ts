/**
 * Parameter groups, shared by every optimizer: their types (as `torch.optim` has them), validation
 * (each parameter in one group, all from the optimizer's arena, finite non-negative
 * hyper-parameters) and the chunk tables their fused kernels walk (`kernels/optim/chunk_table.ts`),
 * one table per group.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import type { Gpu } from "../kernels/runtime/runtime.ts";
import { type Tensor, upload } from "../kernels/runtime/tensor.ts";
import { chunkRows } from "../kernels/optim/chunk_table.ts";
import type { Parameter, ParameterArena } from "../models/params.ts";

/** A parameter group as given to an optimizer. */
export interface ParamGroupSpec {
  /** The group's parameters (from the optimizer's arena). */
  params: Parameter[];
  /** Learning rate (default: the optimizer's). */
  lr?: number;
  /** Momentum (default: the optimizer's). */
  momentum?: number;
  /** Dampening (default: the optimizer's). */
  dampening?: number;
  /** Weight decay (default: the optimizer's). */
  weightDecay?: number;
  /** Nesterov momentum (default: the optimizer's). */
  nesterov?: boolean;
}

/** A live parameter group: its hyper-parameters may be changed between steps. */
export interface ParamGroup {
  /** The group's parameters. */
  params: Parameter[];
  /** Learning rate used by the next step. */
  lr: number;
  /** The rate the group was created with (schedulers scale from it). */
  initialLr: number;
  /** Momentum. */
  momentum: number;
  /** Dampening. */
  dampening: number;
  /** Weight decay. */
  weightDecay: number;
  /** Nesterov momentum. */
  nesterov: boolean;
}

/**
 * Builds and checks live groups.
 * @param who The optimizer's name (starts error messages).
 * @param arena The arena every parameter must come from.
 * @param groups The group specs.
 * @param d Defaults for unset hyper-parameters.
 * @returns The groups.
 * @throws {OptionError} On a parameter in two groups or from another arena, or a bad value.
 */
export function makeGroups(
  who: string,
  arena: ParameterArena,
  groups: ParamGroupSpec[],
  d: { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean },
): ParamGroup[] {
  const seen = new Set<string>();
  return groups.map((g, gi) => {
    for (const p of g.params) {
      if (seen.has(p.name)) {
        throw new OptionError(`${who}: parameter "${p.name}" appears in more than one group (group ${gi})`);
      }
      if (arena.get(p.name) !== p) {
        throw new OptionError(`${who}: parameter "${p.name}" of group ${gi} is not in the optimizer's arena`);
      }
      seen.add(p.name);
    }
    const group: ParamGroup = {
      params: g.params,
      lr: g.lr ?? d.lr,
      initialLr: g.lr ?? d.lr,
      momentum: g.momentum ?? d.momentum ?? 0,
      dampening: g.dampening ?? d.dampening ?? 0,
      weightDecay: g.weightDecay ?? d.weightDecay ?? 0,
      nesterov: g.nesterov ?? d.nesterov ?? false,
    };
    for (
      const [k, v] of [["lr", group.lr], ["momentum", group.momentum], [
        "weightDecay",
        group.weightDecay,
      ]] as const
    ) {
      if (!(v >= 0) || !Number.isFinite(v)) {
        throw new OptionError(`${who}: group ${gi} has ${k} ${v}: expected a finite number ≥ 0`);
      }
    }
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
      throw new OptionError(
        `${who}: group ${gi}: nesterov momentum requires a momentum > 0 and zero dampening`,
      );
    }
    return group;
  });
}

/**
 * Uploads one chunk table per group: (offset, length, tensor index, 0) u32 rows, where the tensor
 * index is the parameter's position in `order`.
 * @param gpu The GPU.
 * @param groups The groups.
 * @param order The parameters in the order their per-tensor statistics are stored.
 * @returns One table per group (a dummy row for an empty group).
 */
export function chunkTables(gpu: Gpu, groups: ParamGroup[], order: Parameter[]): Tensor[] {
  const index = new Map(order.map((p, i) => [p.name, i]));
  return groups.map((g) => {
    const rows = chunkRows(
      g.params.map((p) => ({
        offset: p.offset,
        length: p.value.size,
        index: index.get(p.name)!,
        complex: p.complex,
      })),
    );
    return upload(gpu, rows, [rows.length], "u32", "optim.chunks");
  });
}
