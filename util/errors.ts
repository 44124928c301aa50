/**
 * Errors raised by the GPU runtime, in one voice: what failed, the bad value, and a hint when the
 * fix is known.
 * @module
 */

/**
 * An error in what the user controls: a flag or option value, a file, the machine's set-up. Its
 * message says what was wrong and what was expected, so tasks print it alone, without a stack;
 * any other error is a bug of ours and keeps its stack.
 */
export class UserError extends Error {
  /**
   * Builds the error.
   * @param message What was wrong and what was expected.
   */
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** A bad option or argument value, e.g. `Invalid --lr "fast": expected a number ≥ 0`. */
export class OptionError extends UserError {
  /**
   * Builds the error.
   * @param message The option, its value and what was expected.
   */
  constructor(message: string) {
    super(message);
    this.name = "OptionError";
  }
}

/** No WebGPU adapter could be found (no driver, or Deno built without WebGPU). */
export class GpuUnavailableError extends UserError {
  /**
   * Builds the message with the install hint.
   * @param detail What was looked for and what was found.
   */
  constructor(detail: string) {
    super(
      `No WebGPU adapter found: ${detail}. Install a GPU driver, or Mesa's software Vulkan ` +
        `driver on Debian/Ubuntu with 'apt-get install mesa-vulkan-drivers'`,
    );
    this.name = "GpuUnavailableError";
  }
}

/** A WebGPU validation, out-of-memory or device-loss error, attributed to the op that caused it. */
export class GpuOpError extends Error {
  /**
   * Builds the message `GPU error in <op>: <message>`.
   * @param op The op (kernel) name and its shapes, e.g. `matmul A=[3,5] B=[5,7]`.
   * @param message The driver's message.
   */
  constructor(op: string, message: string) {
    super(`GPU error in ${op}: ${message}`);
    this.name = "GpuOpError";
  }
}

/** Formats a shape for messages: `[2, 3, 4]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
