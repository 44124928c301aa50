/**
 * Models: modules with explicit forward/backward passes, the parameter arena, and the ResNet,
 * VGG and WideResNet families with PyTorch's parameter names.
 * @module
 */
export { ParameterArena } from "./params.ts";
export type { Parameter } from "./params.ts";
export { Module, Sequential } from "./module.ts";
export type { BufferSpec, ParamSpec, StepContext } from "./module.ts";
export {
  addGrads,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  Flatten,
  GlobalAvgPool,
  Linear,
  MaxPool2d,
  ReLU,
} from "./layers.ts";
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
