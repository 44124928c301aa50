/**
 * Runs a Python peer script of the benchmarks (numpy, PyTorch) and reads its JSON output.
 * @module
 */

/**
 * Runs `bench/<script>` with python3, the environment's OpenBLAS tuning variables removed (they slow
 * a current OpenBLAS) and `env` added.
 * @param script The script, relative to this folder (`./numpy_esd.py`).
 * @param args Its arguments.
 * @param env Extra environment variables.
 * @returns Its JSON output, or null — with the reason on stderr — when python3 or the package is
 *   missing or the script fails.
 */
export async function python<T>(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  interpreter = "python3",
): Promise<T | null> {
  const base = Deno.env.toObject();
  delete base.OPENBLAS_CORETYPE;
  delete base.OPENBLAS_L2_SIZE;
  try {
    const out = await new Deno.Command(interpreter, {
      args: [new URL(script, import.meta.url).pathname, ...args],
      env: { ...base, ...env },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      console.error(
        `peer ${script} failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").pop()}`,
      );
      return null;
    }
    return JSON.parse(new TextDecoder().decode(out.stdout)) as T;
  } catch (e) {
    console.error(`peer ${script} unavailable: ${(e as Error).message}`);
    return null;
  }
}

/**
 * The first Python that imports `module`: `$TB_PYTHON`, then `python3` on the PATH, then Debian's
 * `/usr/bin/python3` (where `python3-torch` installs PyTorch even when a pyenv or venv comes first).
 * @param module The module to import.
 * @returns The interpreter, or null when none has it.
 */
export async function pythonWith(module: string): Promise<string | null> {
  const candidates = [Deno.env.get("TB_PYTHON"), "python3", "/usr/bin/python3"].filter((c): c is string =>
    !!c
  );
  for (const c of candidates) {
    try {
      const r = await new Deno.Command(c, {
        args: ["-c", `import ${module}`],
        stdout: "null",
        stderr: "null",
      })
        .output();
      if (r.success) return c;
    } catch { /* not there */ }
  }
  return null;
}
