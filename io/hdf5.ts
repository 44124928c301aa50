/**
 * HDF5 files through the npm package `h5wasm` (the HDF5 C library compiled to WebAssembly, loaded on
 * first use): the one reader and writer of PDEBench's data files. Every error names the file and the
 * dataset.
 * @module
 */
import { UserError } from "../util/errors.ts";

type H5wasm = typeof import("h5wasm/node").default;
type H5File = InstanceType<H5wasm["File"]>;
type H5Dataset = InstanceType<H5wasm["Dataset"]>;

/** A bad or unreadable HDF5 file, or a dataset that is missing or has the wrong shape. */
export class Hdf5Error extends UserError {
  /**
   * Builds the error.
   * @param path The file.
   * @param message What was wrong and what was expected.
   */
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "Hdf5Error";
  }
}

let lib: Promise<H5wasm> | null = null;

/** Loads h5wasm once. */
function h5(): Promise<H5wasm> {
  lib ??= import("h5wasm/node").then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return lib;
}

/** The 8-byte HDF5 signature; the superblock sits at byte 0, 512, 1024, 2048, … */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether the file carries the HDF5 signature at one of the places the format allows. */
async function hasSignature(path: string): Promise<boolean> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    const head = new Uint8Array(8);
    for (let at = 0; at + 8 <= size && at <= 1 << 20; at = at === 0 ? 512 : at * 2) {
      await file.seek(at, Deno.SeekMode.Start);
      let got = 0;
      while (got < 8) {
        const n = await file.read(head.subarray(got));
        if (n === null) return false;
        got += n;
      }
      if (SIGNATURE.every((b, i) => head[i] === b)) return true;
    }
    return false;
  } finally {
    file.close();
  }
}

/** A numeric n-dimensional array read from or written to a dataset. */
export interface Hdf5Array {
  /** The values, row-major, converted to float32. */
  data: Float32Array;
  /** The shape. */
  shape: number[];
}

/** One range per axis: `[start, stop, step]`, as h5wasm's `slice` takes it. */
export type Hdf5Range = [number, number, number?];

/** An open HDF5 file. Close it with {@link Hdf5File.close}. */
export class Hdf5File {
  readonly #file: H5File;
  /** The file's path. */
  readonly path: string;

  private constructor(file: H5File, path: string) {
    this.#file = file;
    this.path = path;
  }

  /**
   * Opens an existing file.
   * @param path The file.
   * @param mode `"r"` to read, `"a"` to read and write.
   * @returns The open file.
   * @throws {Hdf5Error} The file is missing or is not HDF5.
   */
  static async open(path: string, mode: "r" | "a" = "r"): Promise<Hdf5File> {
    try {
      if (!(await Deno.stat(path)).isFile) throw new Hdf5Error(path, "not a file");
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) throw new Hdf5Error(path, "no such file");
      throw e;
    }
    if (!(await hasSignature(path))) {
      throw new Hdf5Error(path, "not an HDF5 file (no HDF5 signature); expected a PDEBench .hdf5/.h5 file");
    }
    const h = await h5();
    return new Hdf5File(new h.File(path, mode), path);
  }

  /**
   * Creates a file, replacing any file at `path`.
   * @param path The file.
   * @returns The open file.
   */
  static async create(path: string): Promise<Hdf5File> {
    const h = await h5();
    return new Hdf5File(new h.File(path, "w"), path);
  }

  /** The names of the root group's members. */
  keys(): string[] {
    return this.#file.keys();
  }

  /** Whether the root group holds a dataset of that name. */
  has(name: string): boolean {
    return this.keys().includes(name);
  }

  #dataset(name: string): H5Dataset {
    const d = this.has(name) ? this.#file.get(name) : null;
    if (!d || !("shape" in d) || (d as H5Dataset).shape === null) {
      throw new Hdf5Error(
        this.path,
        `no dataset "${name}" (the file holds: ${this.keys().join(", ") || "nothing"})`,
      );
    }
    return d as H5Dataset;
  }

  /**
   * A dataset's shape.
   * @param name The dataset.
   * @returns Its shape.
   * @throws {Hdf5Error} No such dataset.
   */
  shape(name: string): number[] {
    return [...this.#dataset(name).shape!];
  }

  /**
   * Reads a numeric dataset, or a strided block of it, as float32.
   * @param name The dataset.
   * @param ranges One `[start, stop, step?]` per leading axis (the rest whole); all of it when omitted.
   * @returns The values and their shape.
   * @throws {Hdf5Error} No such dataset, or it is not numeric.
   */
  read(name: string, ranges?: Hdf5Range[]): Hdf5Array {
    const d = this.#dataset(name);
    const full = d.shape!;
    const r = full.map((n, i): [number, number, number] => {
      const [start, stop, step] = ranges?.[i] ?? [0, n, 1];
      return [start, Math.min(stop, n), step ?? 1];
    });
    const shape = r.map(([start, stop, step]) => Math.max(0, Math.ceil((stop - start) / step)));
    const whole = r.every(([start, stop, step], i) => start === 0 && stop === full[i] && step === 1);
    const raw = whole ? d.value : d.slice(r);
    if (!ArrayBuffer.isView(raw) || raw instanceof DataView) {
      throw new Hdf5Error(this.path, `dataset "${name}" is not numeric (dtype ${JSON.stringify(d.dtype)})`);
    }
    const values = raw as unknown as ArrayLike<number | bigint>;
    const data = values instanceof Float32Array ? values : Float32Array.from(values, Number);
    return { data, shape };
  }

  /**
   * Writes a float32 dataset (replacing none: the name must be new).
   * @param name The dataset.
   * @param data The values, row-major.
   * @param shape The shape.
   * @param o Chunk shape, for a dataset filled block by block with {@link Hdf5File.writeRows}.
   */
  write(name: string, data: Float32Array, shape: number[], o: { chunks?: number[] } = {}): void {
    this.#file.create_dataset({ name, data, shape, dtype: "<f", chunks: o.chunks ?? null });
  }

  /**
   * Writes rows `[start, start + rows)` of a dataset's first axis.
   * @param name The dataset.
   * @param start The first row.
   * @param data The rows' values, row-major.
   */
  writeRows(name: string, start: number, data: Float32Array): void {
    const d = this.#dataset(name);
    const [, ...rest] = d.shape!;
    const rows = data.length / rest.reduce((a, b) => a * b, 1);
    d.write_slice([[start, start + rows], ...rest.map((n): [number, number] => [0, n])], data);
  }

  /**
   * Reads a root attribute (a number or a string), or `undefined` when absent.
   * @param name The attribute.
   * @returns Its value.
   */
  attr(name: string): number | string | undefined {
    if (!(name in this.#file.attrs)) return undefined;
    const v = this.#file.get_attribute(name, true);
    return typeof v === "number" || typeof v === "string" ? v : JSON.stringify(v);
  }

  /**
   * Sets a root attribute.
   * @param name The attribute.
   * @param value A number or a string.
   */
  setAttr(name: string, value: number | string): void {
    if (name in this.#file.attrs) this.#file.delete_attribute(name);
    this.#file.create_attribute(name, value);
  }

  /** Flushes what was written to disk. */
  flush(): void {
    this.#file.flush();
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}
