/**
 * Writes in one task are batched, and a long burst leaves in parts (socket.ts,
 * `WRITE_BATCH_FRAMES`): against a plain TCP sink, every byte of a burst mixing small and large
 * frames arrives once and in order, and on the runtimes whose writes complete synchronously
 * (Node.js, Bun) the first batch has left before the task that wrote it ends.
 */

import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import { defaultConnector } from "../../src/adapters/detect.ts";
import type { Socket } from "../../src/adapters/socket.ts";
import { deferred, withTimeout } from "../_util/async.ts";
import { runtimeName } from "../_util/servers.ts";

interface Sink {
  port: number;
  /** Resolves with everything received once `length` bytes have arrived. */
  received(length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** A TCP server that keeps what its one client sends. */
async function startSink(): Promise<Sink> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let waiting: { length: number; resolve: (bytes: Uint8Array) => void } | undefined;
  const whole = (): Uint8Array => {
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  };
  const check = () => {
    if (waiting && total >= waiting.length) waiting.resolve(whole());
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("data", (chunk: Uint8Array) => {
      chunks.push(new Uint8Array(chunk));
      total += chunk.length;
      check();
    });
    socket.on("error", () => {});
  });
  const listening = deferred();
  server.listen(0, "127.0.0.1", () => listening.resolve());
  await listening.promise;
  return {
    port: (server.address() as net.AddressInfo).port,
    received(length) {
      const done = deferred<Uint8Array>();
      waiting = { length, resolve: done.resolve };
      check();
      return withTimeout(done.promise, 4000, `${length} bytes at the sink (got ${total})`);
    },
    close() {
      for (const s of sockets) s.destroy();
      const closed = deferred();
      server.close(() => closed.resolve());
      return closed.promise;
    },
  };
}

async function connect(port: number): Promise<Socket> {
  const connector = await defaultConnector();
  return connector({ hostname: "127.0.0.1", port });
}

/** `n` bytes, each `(seed + i) & 255`. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed + i) & 255;
  return out;
}

describe("adapter write batching", () => {
  it("a burst of small and large writes in one task arrives whole and in order", async () => {
    const sink = await startSink();
    const socket = await connect(sink.port);
    try {
      const sizes: number[] = [];
      for (let i = 0; i < 400; i++) sizes.push(i % 50 === 49 ? 70_000 + i : 1 + ((i * 37) % 1500));
      const sent: Uint8Array[] = sizes.map((n, i) => bytes(n, i));
      const writes = sent.map((chunk) => socket.write(chunk));
      // A second burst in a later task must queue behind the first.
      await Promise.resolve();
      const later = bytes(10_000, 7);
      writes.push(socket.write(later));
      sent.push(later);
      await Promise.all(writes);
      const length = sent.reduce((n, c) => n + c.length, 0);
      const got = await sink.received(length);
      assert.equal(got.length, length);
      let at = 0;
      for (const [i, chunk] of sent.entries()) {
        const piece = got.subarray(at, at + chunk.length);
        assert.ok(piece.every((b, j) => b === chunk[j]), `write ${i} arrived intact, in place`);
        at += chunk.length;
      }
    } finally {
      socket.close();
      await sink.close();
    }
  });

  it(
    "the first batch leaves before the task that wrote it ends",
    {
      skip: runtimeName() === "deno"
        ? "Deno's writes complete in a later task: bufferedAmount cannot show it mid-task"
        : false,
    },
    async () => {
      const sink = await startSink();
      const socket = await connect(sink.port);
      try {
        // All in one task: before the batch is full the frames wait (bufferedAmount counts
        // them); once it is full they leave, and bufferedAmount drops.
        const buffered: number[] = [];
        for (let i = 0; i < 100; i++) {
          socket.write(bytes(10, i));
          buffered.push(socket.bufferedAmount);
        }
        assert.equal(buffered[0], 10, "the first frame waits for more");
        const left = buffered.findIndex((n, i) => n < (i + 1) * 10);
        assert.ok(left > 0, `a batch left within the task (bufferedAmount: ${buffered})`);
        assert.ok(left < 64, `the first batch left after ${left + 1} frames, not at the end`);
        const got = await sink.received(1000);
        for (let i = 0; i < 100; i++) assert.equal(got[i * 10], i & 255, `frame ${i} in order`);
      } finally {
        socket.close();
        await sink.close();
      }
    },
  );
});
