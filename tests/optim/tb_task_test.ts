import { deepEqual, equal, match, ok } from "node:assert/strict";
import { parseSafetensors, writeSafetensors } from "../../io/safetensors.ts";
import { writeNpy } from "../../io/npy.ts";
import { saveModel } from "../../models/io.ts";
import { Model } from "../../models/model.ts";
import { ResNet } from "../../models/resnet.ts";
import { TempBalance } from "../../optim/tempbalance.ts";
import { zipSync } from "fflate";
import { assertNear, gpu, gpuTest } from "../_helpers.ts";
import { runTask, taskFile, type TaskOutput } from "../_task.ts";

async function task(args: string[]): Promise<TaskOutput> {
  const r = await runTask(taskFile("tempbalance"), args);
  return { ...r, err: r.err.trimEnd() };
}

gpuTest(
  "deno task tempbalance --json: every parameter's rate, as the scheduler on the live model gives",
  async () => {
    const dir = await Deno.makeTempDir();
    const model = new Model(gpu, new ResNet([1, 1], [16, 32], { classes: 10, inChannels: 3 }), 11);
    const file = `${dir}/model.safetensors`;
    await saveModel(model, file);
    const { metadata, tensors } = parseSafetensors(await Deno.readFile(file));
    ok(JSON.parse(metadata.module_order).includes("layer1.0.bn1"));
    const r = await task([file, "--lr", "0.1", "--json"]);
    equal(r.code, 0, r.err);
    const run = JSON.parse(r.out);
    deepEqual(Object.keys(run), ["lr", "params", "layers"]);
    equal(run.lr, 0.1);
    // params: every floating tensor but BatchNorm buffers.
    deepEqual(
      Object.keys(run.params).sort(),
      tensors.filter((t) => t.isFloat && !/running_(mean|var)$/.test(t.name)).map((t) => t.name).sort(),
    );
    const tb = new TempBalance(model, { onWarning: () => {} });
    const live = await tb.measure(0.1);
    deepEqual(run.layers.map((l: { name: string }) => l.name), live.map((l) => l.name));
    run.layers.forEach(
      (l: { name: string; metric: number; num_evals: number; tuned: boolean; lr: number }, i: number) => {
        deepEqual(Object.keys(l), ["name", "metric", "num_evals", "tuned", "lr"]);
        equal(l.tuned, live[i].tuned, l.name);
        equal(l.num_evals, live[i].num_evals, l.name);
        assertNear(`${l.name} metric`, [l.metric], [live[i].metric!], 1e-9, 0);
        assertNear(`${l.name} lr`, [l.lr], [live[i].lr], 1e-9, 0);
      },
    );
    // Tied BatchNorm takes its conv's rate; the first conv, its BN, the shortcut BN and fc stay at lr.
    const rate = (n: string) => run.layers.find((l: { name: string }) => l.name === n).lr;
    equal(run.params["layer1.0.bn2.weight"], rate("layer1.0.conv2.weight"));
    equal(run.params["layer2.0.bn1.bias"], rate("layer2.0.conv1.weight"));
    for (const n of ["conv1.weight", "bn1.weight", "layer2.0.downsample.1.weight", "fc.weight", "fc.bias"]) {
      equal(run.params[n], 0.1, n);
    }
    ok(Object.values(run.params).some((x) => x !== 0.1), "some rate differs from lr");
    // The table lists every layer and parameter.
    const t = await task([file, "--lr", "0.1"]);
    equal(t.code, 0, t.err);
    match(t.out, /layer2\.0\.conv2\.weight\s+288\s+\d\.\d{4}\s+yes\s+0\.\d{4}/);
    match(t.out, /layer1\.0\.bn1\.bias\s+0\.\d{4}/);
    model.release();
  },
);

gpuTest(
  "deno task tempbalance: module order from metadata, else storage order (safetensors, npz)",
  async () => {
    const dir = await Deno.makeTempDir();
    const r = (n: number, s: number) =>
      Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + s) * Math.cos(i * i * 0.01 + s));
    const tensors = [
      { name: "stem.weight", shape: [16, 3, 3, 3], data: r(432, 1) },
      { name: "block.conv1.weight", shape: [16, 16, 3, 3], data: r(2304, 2) },
      { name: "block.bn1.weight", shape: [16], data: r(16, 3) },
      { name: "block.bn1.running_mean", shape: [16], data: new Array(16).fill(0) },
      { name: "block.conv2.weight", shape: [32, 16, 3, 3], data: r(4608, 4) },
      { name: "head.weight", shape: [10, 32], data: r(320, 5) },
    ];
    // Stored sorted by name, the head comes before the stem: with module_order the first layer is
    // still the stem and the last the head.
    const sorted = [...tensors].sort((a, b) => a.name < b.name ? -1 : 1);
    const order = JSON.stringify(["stem", "block", "block.conv1", "block.bn1", "block.conv2", "head"]);
    await Deno.writeFile(`${dir}/meta.safetensors`, writeSafetensors(sorted, { module_order: order }));
    await Deno.writeFile(`${dir}/plain.safetensors`, writeSafetensors(tensors));
    await Deno.writeFile(`${dir}/sorted.safetensors`, writeSafetensors(sorted));
    await Deno.writeFile(
      `${dir}/plain.npz`,
      zipSync(Object.fromEntries(tensors.map((t) => [`${t.name}.npy`, writeNpy(t.data, t.shape)]))),
    );
    const tuned = async (f: string) => {
      const out = await task([`${dir}/${f}`, "--lr", "0.2", "--json"]);
      equal(out.code, 0, out.err);
      return JSON.parse(out.out).layers.map((l: { name: string; tuned: boolean }) => `${l.name}:${l.tuned}`);
    };
    const want = [
      "stem.weight:false",
      "block.conv1.weight:true",
      "block.conv2.weight:true",
      "head.weight:false",
    ];
    deepEqual(await tuned("meta.safetensors"), want);
    deepEqual(await tuned("plain.safetensors"), want);
    deepEqual(await tuned("plain.npz"), want);
    // No module order and names sorted: storage order is all there is (block.conv1 comes first; the
    // head has 10 eigenvalues, under eigsThresh, either way).
    deepEqual(await tuned("sorted.safetensors"), [
      "block.conv1.weight:false",
      "block.conv2.weight:true",
      "head.weight:false",
      "stem.weight:false",
    ]);
    // BN by name: block.bn1 → block.conv1.
    const j = JSON.parse((await task([`${dir}/meta.safetensors`, "--lr", "0.2", "--json"])).out);
    equal(j.params["block.bn1.weight"], j.layers[1].lr);
    ok(!("block.bn1.running_mean" in j.params));
  },
);

gpuTest(
  "deno task tempbalance: nothing left to tune and bad options exit 1 with one line naming the cause",
  async () => {
    const dir = await Deno.makeTempDir();
    const file = `${dir}/m.safetensors`;
    await Deno.writeFile(
      file,
      writeSafetensors([
        {
          name: "conv1.weight",
          shape: [8, 3, 3, 3],
          data: new Array(216).fill(0).map((_, i) => Math.sin(i)),
        },
        {
          name: "conv2.weight",
          shape: [8, 8, 3, 3],
          data: new Array(576).fill(0).map((_, i) => Math.cos(i)),
        },
        { name: "fc.weight", shape: [10, 8], data: new Array(80).fill(0).map((_, i) => Math.sin(i * 3)) },
      ]),
    );
    const none = await task([file, "--lr", "0.1", "--eigs-thresh", "100"]);
    equal(none.code, 1);
    match(
      none.err,
      /^error: TempBalance: no layer is left to tune: conv1 \(first layer\), conv2 \(72 eigenvalues < eigsThresh 100\), fc \(last layer\)$/,
    );
    const ok1 = await task([file, "--lr", "0.1", "--keep-first", "--json"]);
    equal(ok1.code, 0, ok1.err);
    for (
      const [args, re] of [
        [["--lr", "0.1", "--lr-min-ratio", "2"], /--lr-min-ratio 2: greater than --lr-max-ratio 1\.5/],
        [
          ["--lr", "0.1", "--metric", "beta"],
          /Invalid --metric "beta": expected one of alpha, spectral_norm, alphahat/,
        ],
        [["--lr", "0.1", "--assign", "cube"], /Invalid --assign "cube"/],
        [["--lr", "0.1", "--eigs-thresh", "0"], /Invalid --eigs-thresh "0": expected an integer ≥ 1/],
        [["--lr", "0.1", "--fit", "best"], /Invalid --fit "best"/],
        [[], /Missing --lr/],
      ] as const
    ) {
      const r = await task([file, ...args]);
      equal(r.code, 1, `${args}: ${r.err}`);
      match(r.err, re);
    }
    // NaN weights in a tuned layer: it keeps the untuned rate and a warning names it.
    const nanFile = `${dir}/nan.safetensors`;
    const w2 = new Array(8 * 8 * 9).fill(0).map((_, i) => Math.cos(i));
    w2[5] = NaN;
    await Deno.writeFile(
      nanFile,
      writeSafetensors([
        {
          name: "conv1.weight",
          shape: [8, 3, 3, 3],
          data: new Array(216).fill(0).map((_, i) => Math.sin(i)),
        },
        { name: "conv2.weight", shape: [8, 8, 3, 3], data: w2 },
        {
          name: "conv3.weight",
          shape: [8, 8, 3, 3],
          data: new Array(576).fill(0).map((_, i) => Math.sin(i * 0.3)),
        },
        { name: "fc.weight", shape: [10, 8], data: new Array(80).fill(0).map((_, i) => Math.sin(i * 3)) },
      ]),
    );
    const nan = await task([nanFile, "--lr", "0.1", "--json"]);
    equal(nan.code, 0, nan.err);
    match(
      nan.err,
      /warning: TempBalance: layer "conv2\.weight" has metric null: it keeps the untuned rate 0\.1/,
    );
    const nanRun = JSON.parse(nan.out);
    deepEqual(nanRun.layers[1], { name: "conv2.weight", metric: null, num_evals: 72, tuned: true, lr: 0.1 });
    const missing = await task([`${dir}/nope.safetensors`, "--lr", "0.1"]);
    equal(missing.code, 1);
    match(missing.err, /nope\.safetensors.*no such file/);
  },
);
