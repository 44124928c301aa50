/**
 * `deno task bench:peers [--json] [--quick]`: our kernels against TensorFlow.js's WebGPU backend
 * on the same adapter in one run. Prints a table (op, shape, ours, peer, unit, ratio — ratio > 1
 * means we are faster) and the adapter's FMA peak with the fraction our matmul reaches; `--json`
 * prints the rows as a JSON array of `{op, shape, ours, peer, unit, ratio}`.
 * @module
 */
import { parseArgs } from "node:util";
import { getGpu } from "../kernels/runtime.ts";
import { runMain } from "../tasks/_main.ts";
import { fmaPeak, type MatmulShape, oursMatmul, runtimeCosts } from "./_ours.ts";
import { initTfjs, tfjsMatmul } from "./_tfjs.ts";

/** One result row. */
interface Row {
  op: string;
  shape: string;
  ours: number;
  peer: number | null;
  unit: string;
  ratio: number | null;
}

const SQUARE = [64, 128, 256, 512, 1024].map((n): MatmulShape => ({
  label: `${n}x${n}x${n}`,
  M: n,
  K: n,
  N: n,
}));
const TALL: MatmulShape[] = [
  { label: "4096x64x64", M: 4096, K: 64, N: 64 },
  { label: "64x4096x64 (AᵀA)", M: 64, K: 4096, N: 64, transA: true },
  { label: "8192x256x32", M: 8192, K: 256, N: 32 },
];

function fmt(x: number | null, d = 2): string {
  return x === null ? "-" : x.toFixed(d);
}

await runMain(async () => {
  const { values } = parseArgs({ options: { json: { type: "boolean" }, quick: { type: "boolean" } } });
  const gpu = await getGpu();
  const log = values.json ? () => {} : console.log;
  log(`adapter: ${gpu.description}`);
  const shapes = values.quick ? [SQUARE[2], TALL[0]] : [...SQUARE, ...TALL];
  const ours = new Map<string, number>();
  for (const s of shapes) ours.set(s.label, await oursMatmul(gpu, s));
  const peak = await fmaPeak(gpu);
  const costs = await runtimeCosts(gpu);
  const backend = await initTfjs();
  if (backend !== "webgpu") throw new Error(`tfjs started the "${backend}" backend, not webgpu`);
  const rows: Row[] = [];
  for (const s of shapes) {
    const peer = await tfjsMatmul(s);
    const o = ours.get(s.label)!;
    rows.push({ op: "matmul", shape: s.label, ours: o, peer, unit: "GFLOPS", ratio: o / peer });
  }
  const best = Math.max(...rows.map((r) => r.ours));
  rows.push({ op: "fma-peak", shape: "8 vec4 chains", ours: peak, peer: null, unit: "GFLOPS", ratio: null });
  rows.push({
    op: "matmul/peak",
    shape: "best matmul",
    ours: best / peak,
    peer: null,
    unit: "fraction",
    ratio: null,
  });
  rows.push({
    op: "sync",
    shape: "onSubmittedWorkDone",
    ours: costs.sync,
    peer: null,
    unit: "µs",
    ratio: null,
  });
  rows.push({
    op: "submit",
    shape: "1-dispatch step",
    ours: costs.submit,
    peer: null,
    unit: "µs",
    ratio: null,
  });
  rows.push({
    op: "dispatch",
    shape: "extra dispatch",
    ours: costs.dispatch,
    peer: null,
    unit: "µs",
    ratio: null,
  });
  if (values.json) {
    console.log(JSON.stringify(rows));
    return;
  }
  const head = ["op", "shape", "ours", "peer (tfjs-webgpu)", "unit", "ratio"];
  const cells = rows.map((r) => [r.op, r.shape, fmt(r.ours), fmt(r.peer), r.unit, fmt(r.ratio)]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  for (const line of [head, w.map((n) => "-".repeat(n)), ...cells]) {
    console.log(line.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  "));
  }
  console.log(
    `\nmatmul reaches ${(100 * best / peak).toFixed(0)}% of this adapter's FMA peak (${
      peak.toFixed(1)
    } GFLOPS)`,
  );
});
