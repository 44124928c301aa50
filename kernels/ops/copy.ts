/**
 * Whole-tensor copy through the copy engine (`copyBufferToBuffer`), several times faster than a
 * shader copy on software adapters.
 * @module
 */
import { requireLive } from "../runtime/checks.ts";
import { fmtShape } from "../../util/errors.ts";
import type { Recorder } from "../runtime/recorder.ts";
import { Tensor } from "../runtime/tensor.ts";

/**
 * Records a copy of `src`.
 * @param rec The recorder.
 * @param src The tensor to copy.
 * @param out Optional destination with the same size and dtype.
 * @returns The copy.
 */
export function copy(rec: Recorder, src: Tensor, out?: Tensor): Tensor {
  requireLive("copy", "src", src);
  if (out) requireLive("copy", "out", out);
  if (out && (out.size !== src.size || out.dtype !== src.dtype)) {
    throw new TypeError(
      `copy: argument "out" must hold ${src.size} ${src.dtype} values like src ${fmtShape(src.shape)}, ` +
        `got ${out.size} ${out.dtype} ${fmtShape(out.shape)}`,
    );
  }
  const o = out ?? new Tensor(rec.gpu, src.shape, src.dtype, "copy.out");
  if (o.buffer !== src.buffer) rec.copy(src, o);
  return o;
}
