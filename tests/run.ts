/**
 * `deno task test`: runs every test and every JSDoc example (`deno test --doc`), one file at a
 * time. Where no WebGPU adapter exists it says so and runs what needs none: the GPU tests are
 * reported as ignored (see `gpuTest` in `_helpers.ts`) and the doc examples, which run on the
 * GPU, are left out. Extra arguments go to `deno test` (e.g. `--filter matmul`).
 * @module
 */
const FOLDERS = ["mod.ts", "kernels/", "io/", "esd/", "models/", "optim/", "data/", "train/", "report/"];
const root = new URL("..", import.meta.url).pathname;

// The adapter is probed in a child process, so that this one never holds WebGPU objects (their
// teardown at exit has crashed Deno on software drivers); the child prints its answer first.
const probe = await new Deno.Command(Deno.execPath(), {
  args: [
    "eval",
    `import { getGpu } from "${new URL("../kernels/runtime.ts", import.meta.url).href}";
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

/** Runs one `deno test` child, echoing its output; returns its exit code and summary counts. */
async function run(
  args: string[],
): Promise<{ code: number; passed: number; failed: number; ignored: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--parallel=false", ...args, ...Deno.args],
    cwd: root,
    stdin: "inherit",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    text += decoder.decode(chunk, { stream: true });
  }
  const { code } = await child.status;
  const summary = [
    ...text.matchAll(/^(?:ok|FAILED) \| (\d+) passed(?: \| (\d+) failed)?(?: \| (\d+) ignored)?/gm),
  ].pop();
  const [passed, failed, ignored] = [1, 2, 3].map((k) => Number(summary?.[k] ?? 0));
  return { code, passed, failed: failed || (code !== 0 && !summary ? 1 : failed), ignored };
}

// The tests and the doc examples run in two processes: one process holding every GPU object of
// both has crashed in the software driver's teardown at exit (heap corruption reported by glibc
// after the last test), which neither half alone has done.
const results = [await run(["tests/"])];
if (hasGpu) results.push(await run(["--doc", ...FOLDERS]));
const total = (k: "passed" | "failed" | "ignored") => results.reduce((s, r) => s + r[k], 0);
const code = results.find((r) => r.code !== 0)?.code ?? 0;
const ignored = total("ignored") ? ` | ${total("ignored")} ignored` : "";
console.log(
  `\n${code === 0 ? "ok" : "FAILED"} | ${total("passed")} passed | ${
    total("failed")
  } failed${ignored} (all ${results.length} runs)`,
);
Deno.exit(code);
