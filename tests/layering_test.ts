import { deepEqual } from "node:assert/strict";

// Imports run one way: a folder imports only from its own layer's folders or from lower layers, and
// folders of one layer do not import each other in a cycle.
const LAYERS: string[][] = [
  ["util", "kernels", "io"],
  ["esd", "models", "optim", "data"],
  ["train"],
  ["report"],
  ["cli"],
  ["tasks", "bench", "web"],
];
const rank = new Map(LAYERS.flatMap((l, i) => l.map((f) => [f, i] as const)));
const root = new URL("../", import.meta.url).pathname;

async function importsOf(folder: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for await (const e of Deno.readDir(`${root}${folder}`)) {
    if (!e.isFile || !e.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(`${root}${folder}/${e.name}`);
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"\.\.\/([a-z_]+)\//g)) {
      const list = out.get(m[1]) ?? [];
      list.push(e.name);
      out.set(m[1], list);
    }
  }
  return out;
}

Deno.test("imports run one way: kernels/io → esd/models/optim/data → train → report → cli → tasks/bench/web", async () => {
  const wrong: string[] = [];
  const edges = new Map<string, Set<string>>();
  for (const folder of rank.keys()) {
    for (const [to, files] of await importsOf(folder)) {
      const r = rank.get(to);
      if (r === undefined) continue;
      if (r > rank.get(folder)!) wrong.push(`${folder}/{${[...new Set(files)].join(",")}} imports ${to}/`);
      if (r === rank.get(folder) && to !== folder) {
        edges.set(folder, (edges.get(folder) ?? new Set()).add(to));
      }
    }
  }
  for (const [a, tos] of edges) {
    for (const b of tos) if (edges.get(b)?.has(a)) wrong.push(`${a}/ and ${b}/ import each other`);
  }
  deepEqual(wrong, []);
});
