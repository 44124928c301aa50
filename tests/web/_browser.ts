/**
 * The browser the page tests drive: Debian's `chromium-headless-shell` (or `$CHROME_PATH`), launched
 * by npm `puppeteer-core` with WebGPU enabled, and the page built into a temporary directory and
 * served by `Deno.serve`. Where no browser is installed, {@link BROWSER} is null and the tests
 * are reported as ignored, with one message.
 * @module
 */
import { buildWeb, serveWeb } from "../../tasks/web.ts";

// The page's DOM as the callbacks given to page.evaluate see it (they run in the browser, not here).
// deno-lint-ignore no-explicit-any
declare const document: any;

function findBrowser(): string | null {
  const candidates = [Deno.env.get("CHROME_PATH"), "/usr/bin/chromium-headless-shell", "/usr/bin/chromium"];
  for (const c of candidates) {
    if (!c) continue;
    try {
      if (Deno.statSync(c).isFile) return c;
    } catch { /* next */ }
  }
  return null;
}

/** The browser executable, or null (then the page tests are skipped). */
export const BROWSER: string | null = findBrowser();
if (!BROWSER) {
  console.warn(
    "%cskipping the browser tests: no chromium-headless-shell (apt install chromium-headless-shell, or set CHROME_PATH)",
    "color: yellow",
  );
}

// The parts of npm puppeteer-core the tests use. Its own types are not imported: they pull in the
// DOM library, which would change how every other test file type-checks.
// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => unknown;
/** A puppeteer element handle (the file input). */
export interface Handle {
  uploadFile(...paths: string[]): Promise<void>;
}
/** A puppeteer page. */
export interface Page {
  goto(url: string): Promise<unknown>;
  setViewport(v: { width: number; height: number }): Promise<void>;
  $(selector: string): Promise<Handle | null>;
  click(selector: string): Promise<void>;
  evaluate<T>(fn: (...args: never[]) => T | Promise<T>, ...args: unknown[]): Promise<T>;
  waitForFunction(fn: Fn, options: { timeout: number }, ...args: unknown[]): Promise<unknown>;
  screenshot(options: { path: string; fullPage: boolean }): Promise<unknown>;
  close(): Promise<void>;
}
/** A puppeteer browser. */
export interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
  process(): { pid?: number } | null;
}

/** A running page: the browser, the server and the URL. */
export interface Session {
  browser: Browser;
  url: string;
  dir: string;
  close(): Promise<void>;
}

/** Builds the page, serves it, and launches the browser (with WebGPU unless `webgpu` is false). */
export async function open(webgpu = true): Promise<Session> {
  const spec = "puppeteer-core"; // not a literal: see the note on its types above
  const { default: puppeteer } = await import(spec);
  const dir = await Deno.makeTempDir({ prefix: "web-test-" });
  await buildWeb(`${dir}/site`);
  const { server, url } = serveWeb(`${dir}/site`, 0);
  const browser: Browser = await puppeteer.launch({
    executablePath: BROWSER!,
    // WebGPU needs the unsafe flag in this headless shell (SwiftShader's adapter); no sandbox in CI
    // containers.
    args: ["--no-sandbox", ...(webgpu ? ["--enable-unsafe-webgpu"] : []), "--disable-dev-shm-usage"],
  });
  return {
    browser,
    url,
    dir,
    close: async () => {
      await browser.close();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** What the page exposes on `globalThis.analyzer`. */
export interface PageState {
  result: {
    layers: { name: string; alpha: number | null; spectral_norm: number | null }[];
    seconds: number;
    timings: Record<string, number>;
  } | null;
  error: string;
  busy: boolean;
  runs: number;
}

/** Chooses `files` in the page's file input, sets the options, presses Analyze and waits for the end. */
export async function analyzeIn(
  page: Page,
  files: string[],
  options: Record<string, string | boolean> = {},
  timeout = 300_000,
): Promise<PageState> {
  const input = await page.$("input#files");
  await input!.uploadFile(...files);
  for (const [name, value] of Object.entries(options)) {
    await page.evaluate(
      (name, value) => {
        const el = document.querySelector(`#options [name="${name}"]`);
        if (el.type === "checkbox") el.checked = value === true;
        else el.value = String(value);
      },
      name,
      value,
    );
  }
  const runs = await page.evaluate(() => (globalThis as unknown as { analyzer: PageState }).analyzer.runs);
  await page.click("#run");
  await page.waitForFunction(
    (n) => (globalThis as unknown as { analyzer: PageState }).analyzer.runs > n,
    { timeout },
    runs,
  );
  return await page.evaluate(() => {
    const a = (globalThis as unknown as { analyzer: PageState }).analyzer;
    return { result: a.result, error: a.error, busy: a.busy, runs: a.runs };
  });
}
