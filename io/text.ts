/**
 * Text files read as strict UTF-8, with errors that name the file: missing, empty, or not UTF-8.
 * @module
 */
import { OptionError } from "../util/errors.ts";

/**
 * Reads a text file as strict UTF-8.
 * @param file The path.
 * @param missing What to say when the file does not exist (default `no such file`).
 * @returns Its text.
 * @throws {OptionError} When it is missing, empty or not UTF-8.
 */
export async function readUtf8(file: string, missing = "no such file"): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new OptionError(`${file}: ${missing}`);
    throw new OptionError(`${file}: ${(e as Error).message}`);
  }
  if (!bytes.length) throw new OptionError(`${file}: the file is empty`);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new OptionError(`${file}: not valid UTF-8 text`);
  }
}
