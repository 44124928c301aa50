/**
 * PDE data sets generated block by block: each block of samples depends only on the seed and its
 * index, so a generation can stop anywhere, resume, and be split over workers with the same result.
 * @module
 */
import { burgersFrames, burgersInitial, solveBurgers } from "./burgers.ts";
import { cellCentres, DARCY_BLOCK, darcyCoefficients, solveDarcy } from "./darcy.ts";

/** The equations `pde-data` generates. */
export const PDE_KINDS = ["darcy", "burgers"] as const;
/** One of {@link PDE_KINDS}. */
export type PdeKind = typeof PDE_KINDS[number];

/** What a generated file is made from; stored in the file so a resumed run can check it. */
export interface PdeGenSpec {
  /** The equation. */
  kind: PdeKind;
  /** Samples. */
  samples: number;
  /** Cells per side. */
  resolution: number;
  /** The seed. */
  seed: number;
  /** Darcy's source term β. */
  beta?: number;
  /** Burgers' ν (diffusion ν/π). */
  nu?: number;
}

/** The defaults of PDEBench's files: Darcy 128² with β = 100, Burgers 1024 cells with ν = 0.01. */
export function withDefaults(spec: Partial<PdeGenSpec> & { kind: PdeKind; samples: number }): PdeGenSpec {
  return spec.kind === "darcy"
    ? {
      kind: "darcy",
      samples: spec.samples,
      resolution: spec.resolution ?? 128,
      seed: spec.seed ?? 0,
      beta: spec.beta ?? 100,
    }
    : {
      kind: "burgers",
      samples: spec.samples,
      resolution: spec.resolution ?? 1024,
      seed: spec.seed ?? 0,
      nu: spec.nu ?? 0.01,
    };
}

/** Samples per block: Darcy's is PDEBench's run, whose mean thresholds ν. */
export function blockSize(kind: PdeKind): number {
  return kind === "darcy" ? DARCY_BLOCK : 50;
}

/** A dataset of a PDEBench file: its name and shape. */
export interface PdeDatasetShape {
  /** The dataset's name in the file. */
  name: string;
  /** Its shape. */
  shape: number[];
}

/**
 * The per-sample datasets of a file in PDEBench's layout (Darcy: `nu` (N, X, Y) and `tensor`
 * (N, 1, X, Y); Burgers: `tensor` (N, T, X)).
 * @param spec The generation.
 * @returns Each dataset's name and shape.
 */
export function sampleDatasets(spec: PdeGenSpec): PdeDatasetShape[] {
  const { samples: N, resolution: R } = spec;
  return spec.kind === "darcy"
    ? [{ name: "nu", shape: [N, R, R] }, { name: "tensor", shape: [N, 1, R, R] }]
    : [{ name: "tensor", shape: [N, burgersFrames(), R] }];
}

/**
 * The coordinate datasets: cell centres `x-coordinate` (and `y-coordinate`), and for Burgers
 * `t-coordinate` with one entry more than frames, as PDEBench writes it.
 * @param spec The generation.
 * @returns Name → values.
 */
export function coordinates(spec: PdeGenSpec): Record<string, Float32Array> {
  const x = cellCentres(spec.resolution);
  if (spec.kind === "darcy") return { "x-coordinate": x, "y-coordinate": x };
  const frames = burgersFrames();
  return { "x-coordinate": x, "t-coordinate": Float32Array.from({ length: frames + 1 }, (_, i) => i * 0.01) };
}

/** The seed of one block: the run's seed and the block's index, mixed. */
function blockSeed(seed: number, block: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(block + 1, 0x85ebca6b)) >>> 0;
}

/**
 * Generates one block of samples.
 * @param spec The generation.
 * @param block The block's index (samples `block·size` … up to `spec.samples`).
 * @returns Each per-sample dataset's values for the block, in {@link sampleDatasets}' order.
 */
export function generateBlock(spec: PdeGenSpec, block: number): Float32Array[] {
  const size = blockSize(spec.kind);
  const count = Math.min(size, spec.samples - block * size);
  if (count <= 0) throw new RangeError(`generateBlock: block ${block} is past ${spec.samples} samples`);
  const R = spec.resolution, seed = blockSeed(spec.seed, block);
  if (spec.kind === "darcy") {
    // ν is drawn for the whole block (its mean is the threshold), then only `count` are solved.
    const nu = darcyCoefficients(R, size, seed).slice(0, count * R * R);
    const u = new Float32Array(count * R * R);
    for (let s = 0; s < count; s++) {
      const sol = solveDarcy(nu.subarray(s * R * R, (s + 1) * R * R), R, { beta: spec.beta });
      u.set(sol.u, s * R * R);
    }
    return [nu, u];
  }
  const init = burgersInitial(R, count, seed);
  const frames = burgersFrames();
  const out = new Float32Array(count * frames * R);
  for (let s = 0; s < count; s++) {
    out.set(solveBurgers(init.subarray(s * R, (s + 1) * R), { nu: spec.nu }), s * frames * R);
  }
  return [out];
}
