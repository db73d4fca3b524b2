/**
 * Message round trips against every echo server available on this runtime (`ws`, plus
 * `Deno.serve` or `Bun.serve`): sizes at every frame-length boundary up to 16 MiB, text
 * (non-ASCII) and binary, outgoing fragmentation, pings and pongs, headers and subprotocols.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WebSocketClient } from "../../mod.ts";
import { delay, guarded, withTimeout } from "../_util/async.ts";
import { acceptResponse, concat, frame, Op, startHostileServer } from "../_util/hostile.ts";
import { serverKinds, startEchoServer } from "../_util/servers.ts";
import {
  assertBytes,
  largeText,
  LONG,
  LONG_DEADLINE,
  nextMessage,
  open,
  pattern,
  record,
  STEP,
  textOfBytes,
} from "../_util/client.ts";

/** Payload sizes: empty, the 7-bit limit and one past it, the 16-bit limit and one past, 16 MiB. */
const SIZES = [0, 125, 126, 65535, 65536, 16 * 1024 * 1024];

for (const kind of serverKinds()) {
  describe(`messages against the ${kind} server`, () => {
    it(
      "round-trips binary messages at every length boundary up to 16 MiB, byte for byte",
      LONG,
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/echo"));
        const messages = client[Symbol.asyncIterator]();
        for (const size of SIZES) {
          const data = pattern(size, size + 1);
          await withTimeout(client.send(data), STEP, `send ${size} bytes`);
          const echo = await nextMessage(messages, `echo of ${size} binary bytes`);
          assertBytes(echo, data, `binary message of ${size} bytes`);
          // A message assembled from several reads (16 MiB is always) had a buffer of its own,
          // not zero-filled on Bun and Node.js (src/client/engine.ts): it holds the message and
          // nothing else. Smaller ones may be views of the chunk they arrived in.
          if (size > 1 << 20) {
            assert.ok(echo instanceof Uint8Array);
            assert.equal(echo.buffer.byteLength, size, `the ${size}-byte message owns its buffer`);
          }
        }
        const info = await withTimeout(client.close(), STEP, "close");
        assert.equal(info.wasClean, true);
        const connection = await server.connection(0);
        assert.equal(connection.dropped, 0, "the echo server dropped a send");
      }, LONG_DEADLINE),
    );

    it(
      "round-trips non-ASCII text at every length boundary up to 16 MiB, as strings",
      LONG,
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/echo"));
        const messages = client[Symbol.asyncIterator]();
        for (const size of SIZES) {
          const text = size > 1 << 20 ? largeText(size) : textOfBytes(size);
          assert.equal(new TextEncoder().encode(text).length, size);
          await withTimeout(client.send(text), STEP, `send ${size} text bytes`);
          const echo = await nextMessage(messages, `echo of ${size} text bytes`);
          assert.equal(typeof echo, "string", `text of ${size} bytes arrives as a string`);
          assert.ok(echo === text, `text message of ${size} UTF-8 bytes differs`);
        }
        await withTimeout(client.close(), STEP, "close");
      }, LONG_DEADLINE),
    );

    it(
      "keeps text and binary apart: strings as text, bytes (any view) as binary",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/echo"));
        const messages = client[Symbol.asyncIterator]();
        const bytes = pattern(300, 7);
        await client.send("Привет мир! 😀");
        await client.send(bytes.slice().buffer as ArrayBuffer);
        await client.send(new DataView(bytes.buffer, 10, 20));
        await client.send("as binary", { binary: true });
        await client.send(new TextEncoder().encode("as text"), { binary: false });
        assert.equal(await nextMessage(messages, "text"), "Привет мир! 😀");
        assertBytes(await nextMessage(messages, "ArrayBuffer"), bytes, "ArrayBuffer");
        assertBytes(await nextMessage(messages, "DataView"), bytes.subarray(10, 30), "DataView");
        assertBytes(
          await nextMessage(messages, "string sent as binary"),
          new TextEncoder().encode("as binary"),
          "string sent as binary",
        );
        assert.equal(await nextMessage(messages, "bytes sent as text"), "as text");
        await withTimeout(client.close(), STEP, "close");
      }),
    );

    it(
      "delivers pipelined messages in order to message listeners",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/echo"));
        const received: Array<string | Uint8Array> = [];
        client.addEventListener("message", (e) => received.push(e.data));
        const sends: Promise<void>[] = [];
        for (let i = 0; i < 200; i++) {
          sends.push(i % 2 === 0 ? client.send(`message ${i}`) : client.send(pattern(i, i)));
        }
        await withTimeout(Promise.all(sends), STEP, "200 pipelined sends");
        const start = performance.now();
        while (received.length < 200 && performance.now() - start < STEP) {
          await new Promise((r) => setTimeout(r, 5));
        }
        assert.equal(received.length, 200, "all echoes arrived");
        for (let i = 0; i < 200; i++) {
          if (i % 2 === 0) assert.equal(received[i], `message ${i}`);
          else assertBytes(received[i], pattern(i, i), `message ${i}`);
        }
        await withTimeout(client.close(), STEP, "close");
      }),
    );

    it(
      "keeps messages that arrive before any listener and delivers them in order",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/send-then-close"));
        await withTimeout(client.closed, STEP, "closed");
        const received: Array<string | Uint8Array> = [];
        client.addEventListener("message", (e) => received.push(e.data));
        const start = performance.now();
        while (received.length < 2 && performance.now() - start < STEP) await delay(5);
        assert.equal(received[0], "one");
        assertBytes(received[1], new Uint8Array([1, 2, 3]), "binary");
        assert.equal(received.length, 2);
      }),
    );

    it(
      "breaking out of for await leaves later messages for the next iteration",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/echo"));
        for (let i = 0; i < 5; i++) await client.send(`m${i}`);
        const first: Array<string | Uint8Array> = [];
        for await (const message of client) {
          first.push(message);
          if (first.length === 2) break;
        }
        const rest: Array<string | Uint8Array> = [];
        const messages = client[Symbol.asyncIterator]();
        for (let i = 0; i < 3; i++) rest.push(await nextMessage(messages, `message ${i + 2}`));
        assert.deepEqual([...first, ...rest], ["m0", "m1", "m2", "m3", "m4"]);
        await withTimeout(client.close(), STEP, "close");
      }),
    );

    it(
      "sends fragmented messages with fragmentSize and the server reassembles them",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/echo"), { fragmentSize: 1000 });
        const messages = client[Symbol.asyncIterator]();
        const binary = pattern(10_000, 3);
        const text = textOfBytes(5001); // multi-byte characters cut across fragments
        await client.send(binary);
        await client.send(text);
        await client.send("short");
        assertBytes(await nextMessage(messages, "fragmented binary"), binary, "fragmented binary");
        assert.ok(await nextMessage(messages, "fragmented text") === text, "fragmented text");
        assert.equal(await nextMessage(messages, "short text"), "short");
        await withTimeout(client.close(), STEP, "close");
      }),
    );

    it(
      "ping() resolves with a round-trip time and pong events carry the ping data",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/echo"));
        const events = record(client);
        const started = performance.now();
        const rtt = await withTimeout(client.ping(), STEP, "ping()");
        const elapsed = performance.now() - started;
        assert.equal(typeof rtt, "number");
        // Measured between the ping leaving and the pong arriving: inside the call's own span.
        assert.ok(rtt >= 0 && rtt <= elapsed, `round-trip time ${rtt} within ${elapsed} ms`);
        assert.equal(client.latency, rtt, "latency is the last answered ping's RTT");
        const rtt2 = await withTimeout(client.ping("hello"), STEP, "ping('hello')");
        assert.equal(client.latency, rtt2);
        assert.equal(events.pongs.length, 2);
        assert.equal(new TextDecoder().decode(events.pongs[1].data), "hello");
        assert.equal(events.pongs[1].type, "pong");
        assert.equal(events.pongs[1].target, client);
        // Several pings in flight settle in order.
        const rtts = await withTimeout(
          Promise.all([client.ping("a"), client.ping("b"), client.ping(new Uint8Array([1, 2]))]),
          STEP,
          "three pings",
        );
        assert.equal(rtts.length, 3);
        await withTimeout(client.close(), STEP, "close");
      }),
    );

    it(
      "sends extra headers and negotiates the subprotocol the server selects",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/chat"), {
          headers: { "X-Test-Header": "value 1", Authorization: "Bearer abc" },
          protocols: ["chat.v2", "chat.v1"],
        });
        const connection = await server.connection(0);
        assert.equal(connection.headers["x-test-header"], "value 1");
        assert.equal(connection.headers["authorization"], "Bearer abc");
        assert.equal(connection.headers["sec-websocket-protocol"], "chat.v2, chat.v1");
        assert.equal(connection.protocol, "chat.v2");
        assert.equal(client.protocol, "chat.v2");
        assert.equal(client.extensions, "", "no extension was offered or accepted");
        assert.equal(client.readyState, WebSocketClient.OPEN);
        assert.equal(client.response?.status, 101);
        await withTimeout(client.close(), STEP, "close");

        const plain = await open(scope, server.url("/plain"), { headers: [["X-List", "pairs"]] });
        const second = await server.connection(1);
        assert.equal(second.headers["x-list"], "pairs");
        assert.equal(plain.protocol, "", "no subprotocol offered: none selected");
        await withTimeout(plain.close(), STEP, "close");
      }),
    );
  });
}

describe("outgoing frames on the wire (raw server)", () => {
  it(
    "splits messages into fragmentSize frames: first opcode, then continuations, FIN last",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ onClientClose: "reply-and-end" }));
      const client = await open(scope, server.url("/"), { fragmentSize: 100 });
      const connection = await server.connection(0);
      await client.send(pattern(250, 9));
      await client.send("x".repeat(60)); // fits in one frame
      const frames = await Promise.all([0, 1, 2, 3].map((i) => connection.frame(i)));
      assert.deepEqual(
        frames.map((f) => [f.opcode, f.fin, f.payload.length]),
        [[Op.BINARY, false, 100], [Op.CONTINUATION, false, 100], [Op.CONTINUATION, true, 50], [
          Op.TEXT,
          true,
          60,
        ]],
      );
      for (const f of frames) assert.equal(f.masked, true, "client frames are masked");
      for (const f of frames) assert.equal(f.rsv, 0);
      const joined = new Uint8Array(250);
      joined.set(frames[0].payload, 0);
      joined.set(frames[1].payload, 100);
      joined.set(frames[2].payload, 200);
      assertBytes(joined, pattern(250, 9), "reassembled payload");
      await withTimeout(client.close(), STEP, "close");
    }),
  );

  it(
    "answers a server ping with a pong carrying the same data, and emits a ping event",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ onClientClose: "reply-and-end" }));
      const client = await open(scope, server.url("/"));
      const events = record(client);
      const connection = await server.connection(0);
      await connection.write(
        new Uint8Array([0x89, 5, ...new TextEncoder().encode("hello")]),
      );
      const pong = await connection.frame(0);
      assert.equal(pong.opcode, Op.PONG);
      assert.equal(new TextDecoder().decode(pong.payload), "hello");
      assert.equal(events.pings.length, 1);
      assert.equal(new TextDecoder().decode(events.pings[0].data), "hello");
      await withTimeout(client.close(), STEP, "close");
    }),
  );

  it(
    "reads a handshake and frames that arrive one byte per TCP segment",
    guarded(async (scope) => {
      const server = scope.use(
        await startHostileServer({ handshake: "none", onClientClose: "reply-and-end" }),
      );
      const client = new WebSocketClient(server.url("/"));
      scope.defer(() => client.terminate());
      const events = record(client, { messages: true });
      const connection = await server.connection(0);
      const request = await withTimeout(connection.request, STEP, "request");
      const binary = pattern(130, 4); // 16-bit length form
      const bytes = concat(
        new TextEncoder().encode(acceptResponse(request)),
        frame(Op.TEXT, "héllo", { fin: false }),
        frame(Op.PING, "p"),
        frame(Op.CONTINUATION, " wörld"),
        frame(Op.BINARY, binary),
      );
      for (const byte of bytes) {
        await connection.write(new Uint8Array([byte]));
        await delay(0);
      }
      await withTimeout(client.opened, STEP, "open");
      const start = performance.now();
      while (events.messages.length < 2 && performance.now() - start < STEP) await delay(5);
      assert.equal(events.messages[0], "héllo wörld");
      assertBytes(events.messages[1], binary, "binary message");
      assert.equal(events.pings.length, 1, "the ping between fragments is handled");
      await withTimeout(client.close(), STEP, "close");
    }),
  );
});
