/**
 * Wanda's calibration pass: calibration windows run through the model once, each Linear/Conv1D
 * input's per-feature squared norm ‖X_j‖² summed over all tokens on the GPU (no activation is
 * kept past its step). Windows: `ceil(N / L)` windows of L tokens at seeded random starts, as the
 * reference draws its 128 calibration samples (`random.randint` over the training text).
 * Where we chose: one pass of the dense model (the issue's design); the reference's `prune_wanda`
 * instead prunes block by block and feeds each block the outputs of the blocks already pruned.
 * @module
 */
import { accumulateColumnSquares } from "../kernels/prune/wanda.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import { readback, type Tensor, upload } from "../kernels/runtime/tensor.ts";
import type { Model } from "../models/model.ts";
import type { Module } from "../models/module.ts";
import { OptionError } from "../util/errors.ts";
import { mulberry32 } from "../util/random.ts";

/**
 * The calibration windows' start positions.
 * @param length Tokens in the calibration stream.
 * @param tokens N: tokens wanted.
 * @param seqLen L: window length.
 * @param seed The draw's seed.
 * @param source Names the stream in errors.
 * @returns ceil(N / L) starts in [0, length − L].
 * @throws {OptionError} When the stream has fewer than N tokens.
 */
export function calibrationStarts(
  length: number,
  tokens: number,
  seqLen: number,
  seed = 0,
  source = "the calibration text",
): number[] {
  if (!(Number.isInteger(tokens) && tokens >= 1)) {
    throw new OptionError(`Invalid --calib-tokens ${tokens}: expected an integer ≥ 1`);
  }
  if (length < tokens || length < seqLen) {
    throw new OptionError(
      `${source} has ${length} tokens, fewer than --calib-tokens ${tokens}${
        length < seqLen ? ` (and than one window of ${seqLen})` : ""
      }: give a longer text or lower --calib-tokens`,
    );
  }
  const rand = mulberry32(seed);
  return Array.from({ length: Math.ceil(tokens / seqLen) }, () => Math.floor(rand() * (length - seqLen + 1)));
}

/**
 * Each wanted layer's ‖X_j‖², summed over the calibration windows.
 * @param model The dense model (root a Decoder).
 * @param ids The calibration stream.
 * @param starts Window starts ({@link calibrationStarts}).
 * @param seqLen Window length.
 * @param wanted Module names (`model.layers.0.self_attn.q_proj`) whose inputs are measured.
 * @param batch Windows per forward (default 8).
 * @param onProgress Windows done of the total.
 * @returns By module name: the summed squares per input feature.
 */
export async function calibrationNorms(
  model: Model,
  ids: Int32Array,
  starts: number[],
  seqLen: number,
  wanted: string[],
  batch = 8,
  onProgress?: (done: number, total: number) => void,
): Promise<Map<string, Float32Array>> {
  const gpu = model.gpu;
  const want = new Set(wanted);
  const acc = new Map<string, Tensor>();
  const tap = (m: Module, x: Tensor) => {
    if (!want.has(m.name)) return;
    const cols = x.shape[x.shape.length - 1];
    let a = acc.get(m.name);
    if (!a) {
      a = upload(gpu, new Float32Array(cols), [cols], "f32", `calib.${m.name}`);
      acc.set(m.name, a);
    }
    accumulateColumnSquares(currentRec!, x.reshape([x.size / cols, cols]), a);
  };
  let currentRec: Recorder | null = null;
  for (let w = 0; w < starts.length; w += batch) {
    const group = starts.slice(w, w + batch);
    const x = new Int32Array(group.length * seqLen);
    group.forEach((s, b) => x.set(ids.subarray(s, s + seqLen), b * seqLen));
    const xt = upload(gpu, x, [group.length, seqLen], "i32", "calib.inputs");
    const rec = new Recorder(gpu);
    currentRec = rec;
    const logits = model.forward(rec, xt, false, tap);
    await rec.submit();
    xt.release();
    logits.release();
    onProgress?.(Math.min(starts.length, w + batch), starts.length);
  }
  const missing = wanted.filter((n) => !acc.has(n));
  if (missing.length) {
    throw new OptionError(`Calibration: layer ${missing[0]} was not reached by the forward pass`);
  }
  const names = [...acc.keys()];
  const values = await readback(gpu, ...names.map((n) => acc.get(n)!));
  for (const t of acc.values()) t.release();
  return new Map(names.map((n, i) => [n, values[i] as Float32Array]));
}
