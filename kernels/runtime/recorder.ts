/**
 * The Recorder: ops record dispatches into one command encoder (one compute pass), and
 * `submit()` sends them with a single `queue.submit`. Kernel parameters go into one uniform
 * arena per recorder, written once at submit.
 * @module
 */
import { GpuOpError } from "../../util/errors.ts";
import type { Gpu } from "./runtime.ts";
import type { Tensor } from "./tensor.ts";

/** One dispatch of a kernel: data built by an op, recorded by {@link Recorder.dispatch}. */
export interface Dispatch {
  /** The op and its shapes, for error messages: `matmul A=[3, 5] B=[5, 7]`. */
  op: string;
  /** The kernel's name (pipeline label). */
  kernel: string;
  /** WGSL source with entry point `main`. Binding 0 is `params` (uniform) when `params` is set. */
  code: string;
  /** Total workgroups (a 1-D count; the runtime folds it into a legal 3-D grid). */
  groups: number;
  /** Uniform parameters; the first u32 of the struct must be `groups` (see {@link Recorder.dispatch}). */
  params?: ArrayBuffer;
  /** Storage bindings 1.. in order. */
  tensors: Tensor[];
  /** What the dispatch computes, for step profiles (see {@link Work}). */
  work?: Work;
}

/**
 * The work of one dispatch as a step profile reports it: its kind (`conv2d fwd`, `batchnorm bwd`),
 * the shape it works on, and the useful floating-point operations or the bytes it must move.
 */
export interface Work {
  /** The op kind, e.g. `conv2d bwd-filter`. */
  kind: string;
  /** The shape, e.g. `32×64×32×32 → 64 k3 s1`. */
  shape: string;
  /** Useful floating-point operations (an FMA counts 2). */
  flops?: number;
  /** Bytes that must be read and written at least once. */
  bytes?: number;
}

/** One recorded entry of a profiled step: a dispatch or a buffer copy, with its work. */
export interface ProfiledEntry {
  /** The op (as in error messages). */
  op: string;
  /** The kernel's name, or `copy` for a buffer copy. */
  kernel: string;
  /** Its work (kind `copy` for buffer copies; the kernel's name when the op declared none). */
  work: Work;
  /** The pipeline, bind group and grid (dispatches only), for replays. */
  replay?: { pipeline: GPUComputePipeline; group: GPUBindGroup; grid: [number, number, number] };
  /** For buffer copies: what to replay. */
  copy?: { src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number };
  /** With timestamps: the query index of the entry's start (its end is the next one). */
  query?: number;
}

/** How a {@link Recorder} profiles what it records. */
export interface RecorderProfile {
  /**
   * A timestamp query set: each entry gets its own compute pass that writes its start and end
   * times (queries `2i`, `2i + 1`). Without it, entries are only kept for replays.
   */
  querySet?: GPUQuerySet;
  /** Capacity of the query set, in queries. */
  capacity?: number;
}

interface Recorded {
  op: string;
  kernel: GPUComputePipeline;
  group: GPUBindGroup;
  grid: [number, number, number];
}

interface Arena {
  buffer: GPUBuffer;
  data: Uint8Array<ArrayBuffer>;
  used: number;
}

const ARENA = 65536;
const UNIFORM = 0x40 | 0x8; // UNIFORM | COPY_DST
const ALIGN = 256;

/**
 * Splits a 1-D workgroup count into a grid with no dimension above `max`. Kernels recover the
 * linear index as `x + y·nx + z·nx·ny` and return when it is `>= groups`.
 * @param groups Total workgroups (≥ 1).
 * @param max The device's `maxComputeWorkgroupsPerDimension`.
 * @returns `[x, y, z]`.
 */
export function foldGrid(groups: number, max: number): [number, number, number] {
  if (groups <= max) return [groups, 1, 1];
  const y = Math.ceil(groups / max);
  if (y <= max) return [Math.ceil(groups / y), y, 1];
  const z = Math.ceil(groups / (max * max));
  if (z > max) throw new RangeError(`Cannot dispatch ${groups} workgroups: more than ${max}³`);
  const y2 = Math.ceil(groups / (max * z));
  return [Math.ceil(groups / (y2 * z)), y2, z];
}

/** WGSL that computes the linear workgroup index `wid` from a folded grid. */
export const WID = `let wid = wg_id.x + wg_id.y * n_wg.x + wg_id.z * n_wg.x * n_wg.y;`;
/** WGSL builtin parameters that {@link WID} uses. */
export const WID_ARGS = `@builtin(workgroup_id) wg_id: vec3u, @builtin(num_workgroups) n_wg: vec3u`;

/**
 * The most loop iterations one invocation may run, summed over all its loops and every entry
 * into them. NOTE: Mesa's llvmpipe/lavapipe (gallivm) silently stops looping after 65535
 * iterations (LP_MAX_TGSI_LOOP_ITERATIONS), and measured here its count is not reset when an inner
 * loop is re-entered, so kernels split long work across passes to stay under this bound.
 */
export const LOOP_CAP = 60000;

/**
 * WGSL `is_nan(x)`. NOTE: a bit test, because software drivers compile with fast-math and fold
 * `x != x` to false.
 */
export const IS_NAN = `fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }`;

/**
 * Collects dispatches into one command encoder and submits them once.
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { add, getGpu, readback, Recorder, relu, upload } from "../mod.ts";
 * const gpu = await getGpu();
 * const rec = new Recorder(gpu);
 * const a = upload(gpu, [1, -2, 3], [3]), b = upload(gpu, [1, 1, -5], [3]);
 * const y = relu(rec, add(rec, a, b)); // two dispatches, one submit
 * await rec.submit();
 * const [values] = await readback(gpu, y);
 * deepEqual([...values], [2, 0, 0]);
 * ```
 */
export class Recorder {
  /** The GPU this recorder submits to. */
  readonly gpu: Gpu;
  #encoder: GPUCommandEncoder;
  #pass: GPUComputePassEncoder | null = null;
  #arenas: Arena[] = [];
  #recorded: Recorded[] = [];
  #after: (() => void)[] = [];
  #checks: Promise<string | null>[] = [];
  #submitted = false;
  #profile: RecorderProfile | null;
  /** A profiling recorder's entries, in order (empty otherwise). */
  readonly profiled: ProfiledEntry[] = [];

  /**
   * Starts an empty command encoder.
   * @param gpu The GPU to record for.
   * @param profile Profile what is recorded: every dispatch and copy is kept for replays (with
   *   its uniforms and the tensors `after()` would release, until {@link Recorder.dispose}), and,
   *   with a timestamp query set, timed in its own pass.
   */
  constructor(gpu: Gpu, profile?: RecorderProfile) {
    this.gpu = gpu;
    this.#profile = profile ?? null;
    this.#encoder = gpu.device.createCommandEncoder({ label: "recorder" });
  }

  /** The timestamp writes of the next profiled entry, or undefined (ends any open pass first). */
  #timestamps(): GPUComputePassTimestampWrites | undefined {
    const p = this.#profile;
    if (!p?.querySet) return undefined;
    const i = 2 * this.profiled.length;
    if (i + 2 > (p.capacity ?? 0)) {
      throw new RangeError(`Cannot profile more than ${(p.capacity ?? 0) / 2} entries in one step`);
    }
    this.#pass?.end();
    this.#pass = null;
    return { querySet: p.querySet, beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 };
  }

  /** Dispatches recorded so far. */
  get count(): number {
    return this.#recorded.length;
  }

  /**
   * Records one dispatch. The uniform struct's first field must be `groups: u32`; it is filled
   * with the total workgroup count so that kernels can skip the padding of a folded grid.
   * @param d The dispatch.
   */
  dispatch(d: Dispatch): void {
    if (this.#submitted) throw new Error(`Cannot record ${d.op}: this recorder was already submitted`);
    if (!Number.isInteger(d.groups) || d.groups < 1) {
      throw new RangeError(`Cannot record ${d.op}: workgroup count ${d.groups} must be ≥ 1`);
    }
    const gpu = this.gpu;
    const kernel = gpu.kernel(d.kernel, d.code);
    gpu.device.pushErrorScope("validation");
    const entries: GPUBindGroupEntry[] = [];
    if (d.params) {
      const bytes = new Uint8Array(d.params);
      new Uint32Array(d.params, 0, 1)[0] = d.groups;
      const slot = this.#uniformSlot(bytes.byteLength);
      slot.arena.data.set(bytes, slot.offset);
      entries.push({
        binding: 0,
        resource: { buffer: slot.arena.buffer, offset: slot.offset, size: bytes.byteLength },
      });
    }
    d.tensors.forEach((t, i) =>
      entries.push({ binding: i + 1, resource: { buffer: t.buffer, offset: t.byteOffset, size: t.bytes } })
    );
    const group = gpu.device.createBindGroup({ label: d.kernel, layout: kernel.layout, entries });
    this.#checks.push(gpu.device.popErrorScope().then((e) => (e ? `${d.op}: ${e.message}` : null)));
    const grid = foldGrid(d.groups, gpu.maxGroupsPerDim);
    const timestampWrites = this.#profile ? this.#timestamps() : undefined;
    this.#pass ??= this.#encoder.beginComputePass({ label: "recorder", timestampWrites });
    this.#pass.setPipeline(kernel.pipeline);
    this.#pass.setBindGroup(0, group);
    this.#pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    this.#recorded.push({ op: d.op, kernel: kernel.pipeline, group, grid });
    gpu.stats.dispatches++;
    if (this.#profile) {
      this.profiled.push({
        op: d.op,
        kernel: d.kernel,
        work: d.work ?? { kind: d.kernel.replace(/_\d+$/, ""), shape: "" },
        replay: { pipeline: kernel.pipeline, group, grid },
        query: timestampWrites ? timestampWrites.beginningOfPassWriteIndex : undefined,
      });
      if (timestampWrites) {
        this.#pass.end();
        this.#pass = null;
      }
    }
  }

  /** Records a buffer copy, timed between two empty passes when profiling with timestamps. */
  #copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number, op: string) {
    this.#pass?.end();
    this.#pass = null;
    const ts = this.#profile ? this.#timestamps() : undefined;
    if (ts) {
      this.#encoder.beginComputePass({
        timestampWrites: { querySet: ts.querySet, beginningOfPassWriteIndex: ts.beginningOfPassWriteIndex },
      }).end();
    }
    this.#encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    if (ts) {
      this.#encoder.beginComputePass({
        timestampWrites: { querySet: ts.querySet, endOfPassWriteIndex: ts.endOfPassWriteIndex },
      }).end();
    }
    if (this.#profile) {
      this.profiled.push({
        op,
        kernel: "copy",
        work: { kind: "copy", shape: `${bytes / 4} floats`, bytes: 2 * bytes },
        copy: { src, srcOffset, dst, dstOffset, bytes },
        query: ts?.beginningOfPassWriteIndex,
      });
    }
  }

  /**
   * Records a buffer copy (faster than a shader copy). Ends the current compute pass.
   * @param src Source tensor.
   * @param dst Destination tensor.
   * @param bytes Bytes to copy (default: all of `src`).
   */
  copy(src: Tensor, dst: Tensor, bytes: number = src.bytes): void {
    this.#copy(src.buffer, src.byteOffset, dst.buffer, dst.byteOffset, bytes, `copy ${src.name}`);
  }

  /**
   * Records a copy of `count` elements from `src` at element `srcAt` to `dst` at `dstAt`.
   * @param src Source tensor.
   * @param srcAt First source element.
   * @param dst Destination tensor (same element size).
   * @param dstAt First destination element.
   * @param count Elements to copy.
   */
  copyRange(src: Tensor, srcAt: number, dst: Tensor, dstAt: number, count: number): void {
    if (srcAt + count > src.size || dstAt + count > dst.size || count < 0) {
      throw new RangeError(
        `copyRange: ${count} elements from ${srcAt} of "${src.name}" (${src.size}) to ${dstAt} of "${dst.name}" (${dst.size}) are out of range`,
      );
    }
    this.#copy(
      src.buffer,
      src.byteOffset + srcAt * 4,
      dst.buffer,
      dst.byteOffset + dstAt * 4,
      count * 4,
      `copyRange ${src.name}`,
    );
  }

  /** Runs `fn` after the submit (e.g. to release temporaries used by recorded work). */
  after(fn: () => void): void {
    this.#after.push(fn);
  }

  /**
   * Submits everything recorded, once. Validation errors are attributed to the op that caused
   * them (by re-recording each dispatch alone, only when an error occurred).
   * @returns When the work is queued (not finished: use `readback` to wait for results).
   */
  async submit(): Promise<void> {
    if (this.#submitted) throw new Error("This recorder was already submitted");
    this.#submitted = true;
    const gpu = this.gpu;
    gpu.checkHealthy(this.#recorded[0]?.op ?? "submit");
    await gpu.flushChecks();
    const bad = (await Promise.all(this.#checks)).find((m) => m !== null);
    if (bad) {
      this.#pass?.end();
      throw new GpuOpError(bad.slice(0, bad.indexOf(": ")), bad.slice(bad.indexOf(": ") + 2));
    }
    for (const a of this.#arenas) gpu.device.queue.writeBuffer(a.buffer, 0, a.data, 0, a.used);
    this.#pass?.end();
    gpu.device.pushErrorScope("out-of-memory");
    gpu.device.pushErrorScope("validation");
    gpu.device.queue.submit([this.#encoder.finish()]);
    gpu.stats.submits++;
    const validation = await gpu.device.popErrorScope();
    const oom = await gpu.device.popErrorScope();
    // A profiling recorder keeps its uniforms and temporaries for replays until dispose().
    if (!this.#profile) this.dispose();
    if (oom) throw new GpuOpError(this.#describe(), `out of GPU memory: ${oom.message}`);
    if (validation) throw new GpuOpError(await this.#blame(), validation.message);
  }

  /**
   * Releases the uniform arenas and runs the `after()` callbacks: done by `submit()`, except for
   * a profiling recorder, whose entries stay replayable until this is called.
   */
  dispose(): void {
    for (const a of this.#arenas) this.gpu.pool.release(a.buffer);
    this.#arenas = [];
    const after = this.#after;
    this.#after = [];
    for (const fn of after) fn();
  }

  #describe(): string {
    const ops = [...new Set(this.#recorded.map((r) => r.op))];
    return ops.length === 1 ? ops[0] : `one of ${ops.length} ops (${ops.slice(0, 5).join("; ")})`;
  }

  async #blame(): Promise<string> {
    const device = this.gpu.device;
    for (const r of this.#recorded) {
      device.pushErrorScope("validation");
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(r.kernel);
      pass.setBindGroup(0, r.group);
      pass.dispatchWorkgroups(...r.grid);
      pass.end();
      enc.finish();
      if (await device.popErrorScope()) return r.op;
    }
    return this.#describe();
  }

  #uniformSlot(bytes: number): { arena: Arena; offset: number } {
    let arena = this.#arenas.at(-1);
    if (!arena || arena.used + bytes > ARENA) {
      arena = {
        buffer: this.gpu.pool.acquire(ARENA, UNIFORM, "uniforms"),
        data: new Uint8Array(ARENA),
        used: 0,
      };
      this.#arenas.push(arena);
    }
    const offset = arena.used;
    arena.used = Math.ceil((offset + bytes) / ALIGN) * ALIGN;
    return { arena, offset };
  }
}
