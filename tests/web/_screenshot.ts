/**
 * The README's screenshot of the page: taken by the page tests into `$TB_SCREENSHOT` when it is set
 * (`TB_SCREENSHOT=docs/web/analyzer.png deno task test` refreshes the committed one).
 * @module
 */
import type { Page } from "./_browser.ts";

/** Writes a full-page PNG of `page` to `$TB_SCREENSHOT`, if set. */
export async function takeScreenshot(page: Page): Promise<void> {
  const path = Deno.env.get("TB_SCREENSHOT");
  if (!path) return;
  await page.screenshot({ path, fullPage: true });
}
