/**
 * Runs a task's main function: a known error prints one line (`error: …`) and exits 1, with no
 * stack trace; anything unexpected keeps its stack.
 * @module
 */
import { GpuOpError, GpuUnavailableError } from "../kernels/errors.ts";
import { WeightFileError } from "../io/tensor.ts";
import { DataFileError } from "../data/idx.ts";
import { CheckpointError } from "../train/checkpoint.ts";
import { NonFiniteLossError } from "../train/step.ts";

/** Runs `main`, mapping errors to a one-line message and exit code 1. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    const known = e instanceof GpuUnavailableError || e instanceof GpuOpError ||
      e instanceof WeightFileError || e instanceof DataFileError || e instanceof CheckpointError ||
      e instanceof NonFiniteLossError ||
      e instanceof TypeError ||
      e instanceof RangeError || e instanceof Deno.errors.NotFound;
    console.error(`error: ${known ? (e as Error).message : (e as Error).stack ?? e}`);
    Deno.exit(1);
  }
}
