/**
 * Tests of src/adapters/tls_options.ts: the defaults every runtime applies to `TlsOptions`, and
 * the IP-literal rule for SNI (RFC 6066 §3), checked against `net.isIP`, which decided it before.
 */

import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import {
  alpnProtocols,
  caList,
  isIpLiteral,
  sniName,
  tlsSettings,
} from "../../src/adapters/tls_options.ts";

describe("tls_options", () => {
  it("verifies by default, against serverName or else the host", () => {
    assert.deepEqual(tlsSettings({}, "example.com"), {
      serverName: "example.com",
      ca: undefined,
      cert: undefined,
      key: undefined,
      rejectUnauthorized: true,
    });
    const s = tlsSettings(
      { serverName: "other.test", rejectUnauthorized: false, ca: ["A"], cert: "C", key: "K" },
      "example.com",
    );
    assert.deepEqual(s, {
      serverName: "other.test",
      ca: ["A"],
      cert: "C",
      key: "K",
      rejectUnauthorized: false,
    });
  });

  it("offers http/1.1 by ALPN, in a new array each time", () => {
    assert.deepEqual(alpnProtocols(), ["http/1.1"]);
    assert.notEqual(alpnProtocols(), alpnProtocols());
  });

  it("lists CA certificates", () => {
    assert.equal(caList(undefined), undefined);
    assert.deepEqual(caList("A"), ["A"]);
    const list = ["A", "B"];
    assert.equal(caList(list), list);
  });

  it("leaves IP literals out of SNI, as net.isIP decides", () => {
    const names = [
      "example.com",
      "localhost",
      "1.2.3.4",
      "255.255.255.255",
      "0.0.0.0",
      "01.2.3.4",
      "256.1.1.1",
      "1.2.3",
      "1.2.3.4.5",
      "::",
      "::1",
      "1::",
      "fe80::1%eth0",
      "::ffff:1.2.3.4",
      "1:2:3:4:5:6:7:8",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:1.2.3.4",
      "[::1]",
      "g::1",
      "a:b",
      "",
    ];
    for (const name of names) {
      const ip = net.isIP(name) !== 0;
      assert.equal(isIpLiteral(name), ip, name);
      assert.equal(sniName(name), ip ? undefined : name, name);
    }
  });
});
