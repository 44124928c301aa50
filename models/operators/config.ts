/**
 * Neural-operator model folders: `config.json` with PDEBench's constructor argument names plus
 * `model.safetensors` with PDEBench's state-dict names (complex weights as `C64`).
 * - `{"model_type": "fno2d", "num_channels": 1, "modes1": 12, "modes2": 12, "width": 20, "initial_step": 1}`
 * - `{"model_type": "fno1d", "num_channels": 1, "modes": 12, "width": 20, "initial_step": 10}`
 * - `{"model_type": "unet2d", "in_channels": 1, "out_channels": 1, "init_features": 32}`
 * Other keys are kept as they are and written back.
 * @module
 */
import { UserError } from "../../util/errors.ts";
import type { Module } from "../module.ts";
import { Fno } from "./fno.ts";
import { UNet2d } from "./unet.ts";

/** PDEBench's `FNO2d(num_channels, modes1, modes2, width, initial_step)`. */
export interface Fno2dConfig {
  /** `fno2d`. */
  model_type: "fno2d";
  /** Channels of the solution. */
  num_channels: number;
  /** Modes kept along x. */
  modes1: number;
  /** Modes kept along y. */
  modes2: number;
  /** Channels of the Fourier layers. */
  width: number;
  /** Time steps in the input. */
  initial_step: number;
  /** Other keys, kept. */
  [key: string]: unknown;
}

/** PDEBench's `FNO1d(num_channels, modes, width, initial_step)`. */
export interface Fno1dConfig {
  /** `fno1d`. */
  model_type: "fno1d";
  /** Channels of the solution. */
  num_channels: number;
  /** Modes kept. */
  modes: number;
  /** Channels of the Fourier layers. */
  width: number;
  /** Time steps in the input. */
  initial_step: number;
  /** Other keys, kept. */
  [key: string]: unknown;
}

/** PDEBench's `UNet2d(in_channels, out_channels, init_features)`. */
export interface UNet2dConfig {
  /** `unet2d`. */
  model_type: "unet2d";
  /** Input channels. */
  in_channels: number;
  /** Output channels. */
  out_channels: number;
  /** Channels of the first encoder block (doubling per level). */
  init_features: number;
  /** Other keys, kept. */
  [key: string]: unknown;
}

/** A neural-operator configuration. */
export type OperatorConfig = Fno2dConfig | Fno1dConfig | UNet2dConfig;

/** The model types, as `config.json` and `--model` name them. */
export const OPERATOR_TYPES = ["fno2d", "fno1d", "unet2d"] as const;
/** One of {@link OPERATOR_TYPES}. */
export type OperatorType = typeof OPERATOR_TYPES[number];

const KEYS: Record<OperatorType, string[]> = {
  fno2d: ["num_channels", "modes1", "modes2", "width", "initial_step"],
  fno1d: ["num_channels", "modes", "width", "initial_step"],
  unet2d: ["in_channels", "out_channels", "init_features"],
};

/** A bad `config.json`. */
export class OperatorConfigError extends UserError {
  /**
   * Builds the error.
   * @param file The file.
   * @param message What was wrong and what was expected.
   */
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "OperatorConfigError";
  }
}

/**
 * PDEBench's defaults for a model type (Darcy flow: one channel, one input step).
 * @param type The model type.
 * @returns Its configuration.
 */
export function defaultOperatorConfig(type: OperatorType): OperatorConfig {
  switch (type) {
    case "fno2d":
      return { model_type: "fno2d", num_channels: 1, modes1: 12, modes2: 12, width: 20, initial_step: 1 };
    case "fno1d":
      return { model_type: "fno1d", num_channels: 1, modes: 12, width: 20, initial_step: 10 };
    case "unet2d":
      return { model_type: "unet2d", in_channels: 1, out_channels: 1, init_features: 32 };
  }
}

/**
 * Checks a parsed `config.json`.
 * @param raw The parsed JSON.
 * @param file The file, for errors.
 * @returns The configuration.
 * @throws {OperatorConfigError} Unknown `model_type`, or a constructor argument missing or not an integer ≥ 1.
 */
export function parseOperatorConfig(raw: unknown, file: string): OperatorConfig {
  const o = raw as Record<string, unknown>;
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw new OperatorConfigError(file, "expected a JSON object");
  }
  const type = o.model_type as OperatorType;
  if (!OPERATOR_TYPES.includes(type)) {
    throw new OperatorConfigError(
      file,
      `model_type ${JSON.stringify(o.model_type)}: expected one of ${OPERATOR_TYPES.join(", ")}`,
    );
  }
  for (const k of KEYS[type]) {
    const v = o[k];
    if (!(typeof v === "number" && Number.isInteger(v) && v >= 1)) {
      throw new OperatorConfigError(
        file,
        `"${k}" is ${JSON.stringify(v)}: expected an integer ≥ 1 for ${type}`,
      );
    }
  }
  return o as OperatorConfig;
}

/**
 * The module tree of a configuration.
 * @param c The configuration.
 * @returns PDEBench's model, with its state-dict names.
 */
export function buildOperator(c: OperatorConfig): Module {
  switch (c.model_type) {
    case "fno2d":
      return new Fno({
        dims: 2,
        numChannels: c.num_channels,
        modes: [c.modes1, c.modes2],
        width: c.width,
        initialStep: c.initial_step,
      });
    case "fno1d":
      return new Fno({
        dims: 1,
        numChannels: c.num_channels,
        modes: [c.modes],
        width: c.width,
        initialStep: c.initial_step,
      });
    case "unet2d":
      return new UNet2d(c.in_channels, c.out_channels, c.init_features);
  }
}

/**
 * Reads a model folder's `config.json`.
 * @param dir The folder.
 * @returns The configuration.
 * @throws {OperatorConfigError} No config.json, not JSON, or a bad configuration.
 */
export async function readOperatorConfig(dir: string): Promise<OperatorConfig> {
  const file = `${dir}/config.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new OperatorConfigError(
        dir,
        "no config.json: expected a model folder (config.json + model.safetensors)",
      );
    }
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new OperatorConfigError(file, `not valid JSON: ${(e as Error).message}`);
  }
  return parseOperatorConfig(raw, file);
}
