/**
 * Clients made one after another with equal options share their resolved settings
 * (`src/client/settings_cache.ts`), and only then: a change to any option, to an object the
 * caller passed and changed in between, or to the proxy environment gives new settings.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveSettings } from "../../src/client/options.ts";

const URL_TEXT = "ws://feeds.example.test:8088/ari/events?app=demo";

/** Sets (or, with undefined, removes) an environment variable for the length of `body`. */
function withEnv(name: string, value: string | undefined, body: () => void): void {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process!
    .env;
  const before = env[name];
  if (value === undefined) delete env[name];
  else env[name] = value;
  try {
    body();
  } finally {
    if (before === undefined) delete env[name];
    else env[name] = before;
  }
}

describe("settings shared by clients made with equal options", () => {
  it("equal literals, headers and protocols included: the same settings", () => {
    const make = () =>
      resolveSettings(URL_TEXT, {
        headers: { Authorization: "Basic dTpw" },
        protocols: ["ari"],
        pingInterval: 0,
        compression: false,
        outbox: { maxMessages: 10 },
      });
    const first = make();
    assert.equal(make(), first);
    assert.equal(make().plan, first.plan);
  });

  it("any option different: settings of its own", () => {
    const base = { pingInterval: 0, compression: false };
    const first = resolveSettings(URL_TEXT, base);
    for (
      const options of [
        { pingInterval: 1, compression: false },
        { pingInterval: 0, compression: true },
        { pingInterval: 0, compression: false, maxQueue: 5 },
        { pingInterval: 0 },
      ]
    ) {
      const other = resolveSettings(URL_TEXT, options);
      assert.notEqual(other, first, JSON.stringify(options));
    }
    assert.notEqual(resolveSettings(URL_TEXT + "&x=1", base), first, "another URL");
  });

  it("a headers object changed between two clients: the second sends the new value", () => {
    const headers: Record<string, string> = { Authorization: "Bearer one" };
    const first = resolveSettings(URL_TEXT, { headers });
    headers.Authorization = "Bearer two";
    const second = resolveSettings(URL_TEXT, { headers });
    assert.notEqual(second, first);
    assert.deepEqual(second.plan!.headers, [["Authorization", "Bearer two"]]);
    assert.deepEqual(first.plan!.headers, [["Authorization", "Bearer one"]]);
  });

  it("header pairs by contents; URL objects and Headers instances are not shared", () => {
    const pairs: Array<[string, string]> = [["X-Token", "a"]];
    const first = resolveSettings(URL_TEXT, { headers: pairs });
    assert.equal(resolveSettings(URL_TEXT, { headers: [["X-Token", "a"]] }), first);
    pairs[0][1] = "b";
    const changed = resolveSettings(URL_TEXT, { headers: pairs });
    assert.notEqual(changed, first);
    assert.deepEqual(changed.plan!.headers, [["X-Token", "b"]]);
    const url = new URL(URL_TEXT);
    assert.notEqual(resolveSettings(url, {}), resolveSettings(url, {}));
    const headers = new Headers({ "X-Token": "a" });
    assert.notEqual(resolveSettings(URL_TEXT, { headers }), resolveSettings(URL_TEXT, { headers }));
  });

  it("reconnect: each client has its own settings (the policy counts its attempts)", () => {
    const options = { reconnect: true };
    const first = resolveSettings(URL_TEXT, options);
    assert.notEqual(resolveSettings(URL_TEXT, options), first);
  });

  it("functions and the tls object by identity", () => {
    const onOpen = () => {};
    const tls = { ca: "x" };
    const first = resolveSettings(URL_TEXT, { onOpen, tls });
    assert.equal(resolveSettings(URL_TEXT, { onOpen, tls }), first);
    assert.notEqual(resolveSettings(URL_TEXT, { onOpen: () => {}, tls }), first);
    assert.notEqual(resolveSettings(URL_TEXT, { onOpen, tls: { ca: "x" } }), first);
  });

  it("the proxy environment changed between two clients: new settings with the new proxy", () => {
    withEnv("ws_proxy", undefined, () => {
      const first = resolveSettings(URL_TEXT, {});
      assert.equal(first.proxy, undefined);
      withEnv("ws_proxy", "http://127.0.0.1:3128", () => {
        const second = resolveSettings(URL_TEXT, {});
        assert.notEqual(second, first);
        assert.notEqual(second.proxy, undefined, "the proxy from the environment");
      });
    });
  });
});
