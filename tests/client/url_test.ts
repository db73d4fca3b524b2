/**
 * URLs end to end: IPv6 literals, path and query preserved on the wire, credentials in the URL
 * sent as a Basic `Authorization` header (and kept out of `client.url`), and bad URLs refused
 * with `ArgumentError` `INVALID_URL` before any socket is opened.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ArgumentError, connect, type Connector, WebSocketClient } from "../../mod.ts";
import { guarded, withTimeout } from "../_util/async.ts";
import { startHostileServer } from "../_util/hostile.ts";
import { ipv6Available, serverKinds, startEchoServer } from "../_util/servers.ts";
import { nextMessage, open, rejectsWith, STEP } from "../_util/client.ts";

const ipv6 = await ipv6Available();
const skipIpv6 = ipv6 ? false : "IPv6 loopback ::1 is not available on this machine";

describe("IPv6 literals", { skip: skipIpv6 }, () => {
  for (const kind of serverKinds()) {
    it(
      `ws://[::1]:port/ reaches the ${kind} server on ::1 with Host [::1]:port`,
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind, { hostname: "::1" }));
        const url = `ws://[::1]:${server.port}/v6?q=1`;
        const client = await open(scope, url);
        assert.equal(client.url, url);
        await client.send("over IPv6");
        assert.equal(
          await nextMessage(client[Symbol.asyncIterator](), "echo over IPv6"),
          "over IPv6",
        );
        const connection = await server.connection(0);
        assert.equal(connection.headers["host"], `[::1]:${server.port}`);
        assert.equal(connection.path, "/v6?q=1");
        await withTimeout(client.close(), STEP, "close");
      }),
    );
  }
});

describe("paths, queries and credentials on the wire", () => {
  it(
    "keeps the path and query exactly, percent-encoding what the URL standard encodes",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ onClientClose: "reply-and-end" }));
      const cases: Array<[string, string]> = [
        ["/", "/"],
        ["", "/"],
        ["/ari/events?app=demo&subscribeAll=true", "/ari/events?app=demo&subscribeAll=true"],
        ["/a/b/../c?x=%20y&z", "/a/c?x=%20y&z"],
        [
          "/путь?q=значение",
          "/%D0%BF%D1%83%D1%82%D1%8C?q=%D0%B7%D0%BD%D0%B0%D1%87%D0%B5%D0%BD%D0%B8%D0%B5",
        ],
        ["/with space?a b", "/with%20space?a%20b"],
        ["?only=query", "/?only=query"],
      ];
      for (let i = 0; i < cases.length; i++) {
        const [suffix, wire] = cases[i];
        const client = await open(scope, `ws://127.0.0.1:${server.port}${suffix}`);
        const request = await (await server.connection(i)).request;
        assert.equal(request.path, wire, `request target for ${JSON.stringify(suffix)}`);
        assert.equal(request.headers["host"], `127.0.0.1:${server.port}`);
        await withTimeout(client.close(), STEP, "close");
      }
    }),
  );

  it(
    "path and query reach every echo server unchanged",
    guarded(async (scope) => {
      for (const kind of serverKinds()) {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/deep/path/x.y?a=1&b=%2F&c"));
        const connection = await server.connection(0);
        assert.equal(connection.path, "/deep/path/x.y?a=1&b=%2F&c", `${kind} server`);
        await withTimeout(client.close(), STEP, "close");
      }
    }),
  );

  it(
    "ws://user:pass@host/ sends Authorization: Basic and keeps credentials out of client.url",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const client = await open(scope, `ws://ari%20user:p%40ss:w@127.0.0.1:${server.port}/events`);
      const connection = await server.connection(0);
      const expected = "Basic " + btoa("ari user:p@ss:w");
      assert.equal(connection.headers["authorization"], expected);
      assert.equal(client.url, `ws://127.0.0.1:${server.port}/events`);
      assert.doesNotMatch(client.url, /@|user|ss/);
      await withTimeout(client.close(), STEP, "close");
    }),
  );

  it(
    "an explicit Authorization header wins over URL credentials",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const client = await open(scope, `ws://u:p@127.0.0.1:${server.port}/`, {
        headers: { authorization: "Bearer token" },
      });
      const connection = await server.connection(0);
      assert.equal(connection.headers["authorization"], "Bearer token");
      await withTimeout(client.close(), STEP, "close");
    }),
  );

  it(
    "accepts a URL object",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const client = await open(scope, new URL(server.url("/obj?x=1")).href);
      const viaObject = await withTimeout(
        connect(new URL(server.url("/obj2"))),
        STEP,
        "connect(URL)",
      );
      scope.defer(() => viaObject.terminate());
      assert.equal((await server.connection(1)).path, "/obj2");
      await withTimeout(Promise.all([client.close(), viaObject.close()]), STEP, "close");
    }),
  );
});

describe("invalid URLs", () => {
  const bad = [
    "http://127.0.0.1:1/",
    "https://127.0.0.1:1/",
    "ftp://example.com/",
    "not a url",
    "",
    "ws://",
    "ws://[::1/",
    "ws://127.0.0.1:99999/",
    "ws://127.0.0.1:1/#fragment",
    "wss://127.0.0.1:1/x#",
    "//127.0.0.1:1/",
  ];
  for (const url of bad) {
    it(
      `${JSON.stringify(url)}: ArgumentError INVALID_URL before any socket is opened`,
      guarded(async () => {
        let opened = 0;
        const connector: Connector = () => {
          opened++;
          return Promise.reject(new Error("must not be called"));
        };
        await rejectsWith(connect(url, { connector }), ArgumentError, "INVALID_URL", url);
        assert.throws(
          () => new WebSocketClient(url, { connector }),
          (e: unknown) => e instanceof ArgumentError && e.code === "INVALID_URL",
        );
        assert.equal(opened, 0, "no connection attempt");
      }),
    );
  }
});
