/**
 * SOCKS messages (src/adapters/proxy/socks.ts) byte by byte, the readers fed at every split
 * point, and the reply codes as the reasons a `PROXY_ERROR` gives.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  readSocks4Reply,
  readSocks5AuthReply,
  readSocks5Method,
  readSocks5Reply,
  socks4ConnectRequest,
  socks5AuthRequest,
  socks5ConnectRequest,
  socks5Greeting,
  type SocksVerdict,
} from "../../../src/adapters/proxy/socks.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** Feeds `message` as a reader would see it grow, and returns the first final verdict. */
function feed(reader: (b: Uint8Array) => SocksVerdict, message: Uint8Array): SocksVerdict {
  for (let n = 0; n <= message.length; n++) {
    const verdict = reader(message.subarray(0, n));
    if (!("need" in verdict)) {
      assert.equal(n, "ok" in verdict ? verdict.length : n, "decided before its last byte");
      return verdict;
    }
    assert.ok(verdict.need > n, `asks for more than it has at ${n}`);
  }
  return reader(message);
}

describe("SOCKS5 messages (RFC 1928, RFC 1929)", () => {
  it("greets with NONE, plus USERNAME/PASSWORD when it has credentials", () => {
    assert.deepEqual(socks5Greeting(false), bytes(5, 1, 0));
    assert.deepEqual(socks5Greeting(true), bytes(5, 2, 0, 2));
  });

  it("sends the sub-negotiation with lengths, UTF-8", () => {
    assert.deepEqual(
      socks5AuthRequest("rom", "pé"),
      bytes(1, 3, ...ascii("rom"), 3, 0x70, 0xc3, 0xa9),
    );
  });

  it("CONNECT to a name, an IPv4 and an IPv6 literal", () => {
    assert.deepEqual(
      socks5ConnectRequest("ex.test", 443),
      bytes(5, 1, 0, 3, 7, ...ascii("ex.test"), 1, 187),
    );
    assert.deepEqual(socks5ConnectRequest("10.1.2.3", 80), bytes(5, 1, 0, 1, 10, 1, 2, 3, 0, 80));
    assert.deepEqual(
      socks5ConnectRequest("2001:db8::1", 65535),
      bytes(5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 255, 255),
    );
    assert.throws(() => socks5ConnectRequest(`${"a".repeat(256)}.test`, 80), /255 bytes/);
  });

  it("accepts only an offered method, and says why otherwise", () => {
    assert.equal((feed((b) => readSocks5Method(b, false), bytes(5, 0)) as { ok: true }).ok, true);
    assert.ok("ok" in readSocks5Method(bytes(5, 2), true));
    assert.match(
      (readSocks5Method(bytes(5, 2), false) as { error: string }).error,
      /0x02, which was not offered/,
    );
    assert.match(
      (readSocks5Method(bytes(5, 1), true) as { error: string }).error,
      /0x01, which was not offered/,
    );
    assert.match(
      (readSocks5Method(bytes(5, 0x80), true) as { error: string }).error,
      /not offered/,
    );
    assert.match(
      (readSocks5Method(bytes(5, 0xff), false) as { error: string }).error,
      /requires authentication/,
    );
    assert.match(
      (readSocks5Method(bytes(5, 0xff), true) as { error: string }).error,
      /none of the offered/,
    );
    const http = Uint8Array.from(ascii("HTTP/1.1 400 Bad Request"));
    assert.match((readSocks5Method(http, false) as { error: string }).error, /not a SOCKS5 answer/);
  });

  it("reads the authentication status", () => {
    assert.ok("ok" in feed(readSocks5AuthReply, bytes(1, 0)));
    assert.match(
      (feed(readSocks5AuthReply, bytes(1, 1)) as { error: string }).error,
      /authentication failed/,
    );
  });

  it("reads CONNECT replies of every address type at every split point", () => {
    const v4 = bytes(5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90);
    const v6 = bytes(5, 0, 0, 4, ...new Array(16).fill(0), 0, 80);
    const name = bytes(5, 0, 0, 3, 4, ...ascii("a.bc"), 0, 80);
    for (const reply of [v4, v6, name]) {
      const verdict = feed(readSocks5Reply, reply);
      assert.deepEqual(verdict, { ok: true, length: reply.length });
    }
    assert.match(
      (readSocks5Reply(bytes(5, 0, 0, 9, 0)) as { error: string }).error,
      /address type 9/,
    );
  });

  it("turns every reply code into its reason", () => {
    const reasons: [number, RegExp][] = [
      [1, /general SOCKS server failure/],
      [2, /not allowed by ruleset/],
      [3, /network unreachable/],
      [4, /host unreachable/],
      [5, /connection refused/],
      [6, /TTL expired/],
      [7, /command not supported/],
      [8, /address type not supported/],
      [42, /unknown reply \(reply 42\)/],
    ];
    for (const [code, reason] of reasons) {
      const verdict = readSocks5Reply(bytes(5, code, 0, 1, 0, 0, 0, 0, 0, 0));
      assert.match((verdict as { error: string }).error, reason);
    }
  });
});

describe("SOCKS4 and 4a messages", () => {
  it("CONNECT to an IPv4 address, and to a name with 0.0.0.1 (4a)", () => {
    assert.deepEqual(
      socks4ConnectRequest("10.0.0.1", 8080),
      bytes(4, 1, 0x1f, 0x90, 10, 0, 0, 1, 0),
    );
    assert.deepEqual(
      socks4ConnectRequest("ex.test", 80),
      bytes(4, 1, 0, 80, 0, 0, 0, 1, 0, ...ascii("ex.test"), 0),
    );
  });

  it("carries the user id of the proxy URL (SOCKS4 has no password)", () => {
    assert.deepEqual(
      socks4ConnectRequest("10.0.0.1", 80, "rom"),
      bytes(4, 1, 0, 80, 10, 0, 0, 1, ...ascii("rom"), 0),
    );
    assert.deepEqual(
      socks4ConnectRequest("ex.test", 80, "rom"),
      bytes(4, 1, 0, 80, 0, 0, 0, 1, ...ascii("rom"), 0, ...ascii("ex.test"), 0),
    );
  });

  it("reads the 8-byte reply", () => {
    assert.ok("ok" in feed(readSocks4Reply, bytes(0, 0x5a, 0, 0, 0, 0, 0, 0)));
    assert.match(
      (readSocks4Reply(bytes(0, 0x5b, 0, 0, 0, 0, 0, 0)) as { error: string }).error,
      /rejected/,
    );
    assert.match(
      (readSocks4Reply(bytes(5, 0, 0, 0, 0, 0, 0, 0)) as { error: string }).error,
      /not a SOCKS4/,
    );
  });
});
