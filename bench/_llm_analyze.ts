/**
 * Child process of `bench:esd`'s `llm-esd` row: analyses the checkpoint at argv[0] (an index or a
 * directory) with `analyze()` and prints JSON `{seconds, timings, layers, peakRssBytes}`; the peak
 * RSS is this process's high-water mark (VmHWM: workers and the software GPU's buffers included).
 * @module
 */
import { analyze } from "../esd/analyze.ts";

const t0 = performance.now();
const r = await analyze(Deno.args[0]);
const seconds = (performance.now() - t0) / 1000;
const status = await Deno.readTextFile("/proc/self/status").catch(() => "");
const hwm = status.match(/VmHWM:\s*(\d+)\s*kB/);
console.log(JSON.stringify({
  seconds,
  timings: r.timings,
  layers: r.layers.length,
  fitted: r.layers.filter((l) => l.alpha !== null).length,
  peakRssBytes: hwm ? Number(hwm[1]) * 1024 : null,
}));
