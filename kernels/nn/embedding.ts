/**
 * Token embedding (PyTorch's `nn.Embedding`), optionally with learned positions added (GPT-2's
 * `wte` + `wpe`): `y[n] = W[ids[n]] (+ P[n mod T])`. Its backward is a scatter-add made
 * deterministic without atomics: a token index built on the CPU (the batch's positions grouped by
 * token, see {@link tokenIndex}) lets one invocation per (token, feature) sum its rows in a fixed
 * order, so a run's gradients are bit-identical however the GPU schedules it.
 * @module
 */
import { requireDtype, requireRank, requireShape } from "../runtime/checks.ts";
import { params } from "../runtime/params.ts";
import { fmtShape } from "../../util/errors.ts";
import { LOOP_CAP, type Recorder, WID, WID_ARGS } from "../runtime/recorder.ts";
import { Tensor, upload } from "../runtime/tensor.ts";
import type { Gpu } from "../runtime/runtime.ts";

/** A batch's positions grouped by token: what {@link embeddingBackward} sums in order. */
export interface TokenIndex {
  /** (N) i32: positions sorted by token, ascending within a token. */
  order: Tensor;
  /** (V + 1) i32: token v's positions are `order[offsets[v] … offsets[v+1])`. */
  offsets: Tensor;
}

/**
 * Builds the {@link TokenIndex} of a batch on the CPU (a counting sort) and uploads it.
 * @param gpu The GPU.
 * @param ids The batch's token ids, each in [0, vocab).
 * @param vocab Vocabulary size.
 * @returns The uploaded index.
 */
export function tokenIndex(gpu: Gpu, ids: ArrayLike<number>, vocab: number): TokenIndex {
  const offsets = new Int32Array(vocab + 1);
  for (let n = 0; n < ids.length; n++) {
    const v = ids[n];
    if (!(v >= 0 && v < vocab)) {
      throw new RangeError(`Token id ${v} at position ${n} is outside [0, ${vocab})`);
    }
    offsets[v + 1]++;
  }
  for (let v = 0; v < vocab; v++) offsets[v + 1] += offsets[v];
  const fill = offsets.slice(0, vocab);
  const order = new Int32Array(Math.max(ids.length, 1));
  for (let n = 0; n < ids.length; n++) order[fill[ids[n]]++] = n;
  return {
    order: upload(gpu, order, [order.length], "i32", "token_index.order"),
    offsets: upload(gpu, offsets, [vocab + 1], "i32", "token_index.offsets"),
  };
}

const FWD = (pos: boolean) =>
  `struct P { groups: u32, N: u32, D: u32, V: u32, T: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
${pos ? "@group(0) @binding(3) var<storage, read> pe: array<f32>;" : ""}
@group(0) @binding(${pos ? 4 : 3}) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 256u + li;
  if (i >= p.N * p.D) { return; }
  let n = i / p.D;
  let d = i % p.D;
  // An id outside the vocabulary reads a clamped row: ids are checked on the CPU.
  let v = u32(clamp(ids[n], 0, i32(p.V) - 1));
  y[i] = w[v * p.D + d]${pos ? " + pe[(n % p.T) * p.D + d]" : ""};
}`;

const BWD = `struct P { groups: u32, V: u32, D: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> order: array<i32>;
@group(0) @binding(3) var<storage, read> offsets: array<i32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;
@compute @workgroup_size(256)
fn main(${WID_ARGS}, @builtin(local_invocation_index) li: u32) {
  ${WID}
  let i = wid * 256u + li;
  if (i >= p.V * p.D) { return; }
  let v = i / p.D;
  let d = i % p.D;
  var s = 0.0;
  for (var k = offsets[v]; k < offsets[v + 1u]; k++) { s += dy[u32(order[k]) * p.D + d]; }
  dw[i] = s;
}`;

/**
 * Records `y[n] = weight[ids[n]] (+ positions[n mod T])`.
 * @param rec The recorder.
 * @param ids (…) i32 token ids; with positions, the last axis is the sequence (T).
 * @param weight (V, D).
 * @param positions Optional learned positions (≥ T, D).
 * @param op The layer's name for errors.
 * @returns (…, D).
 */
export function embedding(
  rec: Recorder,
  ids: Tensor,
  weight: Tensor,
  positions: Tensor | null = null,
  op = "embedding",
): Tensor {
  requireDtype(op, "ids", ids, "i32");
  requireDtype(op, "weight", weight);
  requireRank(op, "weight", weight, 2);
  const [V, D] = weight.shape;
  const T = ids.shape[ids.shape.length - 1];
  if (positions) {
    requireRank(op, "positions", positions, 2);
    if (positions.shape[1] !== D || positions.shape[0] < T) {
      throw new RangeError(
        `${op}: a sequence of ${T} tokens needs positions of shape [≥ ${T}, ${D}], got ${
          fmtShape(positions.shape)
        }`,
      );
    }
  }
  const y = new Tensor(rec.gpu, [...ids.shape, D], "f32", `${op}.out`);
  rec.dispatch({
    op: `${op} ids=${fmtShape(ids.shape)} weight=${fmtShape(weight.shape)}`,
    kernel: positions ? "embedding_pos" : "embedding",
    code: FWD(!!positions),
    groups: Math.ceil(y.size / 256),
    params: params(ids.size, D, V, T),
    tensors: positions ? [ids, weight, positions, y] : [ids, weight, y],
    work: { kind: "embedding", shape: `${ids.size}×${D}`, bytes: 4 * 2 * y.size },
  });
  return y;
}

/**
 * Records the weight gradient of {@link embedding}: `dW[v] = Σ_{n: ids[n] = v} dy[n]`, summed in
 * position order. (The positions' gradient is a plain sum over the batch axis.)
 * @param rec The recorder.
 * @param dy Gradient of the output (N, D) or (…, D).
 * @param index The batch's {@link TokenIndex}.
 * @param vocab V.
 * @param op The layer's name for errors.
 * @returns dW (V, D).
 */
export function embeddingBackward(
  rec: Recorder,
  dy: Tensor,
  index: TokenIndex,
  vocab: number,
  op = "embedding",
): Tensor {
  requireDtype(`${op} backward`, "dy", dy);
  requireShape(`${op} backward`, "offsets", index.offsets, [vocab + 1]);
  const D = dy.shape[dy.shape.length - 1];
  const N = dy.size / D;
  if (index.order.size !== Math.max(N, 1)) {
    throw new TypeError(`${op} backward: the token index covers ${index.order.size} positions, dy has ${N}`);
  }
  if (N > LOOP_CAP) {
    throw new RangeError(`${op} backward: ${N} positions in a batch are more than the supported ${LOOP_CAP}`);
  }
  const dw = new Tensor(rec.gpu, [vocab, D], "f32", `${op}.dweight`);
  rec.dispatch({
    op: `${op} backward dy=${fmtShape(dy.shape)}`,
    kernel: "embedding_bwd",
    code: BWD,
    groups: Math.ceil(dw.size / 256),
    params: params(vocab, D),
    tensors: [dy, index.order, index.offsets, dw],
    work: { kind: "embedding bwd", shape: `${N}×${D} → ${vocab}`, bytes: 4 * (dy.size + dw.size) },
  });
  return dw;
}
