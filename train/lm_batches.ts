/**
 * Training batches of a token stream as the reference LM trainers make them (transformer-xl's
 * `LMOrderedIterator`, the PyTorch word-language-model `batchify`): the stream is cut into B equal
 * columns, and step s reads tokens [s·T, s·T + T) of every column as inputs and the next token of
 * each as targets. No shuffling: a step's batch depends on the step alone, so a resumed run sees
 * the same batches.
 * @module
 */
import { OptionError } from "../util/errors.ts";

/** An ordered batcher over one stream. */
export class OrderedBatches {
  /** Tokens per column. */
  readonly columnLength: number;
  /** Steps in one pass over the stream. */
  readonly stepsPerEpoch: number;

  /**
   * Plans the columns.
   * @param stream The token stream.
   * @param batch Columns B.
   * @param seqLen Tokens per step per column T.
   * @throws {OptionError} When the stream is too short for one step.
   */
  constructor(readonly stream: Int32Array, readonly batch: number, readonly seqLen: number) {
    this.columnLength = Math.floor(stream.length / batch);
    this.stepsPerEpoch = Math.floor((this.columnLength - 1) / seqLen);
    if (this.stepsPerEpoch < 1) {
      throw new OptionError(
        `The training stream has ${stream.length} tokens: too few for one batch of ${batch} × ${seqLen} (+1) tokens; lower --batch or --seq-len`,
      );
    }
  }

  /**
   * The batch of a step within the epoch.
   * @param s Step index in [0, stepsPerEpoch).
   * @returns inputs and targets, (B, T) row-major.
   */
  at(s: number): { inputs: Int32Array; targets: Int32Array } {
    const B = this.batch, T = this.seqLen, n = this.columnLength;
    const inputs = new Int32Array(B * T), targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const o = b * n + s * T;
      inputs.set(this.stream.subarray(o, o + T), b * T);
      targets.set(this.stream.subarray(o + 1, o + 1 + T), b * T);
    }
    return { inputs, targets };
  }
}
