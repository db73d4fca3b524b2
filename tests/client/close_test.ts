/**
 * Closing, both ways, against every echo server of this runtime, plus abrupt drops: close codes
 * and reasons as each side sees them, `wasClean`, how async iteration ends (normally for 1000,
 * with `ConnectionClosedError` otherwise), and sends after or during the end.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AbortError,
  ArgumentError,
  ConnectionClosedError,
  InvalidStateError,
  WebSocketClient,
  WebSocketError,
} from "../../mod.ts";
import { guarded, type Scope, stillPending, withTimeout } from "../_util/async.ts";
import {
  acceptResponse,
  closePayload,
  concat,
  frame,
  Op,
  startHostileServer,
} from "../_util/hostile.ts";
import { serverCanDrop, serverKinds, startEchoServer } from "../_util/servers.ts";
import { nextMessage, open, pattern, record, rejectsWith, STEP } from "../_util/client.ts";

/**
 * Drains the client's async iterator. The promise is marked handled at once (it may reject
 * before the test awaits it); awaiting it still rejects with what the iteration threw.
 */
function drain(client: WebSocketClient): Promise<Array<string | Uint8Array>> {
  const run = (async () => {
    const seen: Array<string | Uint8Array> = [];
    for await (const message of client) seen.push(message);
    return seen;
  })();
  run.catch(() => {});
  return run;
}

for (const kind of serverKinds()) {
  describe(`closing against the ${kind} server`, () => {
    it(
      "client close(4000, 'x'): the server sees 4000 'x', the close is clean",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/echo"));
        const events = record(client);
        const iteration = drain(client);
        const info = await withTimeout(client.close(4000, "x"), STEP, "close(4000)");
        const seen = await withTimeout(server.connection(0).then((c) => c.closed), STEP, "server");
        assert.deepEqual(seen, { code: 4000, reason: "x" });
        assert.equal(info.wasClean, true);
        assert.deepEqual(info.sent, { code: 4000, reason: "x" });
        assert.equal(info.received?.code, 4000, "the server echoes the code");
        assert.equal(info.code, 4000);
        assert.equal(info.error, undefined);
        assert.equal(client.readyState, WebSocketClient.CLOSED);
        const event = await withTimeout(events.close, STEP, "close event");
        assert.equal(event.code, 4000);
        assert.equal(event.wasClean, true);
        assert.deepEqual(events.types, ["close"]);
        // A client-initiated close with 4000 is not "normal" for iteration: it throws.
        await assert.rejects(withTimeout(iteration, STEP, "iteration"), ConnectionClosedError);
        // close() again returns the same outcome.
        assert.equal(await client.close(), info);
      }),
    );

    it(
      "client close() without arguments sends 1000 and iteration ends normally",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/echo"));
        const iteration = drain(client);
        const info = await withTimeout(client.close(), STEP, "close()");
        const seen = await withTimeout(server.connection(0).then((c) => c.closed), STEP, "server");
        assert.equal(seen.code, 1000);
        assert.equal(info.wasClean, true);
        assert.equal(info.code, 1000);
        assert.deepEqual(await withTimeout(iteration, STEP, "iteration"), []);
      }),
    );

    it(
      "server closes with 4001 'bye': close event 4001, clean, the client echoes 4001, " +
        "iteration throws ConnectionClosedError",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = new WebSocketClient(server.url("/close/4001"));
        scope.defer(() => client.terminate());
        const events = record(client);
        const iteration = drain(client);
        await withTimeout(client.opened, STEP, "open");
        const event = await withTimeout(events.close, STEP, "close event");
        assert.equal(event.code, 4001);
        assert.equal(event.reason, "bye");
        assert.equal(event.wasClean, true);
        assert.equal(event.error, undefined);
        assert.deepEqual(event.received, { code: 4001, reason: "bye" });
        assert.equal(event.sent?.code, 4001, "RFC 6455 §5.5.1: the reply echoes the code");
        const error = await withTimeout(iteration, STEP, "iteration").then(
          () => assert.fail("iteration should throw after a 4001 close"),
          (e) => e,
        );
        assert.ok(error instanceof ConnectionClosedError, String(error));
        assert.equal(error.code, "CONNECTION_CLOSED");
        assert.equal(error.info.code, 4001);
        assert.equal(error.info.reason, "bye");
        const seen = await withTimeout(server.connection(0).then((c) => c.closed), STEP, "server");
        assert.equal(seen.code, 4001);
        assert.equal(client.readyState, WebSocketClient.CLOSED);
        assert.deepEqual(client.closeInfo, await client.closed);
      }),
    );

    it(
      "server closes with 1000: iteration ends without an error",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/close/1000"));
        const seen = await withTimeout(drain(client), STEP, "iteration");
        assert.deepEqual(seen, []);
        const info = await withTimeout(client.closed, STEP, "closed");
        assert.equal(info.code, 1000);
        assert.equal(info.reason, "bye");
        assert.equal(info.wasClean, true);
      }),
    );

    it(
      "messages sent right before the server's close are all delivered, then iteration ends",
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = await open(scope, server.url("/send-then-close"));
        const seen = await withTimeout(drain(client), STEP, "iteration");
        assert.equal(seen.length, 2);
        assert.equal(seen[0], "one");
        assert.deepEqual([...(seen[1] as Uint8Array)], [1, 2, 3]);
        const info = await withTimeout(client.closed, STEP, "closed");
        assert.deepEqual([info.code, info.reason, info.wasClean], [1000, "done", true]);
      }),
    );

    it(
      "an abrupt server drop gives close 1006, not clean; iteration throws; send rejects",
      {
        skip: serverCanDrop(kind)
          ? false
          : `the ${kind} server cannot drop TCP abruptly (the raw-server tests cover drops)`,
      },
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const client = new WebSocketClient(server.url("/drop"));
        scope.defer(() => client.terminate());
        const events = record(client);
        const iteration = drain(client);
        await withTimeout(client.opened, STEP, "open");
        const event = await withTimeout(events.close, STEP, "close event");
        assert.equal(event.code, 1006);
        assert.equal(event.wasClean, false);
        assert.equal(event.received, undefined);
        await assert.rejects(withTimeout(iteration, STEP, "iteration"), ConnectionClosedError);
        const error = await rejectsWith(
          client.send("too late"),
          InvalidStateError,
          "NOT_OPEN",
          "send after the drop",
        );
        assert.ok(error.cause instanceof ConnectionClosedError, "the cause says how it ended");
        await rejectsWith(client.ping(), InvalidStateError, "NOT_OPEN", "ping after the drop");
      }),
    );
  });
}

describe("abrupt ends (raw server)", () => {
  it(
    "a drop without a close frame reports 1006 and an error in closeInfo",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer());
      const client = await open(scope, server.url("/"));
      const events = record(client);
      const connection = await server.connection(0);
      connection.destroy();
      const event = await withTimeout(events.close, STEP, "close event");
      assert.equal(event.code, 1006);
      assert.equal(event.wasClean, false);
      assert.equal(event.sent, undefined);
      // CloseInfo.error: "the error that ended the connection, if it did not end cleanly by
      // request of either side" — a drop is neither side's request.
      assert.ok(
        event.error instanceof WebSocketError,
        `closeInfo.error after a drop: expected a WebSocketError, got ${String(event.error)}`,
      );
    }),
  );

  it(
    "a pending send (held back by backpressure) rejects when the server drops",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ pauseAfterHandshake: true }));
      const client = await open(scope, server.url("/"));
      const connection = await server.connection(0);
      const chunk = pattern(1024 * 1024, 5);
      let pending: Promise<void> | undefined;
      for (let i = 0; i < 256 && !pending; i++) {
        const p = client.send(chunk);
        p.catch(() => {});
        if (await stillPending(p, 100)) pending = p;
      }
      assert.ok(pending, "a send should wait once the server stops reading");
      assert.ok(client.bufferedAmount > 0);
      connection.destroy();
      let error: unknown;
      await withTimeout(pending, STEP, "pending send").catch((e) => (error = e));
      assert.ok(error instanceof WebSocketError, `pending send rejected with ${String(error)}`);
      const info = await withTimeout(client.closed, STEP, "closed");
      assert.equal(info.code, 1006);
      assert.equal(info.wasClean, false);
      await rejectsWith(client.send("x"), InvalidStateError, "NOT_OPEN", "send after close");
    }),
  );

  it(
    "terminate() closes at once: 1006, not clean, no network error, iteration throws",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const client = await open(scope, server.url("/echo"));
      const iteration = drain(client);
      client.terminate();
      const info = await withTimeout(client.closed, STEP, "closed");
      assert.equal(info.code, 1006);
      assert.equal(info.wasClean, false);
      // The user ended it: no network failure may be reported (and never "the server closed").
      assert.ok(
        info.error === undefined || info.error instanceof AbortError,
        `terminate() reported ${info.error?.name} ${info.error?.code}: ${info.error?.message}`,
      );
      await assert.rejects(withTimeout(iteration, STEP, "iteration"), ConnectionClosedError);
      const seen = await withTimeout(server.connection(0).then((c) => c.closed), STEP, "server");
      assert.equal(seen.code, 1006);
    }),
  );

  it(
    "the client waits for the server to close TCP after the closing handshake",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ onClientClose: "reply-and-end" }));
      const client = await open(scope, server.url("/"));
      const connection = await server.connection(0);
      const info = await withTimeout(client.close(1000, "bye"), STEP, "close");
      assert.equal(info.wasClean, true);
      await withTimeout(connection.clientGone, STEP, "client gone");
      assert.equal(connection.clientEndedFirst, false, "RFC 6455 §7.1.1: the server ends TCP");
      const frame = await connection.closeFrame;
      assert.deepEqual([frame.closeCode, frame.closeReason], [1000, "bye"]);
    }),
  );

  it(
    "closeTimeout ends a close the server never answers",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ onClientClose: "ignore" }));
      const client = await open(scope, server.url("/"), { closeTimeout: 200 });
      const info = await withTimeout(client.close(4002, "going"), STEP, "close");
      assert.equal(info.wasClean, false);
      assert.equal(info.code, 1006);
      assert.deepEqual(info.sent, { code: 4002, reason: "going" });
      assert.equal(info.error?.code, "CLOSE_TIMEOUT");
    }),
  );

  it(
    "messages already received are still read after the connection closed",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const client = await open(scope, server.url("/send-then-close"));
      await withTimeout(client.closed, STEP, "closed");
      const messages = client[Symbol.asyncIterator]();
      assert.equal(await nextMessage(messages, "first"), "one");
      assert.deepEqual([...(await nextMessage(messages, "second") as Uint8Array)], [1, 2, 3]);
      assert.equal((await withTimeout(messages.next(), STEP, "end")).done, true);
    }),
  );

  it(
    "a server close without a status: code 1005, an empty close is echoed, iteration ends",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ afterHandshake: frame(Op.CLOSE) }));
      const client = await open(scope, server.url("/"));
      const iteration = drain(client);
      const connection = await server.connection(0);
      const reply = await withTimeout(connection.closeFrame, STEP, "the client's reply");
      assert.equal(reply.payload.length, 0, "1005 is never sent on the wire");
      const info = await withTimeout(client.closed, STEP, "closed");
      assert.equal(info.code, 1005);
      assert.equal(info.wasClean, true);
      assert.deepEqual(await withTimeout(iteration, STEP, "iteration"), []);
    }),
  );

  it(
    "a close reason in UTF-8 arrives intact and the code is echoed",
    guarded(async (scope) => {
      const server = scope.use(
        await startHostileServer({
          afterHandshake: frame(Op.CLOSE, closePayload(4003, "пока 👋")),
        }),
      );
      const client = new WebSocketClient(server.url("/"));
      scope.defer(() => client.terminate());
      const events = record(client);
      await withTimeout(client.opened, STEP, "open");
      const event = await withTimeout(events.close, STEP, "close event");
      assert.deepEqual([event.code, event.reason, event.wasClean], [4003, "пока 👋", true]);
      assert.deepEqual(events.types, ["open", "close"]);
      const reply = await (await server.connection(0)).closeFrame;
      assert.equal(reply.closeCode, 4003);
    }),
  );

  it(
    "a ping waiting for its pong rejects with ConnectionClosedError when the connection ends",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ answerPings: false }));
      const client = await open(scope, server.url("/"));
      const ping = client.ping("never answered");
      ping.catch(() => {});
      const connection = await server.connection(0);
      await withTimeout(connection.frame(0), STEP, "the ping arrives");
      connection.destroy();
      await assert.rejects(withTimeout(ping, STEP, "ping"), ConnectionClosedError);
    }),
  );

  it(
    "close() while connecting aborts the attempt; terminate() too",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      for (const end of ["close", "terminate"] as const) {
        const client = new WebSocketClient(server.url("/"));
        scope.defer(() => client.terminate());
        const connection = await server.connection();
        await withTimeout(connection.request, STEP, "request");
        if (end === "close") client.close();
        else client.terminate();
        await rejectsWith(client.opened, AbortError, "ABORTED", `${end}() while connecting`);
        const info = await withTimeout(client.closed, STEP, "closed");
        assert.equal(info.wasClean, false);
        await withTimeout(connection.clientGone, STEP, "socket closed");
      }
    }),
  );

  it(
    "close() with a code an application may not send rejects and keeps the connection open",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const client = await open(scope, server.url("/echo"));
      for (const code of [1005, 1006, 1015, 999, 2999, 5000, 1004]) {
        await rejectsWith(
          client.close(code),
          ArgumentError,
          "INVALID_CLOSE_CODE",
          `close(${code})`,
        );
      }
      await rejectsWith(
        client.close(1000, "x".repeat(124)),
        ArgumentError,
        "INVALID_CLOSE_REASON",
        "a 124-byte reason",
      );
      assert.equal(client.readyState, WebSocketClient.OPEN);
      await client.send("still open");
      assert.equal(await nextMessage(client[Symbol.asyncIterator](), "echo"), "still open");
      const info = await withTimeout(client.close(1000, "é".repeat(61)), STEP, "close");
      assert.equal(info.wasClean, true);
      assert.equal((await server.connection(0).then((c) => c.closed)).reason, "é".repeat(61));
    }),
  );

  it(
    "a close frame followed at once by FIN (and stray bytes) still ends cleanly",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const client = new WebSocketClient(server.url("/"));
      scope.defer(() => client.terminate());
      const events = record(client, { messages: true });
      const connection = await server.connection(0);
      const request = await withTimeout(connection.request, STEP, "request");
      await connection.write(
        concat(
          new TextEncoder().encode(acceptResponse(request)),
          frame(Op.TEXT, "last words"),
          frame(Op.CLOSE, closePayload(4004, "gone")),
          frame(Op.TEXT, "ignored: after the close frame"),
        ),
      );
      connection.end();
      const event = await withTimeout(events.close, STEP, "close event");
      assert.deepEqual([event.code, event.reason, event.wasClean], [4004, "gone", true]);
      assert.deepEqual(events.messages, ["last words"]);
      assert.equal(event.sent?.code, 4004);
    }),
  );
  /** Opens a client against a raw server that sends `frames` right after the 101, then FIN. */
  async function closedAfter(scope: Scope, frames: Uint8Array[]): Promise<WebSocketClient> {
    const server = scope.use(await startHostileServer({ handshake: "none" }));
    const client = new WebSocketClient(server.url("/"));
    scope.defer(() => client.terminate());
    const connection = await server.connection(0);
    const request = await withTimeout(connection.request, STEP, "request");
    await connection.write(
      concat(new TextEncoder().encode(acceptResponse(request)), ...frames),
    );
    connection.end();
    await withTimeout(client.closed, STEP, "closed");
    return client;
  }

  it(
    "an iteration started only after an abnormal close yields the queued messages, then throws " +
      "ConnectionClosedError with how it ended (ARCHITECTURE.md §2)",
    guarded(async (scope) => {
      const client = await closedAfter(scope, [
        frame(Op.TEXT, "one"),
        frame(Op.TEXT, "two"),
        frame(Op.CLOSE, closePayload(4005, "abnormal")),
      ]);
      assert.equal(client.readyState, WebSocketClient.CLOSED);
      const messages = client[Symbol.asyncIterator]();
      assert.deepEqual(await messages.next(), { done: false, value: "one" });
      assert.deepEqual(await messages.next(), { done: false, value: "two" });
      const error = await messages.next().then(
        (r) => assert.fail(`iteration should throw after a 4005 close, got ${JSON.stringify(r)}`),
        (e) => e,
      );
      assert.ok(error instanceof ConnectionClosedError, String(error));
      assert.deepEqual([error.info.code, error.info.reason], [4005, "abnormal"]);
      // A second iteration after the end throws again, with no message left.
      await assert.rejects(client[Symbol.asyncIterator]().next(), ConnectionClosedError);
    }),
  );

  it(
    "an iteration started only after a drop (no close frame) throws ConnectionClosedError 1006",
    guarded(async (scope) => {
      const client = await closedAfter(scope, [frame(Op.TEXT, "before the drop")]);
      const messages = client[Symbol.asyncIterator]();
      assert.deepEqual(await messages.next(), { done: false, value: "before the drop" });
      const error = await messages.next().then(() => assert.fail("should throw"), (e) => e);
      assert.ok(error instanceof ConnectionClosedError, String(error));
      assert.equal(error.info.code, 1006);
      assert.equal(error.info.wasClean, false);
    }),
  );

  it(
    "an iteration started only after a normal close (1000) yields the queued messages and ends",
    guarded(async (scope) => {
      const client = await closedAfter(scope, [
        frame(Op.TEXT, "last"),
        frame(Op.CLOSE, closePayload(1000, "done")),
      ]);
      const seen: Array<string | Uint8Array> = [];
      for await (const message of client) seen.push(message);
      assert.deepEqual(seen, ["last"]);
    }),
  );
});
