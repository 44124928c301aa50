/**
 * Models: modules with explicit forward/backward passes (no autograd graph), the parameter arena,
 * PyTorch-style initialisation and `state_dict` names, and the networks of the papers: ResNet,
 * VGG, WideResNet, the scale-invariant ConvNetSI/ResNet18SI, found by name through
 * {@link buildNetwork}.
 *
 * @example
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { getGpu, upload } from "../kernels/mod.ts";
 * import { buildNetwork, Model, predict } from "./mod.ts";
 *
 * const gpu = await getGpu();
 * const model = new Model(gpu, buildNetwork("small", { classes: 10, inChannels: 1, size: 28 }), 0);
 * ok(model.arena.get("conv1.weight"));
 * const x = upload(gpu, new Float32Array(2 * 28 * 28), [2, 1, 28, 28]);
 * const logits = await predict(model, x);
 * equal(logits.length, 2 * 10);
 * model.release();
 * ```
 * @module
 */
export { ParameterArena } from "./params.ts";
export type { Parameter } from "./params.ts";
export { Module, Sequential } from "./module.ts";
export type { BufferSpec, ParamSpec, StepContext } from "./module.ts";
export { AvgPool2d, BatchNorm2d, Conv2d, Flatten, GlobalAvgPool, Linear, MaxPool2d, ReLU } from "./layers.ts";
export { BasicBlock, Bottleneck, ResidualBlock, ResNet, resnet18, resnet34, smallResNet } from "./resnet.ts";
export type { ResNetOptions } from "./resnet.ts";
export { VGG } from "./vgg.ts";
export type { VggDepth } from "./vgg.ts";
export { WideBlock, WideResNet } from "./wrn.ts";
export { Model, MODULE_ORDER_KEY, predict } from "./model.ts";
export type { LoadOptions } from "./model.ts";
export { loadModel, saveModel } from "./io.ts";
export { buildNetwork, MODEL_NAMES } from "./zoo.ts";
export type { ModelName, ZooOptions } from "./zoo.ts";
export { ConvNetSI, FixedNormLinear } from "./convnet_si.ts";
export type { ConvNetSIOptions } from "./convnet_si.ts";
export { checkScaleInvariant, siParameters } from "./si.ts";
export { PreActBlockSI, ResNet18SI } from "./resnet_si.ts";
export type { ResNet18SIOptions } from "./resnet_si.ts";
export { PreActBlock } from "./preact.ts";
export { configFromHf, configToHf, decoderConfig, validateConfig } from "./transformer/config.ts";
export type { DecoderConfig, DecoderType } from "./transformer/config.ts";
export { Decoder, DecoderBody } from "./transformer/decoder.ts";
export { Attention, Block, HfLinear, Mlp } from "./transformer/blocks.ts";
export { Conv1D, Embedding, Norm } from "./transformer/layers.ts";
export type { LmStepState } from "./transformer/layers.ts";
export {
  hfNames,
  loadDecoderFolder,
  readVocabulary,
  saveDecoderFolder,
  vocabulary,
} from "./transformer/hf_folder.ts";
export type { LoadedDecoder, Vocabulary } from "./transformer/hf_folder.ts";
export { Fno, FNO_PADDING, PointwiseConv, SpectralConv } from "./operators/fno.ts";
export type { FnoShape } from "./operators/fno.ts";
export { ConvTranspose2d, NamedSequential, Tanh, UNet2d } from "./operators/unet.ts";
export {
  buildOperator,
  defaultOperatorConfig,
  OPERATOR_TYPES,
  OperatorConfigError,
  parseOperatorConfig,
  readOperatorConfig,
} from "./operators/config.ts";
export type {
  Fno1dConfig,
  Fno2dConfig,
  OperatorConfig,
  OperatorType,
  UNet2dConfig,
} from "./operators/config.ts";
export { loadOperatorFolder } from "./operators/folder.ts";
