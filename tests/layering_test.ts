import { deepEqual, ok } from "node:assert/strict";
import { dirname, join, relative } from "node:path";

// Imports run one way: a folder imports only from its own layer's folders or from lower layers, and
// folders of one layer do not import each other in a cycle. Every .ts file under a folder counts,
// sub-folders included (kernels/ops/x.ts belongs to kernels), and every relative specifier is
// resolved, however many "../" it has.
const LAYERS: string[][] = [
  ["util", "kernels", "io"],
  ["esd", "models", "optim", "data"],
  ["train", "prune"],
  ["report"],
  ["cli"],
  ["tasks", "bench", "web"],
];
const root = new URL("../", import.meta.url).pathname;

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory && e.name !== "node_modules" && !e.name.startsWith(".")) yield* tsFiles(p);
    else if (e.isFile && e.name.endsWith(".ts")) yield p;
  }
}

/** The top folder of a path under `base` ("" for a file at the top). */
const topOf = (base: string, path: string) => {
  const rel = relative(base, path).split("/");
  return rel.length > 1 ? rel[0] : "";
};

/**
 * Every import that goes up a layer, and every pair of same-layer folders that import each other.
 * @param base The tree's root.
 * @param layers The layers, lowest first.
 */
export async function layeringViolations(base: string, layers: string[][]): Promise<string[]> {
  const rank = new Map(layers.flatMap((l, i) => l.map((f) => [f, i] as const)));
  const wrong = new Set<string>();
  const edges = new Map<string, Set<string>>();
  for (const folder of rank.keys()) {
    const dir = join(base, folder);
    if (!await Deno.stat(dir).then(() => true, () => false)) continue;
    for await (const file of tsFiles(dir)) {
      const text = await Deno.readTextFile(file);
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.\.?\/[^"']+)["']/g)) {
        const to = topOf(base, join(dirname(file), m[1]));
        const r = rank.get(to);
        if (r === undefined || to === folder) continue;
        const here = relative(base, file);
        if (r > rank.get(folder)!) wrong.add(`${here} imports ${to}/ (${m[1]})`);
        if (r === rank.get(folder)) edges.set(folder, (edges.get(folder) ?? new Set()).add(to));
      }
    }
  }
  for (const [a, tos] of edges) {
    for (const b of tos) if (a < b && edges.get(b)?.has(a)) wrong.add(`${a}/ and ${b}/ import each other`);
  }
  return [...wrong];
}

Deno.test("imports run one way: kernels/io → esd/models/optim/data → train → report → cli → tasks/bench/web", async () => {
  deepEqual(await layeringViolations(root, LAYERS), []);
});

Deno.test("the layering check sees an upward import planted in a sub-folder, at any depth of ../", async () => {
  const tree = await Deno.makeTempDir();
  const write = async (p: string, text: string) => {
    await Deno.mkdir(dirname(join(tree, p)), { recursive: true });
    await Deno.writeTextFile(join(tree, p), text);
  };
  await write("kernels/ops/add.ts", `import { fit } from "../../train/trainer.ts";\n`);
  await write("kernels/runtime/gpu.ts", `export const x = 1;\n`);
  await write("kernels/ops/ok.ts", `import { x } from "../runtime/gpu.ts";\n`);
  await write("esd/a.ts", `import { y } from "../models/b.ts";\n`);
  await write("models/deep/b.ts", `export { z } from "../../esd/a.ts";\n`);
  await write("train/trainer.ts", `import { x } from "../kernels/runtime/gpu.ts";\n`);
  const found = await layeringViolations(tree, LAYERS);
  ok(found.includes("kernels/ops/add.ts imports train/ (../../train/trainer.ts)"), found.join("\n"));
  ok(found.includes("esd/ and models/ import each other"), found.join("\n"));
  deepEqual(found.length, 2, found.join("\n"));
});

/**
 * Every cycle of imports between files (value or type imports alike), as "a.ts → b.ts → a.ts".
 * @param base The tree's root.
 * @param folders The folders to scan.
 */
export async function fileCycles(base: string, folders: string[]): Promise<string[]> {
  const graph = new Map<string, string[]>();
  for (const folder of folders) {
    const dir = join(base, folder);
    if (!await Deno.stat(dir).then(() => true, () => false)) continue;
    for await (const file of tsFiles(dir)) {
      // Imports inside doc comments (runnable examples) are not the file's.
      const text = (await Deno.readTextFile(file)).replace(/\/\*[\s\S]*?\*\//g, "");
      const to = [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.\.?\/[^"']+\.ts)["']/g)]
        .map((m) => relative(base, join(dirname(file), m[1])));
      graph.set(relative(base, file), to);
    }
  }
  const cycles = new Set<string>(), state = new Map<string, "open" | "done">(), path: string[] = [];
  const visit = (f: string) => {
    state.set(f, "open");
    path.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === "open") {
        const loop = path.slice(path.indexOf(g));
        const start = loop.indexOf([...loop].sort()[0]); // one name per cycle, whatever the entry
        const norm = [...loop.slice(start), ...loop.slice(0, start)];
        cycles.add([...norm, norm[0]].join(" → "));
      } else if (!state.has(g)) visit(g);
    }
    path.pop();
    state.set(f, "done");
  };
  for (const f of [...graph.keys()].sort()) if (!state.has(f)) visit(f);
  return [...cycles];
}

Deno.test("no two files import each other, directly or round a loop", async () => {
  deepEqual(await fileCycles(root, LAYERS.flat()), []);
});

Deno.test("the cycle check finds a planted two-file and a three-file loop", async () => {
  const tree = await Deno.makeTempDir();
  await Deno.mkdir(join(tree, "optim"));
  await Deno.writeTextFile(join(tree, "optim/a.ts"), `import type { B } from "./b.ts";\n`);
  await Deno.writeTextFile(join(tree, "optim/b.ts"), `import { a } from "./a.ts";\n`);
  await Deno.writeTextFile(join(tree, "optim/c.ts"), `import { d } from "./d.ts";\n`);
  await Deno.writeTextFile(join(tree, "optim/d.ts"), `import { e } from "./e.ts";\n`);
  await Deno.writeTextFile(join(tree, "optim/e.ts"), `export { c } from "./c.ts";\n`);
  deepEqual((await fileCycles(tree, ["optim"])).sort(), [
    "optim/a.ts → optim/b.ts → optim/a.ts",
    "optim/c.ts → optim/d.ts → optim/e.ts → optim/c.ts",
  ]);
});
