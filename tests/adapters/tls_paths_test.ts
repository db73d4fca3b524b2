/**
 * Which TLS stack each option takes. `startTlsOver` (src/adapters/node.ts: `node:tls` over any
 * pull-style `Socket`) on every runtime; on Deno, that `connectDeno` and `DenoSocket.startTls`
 * stay on `Deno.connectTls`/`Deno.startTls` (the fast path) for what those can express, and hand
 * the rest (`rejectUnauthorized: false`, another `serverName`, a client certificate when
 * upgrading, and an upgrade with a `signal`) to `node:tls`. The outcomes of every option are in tests/client/tls_test.ts.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connectDeno, DenoSocket } from "../../src/adapters/deno.ts";
import { connectNode, NodeSocket, startTlsOver } from "../../src/adapters/node.ts";
import type { Socket, TlsOptions } from "../../src/adapters/socket.ts";
import { NetworkError } from "../../src/core/errors.ts";
import { guarded, type Scope, withTimeout } from "../_util/async.ts";
import { STEP } from "../_util/client.ts";
import { runtimeName, startEchoServer } from "../_util/servers.ts";
import {
  makeCertificates,
  NAMED_HOST,
  opensslAvailable,
  startMutualTlsEchoServer,
  startTlsEchoServer,
} from "../_util/tls.ts";

const skip = opensslAvailable() ? false : "the openssl command is not available";
const decoder = new TextDecoder();

/** The `ws` echo server with the certificate for `example.test` only, on 127.0.0.1. */
async function namedServer(scope: Scope): Promise<{ port: number }> {
  const certs = makeCertificates();
  return scope.use(
    await startEchoServer("ws", { tls: { cert: certs.namedCert, key: certs.namedKey } }),
  );
}

/** A plain HTTP request over `socket`: the `ws` server answers 426 and closes. */
async function request(socket: Socket): Promise<string> {
  await socket.write(
    new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
  );
  let text = "";
  for (;;) {
    const chunk = await withTimeout(socket.read(), STEP, "read");
    if (chunk === null) return text;
    text += decoder.decode(chunk);
  }
}

describe("startTlsOver: node:tls over a pull-style Socket", { skip }, () => {
  it(
    "honours serverName and ca, reads, writes and ends; closing it closes the socket below",
    guarded(async (scope) => {
      const server = await namedServer(scope);
      const plain = await connectNode({ hostname: "127.0.0.1", port: server.port });
      scope.defer(() => plain.close());
      const tls = { ca: makeCertificates().ca, serverName: NAMED_HOST };
      const secure = await withTimeout(
        startTlsOver(plain, { hostname: "127.0.0.1", tls }),
        STEP,
        "startTlsOver",
      );
      assert.match(await request(secure), /^HTTP\/1\.1 426 /);
      secure.close();
      await withTimeout(secure.closed, STEP, "TLS socket closed");
      await withTimeout(plain.closed, STEP, "socket below closed");
    }),
  );

  it(
    "rejects with TLS_ERROR for the wrong name and closes the socket below",
    guarded(async (scope) => {
      const server = await namedServer(scope);
      const plain = await connectNode({ hostname: "127.0.0.1", port: server.port });
      scope.defer(() => plain.close());
      const tls = { ca: makeCertificates().ca, serverName: "wrong.test" };
      const error = await withTimeout(
        startTlsOver(plain, { hostname: "127.0.0.1", tls }),
        STEP,
        "startTlsOver",
      ).then(() => undefined, (e) => e);
      assert.ok(error instanceof NetworkError, String(error));
      assert.equal(error.code, "TLS_ERROR");
      await withTimeout(plain.closed, STEP, "socket below closed");
    }),
  );
});

describe("connectDeno: the TLS stack per option", {
  skip: skip || (runtimeName() === "deno" ? false : "Deno only"),
}, () => {
  const certs = () => makeCertificates();

  it(
    "Deno.connect / Deno.connectTls for TCP, ca, the host's own serverName, cert + key",
    guarded(async (scope) => {
      const server = await namedServer(scope);
      const mtls = await startMutualTlsEchoServer(certs());
      scope.defer(() => mtls.close());
      const mtlsPort = mtls.port;
      const native = async (port: number, tls: TlsOptions | undefined) => {
        const socket = await connectDeno({ hostname: "127.0.0.1", port, tls });
        socket.close();
        return socket instanceof DenoSocket;
      };
      assert.equal(await native(server.port, undefined), true, "TCP");
      const { ca, clientCert: cert, clientKey: key } = certs();
      assert.equal(await native(mtlsPort, { ca, cert, key }), true, "cert + key");
      assert.equal(await native(mtlsPort, { ca, cert, key, serverName: "127.0.0.1" }), true);
    }),
  );

  it(
    "node:tls for rejectUnauthorized: false and another serverName",
    guarded(async (scope) => {
      const server = await namedServer(scope);
      for (
        const tls of [{ rejectUnauthorized: false }, { ca: certs().ca, serverName: NAMED_HOST }]
      ) {
        const socket = await connectDeno({ hostname: "127.0.0.1", port: server.port, tls });
        socket.close();
        assert.ok(socket instanceof NodeSocket, JSON.stringify(Object.keys(tls)));
      }
    }),
  );

  it(
    "startTls: Deno.startTls for ca; node:tls for cert + key, rejectUnauthorized: false, serverName",
    guarded(async (scope) => {
      const server = await namedServer(scope);
      const mtls = await startMutualTlsEchoServer(certs());
      scope.defer(() => mtls.close());
      const mtlsPort = mtls.port;
      const { ca, clientCert: cert, clientKey: key } = certs();
      const upgraded = async (port: number, tls: TlsOptions) => {
        const plain = await connectDeno({ hostname: "127.0.0.1", port });
        scope.defer(() => plain.close());
        const secure = await withTimeout(
          plain.startTls!({ hostname: "127.0.0.1", tls }),
          STEP,
          "startTls",
        );
        const text = await request(secure);
        secure.close();
        return { secure, text };
      };
      const withCert = await upgraded(mtlsPort, { ca, cert, key });
      assert.ok(withCert.secure instanceof NodeSocket, "cert + key");
      assert.match(withCert.text, /^HTTP\/1\.1 426 /);
      for (const tls of [{ rejectUnauthorized: false }, { ca, serverName: NAMED_HOST }]) {
        const { secure, text } = await upgraded(server.port, tls);
        assert.ok(secure instanceof NodeSocket, JSON.stringify(Object.keys(tls)));
        assert.match(text, /^HTTP\/1\.1 426 /);
      }
      const ipServer = scope.use(await startTlsEchoServer("ws", certs()));
      const native = await upgraded(ipServer.port, { ca });
      assert.ok(native.secure instanceof DenoSocket, "ca");
      assert.match(native.text, /^HTTP\/1\.1 426 /);
      // With a signal (the client always passes one), node:tls: closing it ends a stalled
      // handshake, which a Deno.startTls connection does not (see DenoSocket.startTls).
      const abortable = await connectDeno({ hostname: "127.0.0.1", port: ipServer.port });
      scope.defer(() => abortable.close());
      const viaNode = await withTimeout(
        abortable.startTls!({
          hostname: "127.0.0.1",
          tls: { ca },
          signal: new AbortController().signal,
        }),
        STEP,
        "startTls with a signal",
      );
      assert.ok(viaNode instanceof NodeSocket, "ca + signal");
      assert.match(await request(viaNode), /^HTTP\/1\.1 426 /);
      viaNode.close();
      // The test CA alone: the certificate is for example.test, so Deno.startTls refuses it.
      const plain = await connectDeno({ hostname: "127.0.0.1", port: server.port });
      scope.defer(() => plain.close());
      const error = await plain.startTls!({ hostname: "127.0.0.1", tls: { ca } })
        .then(() => undefined, (e) => e);
      assert.ok(error instanceof NetworkError && error.code === "TLS_ERROR", String(error));
      assert.match(error.message, /not valid for name/);
    }),
  );
});
