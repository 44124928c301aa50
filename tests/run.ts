/**
 * `deno task test`: runs every test and every JSDoc example (`deno test --doc`), one file at a
 * time. Where no WebGPU adapter exists it says so and runs what needs none: the GPU tests are
 * reported as ignored (see `gpuTest` in `_helpers.ts`) and the doc examples, which run on the
 * GPU, are left out. Extra arguments go to `deno test` (e.g. `--filter matmul`).
 * @module
 */
import { getGpu } from "../kernels/runtime.ts";

const FOLDERS = ["mod.ts", "kernels/", "io/", "esd/", "models/", "optim/", "data/", "train/", "report/"];
const root = new URL("..", import.meta.url).pathname;

let hasGpu = true;
try {
  const gpu = await getGpu();
  gpu.device.destroy();
} catch (e) {
  hasGpu = false;
  console.warn(`no GPU: ${(e as Error).message}`);
  console.warn("the doc examples and the tests that need a GPU are skipped");
}

const args = [
  "test",
  "-A",
  "--parallel=false",
  ...(hasGpu ? ["--doc", ...FOLDERS] : []),
  "tests/",
  ...Deno.args,
];
const { code } = await new Deno.Command(Deno.execPath(), { args, cwd: root, stdin: "inherit" }).spawn()
  .status;
Deno.exit(code);
