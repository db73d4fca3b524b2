/**
 * Ending a connection in every state the application and the peer can leave it in (ARCHITECTURE.md
 * §2, step 6): with `maxQueue` messages unread (reading held), with the application stuck in a
 * `send` that a peer that stopped reading will never let through, and with a peer that floods
 * pings and reads nothing. Every way to end settles within `closeTimeout`; memory stays bounded.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import { InvalidStateError, WebSocketClient, WebSocketError } from "../../mod.ts";
import { delay, guarded, type Scope, stillPending, withTimeout } from "../_util/async.ts";
import { pattern, record, STEP, track } from "../_util/client.ts";
import { heapAfterGc } from "../_util/memory.ts";
import {
  acceptResponse,
  concat,
  frame,
  type HostileConnection,
  type HostileOptions,
  Op,
  startHostileServer,
} from "../_util/hostile.ts";

const encoder = new TextEncoder();

/** A client connected to a raw server (accepting by hand), and the server's side. */
async function openRaw(
  scope: Scope,
  options: ConstructorParameters<typeof WebSocketClient>[1],
  server: HostileOptions = {},
): Promise<{ client: WebSocketClient; connection: HostileConnection }> {
  const hostile = scope.use(await startHostileServer({ handshake: "none", ...server }));
  const client = track(scope, new WebSocketClient(hostile.url("/"), options));
  const connection = await hostile.connection(0);
  const request = await withTimeout(connection.request, STEP, "request");
  await connection.write(encoder.encode(acceptResponse(request)));
  if (server.pauseAfterHandshake) connection.pause(); // the handshake was answered by hand
  await withTimeout(client.opened, STEP, "open");
  return { client, connection };
}

/** `count` text messages of about `size` bytes, numbered, in one buffer. */
function messages(count: number, size: number, from = 0): Uint8Array {
  const frames: Uint8Array[] = [];
  for (let i = from; i < from + count; i++) {
    frames.push(frame(Op.TEXT, `${String(i).padStart(6, "0")} ${"x".repeat(size)}`));
  }
  return concat(...frames);
}

/** Writes without waiting for the peer to take the bytes (they may never be taken). */
function push(connection: HostileConnection, bytes: Uint8Array): void {
  connection.write(bytes).catch(() => {});
}

describe("ending a connection while the application reads nothing (maxQueue reached)", () => {
  it(
    "close() reads on to the server's close reply: clean, fast, and the queued messages stay " +
      "iterable in order",
    guarded(async (scope) => {
      const { client, connection } = await openRaw(scope, { maxQueue: 16, closeTimeout: 3000 }, {
        onClientClose: "reply-and-end",
      });
      push(connection, messages(500, 1000));
      await delay(300); // the client holds reading past 16 unread messages
      const started = performance.now();
      const info = await withTimeout(client.close(1000, "enough"), STEP, "close()");
      const took = performance.now() - started;
      assert.equal(info.wasClean, true, `close was not clean: ${info.error?.message}`);
      assert.equal(info.received?.code, 1000);
      assert.ok(took < 2500, `close() took ${took.toFixed(0)} ms: it waited for its timeout`);
      const seen: string[] = [];
      for await (const m of client) seen.push((m as string).slice(0, 6));
      assert.equal(seen.length, 500, "every message that arrived before the close reply");
      assert.deepEqual(seen, Array.from({ length: 500 }, (_, i) => String(i).padStart(6, "0")));
    }),
  );

  it(
    "terminate() settles at once: closed, the close event, readyState CLOSED",
    guarded(async (scope) => {
      const { client, connection } = await openRaw(scope, { maxQueue: 8 });
      const events = record(client);
      push(connection, messages(400, 1000));
      await delay(300);
      client.terminate();
      const info = await withTimeout(client.closed, 1000, "closed after terminate()");
      assert.equal(info.code, 1006);
      assert.equal(client.readyState, WebSocketClient.CLOSED);
      assert.equal((await withTimeout(events.close, 1000, "close event")).code, 1006);
    }),
  );

  it(
    "close() against a server that floods and never answers settles at closeTimeout with " +
      "CLOSE_TIMEOUT",
    guarded(async (scope) => {
      const { client, connection } = await openRaw(scope, { maxQueue: 8, closeTimeout: 800 }, {
        onClientClose: "ignore",
      });
      // Far more than a closing connection queues (16 MiB) while nobody reads.
      const burst = messages(1000, 32 * 1024);
      let flooding = true;
      (async () => {
        while (flooding) {
          await connection.write(burst).catch(() => (flooding = false));
          await delay(0); // once the client is gone, write() resolves at once
        }
      })();
      scope.defer(() => (flooding = false));
      await delay(200);
      const started = performance.now();
      const info = await withTimeout(client.close(), STEP, "close()");
      const took = performance.now() - started;
      flooding = false;
      assert.equal(info.wasClean, false);
      assert.equal(info.error?.code, "CLOSE_TIMEOUT");
      assert.ok(took >= 700 && took < 3000, `settled after ${took.toFixed(0)} ms`);
      const usage = process.memoryUsage();
      assert.ok(usage.heapUsed < 512 * 1024 * 1024, "heap stays bounded");
    }),
  );
});

describe("ending a connection to a peer that stopped reading (a send is stuck)", () => {
  /** Sends 1 MiB messages until one stays pending; returns it (wrapped: a promise of a promise
   * would wait for it). */
  async function stuckSend(client: WebSocketClient): Promise<{ pending: Promise<void> }> {
    const chunk = pattern(1024 * 1024, 3);
    for (let i = 0; i < 256; i++) {
      const p = client.send(chunk);
      p.catch(() => {});
      if (await stillPending(p, 100)) return { pending: p };
    }
    throw new Error("no send ever waited: the peer kept reading");
  }

  it(
    "terminate() settles at once and the pending send rejects",
    guarded(async (scope) => {
      const { client } = await openRaw(scope, {}, { pauseAfterHandshake: true });
      const { pending } = await stuckSend(client);
      client.terminate();
      const info = await withTimeout(client.closed, 1000, "closed after terminate()");
      assert.equal(info.code, 1006);
      const error = await withTimeout(pending, 1000, "pending send").then(
        () => assert.fail("the stuck send resolved"),
        (e) => e,
      );
      assert.ok(error instanceof WebSocketError, String(error));
      assert.ok(client.bufferedAmount === 0 || client.readyState === WebSocketClient.CLOSED);
    }),
  );

  it(
    "close() settles within closeTimeout (its close frame cannot get out)",
    guarded(async (scope) => {
      const { client } = await openRaw(scope, { closeTimeout: 500 }, {
        pauseAfterHandshake: true,
      });
      const { pending } = await stuckSend(client);
      const started = performance.now();
      const info = await withTimeout(client.close(), STEP, "close()");
      const took = performance.now() - started;
      assert.equal(info.error?.code, "CLOSE_TIMEOUT");
      assert.ok(took < 2500, `close() took ${took.toFixed(0)} ms`);
      await assert.rejects(withTimeout(pending, 1000, "pending send"), WebSocketError);
      await assert.rejects(client.send("late"), InvalidStateError);
    }),
  );

  it(
    "the application stuck in send with maxQueue unread messages can still terminate()",
    guarded(async (scope) => {
      const { client, connection } = await openRaw(scope, { maxQueue: 4 }, {
        pauseAfterHandshake: true,
      });
      push(connection, messages(200, 2000));
      const { pending } = await stuckSend(client);
      client.terminate();
      await withTimeout(client.closed, 1000, "closed after terminate()");
      await assert.rejects(withTimeout(pending, 1000, "pending send"), WebSocketError);
    }),
  );
});

describe("a peer that floods pings and reads nothing", () => {
  it(
    "pings cost flat memory: pongs are coalesced per read (RFC 6455 §5.5.3) and reading stops " +
      "while they cannot be written",
    guarded(async (scope) => {
      const { client, connection } = await openRaw(scope, {}, { pauseAfterHandshake: true });
      let pings = 0;
      client.addEventListener("ping", () => pings++);
      // Pings with 125-byte payloads (RFC 6455 §5.5: the most a control frame holds).
      const one = frame(Op.PING, new Uint8Array(125).fill(0x61));
      const batch = concat(...Array.from({ length: 4096 }, () => one)); // 516 KiB
      let stop = false;
      scope.defer(() => (stop = true));
      /** Writes `mib` MiB of pings; stops early if the client stops reading. */
      const flood = async (mib: number) => {
        for (let i = 0; i < Math.ceil((mib << 20) / batch.length) && !stop; i++) {
          const ok = await Promise.race([
            connection.write(batch).then(() => true),
            delay(1500).then(() => false),
          ]);
          if (!ok) return;
        }
      };
      const sample = () => {
        const heap = heapAfterGc(); // what is kept, not garbage the collector has not reached
        return { rss: process.memoryUsage().rss / 1048576, heap };
      };
      await withTimeout(flood(12), 30_000, "the first 12 MiB");
      await delay(100);
      const at12 = sample();
      await withTimeout(flood(36), 30_000, "36 MiB more");
      await delay(100);
      const at48 = sample();
      // Unbounded (before the fix), memory grew linearly: 12 MiB of pings cost +46 to +123 MiB of
      // RSS and 48 MiB +305 MiB on Node.js 20. Flat: the 36 MiB after the first 12 cost little.
      const rss = at48.rss - at12.rss;
      const heap = at48.heap - at12.heap;
      // RSS also keeps what the allocator has not returned after the reads' garbage (seen: +0 to
      // +56 MiB on Node 20); the unbounded growth was about +230 MiB for these 36 MiB.
      assert.ok(rss < 100, `RSS grew by ${rss.toFixed(1)} MiB from 12 to 48 MiB of pings`);
      assert.ok(heap < 16, `heap grew by ${heap.toFixed(1)} MiB from 12 to 48 MiB of pings`);
      assert.ok(pings > 0, "pings were read");
      assert.equal(client.readyState, WebSocketClient.OPEN, "the connection stays up");
    }),
  );
});
