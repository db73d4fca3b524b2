/**
 * `Socket.read(into)`: Deno's socket reads into the buffer it is given and returns a view of its
 * start (the client reads the rest of a large frame straight into its message this way); the
 * push sockets of Node.js and Bun return chunks of their own. Either way every byte arrives once,
 * in order.
 */

import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import { defaultConnector } from "../../src/adapters/detect.ts";
import { deferred } from "../_util/async.ts";
import { runtimeName } from "../_util/servers.ts";

describe("Socket.read(into)", () => {
  it("reads every byte once, in order; Deno's socket into the given buffer", async () => {
    const payload = new Uint8Array(500_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >>> 9)) & 255;
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.end(payload);
    });
    const listening = deferred();
    server.listen(0, "127.0.0.1", () => listening.resolve());
    await listening.promise;
    const port = (server.address() as net.AddressInfo).port;
    const socket = await (await defaultConnector())({ hostname: "127.0.0.1", port });
    try {
      const got = new Uint8Array(payload.length);
      let at = 0;
      let intoViews = 0;
      for (;;) {
        const into = new Uint8Array(40_000);
        const chunk = await socket.read(into);
        if (chunk === null) break;
        if (chunk.buffer === into.buffer) {
          assert.equal(chunk.byteOffset, into.byteOffset, "a view of the buffer's start");
          intoViews++;
        }
        assert.ok(at + chunk.length <= payload.length, "no byte twice");
        got.set(chunk, at);
        at += chunk.length;
      }
      assert.equal(at, payload.length);
      assert.ok(got.every((b, i) => b === payload[i]), "the bytes in order");
      if (runtimeName() === "deno") assert.ok(intoViews > 0, "Deno read into the buffers");
      else assert.equal(intoViews, 0, "push sockets hand out their own chunks");
    } finally {
      socket.close();
      const closed = deferred();
      server.close(() => closed.resolve());
      await closed.promise;
    }
  });
});
