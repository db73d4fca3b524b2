/**
 * Writes in one task are batched, and a long burst leaves in parts (socket.ts,
 * `WRITE_BATCH_FRAMES`): against a plain TCP sink, every byte of a burst mixing small and large
 * frames arrives once and in order, and on the runtimes whose writes complete synchronously
 * (Node.js, Bun) the first batch has left before the task that wrote it ends. A write's `written`
 * callback (the pool of large frames relies on it) comes once per write, only after the socket
 * is done with the bytes: a buffer overwritten from the callback still arrives as written.
 */

import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import { defaultConnector } from "../../src/adapters/detect.ts";
import type { Socket } from "../../src/adapters/socket.ts";
import { deferred, waitFor, withTimeout } from "../_util/async.ts";
import { concat } from "../_util/fixtures.ts";
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
  const check = () => {
    if (waiting && total >= waiting.length) waiting.resolve(concat(...chunks));
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

  it("written comes once per write, after the bytes are out: overwriting then loses nothing", async () => {
    const sink = await startSink();
    const socket = await connect(sink.port);
    try {
      // Large writes (beyond the socket buffers: some are taken in parts, after drains), and
      // small ones between them that are batched.
      const sent: Uint8Array[] = [];
      const calls = new Map<Uint8Array, number>();
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 12; i++) {
        const large = bytes(i % 3 === 0 ? 4 * 1024 * 1024 + i : 100_000 + i, i);
        const small = bytes(50 + i, 100 + i);
        sent.push(large.slice(), small);
        writes.push(socket.write(large, (data) => {
          assert.equal(data, large, "written is given the buffer that was written");
          calls.set(data, (calls.get(data) ?? 0) + 1);
          data.fill(0xee); // reused at once, as the frame pool does
        }));
        writes.push(socket.write(small));
      }
      await Promise.all(writes);
      const length = sent.reduce((n, c) => n + c.length, 0);
      const got = await sink.received(length);
      let at = 0;
      for (const [i, chunk] of sent.entries()) {
        const piece = got.subarray(at, at + chunk.length);
        assert.ok(piece.every((b, j) => b === chunk[j]), `write ${i} arrived as written`);
        at += chunk.length;
      }
      // Every large write has reached the sink, so every callback comes (Node.js calls it once
      // libuv is done, in a later turn; Deno after the write; Bun when it took the last byte).
      await waitFor(() => calls.size === 12, 2000, "a callback for every write that asked");
      for (const n of calls.values()) assert.equal(n, 1, "exactly once");
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
