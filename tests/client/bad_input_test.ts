/**
 * Bad input from a hostile raw server. For every malformed frame the client must (a) report a
 * `ProtocolError` with the right `code` in the `error` event and in `closeInfo.error`, (b) send a
 * close frame with the right code (1002, 1007, 1008, 1009), (c) emit a `close` event, and (d) wait
 * for the server to close TCP first, all within the safety-net deadlines. Malformed handshakes
 * must fail `connect()` with a `HandshakeError` of the right code, a header flood quickly.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type ClientOptions,
  HandshakeError,
  ProtocolError,
  type ProtocolErrorCode,
  WebSocketClient,
} from "../../mod.ts";
import { guarded, withTimeout } from "../_util/async.ts";
import {
  acceptKey,
  closePayload,
  concat,
  frame,
  type HandshakeScript,
  type HostileRequest,
  Op,
  startHostileServer,
} from "../_util/hostile.ts";
import { pattern, record, rejectsWith, STEP, track } from "../_util/client.ts";

interface FrameCase {
  name: string;
  /** Raw bytes the server sends after its 101 response. */
  bytes: Uint8Array;
  code: ProtocolErrorCode;
  closeCode: number;
  options?: ClientOptions;
  /** Messages that arrive (valid) before the bad input. */
  before?: Array<string | number[]>;
}

const u8 = (...bytes: number[]) => new Uint8Array(bytes);

const FRAME_CASES: FrameCase[] = [
  {
    name: "a masked server frame",
    bytes: frame(Op.TEXT, "hello", { mask: true }),
    code: "MASKED_FRAME",
    closeCode: 1002,
  },
  {
    name: "RSV1 set without a negotiated extension",
    bytes: frame(Op.TEXT, "hello", { rsv: 4 }),
    code: "RESERVED_BITS",
    closeCode: 1002,
  },
  {
    name: "RSV2 and RSV3 set",
    bytes: frame(Op.BINARY, u8(1, 2), { rsv: 3 }),
    code: "RESERVED_BITS",
    closeCode: 1002,
  },
  {
    name: "RSV1 on a ping",
    bytes: frame(Op.PING, "p", { rsv: 4 }),
    code: "RESERVED_BITS",
    closeCode: 1002,
  },
  {
    name: "reserved data opcode 0x3",
    bytes: frame(0x3, "x"),
    code: "INVALID_OPCODE",
    closeCode: 1002,
  },
  {
    name: "reserved control opcode 0xB",
    bytes: frame(0xb),
    code: "INVALID_OPCODE",
    closeCode: 1002,
  },
  {
    name: "a fragmented ping (FIN clear)",
    bytes: frame(Op.PING, "x", { fin: false }),
    code: "FRAGMENTED_CONTROL_FRAME",
    closeCode: 1002,
  },
  {
    name: "a ping with a 126-byte payload",
    bytes: frame(Op.PING, pattern(126)),
    code: "CONTROL_FRAME_TOO_BIG",
    closeCode: 1002,
  },
  {
    name: "a 64-bit length with the top bit set (2^63)",
    bytes: frame(Op.BINARY, new Uint8Array(0), { length: 1n << 63n }),
    code: "INVALID_LENGTH",
    closeCode: 1002,
  },
  {
    name: "invalid UTF-8 in a text message",
    bytes: frame(Op.TEXT, u8(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xed, 0xa0, 0x80, 0x65, 0x64)),
    code: "INVALID_UTF8",
    closeCode: 1007,
  },
  {
    name: "a text message ending inside a UTF-8 sequence",
    bytes: frame(Op.TEXT, u8(0x61, 0xe2, 0x82)),
    code: "INVALID_UTF8",
    closeCode: 1007,
  },
  {
    name: "invalid UTF-8 in the second fragment of a text message",
    bytes: concat(frame(Op.TEXT, "ok", { fin: false }), frame(Op.CONTINUATION, u8(0xff))),
    code: "INVALID_UTF8",
    closeCode: 1007,
  },
  {
    name: "invalid UTF-8 in a close reason",
    bytes: frame(Op.CLOSE, closePayload(1000, u8(0x62, 0xff, 0xfe))),
    code: "INVALID_CLOSE_REASON",
    closeCode: 1007,
  },
  {
    name: "close code 1005 on the wire",
    bytes: frame(Op.CLOSE, closePayload(1005)),
    code: "INVALID_CLOSE_CODE",
    closeCode: 1002,
  },
  {
    name: "close code 999",
    bytes: frame(Op.CLOSE, closePayload(999)),
    code: "INVALID_CLOSE_CODE",
    closeCode: 1002,
  },
  {
    name: "close code 5000",
    bytes: frame(Op.CLOSE, closePayload(5000, "x")),
    code: "INVALID_CLOSE_CODE",
    closeCode: 1002,
  },
  {
    name: "a 1-byte close payload",
    bytes: frame(Op.CLOSE, u8(0x03)),
    code: "INVALID_CLOSE_PAYLOAD",
    closeCode: 1002,
  },
  {
    name: "a continuation frame without a message to continue",
    bytes: frame(Op.CONTINUATION, "x"),
    code: "UNEXPECTED_CONTINUATION",
    closeCode: 1002,
  },
  {
    name: "a new data frame inside a fragmented message",
    bytes: concat(frame(Op.TEXT, "a", { fin: false }), frame(Op.BINARY, u8(1))),
    code: "EXPECTED_CONTINUATION",
    closeCode: 1002,
  },
  {
    name: "a message over maxMessageSize in one frame",
    bytes: frame(Op.BINARY, pattern(1001)),
    code: "MESSAGE_TOO_BIG",
    closeCode: 1009,
    options: { maxMessageSize: 1000 },
  },
  {
    name: "a message over maxMessageSize across fragments",
    bytes: concat(
      frame(Op.BINARY, pattern(600), { fin: false }),
      frame(Op.CONTINUATION, pattern(600)),
    ),
    code: "MESSAGE_TOO_BIG",
    closeCode: 1009,
    options: { maxMessageSize: 1000 },
  },
  {
    name: "a 1 TiB frame header with the default limit (refused before any payload)",
    bytes: frame(Op.BINARY, new Uint8Array(0), { length: 1n << 40n }),
    code: "MESSAGE_TOO_BIG",
    closeCode: 1009,
  },
  {
    name: "more fragments than maxFragments",
    bytes: concat(
      frame(Op.TEXT, "a", { fin: false }),
      ...[1, 2, 3, 4].map(() => frame(Op.CONTINUATION, "b", { fin: false })),
    ),
    code: "TOO_MANY_FRAGMENTS",
    closeCode: 1008,
    options: { maxFragments: 4 },
  },
  {
    name: "a valid message, then a masked frame (the valid one is delivered)",
    bytes: concat(
      frame(Op.TEXT, "fine"),
      frame(Op.BINARY, u8(1, 2, 3)),
      frame(Op.TEXT, "x", {
        mask: true,
      }),
    ),
    code: "MASKED_FRAME",
    closeCode: 1002,
    before: ["fine", [1, 2, 3]],
  },
];

describe("bad frames from the server", () => {
  for (const c of FRAME_CASES) {
    it(
      `${c.name}: ProtocolError ${c.code}, close ${c.closeCode} sent, close event`,
      guarded(async (scope) => {
        const server = scope.use(await startHostileServer({ afterHandshake: c.bytes }));
        const client = track(scope, new WebSocketClient(server.url("/"), c.options));
        const events = record(client, { messages: true });
        await withTimeout(client.opened, STEP, "open");
        const connection = await server.connection(0);

        // (b) the close frame the client sent.
        const sent = await withTimeout(connection.closeFrame, STEP, "the client's close frame");
        assert.equal(sent.closeCode, c.closeCode, `close code sent: ${sent.closeReason}`);
        assert.equal(sent.masked, true);

        // (c) a close event arrives once the server closed TCP.
        const event = await withTimeout(events.close, STEP, "close event");
        assert.equal(event.wasClean, false);
        assert.equal(event.code, 1006, "no valid close frame was received");
        assert.equal(event.sent?.code, c.closeCode);

        // (a) a typed error, in the error event and in closeInfo.error.
        assert.equal(events.errors.length, 1, "exactly one error event");
        const error = events.errors[0].error;
        assert.ok(error instanceof ProtocolError, `${error?.name}: ${error?.message}`);
        assert.equal(error.code, c.code);
        assert.equal(error.closeCode, c.closeCode);
        assert.equal(event.error, error);
        assert.equal(client.closeInfo?.error, error);
        assert.deepEqual(events.types.filter((t) => t !== "message").slice(-2), [
          "error",
          "close",
        ]);

        // Valid messages before the bad input were delivered; nothing after it.
        const expected = (c.before ?? []).map((m) => typeof m === "string" ? m : new Uint8Array(m));
        assert.deepEqual(
          events.messages.map((m) => (typeof m === "string" ? m : [...m])),
          expected.map((m) => (typeof m === "string" ? m : [...m])),
        );

        // (d) RFC 6455 §7.1.1: after failing, the client waits for the server to close TCP.
        await withTimeout(connection.clientGone, STEP, "TCP closed");
        assert.equal(connection.clientEndedFirst, false, "the client closed TCP before the server");
        // Nothing but the close frame after the bad input.
        assert.equal(connection.frames.at(-1)?.opcode, Op.CLOSE);
      }),
    );
  }
});

interface HandshakeCase {
  name: string;
  script: HandshakeScript;
  code: HandshakeError["code"];
  status?: number;
  body?: string;
  options?: ClientOptions;
}

const accept = (r: HostileRequest) => `Sec-WebSocket-Accept: ${acceptKey(r.key)}\r\n`;

const HANDSHAKE_CASES: HandshakeCase[] = [
  {
    name: "a 101 without Upgrade",
    script: (r) => `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n${accept(r)}\r\n`,
    code: "INVALID_UPGRADE_HEADER",
    status: 101,
  },
  {
    name: "a 101 with Upgrade: h2c",
    script: (r) =>
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n${accept(r)}\r\n`,
    code: "INVALID_UPGRADE_HEADER",
    status: 101,
  },
  {
    name: "a 101 whose Connection header lacks Upgrade",
    script: (r) =>
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n` +
      `${accept(r)}\r\n`,
    code: "INVALID_CONNECTION_HEADER",
    status: 101,
  },
  {
    name: "a 500 with a body",
    script: () =>
      "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n" +
      "database down!",
    code: "UNEXPECTED_STATUS",
    status: 500,
    body: "database down!",
  },
  {
    name: "a 200 (a plain web server)",
    script: () => "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    code: "UNEXPECTED_STATUS",
    status: 200,
    body: "hello",
  },
  {
    name: "a subprotocol that was not offered",
    script: (r) =>
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `${accept(r)}Sec-WebSocket-Protocol: evil\r\n\r\n`,
    code: "UNEXPECTED_SUBPROTOCOL",
    status: 101,
    options: { protocols: ["chat"] },
  },
  {
    name: "an extension that was not offered",
    script: (r) =>
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `${accept(r)}Sec-WebSocket-Extensions: x-unknown-extension\r\n\r\n`,
    code: "UNEXPECTED_EXTENSION",
    status: 101,
  },
  {
    name: "an HTTP/1.0 101",
    script: (r) =>
      `HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `${accept(r)}\r\n`,
    code: "INVALID_HTTP_RESPONSE",
    status: 101,
  },
  {
    name: "a non-HTTP answer",
    script: () => "SSH-2.0-OpenSSH_9.2\r\n\r\n",
    code: "INVALID_HTTP_RESPONSE",
  },
  {
    name: "an endless header flood",
    script: "flood",
    code: "RESPONSE_TOO_LARGE",
  },
  {
    name: "a 1 MiB header line",
    script: () => "HTTP/1.1 101 Switching Protocols\r\nX-Long: " + "a".repeat(1 << 20),
    code: "RESPONSE_TOO_LARGE",
  },
];

describe("bad handshake responses", () => {
  for (const c of HANDSHAKE_CASES) {
    it(
      `${c.name}: HandshakeError ${c.code}`,
      guarded(async (scope) => {
        const server = scope.use(await startHostileServer({ handshake: c.script }));
        const client = track(scope, new WebSocketClient(server.url("/"), c.options));
        const events = record(client);
        const error = await rejectsWith(client.opened, HandshakeError, c.code, c.name);
        if (c.status !== undefined) assert.equal(error.status, c.status);
        if (c.body !== undefined) assert.equal(error.bodyText, c.body);
        const info = await withTimeout(client.closed, STEP, "closed");
        assert.equal(info.error, error);
        assert.equal(client.readyState, WebSocketClient.CLOSED);
        // A connection that never opened reports through opened/connect(), not events.
        assert.deepEqual(events.types, []);
        // The client closes the TCP connection itself (a flood would otherwise never end).
        const connection = await server.connection(0);
        await withTimeout(connection.clientGone, STEP, "the client closed the connection");
        // The client gave up after a bounded read (the flood alone would send 256 MiB).
        assert.ok(connection.bytesSent < 32 << 20, `server sent ${connection.bytesSent} bytes`);
      }),
    );
  }

  it(
    "the server closes TCP in the middle of its response: HANDSHAKE_INTERRUPTED",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ handshake: "none" }));
      const client = track(scope, new WebSocketClient(server.url("/")));
      const connection = await server.connection(0);
      await withTimeout(connection.request, STEP, "request");
      await connection.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: webs");
      connection.end();
      await rejectsWith(client.opened, HandshakeError, "HANDSHAKE_INTERRUPTED", "interrupted");
    }),
  );

  it(
    "the request is a well-formed RFC 6455 opening handshake",
    guarded(async (scope) => {
      const server = scope.use(await startHostileServer({ onClientClose: "reply-and-end" }));
      const client = track(scope, new WebSocketClient(server.url("/path?q=1")));
      await withTimeout(client.opened, STEP, "open");
      const request = await (await server.connection(0)).request;
      assert.equal(request.method, "GET");
      assert.equal(request.path, "/path?q=1");
      assert.equal(request.version, "HTTP/1.1");
      assert.equal(request.headers["host"], `127.0.0.1:${server.port}`);
      assert.equal(request.headers["upgrade"]?.toLowerCase(), "websocket");
      assert.match(request.headers["connection"] ?? "", /upgrade/i);
      assert.equal(request.headers["sec-websocket-version"], "13");
      assert.match(request.key, /^[A-Za-z0-9+/]{22}==$/, "16 random bytes in base64");
      await withTimeout(client.close(), STEP, "close");
    }),
  );
});
