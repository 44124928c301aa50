/**
 * Run by runtime_test.ts in a child process: destroys a device of its own, then records and reads
 * back on it, and prints the two errors as JSON. Destroying a device with live resources is the
 * kind of upstream teardown path that has crashed WebGPU runtimes at exit, so it stays out of the
 * test process; the printed line is the result whatever the exit does after it.
 * @module
 */
import { Recorder } from "../../../kernels/runtime/recorder.ts";
import { relu } from "../../../kernels/ops/relu.ts";
import { getGpu, Gpu } from "../../../kernels/runtime/runtime.ts";
import { readback, Tensor } from "../../../kernels/runtime/tensor.ts";

const message = async (f: () => Promise<unknown>) => {
  try {
    await f();
    return "no error";
  } catch (e) {
    return (e as Error).message;
  }
};

await getGpu(); // the shared device, as a program has it (and Mesa kept quiet)
const adapter = (await navigator.gpu.requestAdapter())!;
const own = new Gpu(adapter, await adapter.requestDevice());
const x = new Tensor(own, [4]);
own.device.destroy();
await own.device.lost;
const rec = new Recorder(own);
relu(rec, x, x);
const submit = await message(() => rec.submit());
const read = await message(() => readback(own, x));
console.log(JSON.stringify({ submit, read }));
Deno.exit(0);
