/**
 * PDEBench's single-file HDF5 layout, read as PDEBench's `FNODatasetSingle` reads it: 2D Darcy flow
 * (`nu` (N, X, Y) the input, `tensor` (N, 1, X, Y) the steady solution) and 1D scalar equations such
 * as Burgers (`tensor` (N, T, X)), with `x-coordinate` (and `y-coordinate`, `t-coordinate`), and
 * PDEBench's stride subsampling in space (`reduced_resolution`) and time (`reduced_resolution_t`).
 * @module
 */
import { Hdf5Error, Hdf5File, type Hdf5Range } from "../../io/hdf5.ts";

/** Samples of a 2D Darcy file. */
export interface DarcySamples {
  /** The layout. */
  kind: "darcy";
  /** Samples read. */
  count: number;
  /** Grid points along x and y after subsampling. */
  nx: number;
  /** Grid points along y. */
  ny: number;
  /** The coefficient ν, count × nx × ny. */
  nu: Float32Array;
  /** The solution u, count × nx × ny. */
  u: Float32Array;
  /** x-coordinates (nx). */
  x: Float32Array;
  /** y-coordinates (ny). */
  y: Float32Array;
}

/** Samples of a 1D time-dependent scalar file (Burgers, advection, diffusion–sorption…). */
export interface Scalar1dSamples {
  /** The layout. */
  kind: "1d";
  /** Samples read. */
  count: number;
  /** Frames after subsampling. */
  nt: number;
  /** Grid points after subsampling. */
  nx: number;
  /** u, count × nt × nx. */
  u: Float32Array;
  /** x-coordinates (nx). */
  x: Float32Array;
}

/** Samples of either layout. */
export type PdeSamples = DarcySamples | Scalar1dSamples;

/** Which samples to read and how to subsample them. */
export interface PdeReadOptions {
  /** The first sample (default 0). */
  start?: number;
  /** One past the last sample (default: all). */
  stop?: number;
  /** Take every `step`-th sample (default 1). */
  step?: number;
  /** Take every R-th grid point (PDEBench's `reduced_resolution`, default 1). */
  reducedResolution?: number;
  /** Take every R-th frame (PDEBench's `reduced_resolution_t`, default 1; 1D only). */
  reducedResolutionT?: number;
}

const LAYOUT =
  "expected PDEBench's layout: Darcy `nu` (N, X, Y) with `tensor` (N, 1, X, Y), or 1D `tensor` (N, T, X)";

/**
 * The number of samples and the layout of a PDEBench file, without reading its data.
 * @param path The file.
 * @returns The layout and sample count.
 * @throws {Hdf5Error} Not HDF5 or not one of the two layouts.
 */
export async function pdeFileInfo(
  path: string,
): Promise<{ kind: "darcy" | "1d"; samples: number; shape: number[] }> {
  const f = await Hdf5File.open(path);
  try {
    return layout(f);
  } finally {
    f.close();
  }
}

function layout(f: Hdf5File): { kind: "darcy" | "1d"; samples: number; shape: number[] } {
  if (!f.has("tensor")) throw new Hdf5Error(f.path, `no dataset "tensor"; ${LAYOUT}`);
  const shape = f.shape("tensor");
  if (shape.length === 4 && f.has("nu")) {
    const nu = f.shape("nu");
    if (shape[1] < 1 || nu.length !== 3 || nu[0] !== shape[0] || nu[1] !== shape[2] || nu[2] !== shape[3]) {
      throw new Hdf5Error(f.path, `"nu" is (${nu}) and "tensor" (${shape}); ${LAYOUT}`);
    }
    return { kind: "darcy", samples: shape[0], shape };
  }
  if (shape.length === 3) return { kind: "1d", samples: shape[0], shape };
  throw new Hdf5Error(
    f.path,
    `"tensor" is (${shape})${shape.length === 4 ? ' but there is no "nu"' : ""}; ${LAYOUT}`,
  );
}

function coordinate(f: Hdf5File, name: string, n: number, stride: number): Float32Array {
  if (!f.has(name)) throw new Hdf5Error(f.path, `no dataset "${name}"; ${LAYOUT}`);
  const shape = f.shape(name);
  if (shape.length !== 1 || shape[0] < n) {
    throw new Hdf5Error(f.path, `"${name}" has shape (${shape}), expected ${n} values`);
  }
  return f.read(name, [[0, n, stride]]).data;
}

/**
 * Reads samples of a PDEBench file.
 * @param path The file.
 * @param o Which samples, and PDEBench's stride subsampling.
 * @returns The samples.
 * @throws {Hdf5Error} Not HDF5, not one of the two layouts, or asks for samples the file lacks.
 */
export async function readPdeSamples(path: string, o: PdeReadOptions = {}): Promise<PdeSamples> {
  const f = await Hdf5File.open(path);
  try {
    const { kind, samples, shape } = layout(f);
    const start = o.start ?? 0, stop = Math.min(o.stop ?? samples, samples), step = o.step ?? 1;
    if (start >= stop) throw new Hdf5Error(path, `asked for samples ${start}…${stop - 1} of ${samples}`);
    const r = o.reducedResolution ?? 1, rt = o.reducedResolutionT ?? 1;
    const rows: Hdf5Range = [start, stop, step];
    if (kind === "darcy") {
      const nu = f.read("nu", [rows, [0, shape[2], r], [0, shape[3], r]]);
      const u = f.read("tensor", [rows, [0, 1], [0, shape[2], r], [0, shape[3], r]]);
      const [count, nx, ny] = nu.shape;
      return {
        kind,
        count,
        nx,
        ny,
        nu: nu.data,
        u: u.data,
        x: coordinate(f, "x-coordinate", shape[2], r),
        y: coordinate(f, "y-coordinate", shape[3], r),
      };
    }
    const u = f.read("tensor", [rows, [0, shape[1], rt], [0, shape[2], r]]);
    const [count, nt, nx] = u.shape;
    return { kind, count, nt, nx, u: u.data, x: coordinate(f, "x-coordinate", shape[2], r) };
  } finally {
    f.close();
  }
}
