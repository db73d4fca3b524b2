/**
 * Proxies that misbehave, played by a scripted proxy (tests/_util/scripted_proxy.ts): every
 * refusal, close, stall or garbage answer ends the attempt with `PROXY_ERROR` or `OPEN_TIMEOUT`
 * and closes the connection to the proxy. Also what the SOCKS requests carry: the name for
 * `socks5h://` and `socks4a://`, an address resolved here for `socks5://`, the login only in the
 * sub-negotiation.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect, NetworkError, TimeoutError } from "../../mod.ts";
import { guarded, type Scope, withTimeout } from "../_util/async.ts";
import { nextMessage, open, rejectsWith, STEP } from "../_util/client.ts";
import { type ScriptedConnection, startScriptedProxy } from "../_util/scripted_proxy.ts";
import { startEchoServer } from "../_util/servers.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);
const SUCCESS = bytes(5, 0, 0, 1, 127, 0, 0, 1, 0, 80);

/** Reads a SOCKS5 greeting and answers `method`. */
async function greet(c: ScriptedConnection, method = 0): Promise<Uint8Array> {
  const [, n] = await c.read(2);
  const methods = await c.read(n);
  c.write(bytes(5, method));
  return methods;
}

/** Reads a SOCKS5 CONNECT request and returns its address type, address and port. */
async function connectRequest(
  c: ScriptedConnection,
): Promise<{ atyp: number; address: Uint8Array; port: number }> {
  const [, , , atyp] = await c.read(4);
  const length = atyp === 1 ? 4 : atyp === 4 ? 16 : (await c.read(1))[0];
  const address = await c.read(length);
  const [hi, lo] = await c.read(2);
  return { atyp, address, port: (hi << 8) | lo };
}

/** Runs `script` as the proxy and expects the attempt to fail with `code`; returns the error. */
async function failsWith(
  scope: Scope,
  scheme: string,
  script: (c: ScriptedConnection) => Promise<unknown> | void,
  code: "PROXY_ERROR" | "OPEN_TIMEOUT",
  label: string,
): Promise<Error> {
  const proxy = scope.use(await startScriptedProxy(script));
  const error = await rejectsWith<NetworkError | TimeoutError>(
    connect("ws://target.test:8080/", {
      proxy: `${scheme}://127.0.0.1:${proxy.port}`,
      openTimeout: 400,
    }),
    code === "OPEN_TIMEOUT" ? TimeoutError : NetworkError,
    code,
    `${scheme}: ${label}`,
  );
  assert.equal(proxy.accepted, 1, `${label}: one connection to the proxy`);
  // Nothing is left open: the client closed its connection to the proxy.
  await withTimeout(
    proxy.connections[0].closed,
    STEP,
    `${scheme}: ${label}: proxy connection closed`,
  );
  return error;
}

describe("a proxy that misbehaves", () => {
  it(
    "SOCKS5 reply codes become PROXY_ERROR with the reason",
    guarded(async (scope) => {
      const reasons: [number, RegExp][] = [
        [1, /general SOCKS server failure/],
        [2, /not allowed by ruleset/],
        [3, /network unreachable/],
        [4, /host unreachable/],
        [5, /connection refused by the target/],
        [7, /command not supported/],
      ];
      for (const [code, reason] of reasons) {
        const error = await failsWith(
          scope,
          "socks5h",
          async (c) => {
            await greet(c);
            await connectRequest(c);
            c.write(bytes(5, code, 0, 1, 0, 0, 0, 0, 0, 0));
          },
          "PROXY_ERROR",
          `reply ${code}`,
        );
        assert.match(error.message, reason);
        assert.match(error.message, /socks5h:\/\/127\.0\.0\.1:\d+ CONNECT target\.test:8080/);
      }
    }, 15_000),
  );

  it(
    "a SOCKS5 server that picks a method not offered, or refuses them all, is refused",
    guarded(async (scope) => {
      for (const method of [0x01, 0x02, 0x03, 0x80]) {
        const error = await failsWith(
          scope,
          "socks5h",
          (c) => greet(c, method),
          "PROXY_ERROR",
          `method ${method}`,
        );
        assert.match(error.message, /which was not offered/);
      }
      const error = await failsWith(scope, "socks5h", (c) => greet(c, 0xff), "PROXY_ERROR", "0xff");
      assert.match(error.message, /requires authentication/);
    }),
  );

  it(
    "a refused login is PROXY_ERROR; the login goes only into the sub-negotiation",
    guarded(async (scope) => {
      let offered: Uint8Array | undefined;
      let login: Uint8Array | undefined;
      const proxy = scope.use(
        await startScriptedProxy(async (c) => {
          offered = await greet(c, 2);
          const [, ulen] = await c.read(2);
          const user = await c.read(ulen);
          const [plen] = await c.read(1);
          login = new Uint8Array([...user, 0, ...(await c.read(plen))]);
          c.write(bytes(1, 1));
        }),
      );
      const error = await rejectsWith(
        connect("ws://target.test/", { proxy: `socks5h://us%3Aer:p%40ss@127.0.0.1:${proxy.port}` }),
        NetworkError,
        "PROXY_ERROR",
        "refused login",
      );
      assert.match(error.message, /authentication failed/);
      assert.doesNotMatch(error.message, /p@ss|p%40ss/);
      assert.deepEqual(offered, bytes(0, 2));
      assert.equal(new TextDecoder().decode(login), "us:er\0p@ss");
    }),
  );

  it(
    "a proxy that closes at once, or in the middle of its answer, is PROXY_ERROR",
    guarded(async (scope) => {
      for (const scheme of ["http", "socks5h", "socks4a"]) {
        const error = await failsWith(
          scope,
          scheme,
          (c) => c.end(),
          "PROXY_ERROR",
          "closes at once",
        );
        assert.match(error.message, /closed the connection/);
      }
      await failsWith(
        scope,
        "socks5h",
        async (c) => {
          await greet(c);
          await connectRequest(c);
          c.write(bytes(5, 0, 0));
          c.end();
        },
        "PROXY_ERROR",
        "closes mid-reply",
      );
      await failsWith(
        scope,
        "http",
        async (c) => {
          await c.readHead();
          c.write("HTTP/1.1 200 Connection established\r\nVia: x");
          c.end();
        },
        "PROXY_ERROR",
        "closes mid-head",
      );
    }, 10_000),
  );

  it(
    "a proxy that stalls, before or in its answer, ends in OPEN_TIMEOUT with its connection closed",
    guarded(async (scope) => {
      for (const scheme of ["http", "https", "socks5h", "socks4a"]) {
        await failsWith(scope, scheme, () => {}, "OPEN_TIMEOUT", "silent");
      }
      await failsWith(
        scope,
        "socks5h",
        async (c) => {
          await greet(c);
          await connectRequest(c);
          c.write(bytes(5, 0, 0, 3, 200, 0x61)); // announces a 200-byte name, sends one byte
        },
        "OPEN_TIMEOUT",
        "stalls mid-reply",
      );
      await failsWith(
        scope,
        "http",
        async (c) => {
          await c.readHead();
          c.write("HTTP/1.1 200 OK\r\n");
        },
        "OPEN_TIMEOUT",
        "stalls mid-head",
      );
    }, 10_000),
  );

  it(
    "a wss:// target that stalls TLS inside the tunnel ends in OPEN_TIMEOUT, the tunnel closed",
    guarded(async (scope) => {
      for (const scheme of ["http", "socks5h"]) {
        const proxy = scope.use(
          await startScriptedProxy(async (c) => {
            if (scheme === "http") {
              await c.readHead();
              c.write("HTTP/1.1 200 Connection established\r\n\r\n");
            } else {
              await greet(c);
              await connectRequest(c);
              c.write(SUCCESS);
            }
            // ... and the "target" never answers the TLS ClientHello.
          }),
        );
        await rejectsWith(
          connect("wss://target.test/", {
            proxy: `${scheme}://127.0.0.1:${proxy.port}`,
            openTimeout: 400,
          }),
          TimeoutError,
          "OPEN_TIMEOUT",
          `${scheme}: TLS stalls`,
        );
        await withTimeout(proxy.connections[0].closed, STEP, `${scheme}: tunnel closed`);
      }
    }, 10_000),
  );

  it(
    "garbage instead of an answer is PROXY_ERROR",
    guarded(async (scope) => {
      const ssh = "SSH-2.0-OpenSSH_9.2\r\n";
      let error = await failsWith(
        scope,
        "http",
        async (c) => {
          await c.readHead();
          c.write(`${ssh}\r\n\r\n`);
        },
        "PROXY_ERROR",
        "http: not HTTP",
      );
      assert.match(error.message, /invalid answer from the proxy/);
      error = await failsWith(
        scope,
        "socks5h",
        async (c) => {
          await c.read(3);
          c.write("HTTP/1.1 400 Bad Request\r\n\r\n");
        },
        "PROXY_ERROR",
        "socks5: HTTP instead",
      );
      assert.match(error.message, /not a SOCKS5 answer/);
      error = await failsWith(
        scope,
        "socks4a",
        async (c) => {
          await c.read(8);
          c.write(ssh);
        },
        "PROXY_ERROR",
        "socks4a: not SOCKS",
      );
      assert.match(error.message, /not a SOCKS4 reply/);
      // Endless header lines: the bounded HTTP parser gives up.
      error = await failsWith(
        scope,
        "http",
        async (c) => {
          await c.readHead();
          c.write("HTTP/1.1 200 OK\r\n");
          for (let i = 0; i < 400; i++) c.write(`X-Filler-${i}: ${"y".repeat(200)}\r\n`);
        },
        "PROXY_ERROR",
        "http: endless head",
      );
      // An answer followed by bytes the target cannot have sent yet.
      error = await failsWith(
        scope,
        "socks5h",
        async (c) => {
          await greet(c);
          await connectRequest(c);
          c.write(new Uint8Array([...SUCCESS, 0x81, 0x00]));
        },
        "PROXY_ERROR",
        "data after the reply",
      );
      assert.match(error.message, /data after its reply/);
      error = await failsWith(
        scope,
        "http",
        async (c) => {
          await c.readHead();
          c.write(
            "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
          );
        },
        "PROXY_ERROR",
        "http: 407",
      );
      assert.match(error.message, /HTTP 407/);
    }, 10_000),
  );

  it(
    "socks5h:// and socks4a:// send the name; socks5:// sends the address resolved here",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const seen: { atyp: number; address: string; port: number }[] = [];
      const socks5 = scope.use(
        await startScriptedProxy(async (c) => {
          await greet(c);
          const request = await connectRequest(c);
          seen.push({
            atyp: request.atyp,
            address: request.atyp === 3
              ? new TextDecoder().decode(request.address)
              : [...request.address].join("."),
            port: request.port,
          });
          c.write(SUCCESS);
          c.pipeTo(server.port);
        }),
      );
      let socks4: string | undefined;
      const socks4a = scope.use(
        await startScriptedProxy(async (c) => {
          const head = await c.read(8);
          assert.deepEqual([...head.subarray(0, 2), ...head.subarray(4)], [4, 1, 0, 0, 0, 1]);
          let rest = "";
          while (!rest.endsWith("\0") || rest.split("\0").length < 3) {
            rest += String.fromCharCode(...await c.read(1));
          }
          socks4 = rest;
          c.write(bytes(0, 0x5a, 0, 0, 0, 0, 0, 0));
          c.pipeTo(server.port);
        }),
      );
      const target = `ws://localhost:${server.port}/named`;
      for (
        const proxy of [
          `socks5h://127.0.0.1:${socks5.port}`,
          `socks5://127.0.0.1:${socks5.port}`,
          `socks4a://127.0.0.1:${socks4a.port}`,
        ]
      ) {
        const client = await open(scope, target, { proxy });
        await client.send(proxy);
        assert.equal(await nextMessage(client[Symbol.asyncIterator](), proxy), proxy);
        await client.close();
      }
      assert.deepEqual(seen[0], { atyp: 3, address: "localhost", port: server.port });
      assert.ok(
        seen[1].atyp === 1 || seen[1].atyp === 4,
        `socks5:// sent address type ${seen[1].atyp}`,
      );
      assert.equal(seen[1].port, server.port);
      assert.equal(socks4, "\0localhost\0");
    }),
  );
});
