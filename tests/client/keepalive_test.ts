/**
 * Keepalive and backpressure. A server that never answers pings makes the client fail with 1011
 * and `TimeoutError` `PING_TIMEOUT`; a normal server keeps the connection open across many
 * intervals. A server that stops reading makes `bufferedAmount` grow and `send` wait, without
 * losing a byte once it reads again; a slow consumer (small `maxQueue`) loses no message either.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TimeoutError, WebSocketClient, WebSocketError } from "../../mod.ts";
import { delay, guarded, stillPending, waitFor, withTimeout } from "../_util/async.ts";
import { frame, Op, startHostileServer } from "../_util/hostile.ts";
import { serverKinds, startEchoServer } from "../_util/servers.ts";
import { nextMessage, open, pattern, record, STEP, track } from "../_util/client.ts";

describe("keepalive", () => {
  it(
    "a server that never answers pings: close 1011 sent, PING_TIMEOUT in error event and closeInfo",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ answerPings: false }));
      const client = track(
        scope,
        new WebSocketClient(server.url("/"), { pingInterval: 50, pingTimeout: 100 }),
      );
      const events = record(client);
      await withTimeout(client.opened, STEP, "open");
      const connection = await server.connection(0);
      const closeFrame = await withTimeout(connection.closeFrame, STEP, "the client's close");
      assert.equal(closeFrame.closeCode, 1011);
      assert.ok(
        connection.frames.some((f) => f.opcode === Op.PING),
        "a keepalive ping was sent first",
      );
      const event = await withTimeout(events.close, STEP, "close event");
      assert.ok(event.error instanceof TimeoutError, String(event.error));
      assert.equal(event.error.code, "PING_TIMEOUT");
      assert.equal(event.sent?.code, 1011);
      assert.equal(event.wasClean, false);
      assert.equal(events.errors.length, 1);
      assert.equal(events.errors[0].error, event.error);
      assert.deepEqual(events.types.slice(-2), ["error", "close"]);
      assert.equal(client.closeInfo?.error, event.error);
      await withTimeout(connection.clientGone, STEP, "TCP closed");
      assert.equal(connection.clientEndedFirst, false, "the client waited for the server's FIN");
    }),
  );

  for (const kind of serverKinds()) {
    it(
      `the ${kind} server answers: the connection stays open across many intervals`,
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/echo"), {
          pingInterval: 30,
          pingTimeout: 2000,
        });
        const events = record(client);
        await waitFor(() => events.pongs.length >= 5, STEP, "five keepalive pongs");
        assert.equal(client.readyState, WebSocketClient.OPEN);
        assert.equal(events.errors.length, 0);
        // Messages still flow between keepalive pings.
        await client.send("still here");
        assert.equal(await nextMessage(client[Symbol.asyncIterator](), "echo"), "still here");
        const info = await withTimeout(client.close(), STEP, "close");
        assert.equal(info.wasClean, true);
        assert.equal(info.error, undefined);
      }),
    );
  }

  it(
    "pingInterval: 0 sends no keepalive pings",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ onClientClose: "reply-and-end" }));
      const client = await open(scope, server.url("/"), { pingInterval: 0, pingTimeout: 10 });
      await delay(150);
      const connection = await server.connection(0);
      assert.equal(connection.frames.length, 0, "no frame was sent");
      await withTimeout(client.close(), STEP, "close");
    }),
  );

  it(
    "server pings do not disturb keepalive and get pongs",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ onClientClose: "reply-and-end" }));
      const client = await open(scope, server.url("/"), { pingInterval: 40, pingTimeout: 1000 });
      const events = record(client);
      const connection = await server.connection(0);
      for (let i = 0; i < 3; i++) await connection.write(frame(Op.PING, `s${i}`));
      await waitFor(() => events.pings.length === 3, STEP, "three server pings");
      await waitFor(
        () => connection.frames.filter((f) => f.opcode === Op.PING).length >= 2,
        STEP,
        "two keepalive pings",
      );
      const pongs = connection.frames.filter((f) => f.opcode === Op.PONG);
      assert.deepEqual(pongs.map((f) => new TextDecoder().decode(f.payload)), ["s0", "s1", "s2"]);
      assert.equal(client.readyState, WebSocketClient.OPEN);
      await withTimeout(client.close(), STEP, "close");
    }),
  );

  it(
    "a slow consumer is not mistaken for a dead peer: no PING_TIMEOUT while reading is paused",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const client = await open(scope, server.url("/"), {
        pingInterval: 30,
        pingTimeout: 60,
        maxQueue: 2,
      });
      const events = record(client);
      // 200 echoes fill the queue: reading pauses, so pongs stay unread behind the messages.
      for (let i = 0; i < 200; i++) client.send(`m${i}`).catch(() => {});
      await delay(400); // several keepalive periods
      assert.equal(client.readyState, WebSocketClient.OPEN, "still open while not consuming");
      assert.equal(events.errors.length, 0);
      const messages = client[Symbol.asyncIterator]();
      for (let i = 0; i < 200; i++) {
        assert.equal(await nextMessage(messages, `message ${i}`), `m${i}`);
      }
      const info = await withTimeout(client.close(), STEP, "close");
      assert.equal(info.wasClean, true);
      assert.equal(info.error, undefined);
    }),
  );
});

describe("backpressure", () => {
  it(
    "bufferedAmount grows and send waits while the server does not read; nothing is lost",
    guarded(async (scope) => {
      const server = scope.use(
        await startHostileServer({ pauseAfterHandshake: true, onClientClose: "reply-and-end" }),
      );
      const client = await open(scope, server.url("/"));
      const connection = await server.connection(0);
      const chunk = pattern(256 * 1024, 2);
      let pending: Promise<void> | undefined;
      let sent = 0;
      for (let i = 0; i < 1024 && !pending; i++) {
        const p = client.send(chunk);
        p.catch(() => {});
        sent++;
        if (await stillPending(p, 50)) pending = p;
      }
      assert.ok(pending, "send should wait once the socket's buffers are full");
      const before = client.bufferedAmount;
      assert.ok(before > 0, `bufferedAmount ${before}`);
      // More sends queue up behind the pending one, and bufferedAmount counts them.
      const more = [client.send(chunk), client.send("after 1"), client.send("after 2")];
      for (const p of more) p.catch(() => {});
      sent++;
      assert.ok(
        client.bufferedAmount >= before + chunk.length,
        `bufferedAmount grows while the server does not read: ${before} -> ${client.bufferedAmount}`,
      );
      assert.ok(await stillPending(more[0], 50), "a send behind a full buffer waits too");
      connection.resume();
      await withTimeout(Promise.all([pending, ...more]), STEP, "sends complete after resume");
      const expectedFrames = sent + 2;
      await waitFor(() => connection.frames.length >= expectedFrames, STEP, "every frame arrives");
      const binary = connection.frames.filter((f) => f.opcode === Op.BINARY);
      assert.equal(binary.length, sent);
      for (const f of binary) assert.equal(f.payload.length, chunk.length);
      assert.deepEqual(
        connection.frames.slice(sent).map((f) => new TextDecoder().decode(f.payload)),
        ["after 1", "after 2"],
      );
      assert.equal(client.bufferedAmount, 0);
      await withTimeout(client.close(), STEP, "close");
    }),
  );

  for (const kind of serverKinds()) {
    it(
      `a slow consumer with maxQueue: 2 still gets every message in order (${kind} server)`,
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/echo"), { maxQueue: 2 });
        const count = 300;
        const sends: Promise<void>[] = [];
        for (let i = 0; i < count; i++) sends.push(client.send(`m${i}:` + "x".repeat(i * 10)));
        await withTimeout(Promise.all(sends), STEP, "sends");
        const messages = client[Symbol.asyncIterator]();
        for (let i = 0; i < count; i++) {
          const m = await nextMessage(messages, `message ${i}`);
          assert.equal(m, `m${i}:` + "x".repeat(i * 10));
          if (i % 50 === 0) await delay(5);
        }
        await withTimeout(client.close(), STEP, "close");
      }),
    );
  }

  it(
    "send() to a closed connection rejects instead of queueing",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const client = await open(scope, server.url("/echo"));
      await withTimeout(client.close(), STEP, "close");
      let error: unknown;
      await client.send("late").catch((e) => (error = e));
      assert.ok(error instanceof WebSocketError);
      assert.equal(client.bufferedAmount, 0);
    }),
  );
});
