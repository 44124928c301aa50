import { equal, ok } from "node:assert/strict";
import { HAS_GPU } from "../_helpers.ts";
import { analyzeIn, BROWSER, open } from "./_browser.ts";

/** Peak resident memory (VmHWM, bytes) of each of the browser's processes, by process type. */
function peaks(root: number): Record<string, number> {
  const parent = new Map<number, number>(), type = new Map<number, string>();
  for (const e of Deno.readDirSync("/proc")) {
    const pid = Number(e.name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
      type.set(pid, cmd.match(/--type=([a-z-]+)/)?.[1] ?? "browser");
    } catch { /* gone */ }
  }
  const under = (pid: number): boolean =>
    pid === root || (parent.has(pid) && pid > 1 && under(parent.get(pid)!));
  const out: Record<string, number> = {};
  for (const [pid, t] of type) {
    if (!under(pid)) continue;
    try {
      const kb = Number(Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmHWM:\s*(\d+)/)?.[1] ?? 0);
      out[t] = Math.max(out[t] ?? 0, kb * 1024);
    } catch { /* gone */ }
  }
  return out;
}

/** Writes a safetensors file of `count` F32 tensors [rows, cols] tensor by tensor (never whole). */
async function writeBig(path: string, count: number, rows: number, cols: number): Promise<number> {
  const bytes = rows * cols * 4;
  const header: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    header[`layers.${i}.weight`] = {
      dtype: "F32",
      shape: [rows, cols],
      data_offsets: [i * bytes, (i + 1) * bytes],
    };
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const head = new Uint8Array(8 + json.length);
    new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
    head.set(new TextEncoder().encode(json), 8);
    await f.write(head);
    const v = new Float32Array(rows * cols);
    let s = 1;
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < v.length; k++) v[k] = (s = (s * 1664525 + 1013904223) >>> 0) / 4294967296 - 0.5;
      const b = new Uint8Array(v.buffer);
      for (let o = 0; o < b.length;) o += await f.write(b.subarray(o));
    }
  } finally {
    f.close();
  }
  return 8 + json.length + count * bytes;
}

Deno.test({
  name:
    "web page: a 1 GiB safetensors file is read a tensor at a time: the tab's peak memory stays near the largest tensor, far below the file",
  ignore: !BROWSER || !HAS_GPU,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const file = `${dir}/big.safetensors`;
    // 16 tensors of 64 MiB (tall and narrow: 256 eigenvalues each, so the solve is quick).
    const size = await writeBig(file, 16, 65536, 256);
    ok(size >= 2 ** 30);
    const session = await open();
    try {
      const page = await session.browser.newPage();
      await page.goto(session.url);
      const before = peaks(session.browser.process()!.pid!);
      const state = await analyzeIn(page, [file]);
      equal(state.error, "");
      equal(state.result!.layers.length, 16);
      const after = peaks(session.browser.process()!.pid!);
      const mib = (b: number) => (b / 2 ** 20).toFixed(0);
      console.log(
        `1 GiB file, largest tensor 64 MiB, analysed in ${
          state.result!.seconds.toFixed(1)
        } s; peak RSS: renderer (tab + ` +
          `workers) ${mib(after.renderer)} MiB (${mib(before.renderer)} before), GPU process ${
            mib(after["gpu-process"] ?? 0)
          } MiB`,
      );
      // The tab holds a chunk of at most 64 MiB of matrices plus the bytes being decoded: a few times
      // the largest tensor, not the file.
      ok(after.renderer < 512 * 2 ** 20, `renderer peak ${mib(after.renderer)} MiB`);
    } finally {
      await session.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
