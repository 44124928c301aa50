/**
 * `deno task info`: prints the WebGPU adapter this toolkit will use and its main limits.
 * @module
 */
import { getGpu } from "../kernels/runtime/runtime.ts";
import { runMain } from "../cli/main.ts";

await runMain(async () => {
  const gpu = await getGpu();
  const l = gpu.device.limits;
  console.log(`adapter: ${gpu.description}`);
  console.log(`maxStorageBufferBindingSize: ${l.maxStorageBufferBindingSize}`);
  console.log(`maxComputeWorkgroupStorageSize: ${l.maxComputeWorkgroupStorageSize}`);
  console.log(`maxComputeWorkgroupsPerDimension: ${l.maxComputeWorkgroupsPerDimension}`);
});
