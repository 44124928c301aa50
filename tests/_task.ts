/**
 * Runs one of our tasks (`deno run -A tasks/….ts …`) as a user's shell would: `XDG_RUNTIME_DIR`
 * unset (CI, a bare shell), no colours. Every call also checks that Mesa's Wayland message
 * (`error: XDG_RUNTIME_DIR is invalid or not set …`) did not reach stderr.
 * @module
 */

/** What a task printed and its exit code. */
export interface TaskOutput {
  /** Exit code. */
  code: number;
  /** Standard output. */
  out: string;
  /** Standard error. */
  err: string;
}

/** The environment of a fresh shell: ours without `XDG_RUNTIME_DIR`, plus `NO_COLOR`. */
export function bareEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { ...Deno.env.toObject(), NO_COLOR: "1", ...extra };
  delete env.XDG_RUNTIME_DIR;
  return env;
}

/**
 * Runs `deno run -A <script> ...args` and returns its output.
 * @param script The task file (a path or a URL).
 * @param args Its arguments.
 * @param env Extra environment variables.
 */
export async function runTask(
  script: string | URL,
  args: string[],
  env: Record<string, string> = {},
): Promise<TaskOutput> {
  const path = script instanceof URL ? script.pathname : script;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path, ...args],
    env: bareEnv(env),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  if (/XDG_RUNTIME_DIR/.test(err)) {
    throw new Error(`${path} let Mesa's XDG_RUNTIME_DIR message through:\n${err}`);
  }
  return { code, out: new TextDecoder().decode(stdout), err };
}

/** A task file of ours by name (`"train"` → `tasks/train.ts`). */
export function taskFile(name: string): string {
  return new URL(`../tasks/${name}.ts`, import.meta.url).pathname;
}

/**
 * Starts a training task and kills it (SIGKILL) as soon as its run folder holds a checkpoint: a run
 * interrupted after its first epoch, for `--resume` tests.
 * @param script The task file.
 * @param args Its arguments (with `--out dir`).
 * @param dir The run folder.
 */
export async function killAfterCheckpoint(script: string, args: string[], dir: string): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    env: bareEnv(),
    clearEnv: true,
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 2400; i++) {
    try {
      await Deno.stat(`${dir}/checkpoint.safetensors`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill("SIGKILL");
  await child.status;
}
