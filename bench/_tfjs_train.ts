/**
 * The peer for the training rows: the same ResNets built with TensorFlow.js layers (the
 * `@tensorflow/tfjs` union package, which registers gradients) on its WebGPU backend, trained with
 * SGD + momentum on random batches; images per second of whole training steps.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";

function block(x: tf.SymbolicTensor, inC: number, outC: number, stride: number): tf.SymbolicTensor {
  const conv = (f: number, k: number, s: number) =>
    tf.layers.conv2d({
      filters: f,
      kernelSize: k,
      strides: s,
      padding: "same",
      useBias: false,
      dataFormat: "channelsLast",
    });
  let h = conv(outC, 3, stride).apply(x) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
  h = conv(outC, 3, 1).apply(h) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  let sc = x;
  if (stride !== 1 || inC !== outC) {
    sc = conv(outC, 1, stride).apply(x) as tf.SymbolicTensor;
    sc = tf.layers.batchNormalization().apply(sc) as tf.SymbolicTensor;
  }
  return tf.layers.reLU().apply(tf.layers.add().apply([h, sc])) as tf.SymbolicTensor;
}

/** A tfjs ResNet like ours (NHWC, as tfjs requires). */
export function tfjsResNet(
  blocks: number[],
  widths: number[],
  inC: number,
  size: number,
  classes: number,
): tf.LayersModel {
  const input = tf.input({ shape: [size, size, inC] });
  let h = tf.layers.conv2d({ filters: widths[0], kernelSize: 3, padding: "same", useBias: false }).apply(
    input,
  ) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(tf.layers.batchNormalization().apply(h)) as tf.SymbolicTensor;
  let c = widths[0];
  blocks.forEach((n, s) => {
    for (let b = 0; b < n; b++) {
      h = block(h, c, widths[s], b === 0 && s > 0 ? 2 : 1);
      c = widths[s];
    }
  });
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Images per second of tfjs training steps (median of `steps` after one warm-up). */
export async function tfjsTrainThroughput(
  blocks: number[],
  widths: number[],
  inC: number,
  size: number,
  classes: number,
  batch: number,
  steps: number,
): Promise<number> {
  await tf.setBackend("webgpu");
  await tf.ready();
  const model = tfjsResNet(blocks, widths, inC, size, classes);
  const opt = tf.train.momentum(0.01, 0.9);
  const x = tf.randomNormal([batch, size, size, inC]);
  const y = tf.oneHot(tf.randomUniform([batch], 0, classes, "int32"), classes);
  const step = async () => {
    const loss = opt.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor),
      true,
    );
    await loss!.data();
    loss!.dispose();
  };
  await step();
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return batch / (times[times.length >> 1] / 1000);
}
