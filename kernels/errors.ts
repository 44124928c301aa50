/**
 * Errors raised by the GPU runtime, in one voice: what failed, the bad value, and a hint when the
 * fix is known.
 * @module
 */

/** No WebGPU adapter could be found (no driver, or Deno built without WebGPU). */
export class GpuUnavailableError extends Error {
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
