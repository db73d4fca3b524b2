/**
 * The shared scenarios (tests/_util/scenarios.ts) against the client of this runtime. The browser
 * build runs the same table in headless Chromium (tests/browser/chromium_test.ts), so the two
 * clients keep one behaviour.
 */

import { after, before, describe, it } from "node:test";
import * as root from "../../mod.ts";
import { PcreError } from "../../src/rom/mod.ts";
import { guarded } from "../_util/async.ts";
import { type Lib, scenarios } from "../_util/scenarios.ts";
import { type ScenarioServer, startScenarioServer } from "../_util/scenario_server.ts";
import { closedPort } from "../_util/servers.ts";

const lib = { ...root, PcreError } as unknown as Lib;

describe("the shared scenarios, on the client of this runtime", () => {
  let server: ScenarioServer;
  let refusedUrl: string;
  before(async () => {
    server = await startScenarioServer();
    refusedUrl = `ws://127.0.0.1:${await closedPort()}/`;
  });
  after(() => server.close());

  for (const scenario of scenarios) {
    it(
      scenario.name,
      { timeout: 30_000 },
      guarded((scope) =>
        scenario.run(lib, {
          kind: "server",
          url: (path) => server.url(path),
          refusedUrl,
          restart: () => server.restart(),
          defer: (cleanup) => scope.defer(cleanup),
        }), 25_000),
    );
  }
});
