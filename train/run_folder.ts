/**
 * A run's folder as other processes see it: whether its run is missing, part-way or finished
 * (from the checkpoint, which {@link fit} writes last), and a lock that keeps two processes from
 * training into one folder at once. A process killed with `kill -9` leaves its lock behind; the
 * next one on the same host sees that the process is gone and takes the folder over.
 * @module
 */
import { OptionError, UserError } from "../util/errors.ts";
import { type Checkpoint, readCheckpoint } from "./checkpoint.ts";
import type { EpochMetrics } from "./metrics.ts";
import { type LayerEpoch, RUN_FILES } from "./run_files.ts";

/** A run folder that cannot be resumed or reported as it is. */
export class RunFolderError extends UserError {
  /**
   * Builds the message: `Run folder "DIR" …`.
   * @param dir The folder.
   * @param detail What is wrong and what to do.
   */
  constructor(readonly dir: string, detail: string) {
    super(`Run folder "${dir}" ${detail}`);
    this.name = "RunFolderError";
  }
}

/** What a run folder holds. */
export type RunStatus =
  | { state: "missing" }
  | {
    state: "partial" | "finished";
    /** Epochs done. */
    epoch: number;
    /** Epochs of the run. */
    epochs: number;
    /** The checkpoint. */
    checkpoint: Checkpoint;
  };

/** The lock file of a run folder. */
export const LOCK_FILE = "run.lock";

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

/**
 * Reads a run folder's state.
 * @param dir The folder.
 * @returns `missing` (no folder, or one with no epoch done yet), `partial` or `finished`.
 * @throws {RunFolderError} When the checkpoint cannot be read (cut, overwritten, not ours).
 */
export async function runStatus(dir: string): Promise<RunStatus> {
  const ckpt = `${dir}/${RUN_FILES.checkpoint}`;
  // Logs without a checkpoint are a first epoch cut short while its files were written (fit writes
  // the checkpoint last): the run starts again and overwrites them.
  if (!await exists(ckpt)) return { state: "missing" };
  let checkpoint: Checkpoint;
  try {
    checkpoint = await readCheckpoint(ckpt);
  } catch (e) {
    throw new RunFolderError(
      dir,
      `is half-written: ${(e as Error).message}. Remove the folder to train that run again`,
    );
  }
  const epochs = Number(checkpoint.state.config.epochs);
  const epoch = checkpoint.state.epoch;
  return { state: epoch >= epochs ? "finished" : "partial", epoch, epochs, checkpoint };
}

/**
 * A run's logs as its checkpoint has them: the epochs' metrics and the per-layer rows up to the
 * checkpoint's epoch.
 * @param dir The folder.
 * @param status Its status (not missing).
 * @returns The history and the layer rows.
 */
export async function runLogs(
  dir: string,
  status: Exclude<RunStatus, { state: "missing" }>,
): Promise<{ history: EpochMetrics[]; layers: LayerEpoch[] }> {
  const history = status.checkpoint.state.history as unknown as EpochMetrics[];
  let layers: LayerEpoch[] = [];
  try {
    const text = await Deno.readTextFile(`${dir}/${RUN_FILES.layersJsonl}`);
    layers = text.split("\n").filter((l) => l.trim()).map((l, i) => {
      try {
        return JSON.parse(l) as LayerEpoch;
      } catch {
        throw new RunFolderError(dir, `has a bad line ${i + 1} in ${RUN_FILES.layersJsonl}`);
      }
    }).filter((r) => r.epoch <= status.epoch);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return { history, layers };
}

interface LockBody {
  host: string;
  pid: number;
  since: string;
}

function existsSync(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Whether a process runs: a zombie (killed, not yet reaped by its parent) does not. */
function alive(pid: number): boolean {
  // Where /proc is missing (not Linux) a process counts as alive: refusing is the safe side.
  if (!existsSync("/proc/self")) return true;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

/**
 * Who holds a run folder's lock, if anyone does: a live process of this host, or a process of
 * another host (whose liveness cannot be seen from here). A lock left by a process of this host
 * that has ended does not count.
 * @param dir The folder.
 * @returns "process P (since T)" / "process P on host H (since T)", or null.
 */
export async function runHolder(dir: string): Promise<string | null> {
  let held: LockBody;
  try {
    held = JSON.parse(await Deno.readTextFile(`${dir}/${LOCK_FILE}`));
  } catch {
    return null; // none, or unreadable: stale
  }
  if (held.host !== Deno.hostname()) return `process ${held.pid} on host ${held.host} (since ${held.since})`;
  if (held.pid !== Deno.pid && alive(held.pid)) return `process ${held.pid} (since ${held.since})`;
  return null;
}

/**
 * Takes a run folder for this process (`run.lock`: host, pid). A lock left by a process of this
 * host that has ended (e.g. killed with `kill -9`) is taken over.
 * @param dir The folder (created if missing).
 * @returns A function that releases the lock.
 * @throws {RunFolderError} When a live process here, or any process on another host, holds it.
 * @throws {OptionError} When the folder cannot be created or written.
 */
export async function lockRunFolder(dir: string): Promise<() => Promise<void>> {
  const file = `${dir}/${LOCK_FILE}`;
  const host = Deno.hostname();
  const body: LockBody = { host, pid: Deno.pid, since: new Date().toISOString() };
  const tmp = `${file}.tmp-${Deno.pid}`;
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(tmp, JSON.stringify(body) + "\n");
  } catch (e) {
    throw new OptionError(`Cannot write to output folder "${dir}": ${(e as Error).message}`);
  }
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await Deno.link(tmp, file); // atomic: fails if a lock exists
        return async () => {
          try {
            const now = JSON.parse(await Deno.readTextFile(file)) as LockBody;
            if (now.pid === Deno.pid && now.host === host) await Deno.remove(file);
          } catch { /* already gone */ }
        };
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
      const holder = await runHolder(dir);
      if (holder) {
        throw new RunFolderError(
          dir,
          `is being trained by ${holder}${
            holder.includes(" on host ") ? `: if that job is gone, delete ${file}` : ""
          }`,
        );
      }
      await Deno.remove(file).catch(() => {}); // stale: its process has ended
    }
    throw new RunFolderError(dir, `could not be locked: another process took it at the same moment`);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}
