/** Proxy variables (src/adapters/proxy/env.ts): the order they are read in, and the reader. */

import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import {
  noProxyFromEnvironment,
  proxyFromEnvironment,
  proxyVariables,
  readEnvironment,
} from "../../../src/adapters/proxy/env.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

describe("proxy variables", () => {
  it("by scheme: wss_proxy, https_proxy, all_proxy; ws_proxy, http_proxy, all_proxy; lowercase first", () => {
    assert.deepEqual(proxyVariables(true), [
      "wss_proxy",
      "WSS_PROXY",
      "https_proxy",
      "HTTPS_PROXY",
      "all_proxy",
      "ALL_PROXY",
    ]);
    assert.deepEqual(proxyVariables(false), [
      "ws_proxy",
      "WS_PROXY",
      "http_proxy",
      "HTTP_PROXY",
      "all_proxy",
      "ALL_PROXY",
    ]);
    const env = envOf({
      HTTPS_PROXY: "http://upper:1",
      https_proxy: "http://lower:1",
      http_proxy: "http://plain:1",
      ALL_PROXY: "socks5h://all:1",
    });
    assert.deepEqual(proxyFromEnvironment(env, true), {
      name: "https_proxy",
      value: "http://lower:1",
    });
    assert.deepEqual(proxyFromEnvironment(env, false), {
      name: "http_proxy",
      value: "http://plain:1",
    });
    assert.deepEqual(proxyFromEnvironment(envOf({ ALL_PROXY: "x:1" }), false), {
      name: "ALL_PROXY",
      value: "x:1",
    });
    assert.deepEqual(
      proxyFromEnvironment(envOf({ wss_proxy: "a:1", https_proxy: "b:1" }), true)?.name,
      "wss_proxy",
    );
  });

  it("an empty or blank value counts as unset", () => {
    const env = envOf({
      https_proxy: "",
      HTTPS_PROXY: "  ",
      all_proxy: "p:1",
      no_proxy: "",
      NO_PROXY: "x",
    });
    assert.equal(proxyFromEnvironment(env, true)?.name, "all_proxy");
    assert.deepEqual(noProxyFromEnvironment(env), { name: "NO_PROXY", value: "x" });
    assert.equal(proxyFromEnvironment(envOf({}), true), undefined);
  });

  it("readEnvironment reads this process's variables and never throws", () => {
    process.env.ROM_WS_ENV_TEST = "seen";
    try {
      const env = readEnvironment();
      assert.equal(env("ROM_WS_ENV_TEST"), "seen");
      assert.equal(env("ROM_WS_ENV_TEST_UNSET"), undefined);
    } finally {
      delete process.env.ROM_WS_ENV_TEST;
    }
  });
});
