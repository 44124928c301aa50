/**
 * The architectures `deno task train --model` offers, by name, with a width multiplier: the small
 * ResNet (Fashion-MNIST default), CIFAR ResNet-18/34, VGG-11/16/19 with BatchNorm, WRN-16-8 and
 * WRN-28-10, and the scale-invariant ConvNetSI / ConvNetSIAf (width 32·w) and ResNet18SI (64·w), last layers at norm 10.
 * @module
 */
import { OptionError } from "../util/errors.ts";
import type { Module } from "./module.ts";
import { resnet18, resnet34, smallResNet } from "./resnet.ts";
import { VGG } from "./vgg.ts";
import { WideResNet } from "./wrn.ts";
import { ConvNetSI } from "./convnet_si.ts";
import { ResNet18SI } from "./resnet_si.ts";

/** Model names. */
export const MODEL_NAMES = [
  "small",
  "resnet18",
  "resnet34",
  "vgg11",
  "vgg16",
  "vgg19",
  "wrn16_8",
  "wrn28_10",
  "convnet-si",
  "convnet-si-af",
  "resnet18-si",
] as const;

/** A model name. */
export type ModelName = typeof MODEL_NAMES[number];

/** What the network is built for. */
export interface ZooOptions {
  /** Classes. */
  classes: number;
  /** Input channels. */
  inChannels: number;
  /** Input height and width (VGG needs 32). */
  size: number;
  /** Channel multiplier (WRN: multiplies the widen factor; default 1). */
  width?: number;
}

/**
 * Builds a network by name.
 * @param name One of {@link MODEL_NAMES}.
 * @param o Classes, input channels and size, width multiplier.
 * @returns The root module (wrap it in a `Model`).
 * @throws {OptionError} On an unknown name, a width ≤ 0, or an input too small for the network.
 */
export function buildNetwork(name: string, o: ZooOptions): Module {
  const width = o.width ?? 1;
  if (!(width > 0) || !Number.isFinite(width)) {
    throw new OptionError(`Invalid width ${width}: expected a number > 0`);
  }
  const common = { classes: o.classes, inChannels: o.inChannels, width };
  switch (name as ModelName) {
    case "small":
      return smallResNet(common);
    case "resnet18":
      return resnet18(common);
    case "resnet34":
      return resnet34(common);
    case "vgg11":
    case "vgg16":
    case "vgg19":
      if (o.size !== 32) {
        throw new OptionError(
          `Model "${name}" needs 32×32 inputs (five 2×2 poolings down to the 1×1 its classifier takes), got ${o.size}×${o.size}`,
        );
      }
      return new VGG(name as "vgg11", common);
    case "wrn16_8":
    case "wrn28_10": {
      const [depth, k] = name === "wrn16_8" ? [16, 8] : [28, 10];
      return new WideResNet(depth, Math.max(1, Math.round(k * width)), common);
    }
    case "convnet-si":
    case "convnet-si-af":
      return new ConvNetSI({
        classes: o.classes,
        inChannels: o.inChannels,
        size: o.size,
        channels: Math.max(1, Math.round(32 * width)),
        affine: name === "convnet-si-af",
      });
    case "resnet18-si":
      return new ResNet18SI({
        classes: o.classes,
        inChannels: o.inChannels,
        channels: Math.max(1, Math.round(64 * width)),
      });
    default:
      throw new OptionError(`Unknown model "${name}": expected one of ${MODEL_NAMES.join(", ")}`);
  }
}
