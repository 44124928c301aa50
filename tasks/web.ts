/**
 * `deno task web [--port N] [--out DIR]`: builds the analyzer page (`web/`) and serves it on
 * 127.0.0.1, printing its URL. `deno task web:build --out DIR` only writes the static files (for
 * any static host): `index.html`, `style.css`, and three modules bundled by `deno bundle`
 * (esbuild underneath; Deno's own bundler, so no second toolchain): `app.js` (the page, with the
 * report module's plots and npm `vega`/`vega-lite`), `worker.js` (the analysis: `io/`, `esd/`,
 * `kernels/`, the same modules as `deno task analyze`) and `eig_worker.js` (the eigenvalue pool's
 * worker, WebAssembly inside).
 * @module
 */
import { parseArgs } from "node:util";
import { OptionError } from "../util/errors.ts";
import { runMain } from "../cli/main.ts";
import { numFlag, parsed } from "./_args.ts";

const USAGE = `usage: deno task web [--port N] [--host H] [--out DIR]
       deno task web:build --out DIR
  --out DIR     where the static files go (web: a temporary directory)
  --port N      port to serve on (default 8787; 0 picks a free one)
  --host H      address to listen on (default 127.0.0.1)
  --build-only  write the files and exit (what web:build runs)`;

const ROOT = new URL("../", import.meta.url).pathname;
const BUNDLES: [string, string][] = [["web/app.ts", "app.js"], ["web/worker.ts", "worker.js"], [
  "web/eig_worker.ts",
  "eig_worker.js",
]];
const STATIC = ["index.html", "style.css"];

/**
 * Writes the page into `out`: the static files and the three bundles.
 * @param out The directory (created if needed).
 * @returns The files written.
 */
export async function buildWeb(out: string): Promise<string[]> {
  await Deno.mkdir(out, { recursive: true });
  for (const [src, dst] of BUNDLES) {
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--minify",
        "-o",
        `${out}/${dst}`,
        `${ROOT}${src}`,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!r.success) {
      throw new Error(`deno bundle ${src} failed:\n${new TextDecoder().decode(r.stderr)}`);
    }
  }
  for (const f of STATIC) await Deno.copyFile(`${ROOT}web/${f}`, `${out}/${f}`);
  return [...STATIC, ...BUNDLES.map(([, d]) => d)];
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  png: "image/png",
};

/**
 * Serves a built page from `dir` (GET only; nothing outside it).
 * @param dir The directory {@link buildWeb} wrote.
 * @param port Port (0: any free one).
 * @param hostname Address (default 127.0.0.1).
 * @returns The server and its URL.
 */
export function serveWeb(
  dir: string,
  port: number,
  hostname = "127.0.0.1",
): { server: Deno.HttpServer; url: string } {
  const server = Deno.serve({ port, hostname, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname.replace(/^\/+/, "") || "index.html";
    if (req.method !== "GET" || path.includes("..") || path.includes("/")) {
      return new Response("not found", { status: 404 });
    }
    try {
      const body = await Deno.readFile(`${dir}/${path}`);
      return new Response(body, {
        headers: { "content-type": TYPES[path.split(".").pop()!] ?? "application/octet-stream" },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return { server, url: `http://${hostname}:${server.addr.port}/` };
}

if (import.meta.main) {
  await runMain(async () => {
    const { values: v } = parsed(() =>
      parseArgs({
        args: Deno.args,
        options: {
          out: { type: "string" },
          port: { type: "string" },
          host: { type: "string" },
          "build-only": { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
      }), USAGE);
    if (v.help) {
      console.log(USAGE);
      return;
    }
    if (v["build-only"] && !v.out) throw new OptionError(`web:build needs --out DIR\n${USAGE}`);
    const port = numFlag("port", v.port, 8787, { int: true, min: 0 }, USAGE);
    const out = v.out ?? await Deno.makeTempDir({ prefix: "tempbalance-web-" });
    const files = await buildWeb(out);
    console.error(`built ${files.join(", ")} in ${out}`);
    if (v["build-only"]) return;
    let url: string;
    try {
      ({ url } = serveWeb(out, port, v.host ?? "127.0.0.1"));
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        throw new OptionError(`port ${port} is in use: pass --port N (0 picks a free one)`);
      }
      throw e;
    }
    console.log(`analyzer page: ${url}  (Ctrl-C stops it)`);
  });
}
