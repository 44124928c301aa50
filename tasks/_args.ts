/**
 * Flag values shared by the tasks: a choice among named values, with the usage text on error.
 * @module
 */

/**
 * Returns `value` if it is one of `valid`, `dflt` when absent.
 * @throws {RangeError} `Invalid --flag "value": expected one of …` followed by the usage text.
 */
export function choice<T extends string>(
  flag: string,
  value: string | undefined,
  valid: readonly T[],
  dflt: T,
  usage: string,
): T {
  if (value === undefined) return dflt;
  if (!valid.includes(value as T)) {
    throw new RangeError(`Invalid --${flag} "${value}": expected one of ${valid.join(", ")}\n${usage}`);
  }
  return value as T;
}
