/**
 * Progress bars (npm `cli-progress`): training's steps of the epoch, mean loss and images/s (drawn
 * when stdout is a terminal), and the analyzer's layers done, ETA and current layer (drawn on
 * stderr when it is a terminal, so `--json` output stays clean). Otherwise silent.
 * @module
 */
import type cliProgress from "cli-progress";
import process from "node:process";

type CliProgress = typeof cliProgress;

/** Loads `cli-progress` only when a bar will be drawn. */
async function load(enabled: boolean): Promise<CliProgress | null> {
  if (!enabled) return null;
  const mod = await import("cli-progress");
  return (mod as unknown as { default: CliProgress }).default ?? mod;
}

/** One bar at a time: started on the first update, removed by `stop()`. */
class Bar {
  #bar: cliProgress.SingleBar | null = null;
  readonly #lib: CliProgress | null;
  readonly #options: cliProgress.Options;

  constructor(lib: CliProgress | null, options: cliProgress.Options) {
    this.#lib = lib;
    this.#options = options;
  }

  get enabled(): boolean {
    return this.#lib !== null;
  }

  show(value: number, total: number, payload: Record<string, unknown>): void {
    const lib = this.#lib;
    if (!lib) return;
    if (!this.#bar) {
      this.#bar = new lib.SingleBar(
        { hideCursor: true, clearOnComplete: true, ...this.#options },
        lib.Presets.shades_classic,
      );
      this.#bar.start(total, value, payload);
    } else this.#bar.update(value, payload);
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = null;
  }
}

/** A progress bar for one epoch at a time. */
export class EpochProgress {
  #bar: Bar;

  private constructor(lib: CliProgress | null) {
    this.#bar = new Bar(lib, {
      format: "epoch {epoch} [{bar}] {value}/{total} steps | loss {loss} | {ips} img/s | eta {eta_formatted}",
      etaBuffer: 20,
    });
  }

  /** Whether the bar is drawn (stdout is a terminal). */
  get enabled(): boolean {
    return this.#bar.enabled;
  }

  /**
   * Creates the bar, loading `cli-progress` only when it will be drawn.
   * @param enabled Draw it (default: when stdout is a terminal).
   * @returns The bar.
   */
  static async open(enabled: boolean = Deno.stdout.isTerminal()): Promise<EpochProgress> {
    return new EpochProgress(await load(enabled));
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
    this.#bar.show(step, steps, { epoch, loss: loss.toFixed(4), ips: imagesPerSecond.toFixed(0) });
  }

  /** Removes the bar (before printing the epoch's line). */
  stop(): void {
    this.#bar.stop();
  }
}

/** The analyzer's progress: layers done of the total, ETA, and the layer being read. */
export class LayerProgress {
  #bar: Bar;

  private constructor(lib: CliProgress | null) {
    this.#bar = new Bar(lib, {
      format: "[{bar}] {value}/{total} layers | eta {eta_formatted} | {layer}",
      stream: process.stderr,
    });
  }

  /** Whether the bar is drawn (stderr is a terminal). */
  get enabled(): boolean {
    return this.#bar.enabled;
  }

  /**
   * Creates the bar, loading `cli-progress` only when it will be drawn.
   * @param enabled Draw it (default: when stderr is a terminal).
   * @returns The bar.
   */
  static async open(enabled: boolean = Deno.stderr.isTerminal()): Promise<LayerProgress> {
    return new LayerProgress(await load(enabled));
  }

  /**
   * Shows progress (starts the bar on the first call).
   * @param done Layers done.
   * @param total Layers in all.
   * @param current The layer being read, or null when done.
   */
  update(done: number, total: number, current: string | null): void {
    this.#bar.show(done, total, { layer: current ?? "done" });
  }

  /** Removes the bar. */
  stop(): void {
    this.#bar.stop();
  }
}

/** A count of work items (windows, layers) with ETA and a label: perplexity, calibration, pruning. */
export class CountProgress {
  #bar: Bar;

  private constructor(lib: CliProgress | null, unit: string) {
    this.#bar = new Bar(lib, {
      format: `[{bar}] {value}/{total} ${unit} | eta {eta_formatted} | {what}`,
      stream: process.stderr,
    });
  }

  /**
   * Creates the bar, loading `cli-progress` only when it will be drawn.
   * @param unit What is counted (`windows`).
   * @param enabled Draw it (default: when stderr is a terminal).
   * @returns The bar.
   */
  static async open(unit: string, enabled: boolean = Deno.stderr.isTerminal()): Promise<CountProgress> {
    return new CountProgress(await load(enabled), unit);
  }

  /**
   * Shows progress (starts the bar on the first call).
   * @param done Items done.
   * @param total Items in all.
   * @param what A label.
   */
  update(done: number, total: number, what: string): void {
    this.#bar.show(done, total, { what });
  }

  /** Removes the bar. */
  stop(): void {
    this.#bar.stop();
  }
}
