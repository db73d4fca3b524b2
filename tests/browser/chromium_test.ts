/**
 * The shared scenarios (tests/_util/scenarios.ts) in headless Chromium, against the browser build
 * (src/browser/mod.ts, bundled for the browser) over Chromium's own WebSocket. The client of
 * Deno, Bun and Node.js runs the same table in tests/client/browser_parity_test.ts.
 */

import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { withTimeout } from "../_util/async.ts";
import { bundleForBrowser, launchChromium, pageLog } from "../_util/chromium.ts";
import { scenarios } from "../_util/scenarios.ts";
import { type ScenarioServer, startScenarioServer } from "../_util/scenario_server.ts";
import { closedPort } from "../_util/servers.ts";

interface PageGlobals {
  runScenario(name: string, urls: { base: string; refusedUrl: string }): Promise<string>;
  scenarioNames: string[];
}

describe("the shared scenarios, in headless Chromium (the browser build)", () => {
  let server: ScenarioServer;
  let browser: Browser;
  let page: Page;
  let log: string[];
  let refusedUrl: string;

  before(async () => {
    const script = await bundleForBrowser("tests/browser/page.ts");
    server = await startScenarioServer({
      "/": {
        type: "text/html; charset=utf-8",
        body: '<!doctype html><meta charset="utf-8"><title>scenarios</title>' +
          '<script type="module" src="/page.js"></script>',
      },
      "/page.js": { type: "text/javascript; charset=utf-8", body: script },
    });
    refusedUrl = `ws://127.0.0.1:${await closedPort()}/`;
    browser = await launchChromium();
    page = await browser.newPage();
    log = pageLog(page);
    await page.exposeFunction("romTestRestart", () => server.restart());
    await page.goto(`http://127.0.0.1:${server.port}/`);
    await page.waitForFunction(() => "runScenario" in globalThis, undefined, { timeout: 10_000 });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("the page has every scenario of the table", async () => {
    const names = await page.evaluate(() => (globalThis as unknown as PageGlobals).scenarioNames);
    if (JSON.stringify(names) !== JSON.stringify(scenarios.map((s) => s.name))) {
      throw new Error(`the page's table differs: ${JSON.stringify(names)}`);
    }
  });

  for (const scenario of scenarios) {
    it(scenario.name, { timeout: 30_000 }, async () => {
      const before = log.length;
      try {
        await withTimeout(
          page.evaluate(
            ({ name, urls }) => (globalThis as unknown as PageGlobals).runScenario(name, urls),
            { name: scenario.name, urls: { base: `ws://127.0.0.1:${server.port}`, refusedUrl } },
          ),
          25_000,
          scenario.name,
        );
      } catch (error) {
        const printed = log.slice(before).filter((l) => !l.includes("WebSocket connection to"));
        throw new Error(
          `${error instanceof Error ? error.message : error}` +
            (printed.length ? `\npage log:\n${printed.join("\n")}` : ""),
        );
      }
    });
  }
});
