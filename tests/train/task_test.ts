import { deepEqual, equal, match, ok } from "node:assert/strict";
import { loadWeights } from "../../io/load.ts";
import { readCheckpoint } from "../../train/checkpoint.ts";
import { toyIdx } from "./_toy.ts";
import { matFile, svhnVars } from "../data/_mat.ts";
import { bareEnv, runTask, type TaskOutput } from "../_task.ts";
import { gpuTest } from "../_helpers.ts";

const TASK = new URL("../../tasks/train.ts", import.meta.url).pathname;

function command(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TASK, ...args],
    env: bareEnv(),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  });
}

function task(args: string[]): Promise<TaskOutput> {
  return runTask(TASK, args);
}

Deno.test("deno task train: unknown flags and values print the usage with the valid choices, exit 1", async () => {
  const unknown = await task(["--modle", "small"]);
  equal(unknown.code, 1);
  match(unknown.err, /error: Unknown option '--modle'/);
  match(
    unknown.err,
    /--model NAME\s+small \| resnet18 \| resnet34 \| vgg11 \| vgg16 \| vgg19 \| wrn16_8 \| wrn28_10/,
  );
  const model = await task(["--model", "resnet99"]);
  match(model.err, /Invalid --model "resnet99": expected one of small, resnet18, resnet34, vgg11/);
  const ds = await task(["--dataset", "mnist"]);
  match(
    ds.err,
    /Invalid --dataset "mnist": expected one of fashion-mnist, cifar10, cifar100, svhn, tiny-imagenet/,
  );
  const ep = await task(["--epochs", "1.5"]);
  match(ep.err, /Invalid --epochs "1\.5": expected an integer ≥ 1/);
  const lr = await task(["--lr", "fast"]);
  match(lr.err, /Invalid --lr "fast": expected a number ≥ 0/);
  const help = await task(["--help"]);
  equal(help.code, 0);
  match(help.out, /usage: deno task train/);
});

gpuTest(
  "deno task train: unwritable output, missing data and unsuitable models are said before training",
  async () => {
    const file = await Deno.makeTempFile();
    const unwritable = await task(["--out", `${file}/run`]);
    equal(unwritable.code, 1);
    match(unwritable.err, new RegExp(`error: Cannot write to output folder "${file}/run"`));
    ok(!/epoch/.test(unwritable.out), unwritable.out);
    const dir = await Deno.makeTempDir();
    const missing = await task(["--dataset", "cifar10", "--data", `${dir}/none`, "--out", `${dir}/o`]);
    equal(missing.code, 1);
    match(
      missing.err,
      new RegExp(
        `${dir}/none/\\{data_batch_1.bin.*${dir}/none/cifar-10-batches-bin/.*cifar-10-binary\\.tar\\.gz`,
      ),
    );
    const data = await toyIdx();
    const vgg = await task(["--model", "vgg11", "--data", data, "--out", `${dir}/v`]);
    match(vgg.err, /Model "vgg11" needs 32×32 inputs.*got 8×8/);
    const bad = await task(["--resume", `${dir}/none`]);
    match(bad.err, /Invalid checkpoint ".*none\/checkpoint\.safetensors": cannot be read/);
    // A refused run leaves no folder behind: not its --out, nor runs/<model>-<dataset>-<time>/.
    for (const o of ["o", "v"]) {
      equal(await Deno.stat(`${dir}/${o}`).then(() => true, () => false), false, `${dir}/${o} was created`);
    }
    const cwd = await Deno.makeTempDir();
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", TASK, "--data", `${cwd}/nonexistent`],
      cwd,
      env: bareEnv(),
      clearEnv: true,
      stdout: "null",
      stderr: "null",
    }).output();
    equal(code, 1);
    deepEqual([...Deno.readDirSync(cwd)], []);
  },
);

gpuTest(
  "deno task train: killed mid-epoch, the checkpoint on disk loads and --resume finishes the same run",
  async () => {
    const data = await toyIdx(), root = await Deno.makeTempDir();
    const args = ["--data", data, "--epochs", "4", "--batch-size", "16", "--width", "0.5", "--seed", "3"];
    // The uninterrupted run.
    const whole = await task([...args, "--out", `${root}/whole`]);
    equal(whole.code, 0, whole.err);
    match(whole.out, /epoch 4\/4 .* test loss .* acc/);
    match(whole.out, /done: final test accuracy [\d.]+% \(epoch 4\), best/);
    // The same run, killed as soon as epoch 1's checkpoint is on disk (epoch 2 is then running).
    const ckpt = `${root}/crash/checkpoint.safetensors`;
    const child = command([...args, "--out", `${root}/crash`]).spawn();
    for (let i = 0; i < 1200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      if (await Deno.stat(ckpt).then(() => true, () => false)) break;
    }
    child.kill("SIGKILL");
    const status = await child.status;
    equal(status.signal, "SIGKILL", "the run ended before it could be killed");
    const state = (await readCheckpoint(ckpt)).state;
    ok(state.epoch >= 1 && state.epoch < 4, `checkpoint after epoch ${state.epoch}`);
    // Training resumes from it and ends with the uninterrupted run's weights.
    const again = await task(["--resume", `${root}/crash`]);
    equal(again.code, 0, again.err);
    match(again.out, new RegExp(`resuming after epoch ${state.epoch}`));
    match(again.out, /epoch 4\/4/);
    const a = await loadWeights(`${root}/whole/model.safetensors`, "safetensors");
    const b = new Map(
      (await loadWeights(`${root}/crash/model.safetensors`, "safetensors")).map((t) => [t.name, t]),
    );
    for (const t of a) deepEqual(b.get(t.name)!.values(), t.values(), t.name);
    // A finished run resumed again has nothing left to do; other flags are refused with --resume.
    const done = await task(["--resume", `${root}/crash`]);
    equal(done.code, 0, done.err);
    match(done.out, /is complete \(4 of 4 epochs\): nothing to resume\ndone: final test accuracy/);
    const extra = await task(["--resume", `${root}/crash`, "--lr", "1"]);
    match(extra.err, /--resume continues the saved run with its own settings: --lr cannot be given/);
    const exists = await task([...args, "--out", `${root}/whole`]);
    match(exists.err, /already holds a run: continue it with --resume/);
  },
);

gpuTest(
  "deno task train: CIFAR-10 binaries and SVHN .mat files run through ResNet-18, VGG-11 and WRN",
  async () => {
    const root = await Deno.makeTempDir();
    // CIFAR-10: five training batches of 8 records and a test batch, each record [label][3072 pixels].
    await Deno.mkdir(`${root}/cifar-10-batches-bin`);
    const record = (i: number) =>
      Uint8Array.from({ length: 3073 }, (_, k) => (k === 0 ? i % 10 : (i * 7 + k) % 256));
    for (
      const name of [
        "data_batch_1",
        "data_batch_2",
        "data_batch_3",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
      ]
    ) {
      const bytes = new Uint8Array(8 * 3073);
      for (let i = 0; i < 8; i++) bytes.set(record(i + name.length), i * 3073);
      await Deno.writeFile(`${root}/cifar-10-batches-bin/${name}.bin`, bytes);
    }
    const common = ["--epochs", "1", "--batch-size", "16", "--width", "0.125", "--data", root];
    const r18 = await task([
      "--model",
      "resnet18",
      "--dataset",
      "cifar10",
      ...common,
      "--out",
      `${root}/r18`,
    ]);
    equal(r18.code, 0, r18.err);
    match(r18.out, /resnet18 \([\d,]+ parameters\) on cifar10: 40 train \/ 8 test images 3×32×32/);
    match(r18.out, /epoch 1\/1 .* img\/s/);
    const wrn = await task(["--model", "wrn16_8", "--dataset", "cifar10", ...common, "--out", `${root}/wrn`]);
    equal(wrn.code, 0, wrn.err);
    // SVHN: train_32x32.mat and test_32x32.mat (zlib-compressed elements, labels 1…10).
    await Deno.mkdir(`${root}/svhn`);
    await Deno.writeFile(
      `${root}/svhn/train_32x32.mat`,
      await matFile(svhnVars(24, Array.from({ length: 24 }, (_, i) => 1 + (i % 10)), 32, 32), true),
    );
    await Deno.writeFile(
      `${root}/svhn/test_32x32.mat`,
      await matFile(svhnVars(8, [10, 1, 2, 3, 4, 5, 6, 7], 32, 32), true),
    );
    const vgg = await task(["--model", "vgg11", "--dataset", "svhn", ...common, "--out", `${root}/vgg`]);
    equal(vgg.code, 0, vgg.err);
    match(vgg.out, /vgg11 .* on svhn: 24 train \/ 8 test images 3×32×32/);
    const csv = (await Deno.readTextFile(`${root}/vgg/metrics.csv`)).trim().split("\n");
    equal(csv.length, 2);
    match(csv[1], /^1,[\d.]+,[\d.]+,[\d.]+,[\d.]+,0\.1,\d+,[\d.]+,[\d.]+,[\d.e-]+$/); // …, steps, seconds, images/s, esd_seconds
  },
);
