/**
 * Progress bars (npm `cli-progress`): training's steps of the epoch, mean loss and images/s (drawn
 * when stdout is a terminal), and the analyzer's layers done, ETA and current layer (drawn on
 * stderr when it is a terminal, so `--json` output stays clean). Otherwise silent.
 * @module
 */
import type cliProgress from "cli-progress";
import process from "node:process";

type CliProgress = typeof cliProgress;

/** A progress bar for one epoch at a time. */
export class EpochProgress {
  #bar: cliProgress.SingleBar | null = null;
  #lib: CliProgress | null;
  /** Whether the bar is drawn (stdout is a terminal). */
  readonly enabled: boolean;

  private constructor(lib: CliProgress | null) {
    this.#lib = lib;
    this.enabled = lib !== null;
  }

  /**
   * Creates the bar, loading `cli-progress` only when it will be drawn.
   * @param enabled Draw it (default: when stdout is a terminal).
   * @returns The bar.
   */
  static async open(enabled: boolean = Deno.stdout.isTerminal()): Promise<EpochProgress> {
    if (!enabled) return new EpochProgress(null);
    const mod = await import("cli-progress");
    return new EpochProgress((mod as unknown as { default: CliProgress }).default ?? mod);
  }

  /**
   * Shows progress within an epoch (starts the bar on the epoch's first step).
   * @param epoch Epoch, from 1.
   * @param step Steps done.
   * @param steps Steps in the epoch.
   * @param loss Mean loss so far.
   * @param imagesPerSecond Throughput so far.
   */
  update(epoch: number, step: number, steps: number, loss: number, imagesPerSecond: number): void {
    const lib = this.#lib;
    if (!lib) return;
    const payload = { epoch, loss: loss.toFixed(4), ips: imagesPerSecond.toFixed(0) };
    if (!this.#bar) {
      this.#bar = new lib.SingleBar({
        format:
          "epoch {epoch} [{bar}] {value}/{total} steps | loss {loss} | {ips} img/s | eta {eta_formatted}",
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 20,
      }, lib.Presets.shades_classic);
      this.#bar.start(steps, step, payload);
    } else this.#bar.update(step, payload);
  }

  /** Removes the bar (before printing the epoch's line). */
  stop(): void {
    this.#bar?.stop();
    this.#bar = null;
  }
}

/** The analyzer's progress: layers done of the total, ETA, and the layer being read. */
export class LayerProgress {
  #bar: cliProgress.SingleBar | null = null;
  #lib: CliProgress | null;
  /** Whether the bar is drawn (stderr is a terminal). */
  readonly enabled: boolean;

  private constructor(lib: CliProgress | null) {
    this.#lib = lib;
    this.enabled = lib !== null;
  }

  /**
   * Creates the bar, loading `cli-progress` only when it will be drawn.
   * @param enabled Draw it (default: when stderr is a terminal).
   * @returns The bar.
   */
  static async open(enabled: boolean = Deno.stderr.isTerminal()): Promise<LayerProgress> {
    if (!enabled) return new LayerProgress(null);
    const mod = await import("cli-progress");
    return new LayerProgress((mod as unknown as { default: CliProgress }).default ?? mod);
  }

  /**
   * Shows progress (starts the bar on the first call).
   * @param done Layers done.
   * @param total Layers in all.
   * @param current The layer being read, or null when done.
   */
  update(done: number, total: number, current: string | null): void {
    const lib = this.#lib;
    if (!lib) return;
    const payload = { layer: current ?? "done" };
    if (!this.#bar) {
      this.#bar = new lib.SingleBar({
        format: "[{bar}] {value}/{total} layers | eta {eta_formatted} | {layer}",
        hideCursor: true,
        clearOnComplete: true,
        stream: process.stderr,
      }, lib.Presets.shades_classic);
      this.#bar.start(total, done, payload);
    } else this.#bar.update(done, payload);
  }

  /** Removes the bar. */
  stop(): void {
    this.#bar?.stop();
    this.#bar = null;
  }
}
