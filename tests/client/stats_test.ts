/**
 * `client.stats` (src/client/stats.ts) and `RomWebSocket.Stats`: messages and payload bytes in and
 * out (text counted as UTF-8), wire bytes (frame headers and masks included, compression taken
 * off), reconnections, the last round-trip time and since when the connection is open, against a
 * real `ws` echo server.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ReconnectEvent, RomWebSocket, WebSocketClient } from "../../mod.ts";
import { deferred, guarded, waitFor, withTimeout } from "../_util/async.ts";
import { nextMessage, open, STEP, track } from "../_util/client.ts";
import { startEchoServer } from "../_util/servers.ts";

describe("client.stats", () => {
  it(
    "counts messages and payload bytes (UTF-8), and the exact wire bytes of unmasked echoes",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const before = Date.now();
      const client = await open(scope, server.url("/"), { compression: false, pingInterval: 0 });
      const messages = client[Symbol.asyncIterator]();
      const start = client.stats;
      assert.equal(start.messagesIn, 0);
      assert.equal(start.messagesOut, 0);
      assert.equal(start.bytesIn, 0);
      assert.equal(start.bytesOut, 0);
      assert.ok(start.wireBytesOut > 100, "the request was counted");
      assert.ok(start.wireBytesIn > 100, "the 101 response was counted");
      assert.equal(start.reconnects, 0);
      assert.equal(start.lastRtt, undefined);
      assert.ok(start.connectedSince! >= before && start.connectedSince! <= Date.now());

      await client.send("hello"); // 5 bytes
      assert.equal(await nextMessage(messages, "echo"), "hello");
      await client.send("привет"); // 12 bytes of UTF-8
      assert.equal(await nextMessage(messages, "echo"), "привет");
      await client.send(new Uint8Array([1, 2, 3]));
      assert.deepEqual(await nextMessage(messages, "echo"), new Uint8Array([1, 2, 3]));
      const s = client.stats;
      assert.equal(s.messagesOut, 3);
      assert.equal(s.messagesIn, 3);
      assert.equal(s.bytesOut, 5 + 12 + 3);
      assert.equal(s.bytesIn, 5 + 12 + 3);
      // Client frames: 2 header bytes + 4 mask bytes each; the server's: 2 header bytes.
      assert.equal(s.wireBytesOut - start.wireBytesOut, 20 + 3 * 6);
      assert.equal(s.wireBytesIn - start.wireBytesIn, 20 + 3 * 2);

      const rtt = await withTimeout(client.ping(), STEP, "pong");
      assert.equal(client.stats.lastRtt, rtt);
      assert.equal(client.latency, rtt);
      assert.equal(client.stats.wireBytesOut - s.wireBytesOut, 6 + 5, "the ping frame");

      await client.close();
      const end = client.stats;
      assert.equal(end.connectedSince, undefined, "not open any more");
      assert.equal(end.messagesIn, 3, "control frames are not messages");
      assert.ok(end.wireBytesOut > s.wireBytesOut + 11, "the close frame was counted");
    }),
  );

  it(
    "large and fragmented messages: text decoded as it arrives, and frames of fragmentSize",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const client = await open(scope, server.url("/"), {
        compression: false,
        pingInterval: 0,
        fragmentSize: 1000,
      });
      const messages = client[Symbol.asyncIterator]();
      const start = client.stats;
      const text = "é".repeat(150_000); // 300,000 bytes: read in many chunks by the client
      await client.send(text);
      assert.equal(await nextMessage(messages, "echo"), text);
      const bytes = new Uint8Array(2500).fill(7); // three frames of at most 1,000 bytes
      await client.send(bytes);
      assert.deepEqual(await nextMessage(messages, "echo"), bytes);
      const s = client.stats;
      assert.equal(s.messagesOut, 2);
      assert.equal(s.messagesIn, 2);
      assert.equal(s.bytesOut, 300_000 + 2500);
      assert.equal(s.bytesIn, 300_000 + 2500);
      // Out: 300 text frames and 3 binary frames (1,000, 1,000, 500 bytes), each with a 16-bit
      // length: 2 + 2 + 4 (mask) header bytes.
      assert.equal(s.wireBytesOut - start.wireBytesOut, 302_500 + (300 + 3) * 8);
    }),
  );

  it(
    "a stats object is a snapshot: it does not change afterwards",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const client = await open(scope, server.url("/"), { pingInterval: 0 });
      const messages = client[Symbol.asyncIterator]();
      const snapshot = client.stats;
      await client.send("x");
      await nextMessage(messages, "echo");
      assert.equal(snapshot.messagesOut, 0);
      assert.equal(client.stats.messagesOut, 1);
    }),
  );

  it(
    "with permessage-deflate: payload bytes before compression, wire bytes after",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws", { compression: true }));
      const client = await open(scope, server.url("/"), { pingInterval: 0 });
      assert.match(client.extensions, /permessage-deflate/);
      const messages = client[Symbol.asyncIterator]();
      const start = client.stats;
      const text = "compressible ".repeat(1000); // 13,000 bytes
      await client.send(text);
      assert.equal(await nextMessage(messages, "echo"), text);
      const bytes = new Uint8Array(20_000); // zeros
      await client.send(bytes);
      assert.deepEqual(await nextMessage(messages, "echo"), bytes);
      const s = client.stats;
      assert.equal(s.bytesOut, 13_000 + 20_000);
      assert.equal(s.bytesIn, 13_000 + 20_000);
      const wireOut = s.wireBytesOut - start.wireBytesOut;
      const wireIn = s.wireBytesIn - start.wireBytesIn;
      assert.ok(wireOut > 0 && wireOut < 2000, `compressed on the way out: ${wireOut} bytes`);
      assert.ok(wireIn > 0 && wireIn < 2000, `compressed on the way in: ${wireIn} bytes`);
    }),
  );

  it(
    "counts reconnections, and connectedSince follows each connection",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const client = track(
        scope,
        new WebSocketClient(server.url("/drop"), {
          pingInterval: 0,
          reconnect: { initialDelay: 10, maxDelay: 20 },
        }),
      );
      const seen: Array<{ reconnects: number; connectedSince: number | undefined }> = [];
      const opens: Array<number | undefined> = [];
      const third = deferred<void>();
      client.addEventListener("open", () => opens.push(client.stats.connectedSince));
      client.addEventListener("reconnect", (_event: ReconnectEvent) => {
        const { reconnects, connectedSince } = client.stats;
        seen.push({ reconnects, connectedSince });
        if (seen.length === 3) third.resolve();
      });
      await withTimeout(third.promise, STEP, "three reconnections");
      // Counted before each event; not open while waiting to reconnect; set again at each open.
      assert.deepEqual(
        seen.slice(0, 3),
        [1, 2, 3].map((n) => ({
          reconnects: n,
          connectedSince: undefined,
        })),
      );
      assert.ok(opens.length >= 3 && opens.every((t) => typeof t === "number"), `${opens}`);
      await client.close();
      assert.ok(client.stats.reconnects >= 3);
      assert.ok(server.connections.length >= 3);
    }),
  );
});

describe("RomWebSocket.Stats", () => {
  it(
    "all zero before Connect, then the counters of the connection's client",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const rom = new RomWebSocket({ pingInterval: 0 });
      assert.equal(rom.Stats.messagesIn, 0);
      assert.equal(rom.Статистика.connectedSince, undefined);
      const received: string[] = [];
      rom.onExternalEvent = (_source, event, data) => {
        if (event === '{"Event": "Message"}') received.push(data);
      };
      rom.Timeout = 5;
      assert.equal(await rom.Connect(server.url("/")), true);
      scope.defer(() => rom.Disconnect());
      assert.equal(await rom.Send("Привет мир!"), true);
      await waitFor(() => received.length === 1, STEP, "the echo");
      const s = rom.Stats;
      assert.equal(s.messagesOut, 1);
      assert.equal(s.messagesIn, 1);
      assert.equal(s.bytesOut, 20, "Привет мир! is 20 bytes of UTF-8");
      assert.equal(s.bytesIn, 20);
      assert.equal(typeof s.connectedSince, "number");
      assert.deepEqual(rom.Статистика, rom.Stats);
    }),
  );
});
