/**
 * The settings file of a folder of runs (`compare.json`, `regimes.json`): the first process to
 * start writes it (atomically, so shards starting together agree on one), every later one checks
 * that its own settings are the same, so runs made under other settings are never mixed into one
 * report, and a changed flag is refused rather than silently keeping old runs.
 * @module
 */
import { OptionError } from "../util/errors.ts";

/**
 * Writes `dir/file` with `settings`, or checks that the one there says the same.
 * @param dir The folder of runs (created if missing).
 * @param file The settings file's name.
 * @param settings The settings, by key (compared as JSON).
 * @param labels How to name each key in the error ("train flags", "grid", …).
 * @throws {OptionError} Naming the folder, the settings that differ and what they were. A key the
 *   file does not hold (written by an older version) is not compared.
 */
export async function recordSettings(
  dir: string,
  file: string,
  settings: Record<string, unknown>,
  labels: Record<string, string> = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/${file}`, tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, JSON.stringify(settings, null, 1));
  try {
    await Deno.link(tmp, path); // atomic, and fails if another process wrote it first
    return;
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  const prev = await readSettings(dir, file);
  const differs = Object.keys(settings).filter((k) =>
    k in prev && JSON.stringify(prev[k]) !== JSON.stringify(settings[k])
  );
  if (differs.length) {
    throw new OptionError(
      `"${dir}" holds runs made with other ${differs.map((k) => labels[k] ?? k).join(", ")} (${
        differs.map((k) => `${k} ${JSON.stringify(prev[k])}`).join("; ")
      }): use another --out`,
    );
  }
}

/**
 * Reads a folder's settings file.
 * @param dir The folder.
 * @param file The file's name.
 * @returns The settings.
 * @throws {OptionError} When it is missing or not JSON, naming it.
 */
export async function readSettings(dir: string, file: string): Promise<Record<string, unknown>> {
  const path = `${dir}/${file}`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new OptionError(`No runs in "${dir}": ${path} is missing`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new OptionError(`Invalid ${path}: ${(e as Error).message}`);
  }
}
