/**
 * The `proxy` option (src/client/proxy_option.ts): which proxy each target goes through, from the
 * option or the environment, `no_proxy`, and what is refused or reported.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { proxyPolicy } from "../../src/client/proxy_option.ts";
import { ArgumentError } from "../../src/core/errors.ts";
import { parseWebSocketUrl } from "../../src/core/uri.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];
const via = (policy: ReturnType<typeof proxyPolicy>, url: string) =>
  policy?.route(parseWebSocketUrl(url))?.display;

/** Runs `body` with console.warn captured. */
function warnings(body: () => void): string[] {
  const seen: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => seen.push(args.map(String).join(" "));
  try {
    body();
  } finally {
    console.warn = original;
  }
  return seen;
}

describe("the proxy option", () => {
  it("by default reads the environment: by scheme, then all_proxy", () => {
    const policy = proxyPolicy(
      undefined,
      envOf({
        https_proxy: "http://tls-proxy.test:3128",
        all_proxy: "socks5h://all.test:1080",
      }),
    );
    assert.equal(via(policy, "wss://example.com/"), "http://tls-proxy.test:3128");
    assert.equal(via(policy, "ws://example.com/"), "socks5h://all.test:1080");
    assert.equal(proxyPolicy(undefined, envOf({})), undefined);
    const ws = proxyPolicy(
      undefined,
      envOf({ ws_proxy: "socks5://w.test", http_proxy: "h.test:1" }),
    );
    assert.equal(via(ws, "ws://example.com/"), "socks5://w.test:1080");
    assert.equal(via(ws, "wss://example.com/"), undefined);
  });

  it("no_proxy from the environment, with no implicit bypass of localhost", () => {
    const policy = proxyPolicy(
      undefined,
      envOf({
        http_proxy: "http://p.test:3128",
        NO_PROXY: "internal.test, 10.0.0.0/8, 127.0.0.1:9001",
      }),
    );
    assert.equal(via(policy, "ws://a.internal.test/"), undefined);
    assert.equal(via(policy, "ws://10.9.8.7/"), undefined);
    assert.equal(via(policy, "ws://127.0.0.1:9001/"), undefined);
    assert.equal(via(policy, "ws://127.0.0.1:9002/"), "http://p.test:3128");
    assert.equal(via(policy, "ws://localhost/"), "http://p.test:3128");
    assert.equal(via(policy, "ws://[::1]/"), "http://p.test:3128");
  });

  it("false turns it off; an explicit URL wins over the environment and its no_proxy", () => {
    const env = envOf({ http_proxy: "http://env.test:1", no_proxy: "*" });
    assert.equal(proxyPolicy(false, env), undefined);
    const explicit = proxyPolicy("socks5h://mine.test:9050", env);
    assert.equal(via(explicit, "ws://example.com/"), "socks5h://mine.test:9050");
    assert.equal(via(explicit, "wss://example.com/"), "socks5h://mine.test:9050");
    const object = proxyPolicy(
      { url: new URL("http://obj.test:8080"), noProxy: ["skip.test"] },
      env,
    );
    assert.equal(via(object, "ws://skip.test/"), undefined);
    assert.equal(via(object, "ws://other.test/"), "http://obj.test:8080");
    // noProxy without url: the environment's proxy, this list instead of no_proxy.
    const mixed = proxyPolicy({ noProxy: "only.test" }, env);
    assert.equal(via(mixed, "ws://example.com/"), "http://env.test:1");
    assert.equal(via(mixed, "ws://only.test/"), undefined);
  });

  it("ws+unix:// targets never use a proxy", () => {
    const policy = proxyPolicy("http://p.test:1");
    assert.equal(via(policy, "ws+unix:///tmp/x.sock:/"), undefined);
  });

  it("a malformed URL or noProxy entry in the options is INVALID_OPTION, credentials hidden", () => {
    for (
      const bad of [
        "ftp://u:hunter2@p.test",
        "http://",
        { url: "gopher://p.test" },
        {
          noProxy: "a b",
        },
        { noProxy: [1] },
        42,
      ]
    ) {
      assert.throws(
        () => proxyPolicy(bad as never, envOf({})),
        (e: unknown) =>
          e instanceof ArgumentError && e.code === "INVALID_OPTION" &&
          !e.message.includes("hunter2"),
        JSON.stringify(bad),
      );
    }
  });

  it("a malformed environment value is reported once, without credentials, and ignored", () => {
    const env = envOf({
      https_proxy: "ftp://me:hunter2@bad.test:1",
      all_proxy: "socks5://fallback.test:1080",
      no_proxy: "ok.test, not valid",
    });
    let policy: ReturnType<typeof proxyPolicy>;
    const first = warnings(() => {
      policy = proxyPolicy(undefined, env);
    });
    assert.equal(first.length, 2, first.join("\n"));
    assert.match(first[0], /rom-websocket: ignoring https_proxy: .*\*\*\*@bad\.test/);
    assert.match(first[1], /ignoring "not valid" in no_proxy/);
    assert.ok(first.every((w) => !w.includes("hunter2")));
    assert.equal(via(policy!, "wss://example.com/"), "socks5://fallback.test:1080");
    assert.equal(via(policy!, "wss://ok.test/"), undefined);
    assert.deepEqual(warnings(() => proxyPolicy(undefined, env)), []);
  });
});
