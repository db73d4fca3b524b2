/**
 * `wss://` against every TLS echo server of this runtime (`ws` on `node:https`, `Deno.serve` or
 * `Bun.serve` with a certificate), with a CA made by `openssl` at test time: trusted through
 * `tls.ca` it works; without it the connection fails with `NetworkError` `TLS_ERROR`.
 *
 * Then every `TlsOptions` member with the default connector, directly and through a tinyproxy
 * CONNECT tunnel: a certificate for `example.test` only, reached at 127.0.0.1 (`ca`,
 * `serverName`, `rejectUnauthorized`), and a server that requires a client certificate (`cert`,
 * `key`). On Deno these take `Deno.connectTls`/`Deno.startTls` where those can express the
 * options and `node:tls` where they cannot (`src/adapters/deno.ts`); the outcome must be the same.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { type ClientOptions, connect, NetworkError, type WebSocketClient } from "../../mod.ts";
import { guarded, type Scope, withTimeout } from "../_util/async.ts";
import { serverKinds, startEchoServer } from "../_util/servers.ts";
import {
  CLIENT_NAME,
  type ConnectProxy,
  makeCertificates,
  NAMED_HOST,
  opensslAvailable,
  startMutualTlsEchoServer,
  startTinyproxy,
  startTlsEchoServer,
  tinyproxyPath,
} from "../_util/tls.ts";
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

/** Echoes a text and a 1 MiB binary message, then closes cleanly. */
async function echoAndClose(client: WebSocketClient, label: string): Promise<void> {
  const messages = client[Symbol.asyncIterator]();
  await client.send(`${label}: Привет`);
  assert.equal(await nextMessage(messages, `${label}: text echo`), `${label}: Привет`);
  const big = pattern(1024 * 1024 + 5, 7);
  await withTimeout(client.send(big), STEP, `${label}: send 1 MiB`);
  assertBytes(await nextMessage(messages, `${label}: binary echo`), big, `${label}: 1 MiB`);
  assert.equal((await withTimeout(client.close(), STEP, `${label}: close`)).wasClean, true);
}

// The wording differs per TLS stack: rustls (Deno) "certificate not valid for name", node:tls
// (Node, Bun, Deno's node:tls) "Hostname/IP does not match certificate's altnames".
const NAME_MISMATCH = /not valid for name|does not match certificate|altname|hostname mismatch/i;

const skipProxy = tinyproxyPath() || process.env.CI
  ? false
  : "tinyproxy is not installed (apt-get install tinyproxy)";

for (const via of ["direct", "through a CONNECT proxy"] as const) {
  describe(`TLS options with the default connector, ${via}`, {
    skip: skip || (via === "direct" ? false : skipProxy),
  }, () => {
    let proxy: ConnectProxy | undefined;
    if (via !== "direct") {
      before(async () => {
        proxy = await startTinyproxy();
      });
      after(async () => {
        await proxy?.stop();
      });
    }
    const options = (tls: ClientOptions["tls"]): ClientOptions => ({
      tls,
      ...(proxy ? { proxy: proxy.url } : {}),
    });
    /** The echo server with the certificate for `example.test` only, on 127.0.0.1. */
    const namedServer = async (scope: Scope) => {
      const certs = makeCertificates();
      return scope.use(
        await startEchoServer("ws", {
          tls: { cert: certs.namedCert, key: certs.namedKey },
        }),
      );
    };

    it(
      "ca only: the certificate is for another name, TLS_ERROR says so",
      guarded(async (scope) => {
        const server = await namedServer(scope);
        const error = await rejectsWith(
          connect(server.url("/"), options({ ca: makeCertificates().ca })),
          NetworkError,
          "TLS_ERROR",
          "example.test certificate at 127.0.0.1",
        );
        assert.match(error.message, NAME_MISMATCH);
      }),
    );

    it(
      `ca + serverName "${NAMED_HOST}": opens and echoes`,
      guarded(async (scope) => {
        const server = await namedServer(scope);
        const tls = { ca: makeCertificates().ca, serverName: NAMED_HOST };
        const client = await open(scope, server.url("/named"), options(tls));
        await echoAndClose(client, "serverName");
        assert.equal((await server.connection(0)).path, "/named");
      }),
    );

    it(
      'ca + serverName "wrong.test": TLS_ERROR',
      guarded(async (scope) => {
        const server = await namedServer(scope);
        const error = await rejectsWith(
          connect(
            server.url("/"),
            options({ ca: makeCertificates().ca, serverName: "wrong.test" }),
          ),
          NetworkError,
          "TLS_ERROR",
          "serverName wrong.test",
        );
        assert.match(error.message, NAME_MISMATCH);
      }),
    );

    it(
      "rejectUnauthorized: false without the CA opens (unsafe, as documented)",
      guarded(async (scope) => {
        const server = await namedServer(scope);
        const client = await open(scope, server.url("/"), options({ rejectUnauthorized: false }));
        await echoAndClose(client, "rejectUnauthorized false");
      }),
    );

    it(
      "no CA, default verification: TLS_ERROR (the test CA is not trusted)",
      guarded(async (scope) => {
        const server = await namedServer(scope);
        const error = await rejectsWith(
          connect(server.url("/"), options({})),
          NetworkError,
          "TLS_ERROR",
          "untrusted issuer",
        );
        assert.match(error.message, /issuer|self[- ]signed|certificate/i);
      }),
    );

    it(
      "client certificate: a server that requires one accepts cert + key, refuses without",
      guarded(async (scope) => {
        const certs = makeCertificates();
        const server = await startMutualTlsEchoServer(certs);
        scope.defer(() => server.close());
        const tls = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };
        const client = await open(scope, server.url("/mtls"), options(tls));
        await echoAndClose(client, "mTLS");
        assert.equal(server.peers.length, 1);
        assert.equal(server.peers[0].authorized, true);
        if (server.peers[0].name !== undefined) assert.equal(server.peers[0].name, CLIENT_NAME);
        // Refused in the handshake, never opened. TLS 1.3: the server's alert may arrive after the
        // client's handshake is done, with the first read; it is TLS_ERROR (seen on all three
        // runtimes), unless the server's close, with our request unread, resets the connection
        // before the alert is read (CONNECTION_RESET): either is a NetworkError.
        let error: unknown;
        await withTimeout(connect(server.url("/mtls"), options({ ca: certs.ca })), STEP, "no cert")
          .catch((e) => (error = e));
        assert.ok(error instanceof NetworkError, `expected NetworkError, got ${String(error)}`);
        assert.equal(server.peers.length, 1, "no WebSocket connection without a certificate");
      }),
    );
  });
}
