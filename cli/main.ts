/**
 * The runner of our command-line programs (tasks and benchmarks): a {@link UserError} (a bad flag,
 * file or set-up) prints one line, `error: …`, and exits 1; any other error is a bug of ours and
 * prints its stack.
 * @module
 */
import { UserError } from "../util/errors.ts";

/**
 * Runs `main`, printing a user error as one line and anything else with its stack; both exit 1.
 * @param main The program.
 */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    console.error(`error: ${formatError(e)}`);
    Deno.exit(1);
  }
}

/**
 * How {@link runMain} prints an error: the message alone for a {@link UserError} or a missing file
 * (`Deno.errors.NotFound`, whose message names the path), else the stack.
 * @param e The error.
 * @returns The text after `error: `.
 */
export function formatError(e: unknown): string {
  if (e instanceof UserError || e instanceof Deno.errors.NotFound) return e.message;
  return e instanceof Error ? e.stack ?? `${e.name}: ${e.message}` : String(e);
}
