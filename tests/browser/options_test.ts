/**
 * The browser build's options (src/browser/options.ts): the server client's names, defaults and
 * checks, and an `ArgumentError` `UNSUPPORTED_IN_BROWSER` naming each option a browser cannot
 * honour, before any attempt. Runs without a browser.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ArgumentError, connect, WebSocketClient } from "../../src/browser/mod.ts";
import { checkUrl, resolveSettings } from "../../src/browser/options.ts";

const URL_ = "ws://127.0.0.1:1/feed";

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ArgumentError, String(error));
    assert.equal(error.code, "UNSUPPORTED_IN_BROWSER");
    assert.match(error.message, pattern);
    return true;
  });
}

describe("browser options", () => {
  it("applies the server client's defaults (pingInterval 0: a page cannot ping)", () => {
    const s = resolveSettings(URL_, {});
    assert.deepEqual(
      [s.href, s.openTimeout, s.closeTimeout, s.idleTimeout, s.maxQueue, s.reconnect, s.outbox],
      [URL_, 10_000, 10_000, 0, 1024, undefined, undefined],
    );
    assert.deepEqual(resolveSettings(URL_, { outbox: true }).outbox, {
      maxMessages: 1024,
      maxBytes: 16 * 1024 * 1024,
      ttl: 60_000,
    });
    assert.ok(resolveSettings(URL_, { reconnect: true }).reconnect);
  });

  it("refuses, by name, every option a browser cannot honour", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ headers: { Authorization: "Basic x" } }, /headers/],
      [{ headers: [["a", "b"]] }, /headers/],
      [{ headers: () => ({}) }, /headers/],
      [{ proxy: "http://127.0.0.1:3128" }, /proxy/],
      [{ tls: {} }, /tls/],
      [{ connector: () => {} }, /connector/],
      [{ extensions: [] }, /extensions/],
      [{ random: () => {} }, /random/],
      [{ maxMessageSize: 1 }, /maxMessageSize/],
      [{ maxFragments: 1 }, /maxFragments/],
      [{ fragmentSize: 1 }, /fragmentSize/],
      [{ compression: false }, /compression/],
      [{ compression: { threshold: 0 } }, /compression/],
      [{ pingInterval: 1000 }, /pingInterval/],
    ];
    for (const [options, pattern] of cases) {
      refused(() => resolveSettings(URL_, options), pattern);
    }
    refused(() => checkUrl("ws://user:secret@127.0.0.1/"), /user and password/);
  });

  it("accepts what asks for nothing: empty headers, compression true, pingInterval 0", () => {
    for (
      const options of [{ headers: {} }, { headers: [] }, { compression: true }, {
        pingInterval: 0,
        pingTimeout: 5000,
      }]
    ) {
      assert.equal(resolveSettings(URL_, options).href, URL_);
    }
  });

  it("checks values as the server client does (INVALID_OPTION, INVALID_URL, INVALID_SUBPROTOCOL)", () => {
    const code = (fn: () => unknown, expected: string) =>
      assert.throws(fn, (e: unknown) => e instanceof ArgumentError && e.code === expected);
    code(() => resolveSettings(URL_, { openTimeout: -1 }), "INVALID_OPTION");
    code(() => resolveSettings(URL_, { idleTimeout: Number.NaN }), "INVALID_OPTION");
    code(() => resolveSettings(URL_, { reconnect: { factor: 0 } }), "INVALID_OPTION");
    code(() => resolveSettings(URL_, { outbox: { maxMessages: 0 } }), "INVALID_OPTION");
    code(() => resolveSettings(URL_, { onOpen: 1 as never }), "INVALID_OPTION");
    code(() => resolveSettings("http://127.0.0.1/", {}), "INVALID_URL");
    code(() => resolveSettings("ws://127.0.0.1/#x", {}), "INVALID_URL");
    code(() => resolveSettings(URL_, { protocols: ["a b"] }), "INVALID_SUBPROTOCOL");
    code(() => resolveSettings(URL_, { protocols: ["x", "x"] }), "INVALID_SUBPROTOCOL");
    assert.equal(resolveSettings(() => URL_, {}).href, undefined, "a url function: per attempt");
  });

  it("without a WebSocket in the environment, refuses at once (never a silent failure)", async () => {
    const g = globalThis as { WebSocket?: unknown };
    const saved = g.WebSocket;
    delete g.WebSocket;
    try {
      refused(() => new WebSocketClient(URL_), /no WebSocket/);
      await assert.rejects(
        connect(URL_),
        (e: unknown) => e instanceof ArgumentError && e.code === "UNSUPPORTED_IN_BROWSER",
      );
    } finally {
      if (saved !== undefined) g.WebSocket = saved;
    }
  });
});
