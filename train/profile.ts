/**
 * The step profiler: where a training step's time goes. A few steps are recorded by a profiling
 * recorder and every dispatch and copy is timed — with timestamp queries where the device has
 * them (each entry in a pass of its own, inside the real submit), else by replaying each distinct
 * entry alone — then grouped by op kind and shape (conv2d fwd / bwd-data / bwd-filter per layer
 * shape, BatchNorm, ReLU, pooling, add, cross-entropy, SGD, …) with their time per step, share,
 * GFLOPS or GB/s, and the fraction of this adapter's FMA peak or copy bandwidth, both measured in
 * the same run.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import { copyBandwidth, fmaPeak, median } from "../kernels/runtime/probe.ts";
import {
  hasTimestamps,
  type ProfileMethod,
  profileQuerySet,
  readTimestamps,
  replayTimes,
} from "../kernels/runtime/gpu_timing.ts";
import { Recorder } from "../kernels/runtime/recorder.ts";
import { readback, type Tensor } from "../kernels/runtime/tensor.ts";
import type { Model } from "../models/model.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import { recordStep, trainStep } from "./step.ts";

/** One row of a step profile: every entry of one op kind and shape. */
export interface ProfileRow {
  /** Op kind, e.g. `conv2d bwd-filter`. */
  kind: string;
  /** Shape, e.g. `32×64×32×32 → 64 k3x3 s1 p1`. */
  shape: string;
  /** Dispatches (or copies) per step. */
  count: number;
  /** Seconds per step. */
  seconds: number;
  /** Share of the timed step (0…1). */
  share: number;
  /** GFLOPS, where the op declares its flops. */
  gflops: number | null;
  /** GB/s, where the op declares the bytes it moves (and no flops). */
  gbps: number | null;
  /** GFLOPS over the FMA peak, or GB/s over the copy bandwidth. */
  ofPeak: number | null;
}

/** A step profile. */
export interface StepProfile {
  /** How entries were timed. */
  method: ProfileMethod;
  /** Median wall time of an unprofiled step (submit to loss read back), seconds. */
  stepSeconds: number;
  /** Images per second of the unprofiled step. */
  imagesPerSecond: number;
  /** Sum of the timed entries of one step, seconds. */
  timedSeconds: number;
  /** This adapter's FMA peak, GFLOPS (same run). */
  fmaPeak: number;
  /** This adapter's copy bandwidth, GB/s (same run). */
  copyBandwidth: number;
  /** Rows, slowest first. */
  rows: ProfileRow[];
}

/** Options of {@link profileStep}. */
export interface ProfileOptions {
  /** Profiled steps (default 3; per-entry times are medians over them). */
  steps?: number;
  /** `auto` (default: timestamps where the device has them), `timestamp-query` or `replay`. */
  method?: "auto" | ProfileMethod;
}

async function release(gpu: Model["gpu"], out: { loss: Tensor; correct: Tensor }): Promise<void> {
  await readback(gpu, out.loss, out.correct);
  out.loss.release();
  out.correct.release();
}

/**
 * Profiles training steps of a model on one batch.
 * @param model The model.
 * @param opt Its optimizer (its update is part of the step, and is applied).
 * @param x An input batch.
 * @param labels Its i32 labels.
 * @param o Steps and timing method.
 * @returns The profile.
 * @throws {OptionError} On `timestamp-query` where the device has no timestamps, or steps < 1.
 */
export async function profileStep(
  model: Model,
  opt: Optimizer,
  x: Tensor,
  labels: Tensor,
  o: ProfileOptions = {},
): Promise<StepProfile> {
  const gpu = model.gpu;
  const steps = o.steps ?? 3;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new OptionError(`Invalid steps ${steps}: expected an integer ≥ 1`);
  }
  const ts = hasTimestamps(gpu);
  if (o.method === "timestamp-query" && !ts) {
    throw new OptionError("This adapter has no timestamp queries: use the replay method");
  }
  const method: ProfileMethod = o.method === "replay" || !ts ? "replay" : "timestamp-query";
  // Warm-up (pipelines compile, the pool fills), then the unprofiled step time.
  for (let i = 0; i < 2; i++) await trainStep(model, opt, x, labels, i);
  const wall: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await trainStep(model, opt, x, labels, i);
    wall.push((performance.now() - t0) / 1000);
  }
  // The profiled steps.
  let entries: Recorder["profiled"] = [];
  const times: number[][] = [];
  if (method === "timestamp-query") {
    let capacity = 4096;
    for (let i = 0; i < steps; i++) {
      const q = profileQuerySet(gpu, capacity / 2);
      const rec = new Recorder(gpu, q);
      let out;
      try {
        out = recordStep(rec, model, opt, x, labels);
      } catch (e) {
        q.querySet.destroy();
        if (e instanceof RangeError && /Cannot profile more than/.test(e.message)) {
          throw new OptionError(`${e.message}: the step has too many dispatches for one timestamp query set`);
        }
        throw e;
      }
      await rec.submit();
      await release(gpu, out);
      times.push(await readTimestamps(gpu, rec, q.querySet));
      entries = rec.profiled;
      rec.dispose();
      q.querySet.destroy();
      capacity = Math.max(2, 2 * entries.length);
    }
  } else {
    const rec = new Recorder(gpu, {});
    const out = recordStep(rec, model, opt, x, labels);
    await rec.submit();
    await release(gpu, out);
    times.push(await replayTimes(gpu, rec));
    entries = rec.profiled;
    rec.dispose();
  }
  const perEntry = entries.map((_, i) => median(times.map((t) => t[i])));
  const timed = perEntry.reduce((s, v) => s + v, 0);
  const peak = await fmaPeak(gpu), bandwidth = await copyBandwidth(gpu);
  const groups = new Map<string, ProfileRow & { flops: number; bytes: number }>();
  entries.forEach((e, i) => {
    const key = `${e.work.kind}|${e.work.shape}`;
    const g = groups.get(key) ??
      {
        kind: e.work.kind,
        shape: e.work.shape,
        count: 0,
        seconds: 0,
        share: 0,
        gflops: null,
        gbps: null,
        ofPeak: null,
        flops: 0,
        bytes: 0,
      };
    g.count++;
    g.seconds += perEntry[i];
    g.flops += e.work.flops ?? 0;
    g.bytes += e.work.bytes ?? 0;
    groups.set(key, g);
  });
  const rows = [...groups.values()].map(({ flops, bytes, ...r }): ProfileRow => {
    const gflops = flops && r.seconds > 0 ? flops / r.seconds / 1e9 : null;
    const gbps = !flops && bytes && r.seconds > 0 ? bytes / r.seconds / 1e9 : null;
    return {
      ...r,
      share: timed > 0 ? r.seconds / timed : 0,
      gflops,
      gbps,
      ofPeak: gflops !== null ? gflops / peak : gbps !== null ? gbps / bandwidth : null,
    };
  }).sort((a, b) => b.seconds - a.seconds);
  const stepSeconds = median(wall);
  return {
    method,
    stepSeconds,
    imagesPerSecond: x.shape[0] / stepSeconds,
    timedSeconds: timed,
    fmaPeak: peak,
    copyBandwidth: bandwidth,
    rows,
  };
}

/**
 * A profile as an aligned text table, with a header naming the method and the yardsticks.
 * @param p The profile.
 * @param title What was profiled.
 * @returns The text.
 */
export function formatProfile(p: StepProfile, title: string): string {
  const f = (v: number | null, d = 1) => (v === null ? "-" : v.toFixed(d));
  const head = ["kind", "shape", "n", "ms/step", "share", "GFLOPS", "GB/s", "of peak"];
  const cells = p.rows.map((r) => [
    r.kind,
    r.shape,
    String(r.count),
    (1000 * r.seconds).toFixed(2),
    `${(100 * r.share).toFixed(1)}%`,
    f(r.gflops),
    f(r.gbps),
    r.ofPeak === null ? "-" : `${(100 * r.ofPeak).toFixed(0)}%`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const lines = [head, w.map((n) => "-".repeat(n)), ...cells].map((c) =>
    c.map((v, i) => (i < 2 ? v.padEnd(w[i]) : v.padStart(w[i]))).join("  ")
  );
  return [
    `${title}`,
    `step ${(1000 * p.stepSeconds).toFixed(1)} ms (${p.imagesPerSecond.toFixed(1)} images/s); timed ops ${
      (1000 * p.timedSeconds).toFixed(1)
    } ms by ${p.method}; FMA peak ${p.fmaPeak.toFixed(1)} GFLOPS, copy bandwidth ${
      p.copyBandwidth.toFixed(1)
    } GB/s (measured in this run)`,
    ...lines,
  ].join("\n");
}
