/**
 * HTTP CONNECT proxies, against a real tinyproxy started by the test (Debian package): `ws://`
 * and `wss://` through the tunnel, proxy authentication, and the proxy's refusals.
 */

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as connectTcp, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { ArgumentError, connect, NetworkError } from "../../mod.ts";
import { delay, guarded, withTimeout } from "../_util/async.ts";
import { closedPort, startEchoServer } from "../_util/servers.ts";
import { makeCertificates, opensslAvailable, startTlsEchoServer } from "../_util/tls.ts";
import { STEP } from "../_util/client.ts";

function tinyproxyPath(): string | undefined {
  for (const path of ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]) {
    if (spawnSync(path, ["-v"]).status !== null) return path;
  }
  return undefined;
}

const binary = tinyproxyPath();
// Locally a missing tinyproxy is reported as a skip; in CI (which installs it) it is a failure.
const skip = binary || process.env.CI
  ? false
  : "tinyproxy is not installed (apt-get install tinyproxy)";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Proxy {
  port: number;
  stop(): Promise<void>;
  log(): string;
}

// Asks whatever listens on the port who it is: tinyproxy answers a bare request with an error
// page and its own Server header. Anything else (another test's server that took the port
// between freePort() and tinyproxy's bind) is not our proxy.
function isTinyproxy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let reply = "";
    const s = connectTcp(port, "127.0.0.1", () => s.write("GET / HTTP/1.0\r\n\r\n"));
    const timer = setTimeout(() => s.destroy(), 2_000);
    s.setEncoding("latin1");
    s.on("data", (chunk: string) => reply += chunk);
    s.once("error", () => {});
    s.once("close", () => {
      clearTimeout(timer);
      resolve(/^server:\s*tinyproxy/im.test(reply));
    });
  });
}

async function startTinyproxy(auth?: { user: string; password: string }): Promise<Proxy> {
  if (!binary) throw new Error("tinyproxy is not installed");
  for (let attempt = 1;; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), "rom-proxy-"));
    const port = await freePort();
    const config = [
      `Port ${port}`,
      "Listen 127.0.0.1",
      "Timeout 30",
      "MaxClients 20",
      "Allow 127.0.0.1",
      "DisableViaHeader Yes",
      `LogFile "${join(dir, "tinyproxy.log")}"`,
      "LogLevel Info",
      ...(auth ? [`BasicAuth ${auth.user} ${auth.password}`] : []),
    ].join("\n");
    writeFileSync(join(dir, "tinyproxy.conf"), config + "\n");
    const child = spawn(binary, ["-d", "-c", join(dir, "tinyproxy.conf")], { stdio: "ignore" });
    const log = () => {
      try {
        return readFileSync(join(dir, "tinyproxy.log"), "utf8");
      } catch {
        return "";
      }
    };
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGTERM lets tinyproxy stop the worker processes it may have forked.
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    // Ready when tinyproxy itself answers on the port (up to 10 s on a slow machine).
    let ready = false;
    for (let i = 0; i < 200 && child.exitCode === null; i++) {
      if (await isTinyproxy(port)) {
        ready = true;
        break;
      }
      await delay(50);
    }
    if (ready && child.exitCode === null) return { port, log, stop };
    const why = `tinyproxy on port ${port} did not start (exit ${child.exitCode}): ${log()}`;
    await stop();
    if (attempt === 5) throw new Error(why);
  }
}

describe("HTTP CONNECT proxy (tinyproxy)", { skip }, () => {
  let proxy: Proxy;
  let authProxy: Proxy;
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
      for (const bad of ["socks5://127.0.0.1:1080", "not a url", "http://"]) {
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
