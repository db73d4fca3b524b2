/**
 * The CLI's embedded echo server (src/cli/echo_server.ts), driven by a raw `node:net` client that
 * writes masked frames byte for byte: the handshake (and a 400 for a request that is not one),
 * every data frame echoed as received, fragmentation and the three length encodings kept, input
 * in one-byte writes, ping answered by pong, the closing handshake followed by the end of TCP,
 * and an unmasked client frame dropping the connection.
 */

import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import { startEchoServer } from "../../src/cli/echo_server.ts";
import { guarded, type Scope, withTimeout } from "../_util/async.ts";
import { acceptKey, closePayload, concat, frame, Op } from "../_util/hostile.ts";

const STEP = 4000;
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const latin1 = new TextDecoder("latin1");

/** A raw TCP client: what it received so far, and a way to wait for more. */
interface RawClient {
  readonly socket: net.Socket;
  /** Resolves with the first `n` bytes received after the handshake head, once they arrived. */
  bytes(n: number): Promise<Uint8Array>;
  /** The head of the HTTP response (up to the empty line). */
  head(): Promise<string>;
  /** Resolves when the server ended or destroyed the connection. */
  readonly ended: Promise<void>;
}

function rawClient(scope: Scope, port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    scope.defer(() => socket.destroy());
    let received: Uint8Array = new Uint8Array(0);
    let waiters: Array<() => void> = [];
    const wake = () => {
      const list = waiters;
      waiters = [];
      for (const w of list) w();
    };
    const ended = new Promise<void>((done) => {
      socket.on("close", () => {
        done();
        wake();
      });
    });
    socket.on("data", (chunk: Uint8Array) => {
      received = concat(received, new Uint8Array(chunk));
      wake();
    });
    socket.on("error", () => {}); // a destroyed connection ends `ended`
    const until = async (ready: () => boolean, what: string) => {
      await withTimeout(
        (async () => {
          while (!ready()) {
            if (socket.destroyed) throw new Error(`closed before ${what}`);
            await new Promise<void>((r) => waiters.push(r));
          }
        })(),
        STEP,
        what,
      );
    };
    const headEnd = () => latin1.decode(received).indexOf("\r\n\r\n");
    socket.once("error", reject);
    socket.once("connect", () =>
      resolve({
        socket,
        ended,
        async head() {
          await until(() => headEnd() >= 0, "the response head");
          return latin1.decode(received.subarray(0, headEnd()));
        },
        async bytes(n: number) {
          await until(() => headEnd() >= 0 && received.length - headEnd() - 4 >= n, `${n} bytes`);
          const start = headEnd() + 4;
          return received.slice(start, start + n);
        },
      }));
  });
}

/** Connects and completes the opening handshake. */
async function openClient(scope: Scope, port: number): Promise<RawClient> {
  const client = await rawClient(scope, port);
  client.socket.write(
    `GET /demo HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const head = await client.head();
  assert.match(head, /^HTTP\/1\.1 101 /);
  assert.match(
    head,
    new RegExp(`\r\nSec-WebSocket-Accept: ${acceptKey(KEY).replace(/\+/g, "\\+")}`),
  );
  return client;
}

async function started(scope: Scope) {
  const server = await startEchoServer();
  scope.defer(() => server.close());
  return server;
}

describe("the CLI's echo server", () => {
  it(
    "listens on loopback; url is ws://127.0.0.1:<port>/",
    guarded(async (scope) => {
      const server = await started(scope);
      assert.ok(server.port > 0);
      assert.equal(server.url, `ws://127.0.0.1:${server.port}/`);
    }),
  );

  it(
    "answers the handshake with 101 and the right Sec-WebSocket-Accept; anything else with 400",
    guarded(async (scope) => {
      const server = await started(scope);
      await openClient(scope, server.port);
      const bad = await rawClient(scope, server.port);
      bad.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.match(await bad.head(), /^HTTP\/1\.1 400 Bad Request/);
      await withTimeout(bad.ended, STEP, "the server closes after 400");
    }),
  );

  it(
    "echoes text and binary frames byte for byte, at each length encoding, fragments kept",
    guarded(async (scope) => {
      const server = await started(scope);
      const client = await openClient(scope, server.port);
      const big = new Uint8Array(70_000).map((_, i) => i * 7);
      const sent = [
        { op: Op.TEXT, payload: "Привет мир!", fin: true },
        { op: Op.BINARY, payload: new Uint8Array(300).fill(0xab), fin: true },
        { op: Op.BINARY, payload: big, fin: true },
        { op: Op.TEXT, payload: "frag", fin: false },
        { op: Op.CONTINUATION, payload: "mented", fin: true },
        { op: Op.TEXT, payload: "", fin: true },
      ];
      client.socket.write(
        concat(...sent.map((f) => frame(f.op, f.payload, { mask: true, fin: f.fin }))),
      );
      const expected = concat(...sent.map((f) => frame(f.op, f.payload, { fin: f.fin })));
      assert.deepEqual(await client.bytes(expected.length), expected);
    }),
  );

  it(
    "input arriving in one-byte writes is reassembled before echoing",
    guarded(async (scope) => {
      const server = await started(scope);
      const client = await openClient(scope, server.port);
      client.socket.setNoDelay(true);
      const wire = concat(
        frame(Op.TEXT, "one", { mask: true }),
        frame(Op.BINARY, new Uint8Array(200).fill(1), { mask: true }),
      );
      for (const byte of wire) {
        client.socket.write(new Uint8Array([byte]));
        await new Promise((r) => setTimeout(r, 0));
      }
      const expected = concat(frame(Op.TEXT, "one"), frame(Op.BINARY, new Uint8Array(200).fill(1)));
      assert.deepEqual(await client.bytes(expected.length), expected);
    }),
  );

  it(
    "answers a ping with a pong of the same payload and ignores a pong",
    guarded(async (scope) => {
      const server = await started(scope);
      const client = await openClient(scope, server.port);
      client.socket.write(concat(
        frame(Op.PONG, "unsolicited", { mask: true }),
        frame(Op.PING, "are you there", { mask: true }),
        frame(Op.TEXT, "after", { mask: true }),
      ));
      const expected = concat(frame(Op.PONG, "are you there"), frame(Op.TEXT, "after"));
      assert.deepEqual(await client.bytes(expected.length), expected);
    }),
  );

  it(
    "echoes a close frame, then ends TCP (RFC 6455 §7.1.1)",
    guarded(async (scope) => {
      const server = await started(scope);
      const client = await openClient(scope, server.port);
      client.socket.write(frame(Op.CLOSE, closePayload(1000, "bye"), { mask: true }));
      const expected = frame(Op.CLOSE, closePayload(1000, "bye"));
      assert.deepEqual(await client.bytes(expected.length), expected);
      await withTimeout(client.ended, STEP, "the server ends TCP after the close");
    }),
  );

  it(
    "drops the connection on an unmasked client frame",
    guarded(async (scope) => {
      const server = await started(scope);
      const client = await openClient(scope, server.port);
      client.socket.write(frame(Op.TEXT, "not masked"));
      await withTimeout(client.ended, STEP, "the server drops the connection");
    }),
  );

  it(
    "close() ends every open connection",
    guarded(async (scope) => {
      const server = await started(scope);
      const a = await openClient(scope, server.port);
      const b = await openClient(scope, server.port);
      await withTimeout(server.close(), STEP, "close()");
      await withTimeout(Promise.all([a.ended, b.ended]), STEP, "both connections ended");
    }),
  );
});
