/**
 * PDE regression as a {@link TrainTask}: shuffled batches of a PDEBench file's training subset, the
 * MSE loss of PDEBench's training (`nn.MSELoss` over the batch), and PDEBench's nRMSE on the test
 * split (`metric_func`: per sample and channel ‖pred − true‖₂ / ‖true‖₂ over the grid — and, for
 * time-dependent data, per frame after `initial_step` of an autoregressive rollout — then the mean).
 * The model is saved as a folder: `config.json` (PDEBench's constructor names) and `model.safetensors`.
 * @module
 */
import { writeAtomic } from "../io/atomic.ts";
import { type TensorToWrite, writeSafetensors } from "../io/safetensors.ts";
import { scale } from "../kernels/ops/axpy.ts";
import { sub } from "../kernels/ops/binary.ts";
import { sumSquares } from "../kernels/ops/reduce.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import { readback, type Tensor, upload } from "../kernels/runtime/tensor.ts";
import type { Model } from "../models/model.ts";
import type { OperatorConfig } from "../models/operators/config.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import type { PdeSamples } from "../data/pde/pdebench.ts";
import { assembleBatch, epochOrder } from "./pde_data.ts";
import { NonFiniteLossError } from "./step.ts";
import type { StepOutcome, TaskMetric, TrainTask } from "./task.ts";

/** Test nRMSE, lower is better, reported in units of 10⁻³. */
export const NRMSE: TaskMetric = {
  key: "test_nrmse",
  label: "test nRMSE",
  higherIsBetter: false,
  // Reported ×1000: Darcy errors are a few 10⁻³ (PDEBench reports 2.58e-3 for FNO2d).
  scale: 1000,
  unit: "×10⁻³",
};

/** The folder a PDE run writes its model to. */
export const PDE_MODEL_DIR = "model";

/**
 * Records PDEBench's training loss, `MSELoss(pred, target)` over every element, and its gradient.
 * @param rec The recorder.
 * @param pred The prediction.
 * @param target The target, same size.
 * @returns The loss ([1], Σ(pred − target)²/n) and d(loss)/d(pred) (the caller releases both).
 */
export function mseLoss(rec: Recorder, pred: Tensor, target: Tensor): { loss: Tensor; grad: Tensor } {
  const diff = sub(rec, pred, target.reshape(pred.shape));
  const total = sumSquares(rec, diff);
  const loss = scale(rec, 1 / diff.size, total);
  rec.after(() => total.release());
  return { loss, grad: scale(rec, 2 / diff.size, diff, diff) };
}

/** PDEBench's error metrics of a model on some samples. */
export interface PdeErrors {
  /** Samples evaluated. */
  samples: number;
  /** Mean over samples (and frames) of ‖pred − true‖ / ‖true‖ over the grid. */
  nrmse: number;
  /** Mean over samples (and frames) of the RMS error over the grid. */
  rmse: number;
  /** Mean squared error over every value. */
  mse: number;
}

/**
 * Evaluates a model as PDEBench's `metric_func` does. Darcy: one prediction per sample. 1D data:
 * an autoregressive rollout from the first `initial_step` frames, each prediction fed back, scored on
 * every later frame.
 * @param model The model (eval mode).
 * @param config Its configuration.
 * @param s The samples.
 * @param batchSize Samples per forward (default 100).
 * @returns The errors.
 */
export async function evaluatePde(
  model: Model,
  config: OperatorConfig,
  s: PdeSamples,
  batchSize = 100,
): Promise<PdeErrors> {
  const gpu = model.gpu;
  let nrmse = 0, rmse = 0, sq = 0, values = 0, terms = 0;
  /** Runs one forward and returns per-sample Σ(pred − y)², Σy², and the prediction when asked. */
  const run = async (
    xv: Float32Array,
    xShape: number[],
    yv: Float32Array,
    yShape: number[],
    keep: boolean,
  ) => {
    const rec = new Recorder(gpu);
    const x = upload(gpu, xv, xShape, "f32", "eval.x"), y = upload(gpu, yv, yShape, "f32", "eval.y");
    const pred = model.forward(rec, x, false);
    const B = yShape[0], P = yv.length / B;
    const diff = sub(rec, pred, y.reshape(pred.shape));
    const e = sumSquares(rec, diff.reshape([B, P]), { axis: 1 });
    const t = sumSquares(rec, y.reshape([B, P]), { axis: 1 });
    await rec.submit();
    const out = await readback(gpu, e, t, ...(keep ? [pred] : []));
    for (const z of [x, y, pred, diff, e, t]) z.release();
    return {
      err: out[0] as Float32Array,
      norm: out[1] as Float32Array,
      pred: out[2] as Float32Array | undefined,
      P,
    };
  };
  const score = (err: Float32Array, norm: Float32Array, P: number) => {
    for (let b = 0; b < err.length; b++) {
      const r = Math.sqrt(err[b] / P);
      rmse += r;
      nrmse += r / Math.sqrt(norm[b] / P);
      sq += err[b];
      terms++;
    }
    values += err.length * P;
  };
  for (let start = 0; start < s.count; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, s.count - start) }, (_, i) => start + i);
    if (s.kind === "darcy") {
      const b = assembleBatch(config, s, idx);
      const r = await run(b.x, b.xShape, b.y, b.yShape, false);
      score(r.err, r.norm, r.P);
      continue;
    }
    // Rollout: the window starts as the first initial_step true frames and takes each prediction.
    const steps = (config as { initial_step: number }).initial_step, X = s.nx, T = s.nt, B = idx.length;
    const window = new Float32Array(B * X * steps);
    idx.forEach((n, b) => {
      for (let i = 0; i < X; i++) {
        for (let k = 0; k < steps; k++) window[(b * X + i) * steps + k] = s.u[(n * T + k) * X + i];
      }
    });
    for (let t = steps; t < T; t++) {
      const xv = new Float32Array(B * X * (steps + 1)), yv = new Float32Array(B * X);
      idx.forEach((n, b) => {
        for (let i = 0; i < X; i++) {
          xv.set(window.subarray((b * X + i) * steps, (b * X + i + 1) * steps), (b * X + i) * (steps + 1));
          xv[(b * X + i) * (steps + 1) + steps] = s.x[i];
          yv[b * X + i] = s.u[(n * T + t) * X + i];
        }
      });
      const r = await run(xv, [B, X, steps + 1], yv, [B, X, 1], true);
      score(r.err, r.norm, r.P);
      for (let j = 0; j < B * X; j++) {
        const w = window.subarray(j * steps, (j + 1) * steps);
        w.copyWithin(0, 1);
        w[steps - 1] = r.pred![j];
      }
    }
  }
  return { samples: s.count, nrmse: nrmse / terms, rmse: rmse / terms, mse: sq / values };
}

/** How the PDE task batches. */
export interface PdeTaskOptions {
  /** Training batch size. */
  batchSize: number;
  /** Seed of the shuffling (and of 1D target frames). */
  seed: number;
  /** Evaluation batch size (default 100). */
  evalBatchSize?: number;
}

/**
 * The PDE regression task.
 * @param model The operator.
 * @param config Its configuration (written to `model/config.json`).
 * @param train Training samples.
 * @param test Test samples.
 * @param o Batching.
 * @returns The task.
 */
export function pdeTask(
  model: Model,
  config: OperatorConfig,
  train: PdeSamples,
  test: PdeSamples,
  o: PdeTaskOptions,
): TrainTask {
  const gpu = model.gpu;
  const steps = config.model_type === "fno1d" ? config.initial_step : 0;
  let order: { order: number[]; frames: number[] } = { order: [], frames: [] };
  return {
    model,
    stepsPerEpoch: Math.ceil(train.count / o.batchSize),
    items: "samples",
    metric: NRMSE,
    evalKeys: ["test_loss", "test_rmse", "test_nrmse"],
    startEpoch(epoch: number) {
      order = epochOrder(train.count, epoch, o.seed, train.kind === "1d" ? [steps, train.nt] : undefined);
    },
    async step(opt: Optimizer, s: number, step: number): Promise<StepOutcome> {
      const at = s * o.batchSize, idx = order.order.slice(at, at + o.batchSize);
      const b = assembleBatch(
        config,
        train,
        idx,
        train.kind === "1d" ? order.frames.slice(at, at + o.batchSize) : undefined,
      );
      const rec = new Recorder(gpu);
      const x = upload(gpu, b.x, b.xShape, "f32", "train.x"),
        y = upload(gpu, b.y, b.yShape, "f32", "train.y");
      const pred = model.forward(rec, x, true);
      const l = mseLoss(rec, pred, y);
      model.backward(rec, l.grad);
      opt.step(rec);
      await rec.submit();
      const [lv] = await readback(gpu, l.loss);
      for (const t of [x, y, pred, l.loss, l.grad]) t.release();
      const loss = lv[0];
      if (!Number.isFinite(loss)) throw new NonFiniteLossError(step, loss);
      return { lossSum: loss * b.size, items: b.size };
    },
    trainMetrics: ({ lossSum, items }) => ({ train_loss: lossSum / items }),
    async evaluate() {
      const e = await evaluatePde(model, config, test, o.evalBatchSize ?? 100);
      return { test_loss: e.mse, test_rmse: e.rmse, test_nrmse: e.nrmse };
    },
    async saveModel(out: string, state: TensorToWrite[]) {
      const dir = `${out}/${PDE_MODEL_DIR}`;
      await Deno.mkdir(dir, { recursive: true });
      await writeAtomic(`${dir}/config.json`, JSON.stringify(config, null, 2) + "\n");
      await writeAtomic(
        `${dir}/model.safetensors`,
        writeSafetensors(state, { format: "pt", ...model.metadata() }),
      );
    },
  };
}
