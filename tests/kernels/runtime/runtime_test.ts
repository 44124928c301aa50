import { equal, match, ok, rejects, throws } from "node:assert/strict";
import { bucketSize } from "../../../kernels/runtime/buffer_pool.ts";
import { add } from "../../../kernels/ops/binary.ts";
import { GpuOpError } from "../../../util/errors.ts";
import { matmul } from "../../../kernels/linalg/matmul.ts";
import { foldGrid, Recorder } from "../../../kernels/runtime/recorder.ts";
import { relu } from "../../../kernels/ops/relu.ts";
import { readback, upload } from "../../../kernels/runtime/tensor.ts";
import { assertClose, gpu, gpuTest } from "../../_helpers.ts";
import { runTask, taskFile } from "../../_task.ts";

Deno.test("foldGrid() keeps every dimension within the limit and covers every workgroup", () => {
  for (const n of [1, 65535, 65536, 131071, 1e6, 4294836225, 65535 ** 2 + 1]) {
    const [x, y, z] = foldGrid(n, 65535);
    ok(x <= 65535 && y <= 65535 && z <= 65535, `fold(${n}) = ${[x, y, z]}`);
    ok(x * y * z >= n && x * y * z - n < x * y, `fold(${n}) = ${[x, y, z]} wastes a whole plane`);
  }
  throws(() => foldGrid(65535 ** 3 + 1, 65535), /more than 65535³/);
});

Deno.test("bucketSize() rounds up to ≤ 25% waste, at least 256 bytes", () => {
  for (const b of [1, 255, 256, 257, 1000, 4096, 5000, 1e6, 123456789]) {
    const s = bucketSize(b);
    ok(s >= b && s >= 256 && (b <= 256 || s <= b * 1.25 + 1), `bucket(${b}) = ${s}`);
  }
});

gpuTest("a 100-dispatch step is recorded into one command buffer and submitted once", async () => {
  const x = upload(gpu, [1, -2, 3, -4], [4]);
  const before = gpu.stats.submits, dispatches = gpu.stats.dispatches;
  const rec = new Recorder(gpu);
  let y = x;
  for (let i = 0; i < 100; i++) y = i % 2 ? relu(rec, y, y) : add(rec, y, x, y === x ? undefined : y);
  equal(rec.count, 100);
  await rec.submit();
  equal(gpu.stats.submits - before, 1);
  equal(gpu.stats.dispatches - dispatches, 100);
  const [v] = await readback(gpu, y);
  equal(gpu.stats.submits - before, 2); // the readback's copy
  // y starts as 2x, then (relu, +x) pairs: relu(2x)+x ... checked against a CPU replay.
  let r = [1, -2, 3, -4].map((v) => 2 * v);
  for (let i = 1; i < 100; i++) {
    r = i % 2 ? r.map((v) => Math.max(v, 0)) : r.map((v, k) => v + [1, -2, 3, -4][k]);
  }
  assertClose("100-step chain", v, r, 0, 0);
  await rejects(() => rec.submit(), /already submitted/);
  throws(() => relu(rec, x), /already submitted/);
});

gpuTest(
  "a steady-state loop allocates no buffers and compiles no pipelines after its first step",
  async () => {
    const a = upload(gpu, new Float32Array(64 * 64).fill(1), [64, 64]);
    const step = async () => {
      const rec = new Recorder(gpu);
      const c = matmul(rec, a, a);
      const d = relu(rec, c);
      await rec.submit();
      await readback(gpu, d);
      c.release();
      d.release();
    };
    await step();
    const created = gpu.pool.created, pipelines = gpu.stats.pipelines;
    for (let i = 0; i < 20; i++) await step();
    equal(gpu.pool.created, created, "buffers created in steady state");
    equal(gpu.stats.pipelines, pipelines, "pipelines compiled in steady state");
  },
);

gpuTest("a WGSL compile error names the kernel and the line", async () => {
  const rec = new Recorder(gpu);
  const t = upload(gpu, [1], [1]);
  rec.dispatch({
    op: "broken x=[1]",
    kernel: "broken_kernel",
    code:
      "@group(0) @binding(1) var<storage, read_write> x: array<f32>;\n@compute @workgroup_size(1) fn main() { x[0] = nope; }",
    groups: 1,
    tensors: [t],
  });
  const err = await rec.submit().then(() => null, (e) => e);
  ok(err instanceof GpuOpError, `expected GpuOpError, got ${err}`);
  match(err.message, /broken/);
  match(err.message, /nope/);
  match(err.message, /wgsl:2:48/); // line:col of the error
});

gpuTest("a bind-group mismatch is reported with the op that recorded it", async () => {
  const rec = new Recorder(gpu);
  const t = upload(gpu, [1], [1]);
  rec.dispatch({
    op: "needs_two x=[1]",
    kernel: "needs_two",
    code: `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1) fn main() { y[0] = x[0]; }`,
    groups: 1,
    tensors: [t],
  });
  await rejects(
    () => rec.submit(),
    (e: Error) => e instanceof GpuOpError && /needs_two x=\[1\]/.test(e.message),
  );
});

gpuTest("a lost device turns the next submit and readback into errors naming the op", async () => {
  // In a child process (tests/kernels/runtime/_lost_device.ts): a destroyed device's teardown stays out of
  // this one.
  const r = await runTask(new URL("./_lost_device.ts", import.meta.url), []);
  const line = r.out.split("\n").find((l) => l.startsWith("{"));
  ok(line, `no result line; exit ${r.code}, stderr:\n${r.err}`);
  const { submit, read } = JSON.parse(line);
  match(submit, /GPU error in relu x=\[4\]: the GPU device was lost/);
  match(read, /device was lost/);
});

Deno.test("no WebGPU adapter: a task prints one line saying what to install and exits 1", async () => {
  const r = await runTask(taskFile("info"), [], {
    DENO_WEBGPU_BACKEND: "vulkan",
    VK_ICD_FILENAMES: "/nonexistent.json",
  });
  const err = r.err.split("\n").filter((l) => l);
  const code = r.code;
  equal(code, 1);
  equal(err.length, 1, `expected one line, got:\n${err.join("\n")}`);
  match(err[0], /^error: No WebGPU adapter found: .*mesa-vulkan-drivers/);
});

gpuTest(
  "every kernel the analyzer compiles fits WebGPU's guaranteed limits (256 invocations, 8 storage buffers); a larger one is refused naming it",
  async () => {
    const { checkLimits } = await import("../../../kernels/runtime/runtime.ts");
    const { analyze } = await import("../../../esd/analyze.ts");
    const minimum = {
      maxComputeInvocationsPerWorkgroup: 256,
      maxStorageBuffersPerShaderStage: 8,
    } as GPUSupportedLimits;
    const seen: [string, string][] = [];
    const kernel = gpu.kernel.bind(gpu);
    gpu.kernel = (name: string, code: string) => {
      seen.push([name, code]);
      return kernel(name, code);
    };
    try {
      const data = Array.from({ length: 40 * 24 * 9 }, (_, i) => Math.sin(i * 1.7));
      for (const solver of ["gpu", "cpu"] as const) {
        for (const fit of ["median", "gof"] as const) {
          await analyze({ "c.weight": { shape: [40, 24, 3, 3], data } }, {
            solver,
            fit,
            farms: fit === "gof",
            mpFit: true,
          });
        }
      }
    } finally {
      gpu.kernel = kernel;
    }
    ok(seen.length > 0);
    for (const [name, code] of seen) checkLimits(name, code, minimum);
    throws(
      () => checkLimits("big", "@compute @workgroup_size(16, 32) fn main() {}", minimum),
      /GPU error in kernel "big": needs 512 invocations per workgroup; this adapter allows 256/,
    );
    const nine = Array.from(
      { length: 9 },
      (_, i) => `@group(0) @binding(${i}) var<storage, read> b${i}: array<f32>;`,
    );
    throws(
      () => checkLimits("wide", nine.join("\n"), minimum),
      /binds 9 storage buffers; this adapter allows 8 per stage/,
    );
  },
);
