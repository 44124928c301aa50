/**
 * Size-bucketed GPU buffer pool: a steady-state loop that acquires and releases the same sizes
 * allocates nothing after its first iteration.
 * @module
 */

/** Rounds a byte size up to its bucket: at least 256, then four steps per power of two. */
export function bucketSize(bytes: number): number {
  if (bytes <= 256) return 256;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = p / 4;
  return Math.ceil(bytes / step) * step;
}

/** A pool of GPU buffers keyed by usage flags and bucketed size. */
export class BufferPool {
  #device: GPUDevice;
  #free = new Map<string, GPUBuffer[]>();
  /** Buffers created so far (a steady-state loop stops raising this). */
  created = 0;
  /** Bytes held by buffers created so far and not destroyed. */
  bytes = 0;

  /**
   * Creates an empty pool.
   * @param device The device that owns the buffers.
   */
  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Returns a buffer of at least `bytes` bytes with exactly these usage flags. */
  acquire(bytes: number, usage: number, label = "pooled"): GPUBuffer {
    const size = bucketSize(bytes);
    const list = this.#free.get(`${usage}:${size}`);
    const reused = list?.pop();
    if (reused) return reused;
    this.created++;
    this.bytes += size;
    return this.#device.createBuffer({ size, usage, label });
  }

  /** Gives a buffer back; it may be handed out again by the next `acquire`. */
  release(buffer: GPUBuffer): void {
    const key = `${buffer.usage}:${buffer.size}`;
    let list = this.#free.get(key);
    if (!list) this.#free.set(key, list = []);
    list.push(buffer);
  }

  /** Destroys every free buffer (those in use are untouched). */
  trim(): void {
    for (const list of this.#free.values()) {
      for (const b of list) {
        this.bytes -= b.size;
        b.destroy();
      }
    }
    this.#free.clear();
  }
}
