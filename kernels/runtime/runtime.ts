/**
 * The GPU runtime: adapter and device acquisition, the buffer pool, the pipeline cache, and
 * error capture. Ops never submit work themselves: they record into a {@link Recorder}
 * (`recorder.ts`), which submits once.
 * @module
 */
import { BufferPool } from "./buffer_pool.ts";
import { GpuOpError, GpuUnavailableError } from "../../util/errors.ts";

/** A compiled kernel: its pipeline and the layout of its one bind group. */
export interface CompiledKernel {
  /** The kernel's name, used as the GPU objects' label. */
  name: string;
  /** The compute pipeline. */
  pipeline: GPUComputePipeline;
  /** Bind group 0's layout. */
  layout: GPUBindGroupLayout;
}

/** Counters that tests and benchmarks read. */
export interface GpuStats {
  /** `queue.submit` calls made through the runtime. */
  submits: number;
  /** Dispatches recorded. */
  dispatches: number;
  /** Pipelines compiled (cache misses). */
  pipelines: number;
}

/** Options for {@link getGpu}. */
export interface GpuOptions {
  /** Ask for a low-power or high-performance adapter. Default: the platform's choice. */
  powerPreference?: GPUPowerPreference;
}

/**
 * One WebGPU device with its buffer pool and pipeline cache. Get the shared instance with
 * {@link getGpu}.
 */
export class Gpu {
  /** The adapter the device came from. */
  readonly adapter: GPUAdapter;
  /** The device all work runs on. */
  readonly device: GPUDevice;
  /** Size-bucketed buffer pool. */
  readonly pool: BufferPool;
  /** Submit, dispatch and pipeline counters. */
  readonly stats: GpuStats = { submits: 0, dispatches: 0, pipelines: 0 };
  /** True for a software adapter (lavapipe, llvmpipe, SwiftShader, WARP). */
  readonly isSoftware: boolean;
  /** The largest workgroup count in one grid dimension. */
  readonly maxGroupsPerDim: number;
  #pipelines = new Map<string, CompiledKernel>();
  #pendingChecks: Promise<void>[] = [];
  #lost: string | null = null;
  #uncaptured: string | null = null;

  /**
   * Wraps a device. Most code should call {@link getGpu} instead.
   * @param adapter The adapter.
   * @param device A device requested from it.
   */
  constructor(adapter: GPUAdapter, device: GPUDevice) {
    this.adapter = adapter;
    this.device = device;
    this.pool = new BufferPool(device);
    const info = adapter.info;
    this.isSoftware = info.isFallbackAdapter ||
      /llvmpipe|lavapipe|swiftshader|software|warp/i.test(`${info.description} ${info.device}`);
    this.maxGroupsPerDim = device.limits.maxComputeWorkgroupsPerDimension;
    device.lost.then((l) => {
      this.#lost = `${l.reason}: ${l.message}`;
    });
    device.addEventListener("uncapturederror", (e) => {
      this.#uncaptured ??= (e as GPUUncapturedErrorEvent).error.message;
    });
  }

  /** A one-line description of the adapter, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) [software]`. */
  get description(): string {
    const i = this.adapter.info;
    const name = i.description || `${i.vendor} ${i.architecture} ${i.device}`.trim();
    return `${name}${this.isSoftware ? " [software]" : ""}`;
  }

  /** Throws if the device was lost or an error escaped every error scope. */
  checkHealthy(op: string): void {
    if (this.#lost !== null) throw new GpuOpError(op, `the GPU device was lost (${this.#lost})`);
    if (this.#uncaptured !== null) {
      const msg = this.#uncaptured;
      this.#uncaptured = null;
      throw new GpuOpError(op, msg);
    }
  }

  /**
   * Returns the cached pipeline for this WGSL source, compiling it on first use. Compile errors
   * surface at the next submit, naming the kernel. Set `TB_DUMP_WGSL=DIR` to write each new
   * kernel's source to DIR.
   * @param name The kernel's name (used as a label and in errors).
   * @param code The WGSL source; its entry point is `main`.
   */
  kernel(name: string, code: string): CompiledKernel {
    const key = code;
    const hit = this.#pipelines.get(key);
    if (hit) return hit;
    dumpWgsl(name, code, this.#pipelines.size);
    checkLimits(name, code, this.device.limits);
    this.device.pushErrorScope("validation");
    const module = this.device.createShaderModule({ label: name, code });
    const pipeline = this.device.createComputePipeline({
      label: name,
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    const layout = pipeline.getBindGroupLayout(0);
    this.#pendingChecks.push(
      this.device.popErrorScope().then((err) => {
        if (err) throw new GpuOpError(`kernel "${name}" (compiling WGSL)`, err.message);
      }),
    );
    const compiled = { name, pipeline, layout };
    this.#pipelines.set(key, compiled);
    this.stats.pipelines++;
    return compiled;
  }

  /** Awaits the compile checks of pipelines created since the last call. */
  async flushChecks(): Promise<void> {
    const checks = this.#pendingChecks;
    this.#pendingChecks = [];
    await Promise.all(checks);
  }
}

/**
 * Refuses, naming the kernel and the limit, a kernel whose workgroup is larger than this device
 * allows or that binds more storage buffers than it has. Every kernel of ours stays within
 * WebGPU's guaranteed minimums (256 invocations, 16 KiB of workgroup memory, 8 storage buffers per
 * stage), so this only fires on a non-conforming adapter; sizes a shader takes from its
 * parameters are checked by the driver at compile time instead.
 */
export function checkLimits(name: string, code: string, limits: GPUSupportedLimits): void {
  const wg = code.match(/@workgroup_size\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?(?:,\s*(\d+)\s*)?\)/);
  if (wg) {
    const n = wg.slice(1).reduce((p, d) => p * (d ? Number(d) : 1), 1);
    if (n > limits.maxComputeInvocationsPerWorkgroup) {
      throw new GpuOpError(
        `kernel "${name}"`,
        `needs ${n} invocations per workgroup; this adapter allows ${limits.maxComputeInvocationsPerWorkgroup}`,
      );
    }
  }
  const storage = (code.match(/var<storage/g) ?? []).length;
  if (storage > limits.maxStorageBuffersPerShaderStage) {
    throw new GpuOpError(
      `kernel "${name}"`,
      `binds ${storage} storage buffers; this adapter allows ${limits.maxStorageBuffersPerShaderStage} per stage`,
    );
  }
}

function dumpWgsl(name: string, code: string, n: number): void {
  let dir: string | undefined;
  try {
    dir = Deno.env.get("TB_DUMP_WGSL");
  } catch {
    return; // no --allow-env: nothing to dump
  }
  if (!dir) return;
  Deno.mkdirSync(dir, { recursive: true });
  Deno.writeTextFileSync(`${dir}/${String(n).padStart(3, "0")}-${name}.wgsl`, code);
}

let shared: Promise<Gpu> | null = null;

/**
 * Returns the shared GPU, requesting the adapter and device on first call with the adapter's
 * largest buffer and workgroup-storage limits.
 * @param options Adapter preferences (only used on the first call).
 * @returns The shared {@link Gpu}.
 * @throws {GpuUnavailableError} When WebGPU is missing or no adapter is found.
 * @example
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { getGpu } from "./runtime.ts";
 * const gpu = await getGpu();
 * ok(gpu.description.length > 0); // e.g. "llvmpipe (LLVM 15.0.6, 256 bits) [software]"
 * equal(await getGpu(), gpu); // one shared device
 * ```
 */
export function getGpu(options: GpuOptions = {}): Promise<Gpu> {
  shared ??= createGpu(options).catch((e) => {
    shared = null;
    throw e;
  });
  return shared;
}

/** Deno's namespace where this runs under Deno on Linux (where Mesa's quirks apply), else null. */
// deno-lint-ignore no-explicit-any
function denoOnLinux(): any {
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  return deno?.env && deno.build?.os === "linux" ? deno : null;
}

/**
 * Mesa's drivers probe Wayland while the adapter is requested, and libwayland prints
 * `error: XDG_RUNTIME_DIR is invalid or not set in the environment.` (twice) when the variable is
 * unset: a harmless message that reads like a failure. Where it is unset (a bare shell, CI, a
 * container) and this is Deno with env/write permission, point it at a private directory of ours
 * before the adapter is requested. A variable the user set is never touched.
 */
function quietWayland(): void {
  const deno = denoOnLinux();
  if (!deno) return;
  try {
    if (deno.env.get("XDG_RUNTIME_DIR")) return;
    const uid = typeof deno.uid === "function" ? deno.uid() : null;
    const dir = `/tmp/tempbalance-xdg-${uid ?? "user"}`;
    deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // No permission (env or write): the message stays, nothing else changes.
  }
}

/**
 * Where a Vulkan driver is installed and the user has not chosen a backend, asks Deno's wgpu for
 * Vulkan alone (`DENO_WEBGPU_BACKEND=vulkan`, read when the first adapter is requested). With every
 * backend enabled wgpu also loads EGL to probe OpenGL, and on Mesa (lavapipe + llvmpipe) EGL's
 * finaliser at process exit has corrupted the heap: about 1 exit in 8 of a GPU-using process ended
 * in `double free or corruption`, after all its work was done (0 in 20 with Vulkan alone). Machines
 * with OpenGL only keep every backend, and a user's own `DENO_WEBGPU_BACKEND` is never touched.
 */
function preferVulkan(): boolean {
  const deno = denoOnLinux();
  if (!deno) return false;
  try {
    if (deno.env.get("DENO_WEBGPU_BACKEND")) return false;
    const env = ["VK_ICD_FILENAMES", "VK_DRIVER_FILES", "VK_ADD_DRIVER_FILES"].some((k) => deno.env.get(k));
    const dirs = [
      "/etc/vulkan/icd.d",
      "/usr/share/vulkan/icd.d",
      "/usr/local/share/vulkan/icd.d",
      ...(deno.env.get("XDG_DATA_DIRS") ?? "").split(":").filter((d: string) => d).map((d: string) =>
        `${d}/vulkan/icd.d`
      ),
    ];
    const icd = dirs.some((d) => {
      try {
        for (const e of deno.readDirSync(d)) if (e.name.endsWith(".json")) return true;
      } catch {
        // no such folder
      }
      return false;
    });
    if (env || icd) deno.env.set("DENO_WEBGPU_BACKEND", "vulkan");
    return env || icd;
  } catch {
    // No env or read permission: every backend, as Deno's default.
    return false;
  }
}

async function createGpu(options: GpuOptions): Promise<Gpu> {
  if (typeof navigator === "undefined" || !("gpu" in navigator) || !navigator.gpu) {
    throw new GpuUnavailableError("this runtime has no navigator.gpu (WebGPU)");
  }
  quietWayland();
  const vulkanOnly = preferVulkan();
  const adapter = await navigator.gpu.requestAdapter({
    powerPreference: options.powerPreference,
  });
  if (!adapter) {
    throw new GpuUnavailableError(
      vulkanOnly
        ? "navigator.gpu.requestAdapter() returned null with the Vulkan backend (chosen because a Vulkan driver is installed; DENO_WEBGPU_BACKEND=gl tries OpenGL)"
        : "navigator.gpu.requestAdapter() returned null",
    );
  }
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    label: "tempbalance",
    // Timestamp queries serve the step profiler (`deno task profile`) where the adapter has them.
    requiredFeatures: adapter.features.has("timestamp-query") ? ["timestamp-query"] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  });
  return new Gpu(adapter, device);
}
