/**
 * Headless Chromium for the browser tests: Debian's `chromium` driven by `playwright-core`, and
 * esbuild bundles of the pages' scripts for the browser. Only tests/browser/ imports this file
 * (run by scripts/test_browser.mjs on Node.js), so the suites of Deno and Bun never load
 * playwright.
 *
 * @module
 */

import { existsSync } from "node:fs";
import * as esbuild from "esbuild";
import { type Browser, chromium, type Page } from "playwright-core";

/** Where Debian puts it; `CHROMIUM` overrides. */
export const CHROMIUM_PATH = (globalThis as { process?: { env: Record<string, string> } })
  .process?.env.CHROMIUM ?? "/usr/bin/chromium";

/**
 * Launches headless Chromium.
 *
 * @throws when the executable is missing (a failure, never a skip: CI installs it).
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} not found: install Debian's chromium (apt-get install chromium)`,
    );
  }
  return await chromium.launch({ executablePath: CHROMIUM_PATH, args: ["--no-sandbox"] });
}

/** Bundles `entry` for the browser (ESM, one file) and returns the code. */
export async function bundleForBrowser(entry: string, minify = false): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify,
    write: false,
    logLevel: "warning",
  });
  return result.outputFiles[0].text;
}

/** Collects what the page printed to its console and the errors it threw, for failure messages. */
export function pageLog(page: Page): string[] {
  const log: string[] = [];
  page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  return log;
}
