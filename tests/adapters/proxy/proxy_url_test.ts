/** Proxy URLs (src/adapters/proxy/proxy_url.ts): schemes, ports, and credentials kept hidden. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { parseProxyUrl, redactUrl } from "../../../src/adapters/proxy/proxy_url.ts";
import { ArgumentError } from "../../../src/core/errors.ts";

describe("parseProxyUrl", () => {
  it("reads every scheme with its default port; no scheme means http://", () => {
    const cases: [string, string, number][] = [
      ["http://proxy.test", "http", 80],
      ["https://proxy.test", "https", 443],
      ["socks5://proxy.test", "socks5", 1080],
      ["socks5h://proxy.test:1081", "socks5h", 1081],
      ["socks4://proxy.test", "socks4", 1080],
      ["socks4a://proxy.test", "socks4a", 1080],
      ["proxy.test:3128", "http", 3128],
      ["SOCKS5H://[::1]:9050", "socks5h", 9050],
    ];
    for (const [input, protocol, port] of cases) {
      const p = parseProxyUrl(input);
      assert.deepEqual([p.protocol, p.port], [protocol, port], input);
    }
    assert.equal(parseProxyUrl("socks5h://[::1]:9050").hostname, "::1");
    assert.equal(parseProxyUrl("socks5h://[::1]:9050").display, "socks5h://[::1]:9050");
    assert.equal(parseProxyUrl("https://p.test").secure, true);
    assert.equal(parseProxyUrl("socks4a://p.test").socks, true);
  });

  it("decodes credentials for the proxy and shows them nowhere else", () => {
    const p = parseProxyUrl("socks5://us%40er:p%3Ass%20word@proxy.test:1080");
    assert.deepEqual(p.credentials(), { username: "us@er", password: "p:ss word" });
    assert.equal(
      parseProxyUrl("http://rom:s3cret@p.test").authorization(),
      `Basic ${btoa("rom:s3cret")}`,
    );
    assert.equal(parseProxyUrl("http://p.test").authorization(), undefined);
    for (
      const shown of [
        JSON.stringify(p),
        inspect(p, { showHidden: true, depth: 9 }),
        String(p),
        p.display,
      ]
    ) {
      assert.doesNotMatch(shown, /p:ss|p%3Ass|us@er|us%40er/, shown);
    }
  });

  it("refuses other schemes, no host and bad ports with INVALID_OPTION, credentials hidden", () => {
    for (
      const bad of [
        "ftp://p.test",
        "ws://p.test",
        "http://",
        "socks5://:1080",
        "not a url",
        "http://p.test:99999",
      ]
    ) {
      assert.throws(() => parseProxyUrl(bad), (e: unknown) => {
        assert.ok(e instanceof ArgumentError, `${bad}: ${e}`);
        assert.equal(e.code, "INVALID_OPTION");
        return true;
      });
    }
    assert.throws(
      () => parseProxyUrl("ftp://me:hunter2@p.test"),
      (e: Error) => !e.message.includes("hunter2") && /\*\*\*@p\.test/.test(e.message),
    );
    assert.throws(() => parseProxyUrl(`socks5://${"u".repeat(256)}:x@p.test`), /255 bytes/);
    assert.equal(redactUrl("http://a:b@h:1/x@y"), "http://***@h:1/x@y");
  });
});
