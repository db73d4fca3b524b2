import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseWebSocketUrl } from "../../src/core/uri.ts";
import { ArgumentError } from "../../src/core/errors.ts";

function refused(input: string, pattern: RegExp) {
  assert.throws(() => parseWebSocketUrl(input), (error: unknown) => {
    assert.ok(error instanceof ArgumentError);
    assert.equal(error.code, "INVALID_URL");
    assert.match(error.message, pattern);
    return true;
  });
}

describe("parseWebSocketUrl", () => {
  it("uses port 80 for ws:// and 443 for wss:// and leaves them out of Host", () => {
    const ws = parseWebSocketUrl("ws://example.com/chat");
    assert.deepEqual([ws.secure, ws.hostname, ws.port, ws.host, ws.path], [
      false,
      "example.com",
      80,
      "example.com",
      "/chat",
    ]);
    const wss = parseWebSocketUrl("wss://example.com");
    assert.deepEqual([wss.secure, wss.port, wss.host, wss.path], [true, 443, "example.com", "/"]);
  });

  it("keeps an explicit port in Host, and the path and query in the resource name", () => {
    const u = parseWebSocketUrl("ws://127.0.0.1:8088/ari/events?app=demo&subscribeAll=true");
    assert.equal(u.port, 8088);
    assert.equal(u.host, "127.0.0.1:8088");
    assert.equal(u.path, "/ari/events?app=demo&subscribeAll=true");
  });

  it("accepts IPv6 literals: brackets in Host, none for the connection", () => {
    const u = parseWebSocketUrl("ws://[::1]:9001/x");
    assert.equal(u.hostname, "::1");
    assert.equal(u.host, "[::1]:9001");
  });

  it("turns user and password into a Basic Authorization value and drops them from href", () => {
    const u = parseWebSocketUrl("ws://asterisk:s%40cret@pbx.local:8088/ari/events?app=a");
    assert.equal(u.authorization, `Basic ${btoa("asterisk:s@cret")}`);
    assert.equal(u.href, "ws://pbx.local:8088/ari/events?app=a");
  });

  it("refuses other schemes, fragments and garbage before any socket is opened", () => {
    refused("http://example.com/", /unsupported URL scheme "http:"/);
    refused("ftp://example.com/", /unsupported URL scheme/);
    refused("ws://example.com/#frag", /fragment/);
    refused("not a url", /invalid URL/);
    refused("", /invalid URL/);
  });

  it("refuses credentials that are not percent-encoded UTF-8 with INVALID_URL, not a URIError", () => {
    // Found by scripts/fuzz/run.ts (target url): decodeURIComponent threw a URIError.
    refused("wss://user:pa%0ss@example.com/", /credentials/);
    refused("ws://%E0@example.com/", /credentials/);
    refused("ws://u:%C3%28@example.com/", /credentials/);
  });

  it("reads ws+unix:///socket/path:/request/path (the ws library's form)", () => {
    const u = parseWebSocketUrl("ws+unix:///run/app%20dir/ws.sock:/events/a%2Fb?x=1");
    assert.equal(u.socketPath, "/run/app dir/ws.sock");
    assert.equal(u.path, "/events/a%2Fb?x=1");
    assert.equal(u.host, "localhost");
    assert.equal(u.secure, false);
    const bare = parseWebSocketUrl("ws+unix:///tmp/s.sock");
    assert.deepEqual([bare.socketPath, bare.path], ["/tmp/s.sock", "/"]);
    assert.equal(parseWebSocketUrl("ws://example.com/").socketPath, undefined);
    refused("ws+unix://host/tmp/s.sock:/", /take no host/);
    refused("ws+unix:///:/x", /no socket path/);
    refused("ws+unix:///tmp/s.sock:/x#f", /fragment/);
    refused("ws+unix:///tmp/s.sock:x", /must start with "\/"/);
  });
});
