/**
 * `wss://` against every TLS echo server of this runtime (`ws` on `node:https`, `Deno.serve` or
 * `Bun.serve` with a certificate), with a CA made by `openssl` at test time: trusted through
 * `tls.ca` it works; without it the connection fails with `NetworkError` `TLS_ERROR`.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ArgumentError, connect, NetworkError } from "../../mod.ts";
import { guarded, withTimeout } from "../_util/async.ts";
import { runtimeName, serverKinds, startEchoServer } from "../_util/servers.ts";
import { makeCertificates, opensslAvailable, startTlsEchoServer } from "../_util/tls.ts";
import { assertBytes, nextMessage, open, pattern, rejectsWith, STEP } from "../_util/client.ts";

const skip = opensslAvailable() ? false : "the openssl command is not available";

for (const kind of serverKinds()) {
  describe(`wss:// against the ${kind} TLS server`, { skip }, () => {
    it(
      "works when the test CA is trusted through tls.ca",
      guarded(async (scope) => {
        const certs = makeCertificates();
        const server = scope.use(await startTlsEchoServer(kind, certs));
        assert.match(server.url("/"), /^wss:\/\//);
        const client = await open(scope, server.url("/secure?x=1"), { tls: { ca: certs.ca } });
        const messages = client[Symbol.asyncIterator]();
        await client.send("over TLS: Привет");
        assert.equal(await nextMessage(messages, "text echo"), "over TLS: Привет");
        const big = pattern(1024 * 1024 + 3, 11);
        await withTimeout(client.send(big), STEP, "send 1 MiB");
        assertBytes(await nextMessage(messages, "binary echo"), big, "1 MiB over TLS");
        const started = performance.now();
        const rtt = await withTimeout(client.ping(), STEP, "ping over TLS");
        assert.ok(rtt >= 0 && rtt <= performance.now() - started, `round-trip time ${rtt}`);
        assert.equal(client.latency, rtt);
        const connection = await server.connection(0);
        assert.equal(connection.path, "/secure?x=1");
        const info = await withTimeout(client.close(4000, "tls bye"), STEP, "close");
        assert.equal(info.wasClean, true);
        assert.deepEqual(await withTimeout(connection.closed, STEP, "server close"), {
          code: 4000,
          reason: "tls bye",
        });
      }),
    );

    it(
      "accepts the CA as a list",
      guarded(async (scope) => {
        const certs = makeCertificates();
        const server = scope.use(await startTlsEchoServer(kind, certs));
        const client = await open(scope, server.url("/"), { tls: { ca: [certs.ca] } });
        await withTimeout(client.close(), STEP, "close");
      }),
    );

    it(
      "fails with NetworkError TLS_ERROR when the CA is not trusted",
      guarded(async (scope) => {
        const server = scope.use(await startTlsEchoServer(kind));
        const error = await rejectsWith(
          connect(server.url("/")),
          NetworkError,
          "TLS_ERROR",
          "untrusted certificate",
        );
        assert.ok(error.message.length > 0);
      }),
    );
  });
}

/** Whether 127.0.0.2 (loopback, but not in the certificate) can be listened on (Linux). */
async function secondLoopback(): Promise<boolean> {
  const { createServer } = await import("node:net");
  return await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(0, "127.0.0.2", () => server.close(() => resolve(true)));
  });
}

const skipMismatch = skip || ((await secondLoopback()) ? false : "127.0.0.2 is not available");

describe("TLS options and mismatches", { skip }, () => {
  it(
    "rejectUnauthorized: false connects without the CA (Node, Bun) or is refused up front (Deno)",
    guarded(async (scope) => {
      const server = scope.use(await startTlsEchoServer("ws"));
      const options = { tls: { rejectUnauthorized: false } };
      if (runtimeName() === "deno") {
        // The Deno.connectTls adapter cannot skip verification: documented ArgumentError.
        await rejectsWith(
          connect(server.url("/"), options),
          ArgumentError,
          "INVALID_OPTION",
          "rejectUnauthorized on Deno",
        );
        return;
      }
      const client = await open(scope, server.url("/"), options);
      await withTimeout(client.close(), STEP, "close");
    }),
  );

  it(
    "wss:// to a plain ws:// server fails with a NetworkError",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const url = server.url("/").replace(/^ws:/, "wss:");
      let error: unknown;
      await withTimeout(connect(url, { tls: { ca: makeCertificates().ca } }), STEP, "connect")
        .catch((e) => (error = e));
      assert.ok(error instanceof NetworkError, `expected NetworkError, got ${String(error)}`);
    }),
  );

  it(
    "a trusted certificate for another address fails with TLS_ERROR (host name check)",
    { skip: skipMismatch },
    guarded(async (scope) => {
      const certs = makeCertificates();
      const server = scope.use(await startTlsEchoServer("ws", certs, "127.0.0.2"));
      await rejectsWith(
        connect(server.url("/"), { tls: { ca: certs.ca } }),
        NetworkError,
        "TLS_ERROR",
        "certificate for 127.0.0.1 used at 127.0.0.2",
      );
    }),
  );
});
