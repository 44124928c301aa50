/**
 * `deno task bench:peers [--json] [--quick]`: our kernels against TensorFlow.js's WebGPU backend
 * on the same adapter, and against PyTorch on the CPU (Debian's `python3-torch`, as many threads as
 * cores; `bench/torch_peers.py`: rows marked `(torch-cpu)`, skipped with one line where PyTorch is
 * absent), in one run. Prints a table (op, shape, ours, peer, unit, ratio — ratio > 1
 * means we are faster) and the adapter's FMA peak with the fraction our matmul reaches; `--json`
 * prints the rows as a JSON array of `{op, shape, ours, peer, unit, ratio}`. The full run takes
 * 13–55 minutes depending on the host (tfjs's ResNet-18 step dominates); `--quick` keeps one row
 * of every op family — matmul 256³/512³/1024³, the conv2d forward and backward of one ResNet-18
 * stage, and the small ResNet's training step — in under 8 minutes.
 * @module
 */
import { parseArgs } from "node:util";
import { getGpu } from "../kernels/runtime/runtime.ts";
import { printRows, type Row } from "./_rows.ts";
import { runMain } from "../cli/main.ts";
import { fmaPeak, type MatmulShape, oursMatmul, runtimeCosts } from "./_ours.ts";
import { initTfjs, tfjsConv, tfjsMatmul } from "./_tfjs.ts";
import { tfjsTrainThroughput } from "./_tfjs_train.ts";
import { oursTrainThroughput } from "./_train.ts";
import { LM_SHAPES, oursLmTokensPerS, tfjsLmTokensPerS } from "./_lm_train.ts";
import { oursConv } from "./_ours.ts";
import { FNO_SHAPES, oursFnoSamplesPerS } from "./_pde_train.ts";
import { python, pythonWith } from "./_python.ts";

/** What bench/torch_peers.py prints. */
interface TorchPeer {
  torch: string;
  threads: number;
  matmul: Record<string, number>;
  conv: Record<string, { fwd: number; bwd: number }>;
  train_small_b128: number;
  train_resnet18_b32?: number;
  train_lm?: Record<string, number>;
  train_fno?: Record<string, number>;
}

const CONV_STAGES: [number, number, number][] = [[64, 32, 32], [128, 16, 16], [256, 8, 8], [512, 4, 4]]; // C, H, W at batch 32

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

await runMain(async () => {
  const { values } = parseArgs({ options: { json: { type: "boolean" }, quick: { type: "boolean" } } });
  const gpu = await getGpu();
  const shapes = values.quick ? SQUARE.slice(2) : [...SQUARE, ...TALL];
  const stages = values.quick ? [CONV_STAGES[1]] : CONV_STAGES;
  const ours = new Map<string, number>();
  for (const s of shapes) ours.set(s.label, await oursMatmul(gpu, s));
  const convOurs: {
    shape: string;
    fwd: number;
    bwd: number;
    data: number;
    filter: number;
    gemm: number;
    gemmShape: string;
  }[] = [];
  for (const [c, h, w] of stages) {
    // Our matmul at the convolution's GEMM shape: M = batch·OH·OW, K = in·kh·kw, N = out channels.
    const g: MatmulShape = { label: `${32 * h * w}x${9 * c}x${c}`, M: 32 * h * w, K: 9 * c, N: c };
    convOurs.push({
      shape: `32x${c}x${h}x${w} k3`,
      ...(await oursConv(gpu, 32, c, h, w)),
      gemm: await oursMatmul(gpu, g),
      gemmShape: g.label,
    });
  }
  const small = await oursTrainThroughput(gpu, [1, 1, 1], [16, 32, 64], 1, 28, 10, 128, 3);
  const r18 = values.quick
    ? 0
    : await oursTrainThroughput(gpu, [2, 2, 2, 2], [64, 128, 256, 512], 3, 32, 10, 32, 2);
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
  for (const [k, [c, h, w]] of stages.entries()) {
    const peer = await tfjsConv(32, c, h, w);
    const o = convOurs[k];
    rows.push({
      op: "conv2d-fwd",
      shape: o.shape,
      ours: o.fwd,
      peer: peer.fwd,
      unit: "GFLOPS",
      ratio: o.fwd / peer.fwd,
    });
    rows.push({
      op: "conv2d-bwd",
      shape: o.shape,
      ours: o.bwd,
      peer: peer.bwd,
      unit: "GFLOPS",
      ratio: o.bwd / peer.bwd,
    });
    for (const [op, v] of [["conv2d-bwd-data", o.data], ["conv2d-bwd-filter", o.filter]] as const) {
      rows.push({ op, shape: o.shape, ours: v, peer: null, unit: "GFLOPS", ratio: null });
    }
    rows.push({
      op: "matmul@conv-gemm",
      shape: o.gemmShape,
      ours: o.gemm,
      peer: null,
      unit: `GFLOPS (conv fwd ${(100 * o.fwd / o.gemm).toFixed(0)}%, bwd-data ${
        (100 * o.data / o.gemm).toFixed(0)
      }%, bwd-filter ${(100 * o.filter / o.gemm).toFixed(0)}% of it)`,
      ratio: null,
    });
  }
  const tSmall = await tfjsTrainThroughput([1, 1, 1], [16, 32, 64], 1, 28, 10, 128, 3);
  rows.push({
    op: "train-small-b128",
    shape: "ResNet[1,1,1] 1x28x28",
    ours: small,
    peer: tSmall,
    unit: "images/s",
    ratio: small / tSmall,
  });
  if (!values.quick) {
    const tR18 = await tfjsTrainThroughput([2, 2, 2, 2], [64, 128, 256, 512], 3, 32, 10, 32, 2);
    rows.push({
      op: "train-resnet18-b32",
      shape: "ResNet-18 3x32x32",
      ours: r18,
      peer: tR18,
      unit: "images/s",
      ratio: r18 / tR18,
    });
  }
  // Language-model training steps (the documented Brown model; --quick: the smaller one only).
  const lmOurs = new Map<string, { op: string; tokens: number }>();
  for (const shape of values.quick ? LM_SHAPES.slice(1) : LM_SHAPES) {
    const o = await oursLmTokensPerS(gpu, shape, 3), p = await tfjsLmTokensPerS(shape, 2);
    lmOurs.set(shape.label, { op: shape.op, tokens: o });
    rows.push({ op: shape.op, shape: shape.label, ours: o, peer: p, unit: "tokens/s", ratio: o / p });
  }
  // FNO2d training steps (PyTorch is the peer: tfjs has no complex spectral layers to build it from).
  const fnoOurs = new Map<string, number>();
  for (const shape of FNO_SHAPES) {
    const o = await oursFnoSamplesPerS(gpu, shape, 3);
    fnoOurs.set(shape.label, o);
    rows.push({ op: "train-fno2d", shape: shape.label, ours: o, peer: null, unit: "samples/s", ratio: null });
  }
  const py = await pythonWith("torch");
  const torch = py
    ? await python<TorchPeer>("./torch_peers.py", values.quick ? ["--quick"] : [], {}, py)
    : null;
  if (torch) rows.push(...torchRows(torch, ours, convOurs, small, r18, lmOurs, fnoOurs));
  else if (!py) console.error("PyTorch rows skipped: no python3 with torch (apt-get install python3-torch)");
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
  printRows(rows, values.json === true, gpu.description);
  if (values.json) return;
  console.log(
    `\nmatmul reaches ${(100 * best / peak).toFixed(0)}% of this adapter's FMA peak (${
      peak.toFixed(1)
    } GFLOPS)`,
  );
});

/** Our figures against PyTorch's on the CPU: the same shapes, ratio > 1 where we are faster. */
function torchRows(
  t: TorchPeer,
  ours: Map<string, number>,
  conv: { shape: string; fwd: number; bwd: number }[],
  small: number,
  r18: number,
  lm: Map<string, { op: string; tokens: number }>,
  fno: Map<string, number>,
): Row[] {
  const tag = `(torch-cpu ${t.torch}, ${t.threads} threads)`;
  const row = (op: string, shape: string, o: number, p: number, unit: string): Row => ({
    op: `${op} ${tag}`,
    shape,
    ours: o,
    peer: p,
    unit,
    ratio: o / p,
  });
  const rows: Row[] = [];
  for (const [shape, p] of Object.entries(t.matmul)) {
    if (ours.has(shape)) rows.push(row("matmul", shape, ours.get(shape)!, p, "GFLOPS"));
  }
  for (const c of conv) {
    const p = t.conv[c.shape];
    if (!p) continue;
    rows.push(
      row("conv2d-fwd", c.shape, c.fwd, p.fwd, "GFLOPS"),
      row("conv2d-bwd", c.shape, c.bwd, p.bwd, "GFLOPS"),
    );
  }
  rows.push(row("train-small-b128", "ResNet[1,1,1] 1x28x28", small, t.train_small_b128, "images/s"));
  if (t.train_resnet18_b32 && r18) {
    rows.push(row("train-resnet18-b32", "ResNet-18 3x32x32", r18, t.train_resnet18_b32, "images/s"));
  }
  for (const [shape, p] of Object.entries(t.train_lm ?? {})) {
    const o = lm.get(shape);
    if (o) rows.push(row(o.op, shape, o.tokens, p, "tokens/s"));
  }
  for (const [shape, p] of Object.entries(t.train_fno ?? {})) {
    const o = fno.get(shape);
    if (o) rows.push(row("train-fno2d", shape, o, p, "samples/s"));
  }
  return rows;
}
