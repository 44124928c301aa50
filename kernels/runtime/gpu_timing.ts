/**
 * Timing what a profiling {@link Recorder} recorded: from its timestamp queries (each entry ran in
 * a pass of its own, inside the real submit), or, where the adapter has no timestamps, by
 * replaying each distinct entry alone — `r` times in one submit, for two values of `r`, so the
 * cost of the sync drops out of the slope.
 * @module
 */
import { slope } from "./probe.ts";
import type { ProfiledEntry, Recorder } from "./recorder.ts";
import type { Gpu } from "./runtime.ts";

/** How entries were timed. */
export type ProfileMethod = "timestamp-query" | "replay";

/** Where timestamps can be taken: the device was created with `timestamp-query`. */
export function hasTimestamps(gpu: Gpu): boolean {
  return gpu.device.features.has("timestamp-query");
}

/** A query set for a profiling recorder of up to `entries` entries (2 queries each). */
export function profileQuerySet(gpu: Gpu, entries: number): { querySet: GPUQuerySet; capacity: number } {
  const capacity = Math.min(4096, 2 * entries);
  return { querySet: gpu.device.createQuerySet({ type: "timestamp", count: capacity }), capacity };
}

/**
 * Reads a submitted profiling recorder's timestamps.
 * @param gpu The GPU.
 * @param rec The recorder (submitted, created with a query set).
 * @param querySet Its query set.
 * @returns Seconds per entry, in order.
 */
export async function readTimestamps(gpu: Gpu, rec: Recorder, querySet: GPUQuerySet): Promise<number[]> {
  const n = 2 * rec.profiled.length;
  if (!n) return [];
  const bytes = n * 8;
  const resolved = gpu.device.createBuffer({ size: bytes, usage: 0x0200 | 0x0004 }); // QUERY_RESOLVE | COPY_SRC
  const read = gpu.device.createBuffer({ size: bytes, usage: 0x0001 | 0x0008 }); // MAP_READ | COPY_DST
  const enc = gpu.device.createCommandEncoder({ label: "profile timestamps" });
  enc.resolveQuerySet(querySet, 0, n, resolved, 0);
  enc.copyBufferToBuffer(resolved, 0, read, 0, bytes);
  gpu.device.queue.submit([enc.finish()]);
  await read.mapAsync(0x0001);
  const t = new BigInt64Array(read.getMappedRange().slice(0));
  read.unmap();
  read.destroy();
  resolved.destroy();
  return rec.profiled.map((e) => {
    const i = e.query ?? -1;
    return i < 0 ? 0 : Math.max(0, Number(t[i + 1] - t[i]) / 1e9);
  });
}

/** Entries that run the same pipeline over the same grid on the same work are timed once. */
function replayKey(e: ProfiledEntry): string {
  const g = e.replay?.grid.join("x") ?? `${e.copy?.bytes}`;
  return `${e.kernel}|${g}|${e.work.kind}|${e.work.shape}`;
}

/**
 * Times each distinct entry of a submitted (not yet disposed) profiling recorder by replaying it
 * alone: `r` copies in one submit, for `r` = 1 and 3, median slope of 3 trials.
 * @param gpu The GPU.
 * @param rec The recorder.
 * @returns Seconds per entry, in order (identical entries share one measurement).
 */
export async function replayTimes(gpu: Gpu, rec: Recorder): Promise<number[]> {
  const cache = new Map<string, number>();
  const out: number[] = [];
  for (const e of rec.profiled) {
    const key = replayKey(e);
    let sec = cache.get(key);
    if (sec === undefined) {
      const run = async (reps: number) => {
        const enc = gpu.device.createCommandEncoder({ label: "profile replay" });
        if (e.replay) {
          const pass = enc.beginComputePass();
          pass.setPipeline(e.replay.pipeline);
          pass.setBindGroup(0, e.replay.group);
          for (let i = 0; i < reps; i++) pass.dispatchWorkgroups(...e.replay.grid);
          pass.end();
        } else if (e.copy) {
          const c = e.copy;
          for (let i = 0; i < reps; i++) {
            enc.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.bytes);
          }
        }
        gpu.device.queue.submit([enc.finish()]);
        await gpu.device.queue.onSubmittedWorkDone();
      };
      sec = await slope(run, 1, 3, 3);
      cache.set(key, sec);
    }
    out.push(sec);
  }
  return out;
}
