/**
 * `deno task bench:import`: what importing the library costs a program. For each entry point
 * (`.`, `./kernels`, …) a one-line program imports it (`import { matmul } from …` for the
 * kernels) and exits; reported: the wall time of `deno run` (median of `--runs`, default 7,
 * after one warm-up that fills Deno's caches), the process's resident memory at exit, and the
 * modules loaded at start-up (the static import graph from `deno info --json`: local files, and
 * npm packages with their files). `--root DIR` measures another checkout of the project (e.g. an
 * older commit in a `git worktree`) with the same programs.
 * @module
 */
import { parseArgs } from "node:util";
import { runMain } from "../cli/main.ts";
import { median } from "./_measure.ts";

const ENTRIES: [string, string, string][] = [
  // [label, module path relative to the root, imported name]
  ["kernels: import { matmul }", "kernels/mod.ts", "matmul"],
  [". (root): import { analyze }", "mod.ts", "analyze"],
  ["esd: import { analyze }", "esd/mod.ts", "analyze"],
  ["train: import { fit }", "train/mod.ts", "fit"],
  ["report: import { formatTable }", "report/mod.ts", "formatTable"],
];

interface GraphModule {
  specifier: string;
  kind?: string;
  dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
  npmPackage?: string;
}

/** Modules reached from `file` through static imports only: local files and npm packages. */
async function startupGraph(file: string, cwd: string): Promise<{ local: number; npm: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", `${cwd}deno.json`, file],
    cwd,
  }).output();
  if (!out.success) throw new Error(`deno info ${file}: ${new TextDecoder().decode(out.stderr)}`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: GraphModule[];
  };
  const bySpec = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>(), npm = new Set<string>();
  const stack = [...info.roots];
  while (stack.length) {
    const s = stack.pop()!;
    if (s.startsWith("npm:")) {
      npm.add(s.replace(/^npm:\/?/, "").replace(/@[^@/]*$/, ""));
      continue;
    }
    if (seen.has(s)) continue;
    seen.add(s);
    const m = bySpec.get(s);
    if (!m) continue;
    for (const d of m.dependencies ?? []) if (!d.isDynamic && d.code) stack.push(d.code.specifier);
  }
  return { local: [...seen].filter((s) => s.startsWith("file:")).length - 1, npm: [...npm].sort() };
}

async function main() {
  const a = parseArgs({ options: { root: { type: "string" }, runs: { type: "string" } } }).values;
  const root = (a.root ?? new URL("..", import.meta.url).pathname).replace(/\/?$/, "/");
  const runs = Number(a.runs ?? 7);
  const dir = await Deno.makeTempDir({ prefix: "import_cost" });
  console.log(`root: ${root} (deno ${Deno.version.deno}, ${runs} runs, median)`);
  console.log("entry | wall s | RSS MB | local modules | npm packages at start-up");
  for (const [label, mod, name] of ENTRIES) {
    const path = `${root}${mod}`;
    if (!(await Deno.stat(path).then(() => true, () => false))) {
      console.log(`${label} | (no ${mod} in this checkout)`);
      continue;
    }
    const file = `${dir}/${mod.replaceAll("/", "_")}`;
    await Deno.writeTextFile(
      file,
      `import { ${name} } from "${path}";\nconsole.log(JSON.stringify({ ok: typeof ${name}, rss: Deno.memoryUsage().rss }));\n`,
    );
    const times: number[] = [], rss: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const t0 = performance.now();
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", `${root}deno.json`, file],
        cwd: root,
      }).output();
      const t = (performance.now() - t0) / 1000;
      if (!out.success) throw new Error(`${label}: ${new TextDecoder().decode(out.stderr)}`);
      if (i === 0) continue; // warm-up: fills the module and code caches
      times.push(t);
      rss.push(JSON.parse(new TextDecoder().decode(out.stdout)).rss / 2 ** 20);
    }
    const g = await startupGraph(file, root);
    console.log(
      `${label} | ${median(times).toFixed(3)} | ${median(rss).toFixed(0)} | ${g.local} | ${g.npm.length} ${
        g.npm.length ? `(${g.npm.join(", ")})` : ""
      }`,
    );
  }
}

runMain(main);
