/**
 * The training progress bar (npm `cli-progress`): steps of the epoch, mean loss and images/s.
 * Drawn only when stdout is a terminal; otherwise silent, and the per-epoch lines carry the news.
 * @module
 */
import type cliProgress from "cli-progress";

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
