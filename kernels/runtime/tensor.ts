/**
 * GPU tensors: a pooled storage buffer with a shape and a dtype, plus upload and batched
 * readback (one staging copy and one map for any number of tensors).
 * @module
 */
import { fmtShape } from "../../util/errors.ts";
import type { Gpu } from "./runtime.ts";

/** Element types a tensor can hold (all 4 bytes wide). */
export type DType = "f32" | "i32" | "u32";

/** The typed array that holds a dtype's elements on the CPU. */
export type TypedArrayFor<D extends DType> = D extends "f32" ? Float32Array
  : D extends "i32" ? Int32Array
  : Uint32Array;

/** Any array-like of numbers that can be uploaded. */
export type TensorData = ArrayLike<number>;

const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST
const DTYPES: readonly DType[] = ["f32", "i32", "u32"];

/** Checks a shape: a non-empty list of positive integers. Returns the element count. */
export function checkShape(shape: readonly number[], what: string): number {
  if (!Array.isArray(shape) || shape.length === 0) {
    throw new TypeError(`Invalid shape for ${what}: expected a non-empty array, got ${shape}`);
  }
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d <= 0) {
      throw new RangeError(
        `Invalid shape ${fmtShape(shape)} for ${what}: every dimension must be a positive integer`,
      );
    }
    size *= d;
  }
  return size;
}

/** A tensor in GPU memory. Release it when done so its buffer returns to the pool. */
export class Tensor {
  /** The GPU it lives on. */
  readonly gpu: Gpu;
  /** Its shape, outermost first (row-major). */
  readonly shape: readonly number[];
  /** Its element type. */
  readonly dtype: DType;
  /** Its element count. */
  readonly size: number;
  /** A name for error messages. */
  readonly name: string;
  #storage: { buffer: GPUBuffer | null };
  #offset = 0;
  #owner = true;

  /**
   * Allocates an uninitialised tensor from the pool. Prefer {@link empty} and {@link upload}.
   * @param gpu The GPU.
   * @param shape Positive integer dimensions.
   * @param dtype Element type.
   * @param name A name for error messages.
   * @param share Another tensor whose memory this one views (used by {@link Tensor.reshape}).
   */
  constructor(
    gpu: Gpu,
    shape: readonly number[],
    dtype: DType = "f32",
    name = "tensor",
    share?: Tensor,
  ) {
    if (!DTYPES.includes(dtype)) {
      throw new TypeError(`Invalid dtype "${dtype}" for ${name}: expected one of f32, i32, u32`);
    }
    this.size = checkShape(shape, `tensor "${name}"`);
    const bytes = this.size * 4;
    const max = gpu.device.limits.maxStorageBufferBindingSize;
    if (bytes > max) {
      throw new RangeError(
        `Tensor "${name}" of shape ${fmtShape(shape)} needs ${bytes} bytes: ` +
          `more than this device's maxStorageBufferBindingSize (${max})`,
      );
    }
    this.gpu = gpu;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.name = name;
    this.#storage = share ? share.#storage : { buffer: gpu.pool.acquire(bytes, STORAGE, name) };
  }

  /** The storage buffer. Throws if the tensor was released. */
  get buffer(): GPUBuffer {
    const b = this.#storage.buffer;
    if (!b) {
      throw new Error(`Tensor "${this.name}" ${fmtShape(this.shape)} was used after release()`);
    }
    return b;
  }

  /** Where the tensor starts in its buffer, in bytes (non-zero for views into an arena). */
  get byteOffset(): number {
    return this.#offset;
  }

  /**
   * A view of `size(shape)` elements starting at element `offset` of this tensor's memory — e.g.
   * one parameter inside a model's parameter arena. The offset must be a multiple of 64 elements
   * (WebGPU's 256-byte binding alignment). Releasing a view does not free the memory.
   * @param offset First element, relative to this tensor.
   * @param shape The view's shape.
   * @param name A name for error messages.
   * @returns The view.
   */
  view(offset: number, shape: readonly number[], name = this.name): Tensor {
    const size = checkShape(shape, `view of "${this.name}"`);
    if (!Number.isInteger(offset) || offset < 0 || offset % 64 || offset + size > this.size) {
      throw new RangeError(
        `Cannot view ${size} elements at offset ${offset} of "${this.name}" (${this.size} elements): ` +
          `the offset must be a multiple of 64 and the view inside the tensor`,
      );
    }
    this.buffer;
    const v = new Tensor(this.gpu, shape, this.dtype, name, this);
    v.#offset = this.#offset + offset * 4;
    v.#owner = false;
    return v;
  }

  /** Whether this tensor and `other` are views of the same memory. */
  sharesMemory(other: Tensor): boolean {
    return this.#storage === other.#storage;
  }

  /** Whether {@link release} was called. */
  get released(): boolean {
    return this.#storage.buffer === null;
  }

  /** The size in bytes of the data (the buffer may be larger). */
  get bytes(): number {
    return this.size * 4;
  }

  /** Returns the buffer to the pool (views: only forgets the view). Later use throws. Twice is a no-op. */
  release(): void {
    if (!this.#owner) {
      this.#storage = { buffer: null };
      return;
    }
    const b = this.#storage.buffer;
    if (b) this.gpu.pool.release(b);
    this.#storage.buffer = null;
  }

  /**
   * The same memory viewed with another shape of equal size. Releasing either view releases both.
   * @param shape The new shape.
   * @returns A view sharing this tensor's buffer.
   */
  reshape(shape: readonly number[]): Tensor {
    const size = checkShape(shape, `reshape of "${this.name}"`);
    if (size !== this.size) {
      throw new RangeError(
        `Cannot reshape "${this.name}" from ${fmtShape(this.shape)} to ${fmtShape(shape)}: ` +
          `sizes differ (${this.size} vs ${size})`,
      );
    }
    this.buffer; // throws if released
    const t = new Tensor(this.gpu, shape, this.dtype, this.name, this);
    t.#offset = this.#offset;
    t.#owner = this.#owner;
    return t;
  }
}

/**
 * Creates an uninitialised tensor.
 * @param gpu The GPU.
 * @param shape Its shape.
 * @param dtype Its element type (default f32).
 * @param name A name for error messages.
 * @returns The tensor.
 */
export function empty(gpu: Gpu, shape: readonly number[], dtype: DType = "f32", name = "tensor"): Tensor {
  return new Tensor(gpu, shape, dtype, name);
}

/**
 * Uploads data into a new tensor.
 * @param gpu The GPU.
 * @param data Exactly `product(shape)` numbers.
 * @param shape Its shape.
 * @param dtype Its element type (default f32).
 * @param name A name for error messages.
 * @returns The tensor.
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { getGpu } from "./runtime.ts";
 * import { readback, upload } from "./tensor.ts";
 * const gpu = await getGpu();
 * const t = upload(gpu, [1, 2, 3, 4], [2, 2]);
 * const [values] = await readback(gpu, t);
 * deepEqual([...values], [1, 2, 3, 4]);
 * ```
 */
export function upload(
  gpu: Gpu,
  data: TensorData,
  shape: readonly number[],
  dtype: DType = "f32",
  name = "tensor",
): Tensor {
  const t = new Tensor(gpu, shape, dtype, name);
  if (data.length !== t.size) {
    t.release();
    throw new RangeError(
      `Cannot upload ${data.length} values into "${name}" of shape ${fmtShape(shape)}: ` +
        `expected ${t.size}`,
    );
  }
  // writeBuffer copies: an array of the right type goes as it is (no second copy of a large layer).
  const typed = dtype === "f32"
    ? (data instanceof Float32Array ? data : Float32Array.from(data))
    : dtype === "i32"
    ? (data instanceof Int32Array ? data : Int32Array.from(data))
    : (data instanceof Uint32Array ? data : Uint32Array.from(data));
  gpu.device.queue.writeBuffer(t.buffer, t.byteOffset, typed as Float32Array<ArrayBuffer>);
  return t;
}

/**
 * Reads tensors back to the CPU with one staging buffer and one map, after all work submitted
 * so far. Each result is a typed array of the tensor's dtype and size.
 * @param gpu The GPU.
 * @param tensors The tensors to read.
 * @returns Their values, in order.
 */
export async function readback(
  gpu: Gpu,
  ...tensors: Tensor[]
): Promise<Array<Float32Array | Int32Array | Uint32Array>> {
  gpu.checkHealthy("readback");
  let total = 0;
  const offsets = tensors.map((t) => {
    const o = total;
    total += Math.ceil(t.bytes / 256) * 256;
    return o;
  });
  const staging = gpu.pool.acquire(Math.max(total, 4), 0x1 | 0x8, "staging"); // MAP_READ | COPY_DST
  const enc = gpu.device.createCommandEncoder({ label: "readback" });
  tensors.forEach((t, i) => enc.copyBufferToBuffer(t.buffer, t.byteOffset, staging, offsets[i], t.bytes));
  gpu.device.queue.submit([enc.finish()]);
  gpu.stats.submits++;
  await staging.mapAsync(GPUMapMode.READ, 0, total || 4);
  const bytes = staging.getMappedRange(0, total || 4).slice(0);
  staging.unmap();
  gpu.pool.release(staging);
  return tensors.map((t, i) => {
    const C = t.dtype === "f32" ? Float32Array : t.dtype === "i32" ? Int32Array : Uint32Array;
    return new C(bytes, offsets[i], t.size);
  });
}
