/**
 * The advisories of `tests/core/advisories_test.ts` through the public client over a real socket,
 * where the exploit needs the client's own surface: a typed-array close reason, CR/LF through the
 * URL, headers and subprotocols, the default fragment limit, a 64-bit length from a real server,
 * and a long handshake header trickled byte by byte.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ArgumentError, HandshakeError, ProtocolError, WebSocketClient } from "../../mod.ts";
import { delay, guarded, withTimeout } from "../_util/async.ts";
import { frame, Op, startHostileServer } from "../_util/hostile.ts";
import { open, record, STEP, track } from "../_util/client.ts";

describe("ws CVE-2026-45736: close() with a typed-array reason", () => {
  for (
    const [what, reason] of [
      ["a Uint8Array", new Uint8Array(32)],
      ["an Int32Array", new Int32Array(8)],
      ["an ArrayBuffer", new ArrayBuffer(16)],
    ] as const
  ) {
    it(
      `rejects ${what} with ArgumentError INVALID_CLOSE_REASON and stays open`,
      guarded(async (scope) => {
        const server = scope.use(await startHostileServer({ onClientClose: "reply-and-end" }));
        const client = await open(scope, server.url("/"));
        await assert.rejects(
          client.close(1000, reason as unknown as string),
          (e: unknown) => e instanceof ArgumentError && e.code === "INVALID_CLOSE_REASON",
        );
        assert.equal(client.readyState, WebSocketClient.OPEN);
        const connection = await server.connection(0);
        assert.deepEqual(connection.frames, [], "nothing was sent");
        const info = await withTimeout(client.close(1000, "ok"), STEP, "close");
        assert.equal(info.sent?.reason, "ok");
        assert.equal((await connection.closeFrame).closeReason, "ok");
      }),
    );
  }
});

describe("CVE-2026-1527: CR/LF injection into the request", () => {
  it("headers and subprotocols with CR, LF or NUL are refused before any socket is opened", () => {
    for (const value of ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\0b"]) {
      assert.throws(
        () => new WebSocketClient("ws://127.0.0.1:1/", { headers: { "X-Test": value } }),
        (e: unknown) => e instanceof ArgumentError && e.code === "INVALID_HEADER",
        JSON.stringify(value),
      );
      assert.throws(
        () => new WebSocketClient("ws://127.0.0.1:1/", { protocols: [value] }),
        (e: unknown) => e instanceof ArgumentError && e.code === "INVALID_SUBPROTOCOL",
        JSON.stringify(value),
      );
    }
  });

  it(
    "CR/LF and spaces in the URL's path and query reach the server percent-encoded or dropped",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ onClientClose: "reply-and-end" }));
      const url = server.url("/a\r\nX-Injected: 1?q=\r\nX-Too: 2 3");
      const client = await open(scope, url);
      const request = await (await server.connection(0)).request;
      assert.equal(request.headers["x-injected"], undefined);
      assert.equal(request.headers["x-too"], undefined);
      assert.ok(!/[\r\n ]/.test(request.path), JSON.stringify(request.path));
      assert.equal(request.raw.split("\r\n")[0], `GET ${request.path} HTTP/1.1`);
      await withTimeout(client.close(), STEP, "close");
    }),
  );
});

describe("ws CVE-2026-48779 and CVE-2026-12151: fragments from a real server", () => {
  it(
    "131,073 empty fragments (the default maxFragments is 131,072): 1008 on the wire",
    guarded(async (scope) => {
      // 2-byte empty fragments, written as one buffer (a spread of 131,073 arrays would not do).
      const bytes = new Uint8Array(2 * 131_073);
      for (let i = 0; i < bytes.length; i += 2) bytes[i] = Op.CONTINUATION;
      bytes[0] = Op.TEXT;
      const server = scope.use(await startHostileServer({ afterHandshake: bytes }));
      const client = track(scope, new WebSocketClient(server.url("/")));
      const events = record(client);
      const info = await withTimeout(client.closed, STEP, "closed");
      assert.ok(info.error instanceof ProtocolError);
      assert.equal(info.error.code, "TOO_MANY_FRAGMENTS");
      assert.equal((await (await server.connection(0)).closeFrame).closeCode, 1008);
      assert.equal(events.errors.length, 1);
    }),
  );
});

describe("CVE-2026-1528: a 64-bit length from a real server", () => {
  for (
    const [what, length, code, closeCode] of [
      ["2^63", 1n << 63n, "INVALID_LENGTH", 1002],
      ["2^53 + 1", (1n << 53n) + 1n, "MESSAGE_TOO_BIG", 1009],
    ] as const
  ) {
    it(
      `${what} with maxMessageSize 2^53 - 1: ${code}, ${closeCode} on the wire, no crash`,
      guarded(async (scope) => {
        const server = scope.use(
          await startHostileServer({ afterHandshake: frame(Op.BINARY, "", { length }) }),
        );
        const client = track(
          scope,
          new WebSocketClient(server.url("/"), { maxMessageSize: Number.MAX_SAFE_INTEGER }),
        );
        const info = await withTimeout(client.closed, STEP, "closed");
        assert.ok(info.error instanceof ProtocolError);
        assert.equal(info.error.code, code);
        assert.equal((await (await server.connection(0)).closeFrame).closeCode, closeCode);
      }),
    );
  }

  it(
    "2^53 - 1 announced, 64 KiB sent, then TCP ends: memory follows the bytes, no RangeError",
    guarded(async (scope) => {
      const header = frame(Op.BINARY, "", { length: (1n << 53n) - 1n });
      const server = scope.use(
        await startHostileServer({ afterHandshake: [header, new Uint8Array(65536)] }),
      );
      const client = track(
        scope,
        new WebSocketClient(server.url("/"), { maxMessageSize: Number.MAX_SAFE_INTEGER }),
      );
      const events = record(client);
      await withTimeout(client.opened, STEP, "open");
      const connection = await server.connection(0);
      await delay(100);
      assert.equal(client.readyState, WebSocketClient.OPEN, "still waiting for the payload");
      connection.end();
      const info = await withTimeout(client.closed, STEP, "closed");
      assert.equal(info.error?.code, "UNEXPECTED_EOF", String(info.error?.message));
      assert.ok(events.errors.every((e) => !(e.error instanceof RangeError)));
    }),
  );
});

describe("tungstenite CVE-2023-43669: a long header trickled byte by byte", () => {
  it(
    "an 8 KiB whitespace header value in 1-byte writes is refused at the line limit",
    { timeout: 25_000 },
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const client = track(scope, new WebSocketClient(server.url("/")));
      const connection = await server.connection(0);
      await connection.request;
      await connection.write("HTTP/1.1 101 Switching Protocols\r\nX-Long: x");
      let gone = false;
      connection.clientGone.then(() => (gone = true));
      let sent = 0;
      const space = new Uint8Array([0x20]);
      while (!gone && sent < 20_000) {
        await connection.write(space);
        // Now and then a pause, so the client's reading keeps up with the writes.
        if (++sent % 64 === 0) await delay(1);
      }
      const error = await client.opened.then(() => undefined, (e) => e);
      assert.ok(error instanceof HandshakeError);
      assert.equal(error.code, "RESPONSE_TOO_LARGE");
      // Refused at the 8,192-byte line limit; the server notices a little later.
      assert.ok(sent < 12_000, `the server wrote ${sent} spaces before the client went away`);
    }, 20_000),
  );
});
