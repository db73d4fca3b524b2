/**
 * The feed features of the client (issue "Feeds that live for days"), against real, hostile and
 * faulty servers on every runtime: `url` and `headers` functions called before every attempt,
 * `onOpen` awaited before any message of the connection, the outage report of a reconnection,
 * the `outbox`, `reconnect.resetAfter`, the server's delay hints (1012, 1013, `Retry-After`) and
 * `idleTimeout`. Every wait is bounded; every assertion is about what a server saw or what the
 * client reported.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ArgumentError,
  CallbackError,
  connect,
  type ErrorEvent,
  HandshakeError,
  InvalidStateError,
  type OpenEvent,
  type OpenInfo,
  type OutageEvent,
  type ReconnectEvent,
  TimeoutError,
  WebSocketClient,
} from "../../mod.ts";
import { delay, guarded, stillPending, waitFor, withTimeout } from "../_util/async.ts";
import { startFaultProxy } from "../_util/fault_proxy.ts";
import {
  acceptResponse,
  type ClientFrame,
  closePayload,
  frame,
  type HostileConnection,
  Op,
  startHostileServer,
} from "../_util/hostile.ts";
import { startEchoServer } from "../_util/servers.ts";
import { rejectsWith, STEP, track } from "../_util/client.ts";

/** Fast retries, no keepalive pings (the tests decide what crosses the wire). */
const FAST = { initialDelay: 20, maxDelay: 60 } as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The text of a client frame. */
const text = (f: ClientFrame) => decoder.decode(f.payload);

/** A refusal as a service under load sends it. */
function refusal(status: number, extra = ""): string {
  const reason = status === 429 ? "Too Many Requests" : "Service Unavailable";
  return `HTTP/1.1 ${status} ${reason}\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`;
}

/** What a client announced, in order. */
interface Seen {
  readonly order: string[];
  readonly opens: OpenEvent[];
  readonly outages: OutageEvent[];
  readonly reconnects: ReconnectEvent[];
  readonly errors: ErrorEvent[];
  readonly messages: string[];
}

function watch(client: WebSocketClient): Seen {
  const seen: Seen = {
    order: [],
    opens: [],
    outages: [],
    reconnects: [],
    errors: [],
    messages: [],
  };
  client.addEventListener("open", (e) => {
    seen.order.push("open");
    seen.opens.push(e);
  });
  client.addEventListener("outage", (e) => {
    seen.order.push("outage");
    seen.outages.push(e);
  });
  client.addEventListener("reconnect", (e) => {
    seen.order.push("reconnect");
    seen.reconnects.push(e);
  });
  client.addEventListener("error", (e) => {
    seen.order.push(`error ${e.error.code}`);
    seen.errors.push(e);
  });
  client.addEventListener("message", (e) => {
    const data = typeof e.data === "string" ? e.data : decoder.decode(e.data);
    seen.order.push(`message ${data}`);
    seen.messages.push(data);
  });
  return seen;
}

/** The texts of the data frames `connection` received, once `count` of them arrived. */
async function texts(connection: HostileConnection, count: number, label: string) {
  await waitFor(
    () => connection.frames.filter((f) => f.opcode === Op.TEXT).length >= count,
    STEP,
    label,
  );
  return connection.frames.filter((f) => f.opcode === Op.TEXT).map(text);
}

// -------------------------------------------------------------------------------------------------

describe("url and headers functions", () => {
  it(
    "the url function is called before every attempt with 1, 2, 3 and its fresh URL is used",
    guarded(async (scope) => {
      let handshakes = 0;
      // The first two attempts are refused (503), the third accepted.
      const server = scope.use(
        await startHostileServer({
          handshake: (req) => ++handshakes <= 2 ? refusal(503) : acceptResponse(req),
        }),
      );
      const calls: number[] = [];
      const client = track(
        scope,
        new WebSocketClient((attempt) => {
          calls.push(attempt);
          return server.url(`/feed?ticket=t${calls.length}&attempt=${attempt}`);
        }, { reconnect: FAST, pingInterval: 0 }),
      );
      const seen = watch(client);
      await withTimeout(client.opened, STEP, "open on the third attempt");
      const paths = await Promise.all(server.connections.map((c) => c.request));
      assert.deepEqual(
        paths.map((r) => r.path),
        ["/feed?ticket=t1&attempt=1", "/feed?ticket=t2&attempt=2", "/feed?ticket=t3&attempt=3"],
        "each attempt used the URL its call returned, numbered 1, 2, 3",
      );
      assert.deepEqual(calls, [1, 2, 3]);
      assert.equal(client.url, server.url("/feed?ticket=t3&attempt=3"));
      assert.equal(seen.reconnects.length, 2);
      for (const e of seen.reconnects) {
        assert.ok(e.info.error instanceof HandshakeError, String(e.info.error));
        assert.equal(e.info.error.status, 503);
      }
    }),
  );

  it(
    "the headers function is called before every attempt: each connection carries a fresh token",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      let issued = 0;
      const attempts: number[] = [];
      // /drop: the server destroys TCP right after open, so the client reconnects.
      const client = track(
        scope,
        new WebSocketClient(server.url("/drop"), {
          reconnect: FAST,
          pingInterval: 0,
          headers: async (attempt) => {
            attempts.push(attempt);
            await delay(1);
            return { Authorization: `Bearer token-${++issued}` };
          },
        }),
      );
      const seen = watch(client);
      await waitFor(() => server.connections.length >= 3, STEP, "three connections");
      client.terminate();
      const tokens = server.connections.slice(0, 3).map((c) => c.headers["authorization"]);
      assert.deepEqual(tokens, ["Bearer token-1", "Bearer token-2", "Bearer token-3"]);
      assert.ok(attempts.length >= 3, `called per attempt: ${attempts}`);
      assert.equal(attempts[0], 1, "the first attempt is 1");
      // Every attempt of the client counts: 1, 2, 3, ... (the reconnect events number the
      // retries of one run, which restart after a connection stays up resetAfter ms).
      assert.deepEqual(attempts, attempts.map((_, i) => i + 1), `attempt numbers ${attempts}`);
      assert.ok(seen.reconnects.length >= 2);
    }),
  );

  it(
    "a url function that throws or rejects: CallbackError URL_CALLBACK_FAILED, retried, then opens",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      let calls = 0;
      let answer!: () => void;
      const answered = new Promise<void>((resolve) => (answer = resolve));
      const client = track(
        scope,
        new WebSocketClient(async () => {
          calls++;
          if (calls === 1) throw new Error("token service down");
          if (calls === 2) return Promise.reject(new Error("still down"));
          await answered;
          return server.url("/fresh");
        }, { reconnect: FAST, pingInterval: 0 }),
      );
      assert.equal(client.url, "", "url is empty until the function answers");
      assert.equal(client.readyState, WebSocketClient.CONNECTING);
      const seen = watch(client);
      await waitFor(() => calls === 3, STEP, "third call");
      assert.equal(client.url, "", "still empty while the third call is pending");
      answer();
      await withTimeout(client.opened, STEP, "open after the failures");
      assert.equal(client.url, server.url("/fresh"));
      assert.equal((await server.connection(0)).path, "/fresh");
      assert.equal(seen.reconnects.length, 2);
      for (const [i, e] of seen.reconnects.entries()) {
        assert.equal(e.wasOpen, false);
        assert.ok(e.info.error instanceof CallbackError, `#${i}: ${e.info.error}`);
        assert.equal(e.info.error.code, "URL_CALLBACK_FAILED");
        assert.ok(e.info.error.cause instanceof Error);
      }
      assert.equal((seen.reconnects[0].info.error?.cause as Error).message, "token service down");
      // Without reconnect, connect() rejects with the same error.
      await rejectsWith(
        connect(() => {
          throw new Error("no");
        }),
        CallbackError,
        "URL_CALLBACK_FAILED",
        "connect() with a throwing url function",
      );
      await rejectsWith(
        connect(server.url("/"), {
          headers: () => Promise.reject(new Error("expired")),
        }),
        CallbackError,
        "HEADERS_CALLBACK_FAILED",
        "connect() with a rejecting headers function",
      );
    }),
  );

  it(
    'a url function that returns "http://x": ArgumentError INVALID_URL, not retried, closed settles',
    guarded(async (scope) => {
      const calls: number[] = [];
      const client = track(
        scope,
        new WebSocketClient((attempt) => {
          calls.push(attempt);
          return "http://x";
        }, { reconnect: true, pingInterval: 0 }),
      );
      const seen = watch(client);
      await rejectsWith(client.opened, ArgumentError, "INVALID_URL", "opened");
      const info = await withTimeout(client.closed, STEP, "closed");
      assert.ok(info.error instanceof ArgumentError, String(info.error));
      assert.equal(info.error.code, "INVALID_URL");
      assert.equal(client.readyState, WebSocketClient.CLOSED);
      await delay(100);
      assert.deepEqual(calls, [1], "not retried");
      assert.equal(seen.reconnects.length, 0);
    }),
  );
});

// -------------------------------------------------------------------------------------------------

describe("onOpen", () => {
  it(
    "runs before any message of the connection, even messages in the same TCP segment as the 101",
    guarded(async (scope) => {
      // One write: the 101 response and two messages behind it.
      const server = scope.use(
        await startHostileServer({
          handshake: (req) => {
            const head = encoder.encode(acceptResponse(req));
            const out = new Uint8Array(head.length + 64);
            let at = 0;
            for (const part of [head, frame(Op.TEXT, "m1"), frame(Op.TEXT, "m2")]) {
              out.set(part, at);
              at += part.length;
            }
            return out.subarray(0, at);
          },
        }),
      );
      const order: string[] = [];
      const infos: OpenInfo[] = [];
      let given: WebSocketClient | undefined;
      const client = await withTimeout(
        connect(server.url("/same-segment"), {
          pingInterval: 0,
          onOpen: async (c, info) => {
            given = c;
            infos.push(info);
            order.push("onOpen start");
            await delay(50);
            order.push("onOpen end");
          },
        }),
        STEP,
        "connect() resolves",
      );
      order.push("connect resolved");
      scope.defer(() => client.terminate());
      assert.equal(given, client, "onOpen is given the client");
      const iterator = client[Symbol.asyncIterator]();
      for (let i = 1; i <= 2; i++) {
        const r = await withTimeout(iterator.next(), STEP, `m${i}`);
        order.push(`message ${r.value}`);
      }
      assert.deepEqual(order, [
        "onOpen start",
        "onOpen end",
        "connect resolved",
        "message m1",
        "message m2",
      ]);
      assert.equal(infos.length, 1);
      assert.equal(infos[0].attempt, 1);
      assert.equal(infos[0].url, server.url("/same-segment"));
      assert.equal(infos[0].response.status, 101);
      assert.equal(infos[0].outage, undefined, "the first open ends no outage");
    }),
  );

  it(
    "listeners: onOpen, then the open event, then the messages that came with the 101",
    guarded(async (scope) => {
      const server = scope.use(
        await startHostileServer({
          afterHandshake: [frame(Op.TEXT, "a"), frame(Op.TEXT, "b")],
        }),
      );
      const order: string[] = [];
      const client = track(
        scope,
        new WebSocketClient(server.url("/"), {
          pingInterval: 0,
          onOpen: async () => {
            order.push("onOpen start");
            await delay(30);
            order.push("onOpen end");
          },
        }),
      );
      const seen = watch(client);
      await waitFor(() => seen.messages.length === 2, STEP, "two messages");
      assert.deepEqual([...order, ...seen.order], [
        "onOpen start",
        "onOpen end",
        "open",
        "message a",
        "message b",
      ]);
    }),
  );

  it(
    "sends made in onOpen leave before the messages the outbox held",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer());
      const client = track(
        scope,
        new WebSocketClient(server.url("/"), {
          pingInterval: 0,
          outbox: true,
          onOpen: async (c) => {
            await c.send("subscribe-1");
            await delay(20);
            await c.send("subscribe-2");
          },
        }),
      );
      const held = [client.send("queued-1"), client.send("queued-2")];
      assert.equal(client.readyState, WebSocketClient.CONNECTING);
      await withTimeout(Promise.all(held), STEP, "held sends resolve once written");
      const connection = await server.connection(0);
      assert.deepEqual(await texts(connection, 4, "four messages"), [
        "subscribe-1",
        "subscribe-2",
        "queued-1",
        "queued-2",
      ]);
    }),
  );

  for (const how of ["throws", "rejects"] as const) {
    it(
      `an onOpen that ${how}: error event ON_OPEN_FAILED, the connection stays open, messages are delivered`,
      guarded(async (scope) => {
        const server = scope.use(
          await startHostileServer({ afterHandshake: [frame(Op.TEXT, "x"), frame(Op.TEXT, "y")] }),
        );
        const client = track(
          scope,
          new WebSocketClient(server.url("/"), {
            pingInterval: 0,
            onOpen: how === "throws"
              ? () => {
                throw new Error("subscribe failed");
              }
              : () => Promise.reject(new Error("subscribe failed")),
          }),
        );
        const seen = watch(client);
        await withTimeout(client.opened, STEP, "connect still resolves");
        await waitFor(() => seen.messages.length === 2, STEP, "messages delivered");
        assert.deepEqual(seen.order, ["error ON_OPEN_FAILED", "open", "message x", "message y"]);
        const error = seen.errors[0].error;
        assert.ok(error instanceof CallbackError, String(error));
        assert.equal((error.cause as Error).message, "subscribe failed");
        assert.equal(client.readyState, WebSocketClient.OPEN);
        await withTimeout(client.send("still open"), STEP, "send");
        const connection = await server.connection(0);
        assert.deepEqual(await texts(connection, 1, "the send arrives"), ["still open"]);
      }),
    );
  }
});

// -------------------------------------------------------------------------------------------------

describe("outage report", () => {
  it(
    "a drop through the fault proxy: open and outage events carry lostAt, restoredAt, attempts, lastMessageAt, cause",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const proxy = scope.use(
        await startFaultProxy({ target: { host: "127.0.0.1", port: server.port } }),
      );
      const outages: Array<OpenInfo["outage"]> = [];
      const client = track(
        scope,
        new WebSocketClient(proxy.url("/echo"), {
          reconnect: FAST,
          pingInterval: 0,
          onOpen: (_c, info) => void outages.push(info.outage),
        }),
      );
      const seen = watch(client);
      let arrivedAt = 0;
      client.addEventListener("message", () => (arrivedAt = Date.now()));
      await withTimeout(client.opened, STEP, "open");
      await client.send("before the drop");
      await waitFor(() => seen.messages.length === 1, STEP, "echo");
      const before = Date.now();
      proxy.drop();
      await waitFor(() => seen.outages.length === 1, STEP, "outage event");
      const after = Date.now();
      assert.deepEqual(seen.order, [
        "open",
        "message before the drop",
        "error UNEXPECTED_EOF",
        "reconnect",
        "open",
        "outage",
      ]);
      const fromOpen = seen.opens[1].outage;
      const outage = seen.outages[0].outage;
      assert.ok(fromOpen, "the open event of the reconnection carries the outage");
      assert.deepEqual(fromOpen, outage, "open and outage events carry the same report");
      assert.deepEqual(outages[1], outage, "onOpen is told the same");
      assert.equal(outages[0], undefined);
      assert.equal(seen.opens[0].outage, undefined, "the first open ends no outage");
      assert.ok(before <= outage.lostAt, `lostAt ${outage.lostAt} >= ${before}`);
      assert.ok(outage.lostAt <= outage.restoredAt, "lostAt <= restoredAt");
      assert.ok(outage.restoredAt <= after, "restoredAt <= now");
      assert.ok(outage.attempts >= 1, `attempts ${outage.attempts}`);
      assert.ok(outage.lastMessageAt !== undefined && outage.lastMessageAt >= arrivedAt);
      assert.ok(outage.lastMessageAt! <= outage.lostAt, "lastMessageAt <= lostAt");
      assert.equal(outage.cause.code, 1006);
      assert.equal(outage.cause.wasClean, false);
    }),
  );

  it(
    "attempts counts every attempt of the outage (two refused, the third opens)",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const proxy = scope.use(
        await startFaultProxy({ target: { host: "127.0.0.1", port: server.port } }),
      );
      const client = track(
        scope,
        new WebSocketClient(proxy.url("/echo"), { reconnect: FAST, pingInterval: 0 }),
      );
      const seen = watch(client);
      await withTimeout(client.opened, STEP, "open");
      proxy.refuse();
      proxy.drop();
      await waitFor(() => seen.reconnects.length >= 3, STEP, "two refused attempts");
      await proxy.accept();
      await waitFor(() => seen.outages.length === 1, STEP, "outage event");
      const outage = seen.outages[0].outage;
      assert.equal(outage.attempts, seen.reconnects.length, "one attempt per reconnect event");
      assert.ok(outage.attempts >= 3, `attempts ${outage.attempts}`);
      assert.equal(outage.lastMessageAt, undefined, "no message arrived before the loss");
      assert.equal(outage.cause.code, 1006);
    }),
  );
});

// -------------------------------------------------------------------------------------------------

describe("outbox", () => {
  it(
    "sends while reconnecting are held and flushed in order after the reopen",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer());
      const proxy = scope.use(
        await startFaultProxy({ target: { host: "127.0.0.1", port: server.port } }),
      );
      const client = track(
        scope,
        new WebSocketClient(proxy.url("/"), { reconnect: FAST, pingInterval: 0, outbox: true }),
      );
      const seen = watch(client);
      await withTimeout(client.opened, STEP, "open");
      await client.send("live");
      await texts(await server.connection(0), 1, "the live message arrives");
      proxy.refuse();
      proxy.drop();
      await waitFor(() => seen.reconnects.length >= 2, STEP, "reconnecting");
      assert.equal(client.readyState, WebSocketClient.CONNECTING);
      const held = Array.from({ length: 5 }, (_, i) => client.send(`held-${i}`));
      assert.ok(await stillPending(Promise.race(held), 50), "held while the proxy refuses");
      await proxy.accept();
      await withTimeout(Promise.all(held), STEP, "every held send resolves once written");
      const second = await server.connection(1);
      assert.deepEqual(await texts(second, 5, "the held messages"), [
        "held-0",
        "held-1",
        "held-2",
        "held-3",
        "held-4",
      ]);
      assert.deepEqual(server.connections[0].frames.filter((f) => f.opcode === Op.TEXT).map(text), [
        "live",
      ]);
    }),
  );

  it(
    "OUTBOX_FULL at once over maxMessages and over maxBytes; NOT_OPEN for the held ones on close()",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const byCount = track(
        scope,
        new WebSocketClient(server.url("/"), { pingInterval: 0, outbox: { maxMessages: 2 } }),
      );
      const a = byCount.send("a");
      const b = byCount.send("b");
      const full = byCount.send("c");
      await rejectsWith(full, InvalidStateError, "OUTBOX_FULL", "third of maxMessages 2");
      assert.ok(await stillPending(Promise.race([a, b]), 30), "the first two wait");

      const byBytes = track(
        scope,
        new WebSocketClient(server.url("/"), { pingInterval: 0, outbox: { maxBytes: 10 } }),
      );
      const c = byBytes.send("12345678");
      const d = byBytes.send(new Uint8Array(2));
      await rejectsWith(byBytes.send("abc"), InvalidStateError, "OUTBOX_FULL", "11 > 10 bytes");
      assert.ok(await stillPending(Promise.race([c, d]), 30), "10 bytes fit");

      const closing = [byCount.close(), byBytes.close()];
      for (const [i, p] of [a, b, c, d].entries()) {
        await rejectsWith(p, InvalidStateError, "NOT_OPEN", `held #${i} after close()`);
      }
      await withTimeout(Promise.all(closing), STEP, "closed");
    }),
  );

  it(
    "OUTBOX_EXPIRED once a message waited ttl ms",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const client = track(
        scope,
        new WebSocketClient(server.url("/"), { pingInterval: 0, outbox: { ttl: 150 } }),
      );
      const started = performance.now();
      const first = client.send("stale");
      await delay(60);
      const second = client.send("later");
      await rejectsWith(first, InvalidStateError, "OUTBOX_EXPIRED", "first");
      const waited = performance.now() - started;
      assert.ok(waited >= 140, `expired after ${waited.toFixed(0)} ms`);
      assert.ok(await stillPending(second, 30), "the later one has time left");
      await rejectsWith(second, InvalidStateError, "OUTBOX_EXPIRED", "second");
    }),
  );

  it(
    "without the outbox, a send while connecting rejects NOT_OPEN at once",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const client = track(scope, new WebSocketClient(server.url("/"), { pingInterval: 0 }));
      await rejectsWith(client.send("x"), InvalidStateError, "NOT_OPEN", "send");
    }),
  );
});

// -------------------------------------------------------------------------------------------------

describe("reconnect delays", () => {
  it(
    "resetAfter: a server that accepts and drops at once gets growing attempt numbers",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer());
      let stop = false;
      (async () => {
        for (let i = 0; !stop; i++) {
          const connection = await server.connection(i, STEP).catch(() => undefined);
          if (!connection) return;
          await connection.request.catch(() => {});
          await delay(10); // the 101 has left
          connection.destroy();
        }
      })();
      scope.defer(() => (stop = true));
      const client = track(
        scope,
        new WebSocketClient(server.url("/"), {
          reconnect: { initialDelay: 10, maxDelay: 40 },
          pingInterval: 0,
        }),
      );
      const seen = watch(client);
      await waitFor(() => seen.reconnects.length >= 4, STEP, "four reconnections");
      const opened = seen.reconnects.slice(0, 4).filter((e) => e.wasOpen).length;
      assert.equal(opened, 4, "each connection opened before the drop");
      assert.deepEqual(seen.reconnects.slice(0, 4).map((e) => e.attempt), [1, 2, 3, 4]);
    }),
  );

  it(
    "resetAfter: a connection that stayed open longer restarts the count at 1",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const proxy = scope.use(
        await startFaultProxy({ target: { host: "127.0.0.1", port: server.port } }),
      );
      const client = track(
        scope,
        new WebSocketClient(proxy.url("/echo"), {
          reconnect: { ...FAST, resetAfter: 200 },
          pingInterval: 0,
        }),
      );
      const seen = watch(client);
      const openCount = (n: number) =>
        waitFor(() => seen.opens.length >= n, STEP, `open #${n}`).then(() => {});
      await openCount(1);
      proxy.drop(); // at once: the count grows
      await openCount(2);
      proxy.drop();
      await openCount(3);
      await delay(300); // longer than resetAfter
      proxy.drop();
      await openCount(4);
      assert.deepEqual(seen.reconnects.map((e) => e.attempt), [1, 2, 1]);
    }),
  );

  for (const code of [1012, 1013]) {
    it(
      `close code ${code} lengthens the next delay (${
        code === 1012 ? "at least initialDelay" : "at least the full backoff bound"
      })`,
      guarded(async (scope) => {
        const server = scope.use(
          await startHostileServer({
            afterHandshake: frame(Op.CLOSE, closePayload(code, "restart")),
            onClientClose: "end",
          }),
        );
        const initialDelay = 80;
        const client = track(
          scope,
          new WebSocketClient(server.url("/"), {
            reconnect: { initialDelay, maxDelay: 1000 },
            pingInterval: 0,
          }),
        );
        const seen = watch(client);
        await waitFor(() => seen.reconnects.length >= 3, STEP, "three reconnections");
        const delays = seen.reconnects.slice(0, 3).map((e) => e.delay);
        for (const [i, e] of seen.reconnects.slice(0, 3).entries()) {
          assert.equal(e.info.received?.code, code, `#${i} received`);
          assert.equal(e.attempt, i + 1);
          const floor = code === 1012 ? initialDelay : initialDelay * 2 ** i;
          assert.ok(e.delay >= floor, `delays ${delays}: #${i} >= ${floor}`);
          assert.ok(e.delay <= Math.max(floor, initialDelay * 2 ** i), `delays ${delays}: bound`);
        }
      }),
    );
  }

  it(
    "Retry-After: 2 on a 503 makes the delay at least 2 s, capped by maxDelay",
    guarded(async (scope) => {
      const server = scope.use(
        await startHostileServer({ handshake: () => refusal(503, "Retry-After: 2\r\n") }),
      );
      const long = track(
        scope,
        new WebSocketClient(server.url("/"), {
          reconnect: { initialDelay: 10, maxDelay: 30_000 },
          pingInterval: 0,
        }),
      );
      const capped = track(
        scope,
        new WebSocketClient(server.url("/"), {
          reconnect: { initialDelay: 10, maxDelay: 300 },
          pingInterval: 0,
        }),
      );
      const seenLong = watch(long);
      const seenCapped = watch(capped);
      await waitFor(
        () => seenLong.reconnects.length >= 1 && seenCapped.reconnects.length >= 1,
        STEP,
        "reconnect events",
      );
      const event = seenLong.reconnects[0];
      assert.ok(event.info.error instanceof HandshakeError, String(event.info.error));
      assert.equal(event.info.error.status, 503);
      assert.equal(event.delay, 2000, "Retry-After: 2 seconds");
      assert.equal(seenCapped.reconnects[0].delay, 300, "capped by maxDelay");
      await delay(500);
      assert.equal(seenLong.reconnects.length, 1, "no attempt before the 2 s");
      await withTimeout(long.close(), STEP, "close stops the wait");
    }),
  );
});

// -------------------------------------------------------------------------------------------------

describe("idleTimeout", () => {
  it(
    "a silent server: IDLE_TIMEOUT, 1011 sent, and a reconnection once the network heals",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const proxy = scope.use(
        await startFaultProxy({ target: { host: "127.0.0.1", port: server.port } }),
      );
      const client = track(
        scope,
        new WebSocketClient(proxy.url("/echo"), {
          reconnect: FAST,
          pingInterval: 0,
          idleTimeout: 200,
          closeTimeout: 100,
        }),
      );
      const seen = watch(client);
      await withTimeout(client.opened, STEP, "open");
      await client.send("alive");
      await waitFor(() => seen.messages.length === 1, STEP, "echo");
      const silentAt = performance.now();
      proxy.silence();
      await waitFor(() => seen.reconnects.length === 1, STEP, "reconnect after the idle timeout");
      const waited = performance.now() - silentAt;
      assert.ok(waited >= 190, `not before idleTimeout: ${waited.toFixed(0)} ms`);
      const error = seen.errors[0]?.error;
      assert.ok(error instanceof TimeoutError, String(error));
      assert.equal(error.code, "IDLE_TIMEOUT");
      const info = seen.reconnects[0].info;
      assert.equal(info.sent?.code, 1011, "close 1011 sent");
      assert.ok(info.error instanceof TimeoutError && info.error.code === "IDLE_TIMEOUT");
      assert.equal(info.received, undefined);
      proxy.heal();
      await waitFor(() => seen.opens.length === 2, STEP, "open again once healed");
      await client.send("back");
      await waitFor(() => seen.messages.length === 2, STEP, "echo after the silence");
      assert.equal(seen.messages[1], "back");
    }),
  );

  it(
    "heartbeats more often than idleTimeout keep the connection up; when they stop, IDLE_TIMEOUT",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ onClientClose: "reply-and-end" }));
      const client = track(
        scope,
        new WebSocketClient(server.url("/"), { pingInterval: 0, idleTimeout: 200 }),
      );
      const seen = watch(client);
      await withTimeout(client.opened, STEP, "open");
      const connection = await server.connection(0);
      for (let i = 0; i < 12; i++) {
        await delay(50);
        await connection.write(frame(Op.TEXT, `hb-${i}`));
      }
      await waitFor(() => seen.messages.length === 12, STEP, "12 heartbeats");
      assert.equal(seen.errors.length, 0, "600 ms of heartbeats every 50 ms: no idle timeout");
      assert.equal(client.readyState, WebSocketClient.OPEN);
      const info = await withTimeout(
        client.closed,
        1500,
        "IDLE_TIMEOUT within 200 ms of the last heartbeat (closed after 1.5 s of silence)",
      );
      assert.ok(info.error instanceof TimeoutError, String(info.error));
      assert.equal(info.error.code, "IDLE_TIMEOUT");
      assert.equal(info.sent?.code, 1011);
      assert.equal((await connection.closeFrame).closeCode, 1011);
    }),
  );
});
