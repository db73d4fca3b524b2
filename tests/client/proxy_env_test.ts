/**
 * Proxies from the environment, with real proxies: `https_proxy` for `wss://` (squid),
 * `http_proxy` for `ws://` (tinyproxy), `ws_proxy` and `all_proxy` (microsocks, SOCKS), lowercase
 * before uppercase, `no_proxy` with a target that must bypass the proxy, `proxy: false`, an
 * explicit proxy winning, a malformed variable reported once, and Deno without `--allow-env`.
 *
 * A proxy URL that points to a closed port stands for "must not be used": going through it fails
 * with `CONNECTION_REFUSED`, so an attempt that opens proves the other route was taken.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { type ClientOptions, connect, NetworkError } from "../../mod.ts";
import { guarded, type Scope, waitFor } from "../_util/async.ts";
import { nextMessage, rejectsWith } from "../_util/client.ts";
import {
  missingProxies,
  type RunningProxy,
  startMicrosocks,
  startSquid,
} from "../_util/proxies.ts";
import { closedPort, startEchoServer } from "../_util/servers.ts";
import { startTinyproxy, type Tinyproxy, tinyproxyPath } from "../_util/tinyproxy.ts";
import { makeCertificates, startTlsEchoServer } from "../_util/tls.ts";

const missing = [
  ...missingProxies("squid", "microsocks"),
  ...(tinyproxyPath() ? [] : ["tinyproxy"]),
];
const skip = missing.length === 0 || process.env.CI
  ? false
  : `not installed: ${missing.join(", ")} (see .ci/run)`;

const NAMES = [
  "ws_proxy",
  "wss_proxy",
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "no_proxy",
];
const ALL_NAMES = NAMES.flatMap((n) => [n, n.toUpperCase()]);

/**
 * Opens a client while exactly `vars` are the proxy variables (the client reads them when it is
 * made), then puts the environment back.
 */
function connectWith(vars: Record<string, string>, url: string, options: ClientOptions = {}) {
  const saved = new Map(ALL_NAMES.map((n) => [n, process.env[n]]));
  for (const name of ALL_NAMES) delete process.env[name];
  Object.assign(process.env, vars);
  try {
    return connect(url, { openTimeout: 5_000, ...options });
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

async function echoes(client: Awaited<ReturnType<typeof connect>>, label: string) {
  await client.send(label);
  assert.equal(await nextMessage(client[Symbol.asyncIterator](), label), label);
  assert.equal((await client.close()).wasClean, true);
}

describe("proxies from the environment", { skip }, () => {
  let squid: RunningProxy;
  let tiny: Tinyproxy;
  let socks: RunningProxy;
  let dead: string;
  const certs = makeCertificates();
  before(async () => {
    [squid, tiny, socks] = await Promise.all([startSquid(), startTinyproxy(), startMicrosocks()]);
    dead = `http://127.0.0.1:${await closedPort()}`;
  });
  after(async () => {
    await Promise.all([squid?.stop(), tiny?.stop(), socks?.stop()]);
  });

  it(
    "wss:// goes through https_proxy, ws:// through http_proxy",
    guarded(async (scope: Scope) => {
      const plain = scope.use(await startEchoServer("ws"));
      const secure = scope.use(await startTlsEchoServer("ws", certs));
      const vars = { https_proxy: squid.url, http_proxy: tiny.url };
      await echoes(await connectWith(vars, secure.url("/s"), { tls: { ca: certs.ca } }), "wss");
      await echoes(await connectWith(vars, plain.url("/p")), "ws");
      assert.match(tiny.log(), new RegExp(`CONNECT.*127\\.0\\.0\\.1:${plain.port}`));
      assert.doesNotMatch(tiny.log(), new RegExp(`127\\.0\\.0\\.1:${secure.port}`));
      await waitFor(
        () => squid.log().includes(`127.0.0.1:${secure.port}`),
        3_000,
        "squid logs the tunnel",
      );
      assert.ok(!squid.log().includes(`127.0.0.1:${plain.port}`), "ws:// did not use https_proxy");
    }),
  );

  it(
    "ws_proxy before http_proxy, all_proxy last, lowercase before uppercase",
    guarded(async (scope: Scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const url = server.url("/");
      await echoes(await connectWith({ ws_proxy: socks.url, http_proxy: dead }, url), "ws_proxy");
      await echoes(await connectWith({ all_proxy: socks.url }, url), "all_proxy");
      await echoes(await connectWith({ http_proxy: tiny.url, HTTP_PROXY: dead }, url), "lowercase");
      await echoes(await connectWith({ ALL_PROXY: socks.url }, url), "uppercase alone");
      await rejectsWith(
        connectWith({ http_proxy: dead, all_proxy: socks.url }, url),
        NetworkError,
        "CONNECTION_REFUSED",
        "http_proxy before all_proxy",
      );
    }),
  );

  it(
    "no_proxy: a target it names bypasses the proxy, localhost is not bypassed implicitly",
    guarded(async (scope: Scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const other = scope.use(await startEchoServer("ws"));
      const vars = { http_proxy: dead, no_proxy: `example.test, 127.0.0.1:${server.port}` };
      await echoes(await connectWith(vars, server.url("/bypass")), "bypassed");
      await rejectsWith(
        connectWith(vars, other.url("/")),
        NetworkError,
        "CONNECTION_REFUSED",
        "other port uses the proxy",
      );
      await rejectsWith(
        connectWith({ http_proxy: dead }, `ws://localhost:${server.port}/`),
        NetworkError,
        "CONNECTION_REFUSED",
        "localhost uses the proxy",
      );
      await echoes(
        await connectWith({ http_proxy: dead, NO_PROXY: "127.0.0.0/8" }, other.url("/")),
        "CIDR",
      );
      await echoes(await connectWith({ http_proxy: dead, no_proxy: "*" }, other.url("/")), "*");
      // With a real proxy: the bypassed target never reaches it.
      await echoes(
        await connectWith(
          { http_proxy: tiny.url, no_proxy: `127.0.0.1:${server.port}` },
          server.url("/"),
        ),
        "real",
      );
      assert.doesNotMatch(tiny.log(), new RegExp(`127\\.0\\.0\\.1:${server.port}\\b`));
    }),
  );

  it(
    "proxy: false ignores the environment; an explicit proxy wins over it",
    guarded(async (scope: Scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const vars = { http_proxy: dead, all_proxy: dead };
      await echoes(await connectWith(vars, server.url("/"), { proxy: false }), "false");
      await echoes(
        await connectWith({ ...vars, no_proxy: "*" }, server.url("/"), { proxy: socks.url }),
        "explicit",
      );
    }),
  );

  it(
    "a malformed variable is reported once, without its credentials, and ignored",
    guarded(async (scope: Scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const seen: string[] = [];
      const original = console.warn;
      console.warn = (...args: unknown[]) => seen.push(args.map(String).join(" "));
      try {
        const vars = {
          http_proxy: "gopher://me:hunter2@nowhere.test:70",
          all_proxy: dead,
          no_proxy: "127.0.0.1, bad entry",
        };
        await echoes(await connectWith(vars, server.url("/")), "first");
        await echoes(await connectWith(vars, server.url("/")), "second");
      } finally {
        console.warn = original;
      }
      const mine = seen.filter((w) => w.includes("gopher") || w.includes("bad entry"));
      assert.equal(mine.length, 2, seen.join("\n"));
      assert.ok(mine.every((w) => !w.includes("hunter2")), mine.join("\n"));
    }),
  );

  it(
    "Deno without --allow-env reads no variable and does not fail",
    guarded(async (scope: Scope) => {
      const server = scope.use(await startEchoServer("ws"));
      // Asynchronously: the echo server runs in this process.
      const child = spawn("node_modules/.bin/deno", [
        "run",
        "--no-prompt",
        "--allow-net",
        "--allow-read",
        "tests/fixtures/proxy/env_free_client.ts",
        server.url("/"),
      ], {
        env: { ...process.env, http_proxy: dead, HTTP_PROXY: dead, ALL_PROXY: dead },
        stdio: ["ignore", "pipe", "pipe"],
      });
      scope.defer(() => child.kill("SIGKILL"));
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c) => stdout += c);
      child.stderr.on("data", (c) => stderr += c);
      const status = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      const result = { status, stdout, stderr };
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.trim(), "opened");
      assert.equal(result.stderr.includes("rom-websocket"), false, result.stderr);
    }, 30_000),
  );
});
