/**
 * Atomic file writes: a temporary file in the same folder, then a rename, so a reader (or a
 * resumed run) sees the old file or the new one, never half of one.
 * @module
 */

/**
 * Writes bytes to `path` atomically.
 * @param path The destination.
 * @param bytes The content (a string is written as UTF-8).
 */
export async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  if (typeof bytes === "string") await Deno.writeTextFile(tmp, bytes);
  else await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, path);
}
