import { deepEqual, equal, ok } from "node:assert/strict";
import { runTask, taskFile } from "../_task.ts";

Deno.test("deno task web:build --out DIR writes the page (index.html, style.css, three bundles); without --out it says so", async () => {
  const dir = await Deno.makeTempDir();
  const r = await runTask(taskFile("web"), ["--build-only", "--out", `${dir}/site`]);
  equal(r.code, 0, r.err);
  const files = [...Deno.readDirSync(`${dir}/site`)].map((e) => e.name).sort();
  deepEqual(files, ["app.js", "eig_worker.js", "index.html", "style.css", "worker.js"]);
  const html = await Deno.readTextFile(`${dir}/site/index.html`);
  ok(html.includes('src="app.js"') && html.includes('href="style.css"'));
  // The bundles are self-contained browser modules: no Deno-only or local imports left.
  for (const f of ["app.js", "worker.js", "eig_worker.js"]) {
    const js = await Deno.readTextFile(`${dir}/site/${f}`);
    ok(!/\bfrom\s*["'](?:\.\.?\/|npm:|jsr:|node:)/.test(js), `${f} imports something unbundled`);
  }
  const bad = await runTask(taskFile("web"), ["--build-only"]);
  equal(bad.code, 1);
  ok(/web:build needs --out DIR/.test(bad.err), bad.err);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task web serves the built page on 127.0.0.1 and prints its URL; nothing outside the folder is served", async () => {
  const { buildWeb, serveWeb } = await import("../../tasks/web.ts");
  const dir = await Deno.makeTempDir();
  await buildWeb(dir);
  const { server, url } = serveWeb(dir, 0);
  try {
    ok(url.startsWith("http://127.0.0.1:"));
    const page = await fetch(url);
    equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    ok((await page.text()).includes("Spectral analyzer"));
    const js = await fetch(`${url}worker.js`);
    equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
    await js.body?.cancel();
    for (const path of ["../deno.json", "%2e%2e/deno.json", "nope.js"]) {
      const r = await fetch(`${url}${path}`);
      equal(r.status, 404, path);
      await r.body?.cancel();
    }
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
