/**
 * `ws+unix:///path/to.sock:/request/path` on every runtime, against `ws` on `node:http` and the
 * runtime's own server (`Deno.serve({ path })`, `Bun.serve({ unix })`): echo, the request path
 * and the Host header, no proxy in the way, and a socket that is not there.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import process from "node:process";
import { connect, NetworkError } from "../../mod.ts";
import { guarded } from "../_util/async.ts";
import { nextMessage, open } from "../_util/client.ts";
import { startUnixEchoServer, unixServerKinds } from "../_util/unix_servers.ts";

for (const kind of unixServerKinds()) {
  describe(`ws+unix:// to the ${kind} server`, () => {
    it(
      "echoes text and binary, with the request path and Host: localhost",
      guarded(async (scope) => {
        const server = scope.use(await startUnixEchoServer(kind));
        const client = await open(scope, server.url("/events/a%20b?app=demo"));
        const messages = client[Symbol.asyncIterator]();
        await client.send("over a Unix socket: Привет");
        assert.equal(await nextMessage(messages, "text"), "over a Unix socket: Привет");
        const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => i % 253);
        await client.send(bytes);
        assert.deepEqual(await nextMessage(messages, "binary"), bytes);
        assert.equal((await client.close()).wasClean, true);
        assert.deepEqual(server.requests, [{ path: "/events/a%20b?app=demo", host: "localhost" }]);
        assert.equal(client.url, server.url("/events/a%20b?app=demo"));
      }),
    );

    it(
      "never goes through a proxy, from the environment or the options",
      guarded(async (scope) => {
        const server = scope.use(await startUnixEchoServer(kind));
        const saved = process.env.ALL_PROXY;
        process.env.ALL_PROXY = "http://127.0.0.1:9";
        let client;
        try {
          client = await open(scope, server.url("/"));
        } finally {
          if (saved === undefined) delete process.env.ALL_PROXY;
          else process.env.ALL_PROXY = saved;
        }
        assert.equal((await client.close()).wasClean, true);
        const explicit = await open(scope, server.url("/"), { proxy: "socks5h://127.0.0.1:9" });
        assert.equal((await explicit.close()).wasClean, true);
      }),
    );
  });
}

describe("ws+unix:// to a socket that is not there", () => {
  it(
    "fails with a NetworkError naming the path",
    guarded(async () => {
      const error = await connect("ws+unix:///nonexistent/rom-websocket.sock:/x").then(
        () => undefined,
        (e) => e,
      );
      assert.ok(error instanceof NetworkError, String(error));
      assert.match(error.message, /\/nonexistent\/rom-websocket\.sock/);
    }),
  );
});
