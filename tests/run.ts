/**
 * `deno task test`: runs every test and every JSDoc example (`deno test --doc`), one file at a
 * time. Where no WebGPU adapter exists it says so and runs what needs none: the GPU tests are
 * reported as ignored (see `gpuTest` in `_helpers.ts`) and the doc examples, which run on the
 * GPU, are left out. Extra arguments go to `deno test` (e.g. `--filter matmul`).
 * @module
 */
const FOLDERS = ["mod.ts", "kernels/", "io/", "esd/", "models/", "optim/", "data/", "train/", "report/"];
const root = new URL("..", import.meta.url).pathname;

// The adapter is probed in a child process, so that this one holds no WebGPU objects while the
// tests run; the child prints its answer.
const probe = await new Deno.Command(Deno.execPath(), {
  args: [
    "eval",
    `import { getGpu } from "${new URL("../kernels/runtime/runtime.ts", import.meta.url).href}";
     try { await getGpu(); console.log("gpu: yes"); } catch (e) { console.log("gpu: no " + e.message); }
     Deno.exit(0);`,
  ],
  cwd: root,
  stdout: "piped",
  stderr: "inherit",
}).output();
const answer = new TextDecoder().decode(probe.stdout).trim();
const hasGpu = answer.startsWith("gpu: yes");
if (!hasGpu) {
  console.warn(`no GPU: ${answer.replace(/^gpu: no /, "") || `the probe failed (exit ${probe.code})`}`);
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
