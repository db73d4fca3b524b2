/** `no_proxy` as curl reads it (src/adapters/proxy/no_proxy.ts): parsing and matching. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bypassesProxy,
  parseNoProxy,
  parseNoProxyEntry,
} from "../../../src/adapters/proxy/no_proxy.ts";

const bypass = (list: string, host: string, port = 80) =>
  bypassesProxy(parseNoProxy(list).rules, host, port);

describe("no_proxy", () => {
  it("* alone bypasses every host; an empty list none, localhost included", () => {
    assert.equal(bypass("*", "example.com"), true);
    assert.equal(bypass("*", "::1"), true);
    assert.equal(bypass("", "localhost"), false);
    assert.equal(bypass("", "127.0.0.1"), false);
    assert.equal(bypass(" , ,", "localhost"), false);
  });

  it("a name matches itself and every name below it, with or without a leading dot", () => {
    for (const entry of ["example.com", ".example.com", "*.example.com", "EXAMPLE.com."]) {
      assert.equal(bypass(entry, "example.com"), true, entry);
      assert.equal(bypass(entry, "www.Example.COM"), true, entry);
      assert.equal(bypass(entry, "a.b.example.com."), true, entry);
      assert.equal(bypass(entry, "badexample.com"), false, entry);
      assert.equal(bypass(entry, "example.com.evil"), false, entry);
    }
    assert.equal(bypass("localhost", "localhost"), true);
    assert.equal(bypass("internal , other.test", "x.other.test"), true);
  });

  it("an IP literal matches only that address; names never match addresses", () => {
    assert.equal(bypass("127.0.0.1", "127.0.0.1"), true);
    assert.equal(bypass("127.0.0.1", "127.0.0.2"), false);
    assert.equal(bypass("127.0.0.1", "localhost"), false);
    assert.equal(bypass("localhost", "127.0.0.1"), false);
    assert.equal(bypass("::1", "::1"), true);
    assert.equal(bypass("[::1]", "0:0:0:0:0:0:0:1"), true);
    assert.equal(bypass("0.0.1", "10.0.0.1"), false); // not a suffix match on addresses
  });

  it("CIDR ranges, IPv4 and IPv6", () => {
    assert.equal(bypass("10.0.0.0/8", "10.200.3.4"), true);
    assert.equal(bypass("10.0.0.0/8", "11.0.0.1"), false);
    assert.equal(bypass("192.168.1.0/25", "192.168.1.127"), true);
    assert.equal(bypass("192.168.1.0/25", "192.168.1.128"), false);
    assert.equal(bypass("0.0.0.0/0", "8.8.8.8"), true);
    assert.equal(bypass("fd00::/8", "fd12:3456::1"), true);
    assert.equal(bypass("fd00::/8", "fe80::1"), false);
    assert.equal(bypass("::ffff:0:0/96", "::ffff:10.1.2.3"), true);
    assert.equal(bypass("10.0.0.0/8", "ten.example"), false);
  });

  it("a port limits an entry to that port", () => {
    assert.equal(bypass("example.com:8080", "example.com", 8080), true);
    assert.equal(bypass("example.com:8080", "example.com", 80), false);
    assert.equal(bypass("127.0.0.1:9001", "127.0.0.1", 9001), true);
    assert.equal(bypass("127.0.0.1:9001", "127.0.0.1", 9002), false);
    assert.equal(bypass("[::1]:443", "::1", 443), true);
    assert.equal(bypass("[::1]:443", "::1", 80), false);
  });

  it("reports entries it cannot read, and keeps the others", () => {
    const list = parseNoProxy(
      "good.test, bad host, 10.0.0.0/33, /8, example.com:99999, a..b, [::1]:x",
    );
    assert.deepEqual(list.invalid, [
      "bad host",
      "10.0.0.0/33",
      "/8",
      "example.com:99999",
      "a..b",
      "[::1]:x",
    ]);
    assert.equal(list.rules.length, 1);
    assert.equal(parseNoProxyEntry("name/8"), undefined);
    assert.deepEqual(parseNoProxy(["a.test", "b.test,c.test"]).rules.length, 3);
  });
});
