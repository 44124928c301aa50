import { equal, match } from "node:assert/strict";
import { formatError } from "../cli/main.ts";
import { GpuOpError, GpuUnavailableError, OptionError } from "../util/errors.ts";
import { WeightFileError } from "../io/tensor.ts";
import { DataFileError } from "../data/idx.ts";
import { CheckpointError } from "../train/checkpoint.ts";

Deno.test("runMain's voice: user errors print their message alone, bugs print their stack", () => {
  for (
    const e of [
      new OptionError('Invalid --lr "fast": expected a number ≥ 0'),
      new WeightFileError("safetensors", "m.safetensors", "header is not JSON"),
      new DataFileError("x.idx", "truncated"),
      new CheckpointError("c.safetensors", "no state"),
      new GpuUnavailableError("none"),
      new Deno.errors.NotFound("No such file or directory (os error 2): readfile 'nope'"),
    ]
  ) {
    equal(formatError(e), e.message);
  }
  for (
    const e of [
      new TypeError("x is undefined"),
      new RangeError("Offset is outside the bounds"),
      new GpuOpError("matmul", "bad"),
    ]
  ) {
    const text = formatError(e);
    match(text, new RegExp(`^${e.name}: `));
    match(text, /\n\s+at /, `no stack for ${e.name}`);
  }
  equal(formatError("plain"), "plain");
});
