/**
 * HTTP CONNECT proxies, against a real tinyproxy started by the test (Debian package): `ws://`
 * and `wss://` through the tunnel, proxy authentication, and the proxy's refusals.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { ArgumentError, connect, NetworkError } from "../../mod.ts";
import { guarded, withTimeout } from "../_util/async.ts";
import { closedPort, startEchoServer } from "../_util/servers.ts";
import { makeCertificates, opensslAvailable, startTlsEchoServer } from "../_util/tls.ts";
import { STEP } from "../_util/client.ts";
import { startTinyproxy, type Tinyproxy, tinyproxyPath } from "../_util/tinyproxy.ts";

const binary = tinyproxyPath();
// Locally a missing tinyproxy is reported as a skip; in CI (which installs it) it is a failure.
const skip = binary || process.env.CI
  ? false
  : "tinyproxy is not installed (apt-get install tinyproxy)";

describe("HTTP CONNECT proxy (tinyproxy)", { skip }, () => {
  let proxy: Tinyproxy;
  let authProxy: Tinyproxy;
  before(async () => {
    proxy = await startTinyproxy();
    authProxy = await startTinyproxy({ user: "rom", password: "s3cret" });
  });
  after(async () => {
    await proxy?.stop();
    await authProxy?.stop();
  });

  it(
    "tunnels ws:// through the proxy",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const ws = await connect(server.url("/via-proxy?x=1"), {
        proxy: `http://127.0.0.1:${proxy.port}`,
      });
      scope.defer(() => ws.terminate());
      await ws.send("through the tunnel: Привет");
      const messages = ws[Symbol.asyncIterator]();
      assert.deepEqual(await withTimeout(messages.next(), STEP, "echo"), {
        done: false,
        value: "through the tunnel: Привет",
      });
      assert.equal((await server.connection(0)).path, "/via-proxy?x=1");
      assert.equal((await withTimeout(ws.close(), STEP, "close")).wasClean, true);
      assert.match(proxy.log(), /CONNECT/);
    }),
  );

  it(
    "tunnels wss:// with TLS inside the tunnel, verified with the test CA",
    { skip: opensslAvailable() ? false : "openssl is not available" },
    guarded(async (scope) => {
      const certs = makeCertificates();
      const server = scope.use(await startTlsEchoServer("ws", certs));
      const ws = await connect(server.url("/secure"), {
        proxy: `http://127.0.0.1:${proxy.port}`,
        tls: { ca: certs.ca },
      });
      scope.defer(() => ws.terminate());
      await ws.send(new Uint8Array([1, 2, 3]));
      const messages = ws[Symbol.asyncIterator]();
      const echo = await withTimeout(messages.next(), STEP, "echo");
      assert.deepEqual(echo.value, new Uint8Array([1, 2, 3]));
      assert.equal((await withTimeout(ws.close(), STEP, "close")).wasClean, true);
      // Without the CA, the certificate check inside the tunnel fails.
      const error = await connect(server.url("/secure"), {
        proxy: `http://127.0.0.1:${proxy.port}`,
      })
        .then(() => undefined, (e) => e);
      assert.ok(error instanceof NetworkError, String(error));
      assert.equal(error.code, "TLS_ERROR");
    }),
  );

  it(
    "sends Proxy-Authorization from the proxy URL, and reports a 407 without it",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const ws = await connect(server.url("/"), {
        proxy: `http://rom:s3cret@127.0.0.1:${authProxy.port}`,
      });
      assert.equal((await withTimeout(ws.close(), STEP, "close")).wasClean, true);
      const error = await connect(server.url("/"), {
        proxy: `http://127.0.0.1:${authProxy.port}`,
      }).then(() => undefined, (e) => e);
      assert.ok(error instanceof NetworkError, String(error));
      assert.equal(error.code, "PROXY_ERROR");
      assert.match(error.message, /407/);
    }),
  );

  it(
    "reports the proxy's refusal when the target is unreachable",
    guarded(async () => {
      const port = await closedPort();
      const error = await connect(`ws://127.0.0.1:${port}/`, {
        proxy: `http://127.0.0.1:${proxy.port}`,
      }).then(() => undefined, (e) => e);
      assert.ok(error instanceof NetworkError, String(error));
      assert.equal(error.code, "PROXY_ERROR");
      assert.match(error.message, /HTTP 5\d\d/);
    }),
  );

  it(
    "fails with CONNECTION_REFUSED when the proxy itself is down, and refuses bad proxy URLs",
    guarded(async () => {
      const port = await closedPort();
      const error = await connect("ws://127.0.0.1:9/", { proxy: `http://127.0.0.1:${port}` })
        .then(() => undefined, (e) => e);
      assert.ok(error instanceof NetworkError, String(error));
      assert.equal(error.code, "CONNECTION_REFUSED");
      for (const bad of ["ftp://127.0.0.1:1080", "not a url", "http://", "socks5://:1080"]) {
        const e = await connect("ws://127.0.0.1:9/", { proxy: bad }).then(
          () => undefined,
          (x) => x,
        );
        assert.ok(e instanceof ArgumentError, `${bad}: ${e}`);
        assert.equal(e.code, "INVALID_OPTION");
      }
    }),
  );
});
