/**
 * The script of the browser test page (bundled by tests/browser/chromium_test.ts for the browser):
 * the browser build and the shared scenarios, run one at a time on the test's request. The test
 * process restarts the server through `romTestRestart`, a function playwright exposes to the page.
 */

import * as browserBuild from "../../src/browser/mod.ts";
import { type Lib, scenarios } from "../_util/scenarios.ts";

interface PageGlobals {
  romTestRestart(): Promise<void>;
  runScenario(name: string, urls: { base: string; refusedUrl: string }): Promise<string>;
  scenarioNames: string[];
}

const page = globalThis as unknown as PageGlobals;
const lib = browserBuild as unknown as Lib;

page.scenarioNames = scenarios.map((s) => s.name);
page.runScenario = async (name, urls) => {
  const scenario = scenarios.find((s) => s.name === name);
  if (!scenario) throw new Error(`no scenario ${JSON.stringify(name)}`);
  const cleanups: Array<() => unknown> = [];
  try {
    await scenario.run(lib, {
      kind: "browser",
      url: (path = "/") => `${urls.base}${path.startsWith("/") ? path : `/${path}`}`,
      refusedUrl: urls.refusedUrl,
      restart: () => page.romTestRestart(),
      defer: (cleanup) => cleanups.push(cleanup),
    });
  } catch (error) {
    // The message and the stack cross to the test process as text.
    throw new Error(error instanceof Error ? `${error.message}\n${error.stack}` : String(error));
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch { /* released as far as possible */ }
    }
  }
  return "ok";
};
