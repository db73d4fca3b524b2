/**
 * The network breaks under a `WebSocketClient`: through the fault proxy (`tests/_util/fault_proxy.ts`)
 * between the client and a real echo server. First the proxy itself is proved on raw TCP (each
 * fault does what it says, and `close()` leaves nothing behind); then the client's reconnection
 * (`reconnect` option, `src/client/reconnect.ts`) and its keepalive, framing and backpressure are
 * checked through drops, resets in the middle of a frame, refusals, silence, 1-byte chops, latency
 * and a bandwidth limit.
 */

import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import {
  type CloseInfo,
  NetworkError,
  type ReconnectEvent,
  TimeoutError,
  WebSocketClient,
  type WebSocketError,
} from "../../mod.ts";
import {
  deferred,
  delay,
  guarded,
  type Scope,
  stillPending,
  waitFor,
  withTimeout,
} from "../_util/async.ts";
import { startFaultProxy } from "../_util/fault_proxy.ts";
import { serverKinds, startEchoServer } from "../_util/servers.ts";
import {
  assertBytes,
  LONG,
  LONG_DEADLINE,
  nextMessage,
  pattern,
  record,
  STEP,
  textOfBytes,
  track,
} from "../_util/client.ts";

// -------------------------------------------------------------------------------------------------
// Raw TCP helpers for the proxy's own tests.

/** A TCP server that echoes, or sends `burst` bytes on the first byte received when given. */
interface RawServer {
  readonly port: number;
  readonly sockets: readonly RawPeer[];
  close(): Promise<void>;
}

/** What one side of a raw TCP connection saw. */
interface RawPeer {
  readonly socket: net.Socket;
  readonly received: Uint8Array[];
  readonly bytes: number;
  readonly ended: boolean;
  readonly error: (Error & { code?: string }) | undefined;
  readonly closed: Promise<void>;
}

function peer(socket: net.Socket): RawPeer {
  const closed = deferred<void>();
  const state = {
    socket,
    received: [] as Uint8Array[],
    bytes: 0,
    ended: false,
    error: undefined as (Error & { code?: string }) | undefined,
    closed: closed.promise,
  };
  socket.on("data", (chunk: Uint8Array) => {
    state.received.push(new Uint8Array(chunk));
    state.bytes += chunk.length;
  });
  socket.on("end", () => (state.ended = true));
  socket.on("error", (error) => (state.error = error));
  socket.on("close", () => closed.resolve());
  return state;
}

async function startRawServer(burst?: Uint8Array): Promise<RawServer> {
  const sockets: RawPeer[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const p = peer(socket);
    sockets.push(p);
    let sent = false;
    socket.on("data", (chunk: Uint8Array) => {
      if (!burst) socket.write(chunk);
      else if (!sent) {
        sent = true;
        socket.write(burst);
      }
    });
    socket.on("end", () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const p of sockets) p.socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Connects to `port`; resolves with the peer once connected, rejects with the connect error. */
function rawConnect(scope: Scope, port: number): Promise<RawPeer> {
  return new Promise<RawPeer>((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    scope.defer(() => socket.destroy());
    const p = peer(socket);
    // Like a real client: answer the peer's FIN with ours.
    socket.on("end", () => socket.end());
    socket.once("connect", () => resolve(p));
    socket.once("error", reject);
  });
}

function joined(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const target = (port: number) => ({ host: "127.0.0.1", port });

describe("fault proxy (raw TCP)", () => {
  it(
    "forwards both ways and counts connections and bytes",
    guarded(async (scope) => {
      const server = scope.use(await startRawServer());
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      const client = await rawConnect(scope, proxy.port);
      const data = pattern(100_000);
      client.socket.write(data);
      await waitFor(() => client.bytes === data.length, STEP, "echo through the proxy");
      assertBytes(joined(client.received), data, "echo");
      assert.equal(proxy.accepted, 1);
      assert.equal(proxy.open, 1);
      assert.equal(proxy.bytesUp, data.length);
      assert.equal(proxy.bytesDown, data.length);
      const connection = await proxy.connection(0);
      assert.equal(connection.bytesUp, data.length);
      assert.equal(connection.open, true);
      client.socket.end();
      await withTimeout(connection.closed, STEP, "the connection ends after the client's FIN");
      await withTimeout(client.closed, STEP, "client closed");
      assert.equal(client.ended, true, "the server's FIN came back through the proxy");
      assert.equal(proxy.open, 0);
      assert.equal(proxy.connections().length, 1);
    }),
  );

  it(
    "drop(): FIN to both sides, no reset",
    guarded(async (scope) => {
      const server = scope.use(await startRawServer());
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      const client = await rawConnect(scope, proxy.port);
      client.socket.write("x");
      await waitFor(() => client.bytes === 1, STEP, "first echo");
      proxy.drop();
      await withTimeout(client.closed, STEP, "client closed");
      await withTimeout(server.sockets[0].closed, STEP, "server side closed");
      assert.equal(client.ended, true, "the client got a FIN");
      assert.equal(server.sockets[0].ended, true, "the server got a FIN");
      assert.equal(client.error, undefined);
      assert.equal(server.sockets[0].error, undefined);
      await withTimeout((await proxy.connection(0)).closed, STEP, "proxy connection closed");
    }),
  );

  it(
    "reset(): both sides are torn down at once (RST where the runtime has resetAndDestroy)",
    guarded(async (scope) => {
      const server = scope.use(await startRawServer());
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      const client = await rawConnect(scope, proxy.port);
      client.socket.write("x");
      await waitFor(() => client.bytes === 1, STEP, "first echo");
      proxy.reset();
      await withTimeout(client.closed, STEP, "client closed");
      await withTimeout(server.sockets[0].closed, STEP, "server side closed");
      if (
        typeof (net.Socket.prototype as { resetAndDestroy?: unknown }).resetAndDestroy ===
          "function"
      ) {
        assert.equal(client.error?.code, "ECONNRESET", `client: ${client.error}`);
        assert.equal(
          server.sockets[0].error?.code,
          "ECONNRESET",
          `server: ${server.sockets[0].error}`,
        );
      }
    }),
  );

  it(
    "resetAfter(n): exactly n more bytes from the server reach the client, then the reset",
    guarded(async (scope) => {
      const server = scope.use(await startRawServer(pattern(50_000)));
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      const client = await rawConnect(scope, proxy.port);
      proxy.resetAfter(1234);
      client.socket.write("go");
      await withTimeout(client.closed, STEP, "client closed");
      assert.equal(client.bytes, 1234);
      assertBytes(joined(client.received), pattern(50_000).subarray(0, 1234), "the first bytes");
      assert.equal(client.ended, false, "no FIN before the reset");
    }),
  );

  it(
    "silence(): nothing passes either way (FIN included) while TCP stays open; unsilence() delivers what was held",
    guarded(async (scope) => {
      const server = scope.use(await startRawServer());
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      const client = await rawConnect(scope, proxy.port);
      client.socket.write("a");
      await waitFor(() => client.bytes === 1, STEP, "first echo");
      proxy.silence();
      client.socket.write("bc");
      client.socket.end();
      await delay(150);
      assert.equal(server.sockets[0].bytes, 1, "nothing reached the server");
      assert.equal(server.sockets[0].ended, false, "nor the client's FIN");
      assert.equal(client.bytes, 1, "nothing came back");
      assert.equal(client.socket.destroyed, false);
      assert.equal(proxy.open, 1);
      proxy.unsilence();
      await waitFor(() => client.bytes === 3, STEP, "held bytes delivered");
      assert.equal(new TextDecoder().decode(joined(client.received)), "abc");
      await withTimeout(client.closed, STEP, "then the FINs, both ways");
      assert.equal(client.ended, true);
    }),
  );

  it(
    "delay(ms): each direction adds the latency (order kept)",
    guarded(async (scope) => {
      const server = scope.use(await startRawServer());
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      const client = await rawConnect(scope, proxy.port);
      proxy.delay(60);
      const started = performance.now();
      for (let i = 0; i < 10; i++) client.socket.write(String(i));
      await waitFor(() => client.bytes === 10, STEP, "ten echoes");
      assert.ok(performance.now() - started >= 115, "at least 2 x 60 ms for the round trip");
      assert.equal(new TextDecoder().decode(joined(client.received)), "0123456789");
    }),
  );

  it(
    "chop(1, jitter): writes of one byte with random pauses; the bytes are intact",
    guarded(async (scope) => {
      const server = scope.use(await startRawServer());
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      const client = await rawConnect(scope, proxy.port);
      proxy.chop(1, { jitter: 2 });
      const data = pattern(200);
      client.socket.write(data);
      await waitFor(() => client.bytes === data.length, STEP, "chopped echo");
      assertBytes(joined(client.received), data, "echo");
      assert.ok(
        server.sockets[0].received.length > 10,
        `the server read many small pieces (${server.sockets[0].received.length})`,
      );
      assert.ok(client.received.length > 10, `the client too (${client.received.length})`);
    }),
  );

  it(
    "bandwidth(bps): throughput is limited; Infinity lifts the limit",
    guarded(async (scope) => {
      const server = scope.use(await startRawServer(pattern(64 * 1024)));
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      const client = await rawConnect(scope, proxy.port);
      proxy.bandwidth(128 * 1024);
      const started = performance.now();
      client.socket.write("go");
      await waitFor(() => client.bytes >= 16 * 1024, STEP, "the first quarter");
      proxy.bandwidth(Infinity);
      await waitFor(() => client.bytes === 64 * 1024, STEP, "the rest at full speed");
      // 16 KiB at 128 KiB/s: at least ~110 ms (one 20 ms slice may leave at once).
      assert.ok(performance.now() - started >= 90, "the limit held for the first quarter");
      assertBytes(joined(client.received), pattern(64 * 1024), "burst");
    }),
  );

  it(
    "refuse(): ECONNREFUSED until accept(); refuse(ms) accepts again by itself",
    guarded(async (scope) => {
      const server = scope.use(await startRawServer());
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      const existing = await rawConnect(scope, proxy.port);
      proxy.refuse();
      assert.equal(proxy.refusing, true);
      await assert.rejects(rawConnect(scope, proxy.port), { code: "ECONNREFUSED" });
      existing.socket.write("still");
      await waitFor(() => existing.bytes === 5, STEP, "the open connection still works");
      await proxy.accept();
      assert.equal(proxy.refusing, false);
      const again = await rawConnect(scope, proxy.port);
      again.socket.write("y");
      await waitFor(() => again.bytes === 1, STEP, "echo after accept()");
      proxy.refuse(100);
      await assert.rejects(rawConnect(scope, proxy.port), { code: "ECONNREFUSED" });
      await waitFor(() => !proxy.refusing, STEP, "refuse(100) ends by itself");
      const later = await rawConnect(scope, proxy.port);
      later.socket.write("z");
      await waitFor(() => later.bytes === 1, STEP, "echo after the refusal ended");
      assert.equal(proxy.accepted, 3);
    }),
  );

  it(
    'refuse(ms, { mode: "close" | "reset" }): accepted, then ended or reset at once',
    guarded(async (scope) => {
      const server = scope.use(await startRawServer());
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      proxy.refuse(undefined, { mode: "close" });
      const closed = await rawConnect(scope, proxy.port);
      await withTimeout(closed.closed, STEP, "closed at once");
      assert.equal(closed.ended, true);
      assert.equal(closed.bytes, 0);
      proxy.refuse(undefined, { mode: "reset" });
      // Deno may report the reset as the connect's own failure.
      const reset = await withTimeout(
        rawConnect(scope, proxy.port).then(
          async (p) => (await p.closed, p.error ?? p.bytes),
          (error: Error & { code?: string }) => error,
        ),
        STEP,
        "reset at once",
      );
      assert.ok(
        reset === 0 || (reset instanceof Error && reset.code === "ECONNRESET"),
        `reset, no byte: ${reset}`,
      );
      assert.equal(proxy.refused, 2);
      assert.equal(proxy.accepted, 0);
      assert.equal(server.sockets.length, 0, "nothing reached the server");
      await proxy.accept();
      const fine = await rawConnect(scope, proxy.port);
      fine.socket.write("k");
      await waitFor(() => fine.bytes === 1, STEP, "echo after accept()");
    }),
  );

  it(
    "close(): clears every timer, destroys every connection and stops listening",
    guarded(async (scope) => {
      const server = scope.use(await startRawServer());
      const proxy = await startFaultProxy({ target: target(server.port) });
      scope.use(proxy);
      const a = await rawConnect(scope, proxy.port);
      const b = await rawConnect(scope, proxy.port);
      await proxy.connection(1);
      proxy.delay(10_000, { scope: "current" });
      a.socket.write("held for 10 s");
      b.socket.write("held too");
      proxy.chop(1, { jitter: 10_000, scope: "new" });
      proxy.refuse(60_000);
      await delay(20);
      assert.ok(proxy.timers >= 2, `timers are pending (${proxy.timers})`);
      await withTimeout(proxy.close(), STEP, "close()");
      assert.equal(proxy.timers, 0);
      assert.equal(proxy.open, 0);
      await withTimeout(Promise.all([a.closed, b.closed]), STEP, "clients closed");
      await assert.rejects(rawConnect(scope, proxy.port), { code: "ECONNREFUSED" });
      await withTimeout(proxy.close(), STEP, "close() again");
    }),
  );
});

// -------------------------------------------------------------------------------------------------
// The client through faults.

const RECONNECT = { initialDelay: 50, maxDelay: 200 } as const;

/** Records the `reconnect` and `open` events of `client`. */
function reconnects(client: WebSocketClient): { events: ReconnectEvent[]; opens: number } {
  const state = { events: [] as ReconnectEvent[], opens: 0 };
  client.addEventListener("reconnect", (e) => state.events.push(e));
  client.addEventListener("open", () => state.opens++);
  return state;
}

/** Starts a client through `proxy` and registers its termination. */
function through(
  scope: Scope,
  url: string,
  options: ConstructorParameters<typeof WebSocketClient>[1] = {},
): WebSocketClient {
  return track(scope, new WebSocketClient(url, options));
}

/** Sends `text` until it succeeds (sends reject while the client reconnects). */
async function sendWhenOpen(client: WebSocketClient, text: string): Promise<void> {
  await waitFor(() => client.readyState === WebSocketClient.OPEN, STEP, `open to send ${text}`);
  await withTimeout(client.send(text), STEP, `send ${text}`);
}

function assertDropInfo(event: ReconnectEvent, label: string): void {
  assert.equal(event.wasOpen, true, `${label}: wasOpen`);
  assert.equal(event.attempt, 1, `${label}: attempt`);
  assert.equal(event.info.code, 1006, `${label}: code`);
  assert.equal(event.info.wasClean, false, `${label}: wasClean`);
  assert.ok(event.delay >= 0 && event.delay <= RECONNECT.initialDelay, `${label}: delay`);
}

describe("WebSocketClient through faults", () => {
  for (const kind of serverKinds()) {
    it(
      `${kind} server, a drop mid-stream: reconnect (1006, attempt 1), open again, iteration goes on`,
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
        const client = through(scope, proxy.url("/echo"), { reconnect: RECONNECT });
        const seen = reconnects(client);
        const events = record(client);
        await withTimeout(client.opened, STEP, "open");
        const iterator = client[Symbol.asyncIterator]();
        // A steady stream of numbered messages; sends during the reconnection are refused.
        let next = 0;
        const refusals = new Set<string>();
        let streaming = true;
        const stream = (async () => {
          while (streaming) {
            const n = next++;
            await client.send(String(n)).catch((e: WebSocketError) => refusals.add(e.code));
            await delay(2);
          }
        })();
        scope.defer(() => (streaming = false));
        const received: number[] = [];
        while (received.length < 20) received.push(Number(await nextMessage(iterator, "before")));
        proxy.drop();
        await waitFor(() => seen.events.length === 1, STEP, "reconnect event");
        assertDropInfo(seen.events[0], "drop");
        assert.equal(
          seen.events[0].info.error?.code,
          "UNEXPECTED_EOF",
          "a FIN without close frame",
        );
        await waitFor(() => seen.opens === 2, STEP, "open again");
        const reopenedAt = next;
        while (received.at(-1)! < reopenedAt + 20) {
          received.push(Number(await nextMessage(iterator, "after the reconnection")));
        }
        streaming = false;
        await withTimeout(stream, STEP, "stream stopped");
        for (let i = 1; i < received.length; i++) {
          assert.ok(received[i] > received[i - 1], `in order, no duplicate: ${received}`);
        }
        assert.equal(seen.events.length, 1, "one reconnection");
        assert.equal(proxy.accepted, 2);
        assert.ok(events.types.includes("error"), "the drop was reported as an error event");
        assert.equal(events.types.filter((t) => t === "close").length, 0, "no close event");
        assert.equal(client.readyState, WebSocketClient.OPEN);
        assert.ok(
          [...refusals].every((code) => code === "NOT_OPEN"),
          `sends during the reconnection are refused with NOT_OPEN only: ${[...refusals]}`,
        );
      }),
    );

    it(
      `${kind} server, an RST mid-frame: reconnect, and the partial frame is never a message`,
      guarded(async (scope) => {
        const server = scope.use(await startEchoServer(kind));
        const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
        const client = through(scope, proxy.url("/echo"), { reconnect: RECONNECT });
        const seen = reconnects(client);
        const events = record(client, { messages: true });
        await withTimeout(client.opened, STEP, "open");
        await withTimeout(client.send("whole"), STEP, "send");
        await waitFor(() => events.messages.length === 1, STEP, "first echo");
        const connection = await proxy.connection(0);
        const before = connection.bytesDown;
        proxy.resetAfter(1000); // the echo's header and 996 of its 20,000 payload bytes
        await withTimeout(client.send(pattern(20_000)), STEP, "send the big one");
        await withTimeout(connection.closed, STEP, "the proxy reset the connection");
        assert.equal(connection.bytesDown - before, 1000, "the client got a partial frame");
        await waitFor(() => seen.events.length === 1, STEP, "reconnect event");
        assertDropInfo(seen.events[0], "reset");
        const error = seen.events[0].info.error;
        assert.ok(error instanceof NetworkError, `a NetworkError: ${error}`);
        assert.equal(error.code, "CONNECTION_RESET");
        await waitFor(() => seen.opens === 2, STEP, "open again");
        await sendWhenOpen(client, "after");
        await waitFor(() => events.messages.length === 2, STEP, "echo after the reconnection");
        assert.deepEqual(events.messages, ["whole", "after"], "no message from the partial frame");
      }),
    );
  }

  it(
    "refused for a while: CONNECTION_REFUSED attempts are retried (growing numbers, delays <= maxDelay), then it opens",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      proxy.refuse();
      const client = through(scope, proxy.url("/echo"), { reconnect: RECONNECT });
      const seen = reconnects(client);
      await waitFor(() => seen.events.length >= 4, STEP, "four failed attempts");
      await proxy.accept();
      await withTimeout(client.opened, STEP, "open once the proxy accepts");
      const events = seen.events;
      for (const [i, event] of events.entries()) {
        assert.equal(event.attempt, i + 1, "attempt numbers grow by one");
        assert.equal(event.wasOpen, false);
        assert.ok(event.delay >= 0 && event.delay <= RECONNECT.maxDelay, `delay ${event.delay}`);
        const error = event.info.error;
        assert.ok(error instanceof NetworkError, `attempt ${i + 1}: ${error}`);
        assert.equal(error.code, "CONNECTION_REFUSED");
      }
      assert.equal(proxy.accepted, 1, "only the last attempt reached the proxy");
      assert.equal(seen.opens, 1);
      await withTimeout(client.send("hello"), STEP, "send");
      const iterator = client[Symbol.asyncIterator]();
      assert.equal(await nextMessage(iterator, "echo"), "hello");
    }),
  );

  it(
    "maxAttempts 2 against a refusing proxy: close after exactly 2 reconnect events, closed with the last failure",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      const client = through(scope, proxy.url("/echo"), {
        reconnect: { ...RECONNECT, maxAttempts: 2 },
      });
      const order: string[] = [];
      const seen = reconnects(client);
      client.addEventListener("reconnect", () => order.push("reconnect"));
      client.addEventListener("close", () => order.push("close"));
      const events = record(client);
      await withTimeout(client.opened, STEP, "open");
      proxy.refuse();
      proxy.drop();
      const info: CloseInfo = await withTimeout(client.closed, STEP, "closed");
      const close = await withTimeout(events.close, STEP, "close event");
      assert.deepEqual(order, ["reconnect", "reconnect", "close"]);
      assert.deepEqual(seen.events.map((e) => [e.attempt, e.wasOpen]), [[1, true], [2, false]]);
      assert.ok(info.error instanceof NetworkError, String(info.error));
      assert.equal(info.error.code, "CONNECTION_REFUSED");
      assert.equal(info.code, 1006);
      assert.equal(close.error, info.error, "the close event carries the same failure");
      assert.equal(client.readyState, WebSocketClient.CLOSED);
      assert.equal(proxy.accepted, 1);
    }),
  );

  it(
    "silence both ways with keepalive: PING_TIMEOUT, then a reconnection once unsilenced",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      const client = through(scope, proxy.url("/echo"), {
        reconnect: RECONNECT,
        pingInterval: 100,
        pingTimeout: 200,
        closeTimeout: 100,
      });
      const seen = reconnects(client);
      await withTimeout(client.opened, STEP, "open");
      proxy.silence();
      await waitFor(() => seen.events.length === 1, STEP, "reconnect after the ping timeout");
      const event = seen.events[0];
      assert.equal(event.wasOpen, true);
      assert.equal(event.attempt, 1);
      assert.ok(event.info.error instanceof TimeoutError, String(event.info.error));
      assert.equal(event.info.error.code, "PING_TIMEOUT");
      assert.equal(event.info.sent?.code, 1011, "the client sent (queued) close 1011");
      assert.equal(event.info.received, undefined, "nothing came back through the silence");
      await delay(100);
      assert.equal(seen.opens, 1, "the new attempt cannot open while silent");
      proxy.unsilence();
      await waitFor(() => seen.opens === 2, STEP, "open again once unsilenced");
      await withTimeout(client.send("back"), STEP, "send");
      const iterator = client[Symbol.asyncIterator]();
      assert.equal(await nextMessage(iterator, "echo after the silence"), "back");
    }),
  );

  it(
    "silence without reconnect: closed settles within pingInterval + pingTimeout + closeTimeout",
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      const client = through(scope, proxy.url("/echo"), {
        pingInterval: 100,
        pingTimeout: 200,
        closeTimeout: 100,
      });
      const events = record(client);
      await withTimeout(client.opened, STEP, "open");
      proxy.silence();
      const started = performance.now();
      // The bound (the ping leaves within pingInterval, the pong is late pingTimeout later, then
      // the close frame waits closeTimeout), plus slack for a loaded machine.
      const info = await withTimeout(client.closed, 100 + 200 + 100 + 600, "closed in time");
      const elapsed = performance.now() - started;
      assert.ok(info.error instanceof TimeoutError, String(info.error));
      assert.equal(info.error.code, "PING_TIMEOUT");
      assert.equal(client.closeInfo?.error?.code, "PING_TIMEOUT");
      assert.equal(info.sent?.code, 1011);
      assert.equal(info.wasClean, false);
      assert.ok(elapsed >= 200, `not before the pong was due (${elapsed.toFixed(0)} ms)`);
      await withTimeout(events.close, STEP, "close event");
      assert.deepEqual(events.types.slice(-2), ["error", "close"]);
    }),
  );

  it(
    "1-byte chops with small pauses: text, binary, 70 KiB and fragmented messages echo intact",
    { timeout: 10_000 },
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      proxy.chop(1, { jitter: 2 }); // the handshake too
      const client = through(scope, proxy.url("/echo"), { fragmentSize: 4096 });
      await withTimeout(client.opened, STEP, "open through 1-byte chops");
      const iterator = client[Symbol.asyncIterator]();
      const small: Array<string | Uint8Array> = ["hi", "é€😀 ж", pattern(300, 3), ""];
      for (const message of small) {
        await withTimeout(client.send(message), STEP, "send a small one");
        const echo = await nextMessage(iterator, "small echo");
        if (typeof message === "string") assert.equal(echo, message);
        else assertBytes(echo, message, "small binary echo");
      }
      // Large ones: a pause every 1024 pieces keeps the run short.
      proxy.chop(1, { jitter: 2, pauseEvery: 1024 });
      const big = pattern(70 * 1024, 7);
      const text = textOfBytes(10_000); // 3 fragments, split inside UTF-8 sequences
      await withTimeout(client.send(big), STEP, "send 70 KiB (18 fragments)");
      assertBytes(await nextMessage(iterator, "70 KiB echo"), big, "70 KiB echo");
      await withTimeout(client.send(text), STEP, "send fragmented text");
      assert.equal(await nextMessage(iterator, "fragmented text echo"), text);
      const connection = await proxy.connection(0);
      assert.ok(connection.bytesDown > 70 * 1024 + 10_000, "everything went through the proxy");
    }, 9000),
  );

  it(
    "delay and bandwidth: 1 MiB echoes intact; send() stays pending while the limit holds, then resolves",
    LONG,
    guarded(async (scope) => {
      const server = scope.use(await startEchoServer("ws"));
      const proxy = scope.use(await startFaultProxy({ target: target(server.port) }));
      const client = through(scope, proxy.url("/echo"));
      await withTimeout(client.opened, STEP, "open");
      const iterator = client[Symbol.asyncIterator]();
      proxy.delay(20);
      proxy.bandwidth(1024 * 1024);
      const data = pattern(1024 * 1024, 11);
      const started = performance.now();
      await withTimeout(client.send(data), STEP, "send 1 MiB");
      assertBytes(await nextMessage(iterator, "1 MiB echo", 10_000), data, "1 MiB echo");
      const elapsed = performance.now() - started;
      assert.ok(
        elapsed >= 800,
        `the limit applied (${elapsed.toFixed(0)} ms for 1 MiB at 1 MiB/s)`,
      );

      // Backpressure: the kernel's socket buffers absorb a few MiB first, so send until a send
      // waits (bounded), then check that it keeps waiting while the limit holds.
      proxy.bandwidth(64 * 1024);
      const chunk = pattern(1024 * 1024, 12);
      let pending: Promise<void> | undefined;
      let sends = 0;
      while (pending === undefined && sends < 16) {
        const sent = client.send(chunk);
        sent.catch(() => {});
        sends++;
        if (await stillPending(sent, 200)) pending = sent;
      }
      assert.ok(pending !== undefined, `a send waited under the limit (after ${sends} MiB)`);
      const connection = await proxy.connection(0);
      const upBefore = connection.bytesUp;
      assert.ok(await stillPending(pending, 300), "it keeps waiting while the limit holds");
      assert.ok(client.bufferedAmount > 0, "bytes wait in the client");
      assert.ok(connection.bytesUp - upBefore < 64 * 1024, "the proxy forwards at the limit only");
      proxy.bandwidth(Infinity);
      proxy.delay(0);
      await withTimeout(pending, STEP, "the send resolves once the limit is lifted");
      for (let i = 0; i < sends; i++) {
        const echo = await nextMessage(iterator, `echo ${i + 1} of ${sends}`, 10_000);
        if (i === sends - 1) assertBytes(echo, chunk, "the last echo");
        else assert.equal((echo as Uint8Array).length, chunk.length);
      }
    }, LONG_DEADLINE),
  );
});
