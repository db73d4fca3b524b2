/**
 * The hostile-server catalogue: one table, one scenario per row, each a raw TCP server
 * (`tests/_util/hostile.ts`) that misbehaves in one way during the handshake, in its frames, or
 * with resources (floods, a peer that never reads, one that never closes). For every row the test
 * checks three things: the error the client reports (class and `code`, or none), the close code
 * the client put on the wire (read by the server; "none" when it must send no close frame), and
 * that the client settled (`closed`) within a bound derived from its deadlines
 * (`openTimeout`/`closeTimeout` plus a margin), not a speed claim.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type ClientOptions,
  HandshakeError,
  NetworkError,
  ProtocolError,
  TimeoutError,
  WebSocketClient,
  type WebSocketError,
} from "../../mod.ts";
import { delay, guarded, withTimeout } from "../_util/async.ts";
import {
  acceptKey,
  acceptResponse,
  closePayload,
  concat,
  frame,
  type HostileConnection,
  type HostileOptions,
  type HostileRequest,
  Op,
  startHostileServer,
} from "../_util/hostile.ts";
import { pattern, record, track } from "../_util/client.ts";

/** Deadlines every scenario runs with (short, so the catalogue stays quick). */
const OPEN_TIMEOUT = 1500;
const CLOSE_TIMEOUT = 1000;
/** Slack on top of a deadline for scheduling on a loaded machine. */
const MARGIN = 1500;

// deno-lint-ignore no-explicit-any
type ErrorClass = abstract new (...args: any[]) => WebSocketError;

interface Scenario {
  name: string;
  server: HostileOptions;
  client?: ClientOptions;
  /** The error reported (`closed`'s `error`); undefined: none (a normal end). */
  error?: [ErrorClass, string];
  /** The close code the client sent; "none": no close frame at all. */
  sent: number | "none";
  /** Settles within this many ms. Default: OPEN_TIMEOUT + CLOSE_TIMEOUT + MARGIN. */
  within?: number;
  /** Drives the scenario once the client exists (e.g. waits for a message, then closes). */
  act?: (client: WebSocketClient, connection: HostileConnection) => Promise<void>;
  /** Messages that must have been delivered. */
  messages?: Array<string | number[]>;
}

const u8 = (...bytes: number[]) => new Uint8Array(bytes);
const accept = (r: HostileRequest) => `Sec-WebSocket-Accept: ${acceptKey(r.key)}\r\n`;
const head101 = (r: HostileRequest, extra = "") =>
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${
    accept(r)
  }${extra}\r\n`;
const handshake = (
  code: HandshakeError["code"],
  script: (r: HostileRequest) => string | Uint8Array,
  client?: ClientOptions,
): Pick<Scenario, "server" | "error" | "sent" | "client"> => ({
  server: { handshake: script },
  error: [HandshakeError, code],
  sent: "none",
  client,
});
const bad = (
  code: ProtocolError["code"],
  closeCode: number,
  bytes: Uint8Array,
  client?: ClientOptions,
): Pick<Scenario, "server" | "error" | "sent" | "client"> => ({
  server: { afterHandshake: bytes },
  error: [ProtocolError, code],
  sent: closeCode,
  client,
});

/** Waits for `count` messages, then closes normally. */
const receiveThenClose = (count: number) => async (client: WebSocketClient) => {
  let seen = 0;
  for await (const _ of client) if (++seen === count) break;
  await client.close(1000);
};

/** The server's close frame after `bytes`; the client echoes the code (RFC 6455 §5.5.1). */
const thenClose = (bytes: Uint8Array, code = 1000) =>
  concat(bytes, frame(Op.CLOSE, closePayload(code)));

const SCENARIOS: Scenario[] = [
  // --- handshake -------------------------------------------------------------------------------
  {
    name: "a wrong Sec-WebSocket-Accept",
    ...handshake("INVALID_ACCEPT", (r) => head101({ ...r, key: "AAAAAAAAAAAAAAAAAAAAAA==" })),
  },
  {
    name: "no Sec-WebSocket-Accept",
    ...handshake(
      "INVALID_ACCEPT",
      () => "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    ),
  },
  {
    name: "Sec-WebSocket-Accept twice (duplicated header)",
    ...handshake("INVALID_ACCEPT", (r) => head101(r, accept(r))),
  },
  {
    name: "Upgrade twice (duplicated header)",
    ...handshake("INVALID_UPGRADE_HEADER", (r) => head101(r, "Upgrade: websocket\r\n")),
  },
  {
    name: "Sec-WebSocket-Protocol twice (duplicated header)",
    ...handshake(
      "UNEXPECTED_SUBPROTOCOL",
      (r) => head101(r, "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n"),
      { protocols: ["chat"] },
    ),
  },
  {
    name: "permessage-deflate accepted twice (duplicated header)",
    ...handshake(
      "UNEXPECTED_EXTENSION",
      (r) =>
        head101(
          r,
          "Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Extensions: permessage-deflate\r\n",
        ),
    ),
  },
  {
    name: "an obs-fold continuation line",
    ...handshake("INVALID_HTTP_RESPONSE", (r) => head101(r, "X-Folded: a\r\n  b\r\n")),
  },
  {
    name: "a NUL in a header value",
    ...handshake("INVALID_HTTP_RESPONSE", (r) => head101(r, "X-Nul: a\0b\r\n")),
  },
  {
    name: "a bare CR in a header value",
    ...handshake("INVALID_HTTP_RESPONSE", (r) => head101(r, "X-Cr: a\rb\r\n")),
  },
  {
    name: "a DEL in a header value",
    ...handshake("INVALID_HTTP_RESPONSE", (r) => head101(r, "X-Del: a\x7fb\r\n")),
  },
  {
    name: "lines ended by a bare LF",
    ...handshake("INVALID_HTTP_RESPONSE", (r) => head101(r).replaceAll("\r\n", "\n")),
  },
  {
    name: "a space before a header's colon",
    ...handshake("INVALID_HTTP_RESPONSE", (r) => head101(r, "Upgrade : websocket\r\n")),
  },
  {
    name: "an HTTP/1.0 101",
    ...handshake("INVALID_HTTP_RESPONSE", (r) => head101(r).replace("HTTP/1.1", "HTTP/1.0")),
  },
  {
    name: "an HTTP/2 status line",
    ...handshake("INVALID_HTTP_RESPONSE", (r) => head101(r).replace("HTTP/1.1", "HTTP/2")),
  },
  {
    name: "a two-digit status code",
    ...handshake("INVALID_HTTP_RESPONSE", (r) => head101(r).replace("101", "10")),
  },
  {
    name: "a 301 redirect (not followed)",
    ...handshake(
      "UNEXPECTED_STATUS",
      () => "HTTP/1.1 301 Moved\r\nLocation: ws://elsewhere/\r\nContent-Length: 0\r\n\r\n",
    ),
  },
  {
    name: "Connection: close instead of Upgrade",
    ...handshake(
      "INVALID_CONNECTION_HEADER",
      (r) =>
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: close\r\n${
          accept(r)
        }\r\n`,
    ),
  },
  {
    name: "200 small headers (over maxHeaderCount)",
    ...handshake("RESPONSE_TOO_LARGE", (r) => head101(r, "X-A: b\r\n".repeat(200))),
  },
  {
    name: "an endless header flood",
    server: { handshake: "flood" },
    error: [HandshakeError, "RESPONSE_TOO_LARGE"],
    sent: "none",
  },
  {
    name: "server_max_window_bits=7 (CVE-2026-2229)",
    ...handshake(
      "UNEXPECTED_EXTENSION",
      (r) =>
        head101(r, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7\r\n"),
    ),
  },
  {
    name: "client_max_window_bits=8 is accepted (bun#38632 closed with 1011)",
    server: {
      handshake: (r) =>
        head101(r, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8\r\n"),
      onClientClose: "reply-and-end",
    },
    sent: 1000,
    act: async (client) => {
      await client.opened;
      await client.send("x".repeat(2000)); // over the threshold, yet sent uncompressed
      await client.close(1000);
    },
  },
  {
    name: "the server ends TCP in the middle of its response",
    server: { handshake: () => "HTTP/1.1 101 Switching Protocols\r\nUpgr" },
    error: [HandshakeError, "HANDSHAKE_INTERRUPTED"],
    sent: "none",
    act: async (_client, connection) => {
      await delay(50);
      connection.end();
    },
  },
  {
    name: "silence after the request (openTimeout)",
    server: { handshake: "none" },
    error: [TimeoutError, "OPEN_TIMEOUT"],
    sent: "none",
    within: OPEN_TIMEOUT + MARGIN,
  },
  {
    name: "slowloris: a valid response at one byte per 40 ms (openTimeout)",
    server: { handshake: "none" },
    error: [TimeoutError, "OPEN_TIMEOUT"],
    sent: "none",
    within: OPEN_TIMEOUT + MARGIN,
    act: async (_client, connection) => {
      let gone = false;
      connection.clientGone.then(() => (gone = true));
      const response = acceptResponse(await connection.request);
      for (const c of response) {
        if (gone) break;
        await connection.write(c);
        await delay(40);
      }
    },
  },
  {
    name: "a message in the same segment as the 101",
    server: {
      handshake: (r) => concat(new TextEncoder().encode(head101(r)), frame(Op.TEXT, "early")),
      onClientClose: "reply-and-end",
    },
    sent: 1000,
    act: receiveThenClose(1),
    messages: ["early"],
  },
  {
    name: "a close frame in the same segment as the 101 (echoed)",
    server: {
      handshake: (r) =>
        concat(new TextEncoder().encode(head101(r)), frame(Op.CLOSE, closePayload(4001, "bye"))),
    },
    sent: 4001,
  },
  {
    name: "a masked frame in the same segment as the 101",
    server: {
      handshake: (r) =>
        concat(new TextEncoder().encode(head101(r)), frame(Op.TEXT, "x", { mask: true })),
    },
    error: [ProtocolError, "MASKED_FRAME"],
    sent: 1002,
  },

  // --- frames ----------------------------------------------------------------------------------
  {
    name: "a masked text frame",
    ...bad("MASKED_FRAME", 1002, frame(Op.TEXT, "hello", { mask: true })),
  },
  { name: "a masked empty ping", ...bad("MASKED_FRAME", 1002, frame(Op.PING, "", { mask: true })) },
  {
    name: "RSV1 without an extension",
    ...bad("RESERVED_BITS", 1002, frame(Op.TEXT, "x", { rsv: 4 })),
  },
  { name: "RSV2", ...bad("RESERVED_BITS", 1002, frame(Op.BINARY, u8(1), { rsv: 2 })) },
  {
    name: "RSV3 on a continuation",
    ...bad(
      "RESERVED_BITS",
      1002,
      concat(frame(Op.TEXT, "a", { fin: false }), frame(Op.CONTINUATION, "b", { rsv: 1 })),
    ),
  },
  {
    name: "RSV1 on a close frame",
    ...bad("RESERVED_BITS", 1002, frame(Op.CLOSE, closePayload(1000), { rsv: 4 })),
  },
  { name: "reserved data opcode 0x7", ...bad("INVALID_OPCODE", 1002, frame(0x7, "x")) },
  { name: "reserved control opcode 0xF", ...bad("INVALID_OPCODE", 1002, frame(0xf)) },
  { name: "a 126-byte ping", ...bad("CONTROL_FRAME_TOO_BIG", 1002, frame(Op.PING, pattern(126))) },
  {
    name: "a 64-bit-length close of 200 bytes",
    ...bad("CONTROL_FRAME_TOO_BIG", 1002, frame(Op.CLOSE, pattern(200), { length: 200n })),
  },
  {
    name: "a fragmented pong",
    ...bad("FRAGMENTED_CONTROL_FRAME", 1002, frame(Op.PONG, "p", { fin: false })),
  },
  {
    name: "a fragmented close",
    ...bad("FRAGMENTED_CONTROL_FRAME", 1002, frame(Op.CLOSE, closePayload(1000), { fin: false })),
  },
  {
    name: "a 64-bit length of 2^63 (CVE-2026-1528)",
    ...bad("INVALID_LENGTH", 1002, frame(Op.BINARY, "", { length: 1n << 63n })),
  },
  {
    name: "a 64-bit length of 2^53 + 1",
    ...bad("MESSAGE_TOO_BIG", 1009, frame(Op.BINARY, "", { length: (1n << 53n) + 1n })),
  },
  {
    name: "non-minimal lengths are accepted: 16-bit and 64-bit forms of short payloads",
    server: {
      afterHandshake: concat(
        nonMinimal(Op.TEXT, "five!", 16),
        nonMinimal(Op.TEXT, "five?", 64),
        nonMinimal(Op.BINARY, pattern(200), 64),
        nonMinimal(Op.PING, "p", 16),
      ),
      onClientClose: "reply-and-end",
    },
    sent: 1000,
    act: receiveThenClose(3),
    messages: ["five!", "five?", [...pattern(200)]],
  },
  {
    name: "close code 1004 (reserved)",
    ...bad("INVALID_CLOSE_CODE", 1002, frame(Op.CLOSE, closePayload(1004))),
  },
  {
    name: "close code 1006 on the wire",
    ...bad("INVALID_CLOSE_CODE", 1002, frame(Op.CLOSE, closePayload(1006))),
  },
  {
    name: "close code 1015 on the wire",
    ...bad("INVALID_CLOSE_CODE", 1002, frame(Op.CLOSE, closePayload(1015))),
  },
  {
    name: "close code 2999",
    ...bad("INVALID_CLOSE_CODE", 1002, frame(Op.CLOSE, closePayload(2999))),
  },
  {
    name: "close code 65535",
    ...bad("INVALID_CLOSE_CODE", 1002, frame(Op.CLOSE, closePayload(65535))),
  },
  {
    name: "a 1-byte close payload",
    ...bad("INVALID_CLOSE_PAYLOAD", 1002, frame(Op.CLOSE, u8(0x03))),
  },
  {
    name: "a close reason that is not UTF-8",
    ...bad("INVALID_CLOSE_REASON", 1007, frame(Op.CLOSE, closePayload(1000, u8(0xc0, 0xaf)))),
  },
  {
    name: "close code 4999 with a 123-byte reason is accepted and echoed",
    server: { afterHandshake: frame(Op.CLOSE, closePayload(4999, "r".repeat(123))) },
    sent: 4999,
  },
  {
    name: "invalid UTF-8 in the first fragment fails at once (the rest never comes)",
    ...bad("INVALID_UTF8", 1007, frame(Op.TEXT, u8(0x61, 0xff), { fin: false })),
    within: CLOSE_TIMEOUT + MARGIN,
  },
  {
    name: "an overlong encoding in the first fragment",
    ...bad("INVALID_UTF8", 1007, frame(Op.TEXT, u8(0xc0, 0x80), { fin: false })),
  },
  {
    name: "a UTF-16 surrogate in the first fragment",
    ...bad("INVALID_UTF8", 1007, frame(Op.TEXT, u8(0xed, 0xa0, 0x80), { fin: false })),
  },
  {
    name: "a code point above U+10FFFF in the first fragment",
    ...bad("INVALID_UTF8", 1007, frame(Op.TEXT, u8(0xf4, 0x90), { fin: false })),
  },
  {
    name: "a continuation with nothing to continue",
    ...bad("UNEXPECTED_CONTINUATION", 1002, frame(Op.CONTINUATION, "x")),
  },
  {
    name: "a new message inside a fragmented one",
    ...bad(
      "EXPECTED_CONTINUATION",
      1002,
      concat(frame(Op.BINARY, u8(1), { fin: false }), frame(Op.TEXT, "x")),
    ),
  },
  {
    name: "empty fragments past maxFragments (ws CVE-2026-48779)",
    ...bad(
      "TOO_MANY_FRAGMENTS",
      1008,
      concat(
        frame(Op.TEXT, "", { fin: false }),
        ...Array.from({ length: 20 }, () => frame(Op.CONTINUATION, "", { fin: false })),
      ),
      { maxFragments: 16 },
    ),
  },
  {
    name: "continuations past maxMessageSize (CVE-2026-12151)",
    ...bad(
      "MESSAGE_TOO_BIG",
      1009,
      concat(
        ...Array.from(
          { length: 40 },
          (_, i) => frame(i === 0 ? Op.BINARY : Op.CONTINUATION, pattern(100), { fin: false }),
        ),
      ),
      { maxMessageSize: 2000 },
    ),
  },
  {
    name: "a frame cut short by the end of TCP",
    server: { afterHandshake: frame(Op.BINARY, pattern(10), { length: 100n }) },
    error: [NetworkError, "UNEXPECTED_EOF"],
    sent: "none",
    act: async (client, connection) => {
      await client.opened;
      await delay(50);
      connection.end();
    },
  },

  // --- resources -------------------------------------------------------------------------------
  {
    name: "a flood of 20,000 pings, then a close",
    server: {
      afterHandshake: thenClose(
        concat(...Array.from({ length: 20000 }, () => frame(Op.PING, "ping"))),
      ),
    },
    sent: 1000,
  },
  {
    name: "a flood of 20,000 unsolicited pongs, then a close",
    server: {
      afterHandshake: thenClose(
        concat(...Array.from({ length: 20000 }, () => frame(Op.PONG, "pong"))),
      ),
    },
    sent: 1000,
  },
  {
    name:
      "a peer that never reads: close() ends within closeTimeout (close frame stuck in the queue)",
    server: { pauseAfterHandshake: true, onClientClose: "ignore" },
    error: [TimeoutError, "CLOSE_TIMEOUT"],
    // The close frame is queued behind 16 MiB the peer never reads: it never reaches the
    // wire, and the close timer ends TCP.
    sent: "none",
    act: async (client) => {
      await client.opened;
      const big = pattern(1 << 20);
      // Fill the socket buffers: writes back up, then close.
      for (let i = 0; i < 16; i++) client.send(big).catch(() => {});
      await client.close(1000).catch(() => {});
    },
    within: OPEN_TIMEOUT + CLOSE_TIMEOUT + MARGIN,
  },
  {
    name: "a peer that never answers the close frame and never ends TCP",
    server: { onClientClose: "ignore" },
    error: [TimeoutError, "CLOSE_TIMEOUT"],
    sent: 1000,
    act: async (client) => {
      await client.opened;
      await client.close(1000);
    },
  },
  {
    name: "a peer that answers the close frame but never ends TCP",
    server: { onClientClose: "ignore" },
    sent: 1000,
    act: async (client, connection) => {
      await client.opened;
      const closing = client.close(1000);
      const f = await connection.closeFrame;
      await connection.write(frame(Op.CLOSE, closePayload(f.closeCode!)));
      await closing;
    },
  },
  {
    name: "a peer that keeps sending after the client's close frame",
    server: { onClientClose: "ignore" },
    error: [TimeoutError, "CLOSE_TIMEOUT"],
    sent: 1000,
    act: async (client, connection) => {
      await client.opened;
      const closing = client.close(1000);
      await connection.closeFrame;
      const until = performance.now() + CLOSE_TIMEOUT + 500;
      while (performance.now() < until && !connection.clientEndedFirst) {
        await connection.write(frame(Op.TEXT, "more"));
        await delay(5);
      }
      await closing;
    },
  },
  {
    name: "a peer that never answers keepalive pings (pingTimeout)",
    server: { answerPings: false },
    client: { pingInterval: 100, pingTimeout: 300 },
    error: [TimeoutError, "PING_TIMEOUT"],
    sent: 1011,
  },
];

/** A frame whose length uses a longer form than needed (RFC 6455 §5.2 asks for the minimal one
 * but a receiver is not told to refuse others; Autobahn's 1.x cases send only minimal ones). */
function nonMinimal(opcode: number, payload: string | Uint8Array, form: 16 | 64): Uint8Array {
  const data = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const n = data.length;
  const header = form === 16
    ? u8(0x80 | opcode, 126, n >> 8, n & 0xff)
    : u8(0x80 | opcode, 127, 0, 0, 0, 0, 0, 0, n >> 8, n & 0xff);
  return concat(header, data);
}

describe(`hostile-server catalogue (${SCENARIOS.length} scenarios)`, () => {
  it("has at least 45 scenarios with distinct names", () => {
    assert.ok(SCENARIOS.length >= 45, `${SCENARIOS.length}`);
    assert.equal(new Set(SCENARIOS.map((s) => s.name)).size, SCENARIOS.length);
  });

  for (const s of SCENARIOS) {
    const what = s.error ? `${s.error[0].name} ${s.error[1]}` : "no error";
    const within = s.within ?? OPEN_TIMEOUT + CLOSE_TIMEOUT + MARGIN;
    it(
      `${s.name}: ${what}, close ${s.sent} sent, settles < ${within} ms`,
      { timeout: within + 5000 },
      guarded(async (scope) => {
        const server = scope.use(await startHostileServer(s.server));
        const started = performance.now();
        const client = track(
          scope,
          new WebSocketClient(server.url("/"), {
            openTimeout: OPEN_TIMEOUT,
            closeTimeout: CLOSE_TIMEOUT,
            ...s.client,
          }),
        );
        const events = record(client, { messages: true });
        client.opened.catch(() => {});
        const connection = await server.connection(0);
        const acting = s.act?.(client, connection).catch((e) => e);
        const info = await withTimeout(client.closed, within + 2000, "closed");
        const took = performance.now() - started;
        const actError = await acting;
        if (actError instanceof Error && !(actError as WebSocketError).code) throw actError;

        // 1. The error.
        if (s.error) {
          const [cls, code] = s.error;
          assert.ok(
            info.error instanceof cls,
            `expected ${cls.name}, got ${info.error?.name}: ${info.error?.message}`,
          );
          assert.equal(info.error.code, code, info.error.message);
          if (info.error instanceof ProtocolError) assert.equal(info.error.closeCode, s.sent);
        } else {
          assert.equal(
            info.error,
            undefined,
            `unexpected ${info.error?.name} ${info.error?.code}: ${info.error?.message}`,
          );
        }
        // 2. The close code on the wire, as the server read it (a server that stopped reading
        // reads now what reached it).
        connection.resume();
        await withTimeout(connection.clientGone, CLOSE_TIMEOUT + MARGIN, "TCP closed");
        const closes = connection.frames.filter((f) => f.opcode === Op.CLOSE);
        if (s.sent === "none") {
          assert.deepEqual(closes, [], "no close frame");
        } else {
          assert.equal(closes.length, 1, "exactly one close frame");
          assert.equal(closes[0].closeCode, s.sent, `close reason: ${closes[0].closeReason}`);
          assert.equal(closes[0].masked, true);
          assert.equal(info.sent?.code, s.sent);
        }
        for (const f of connection.frames) {
          assert.equal(f.masked, true, "every client frame is masked");
        }
        // 3. Settled within the bound.
        assert.ok(took < within, `settled after ${took.toFixed(0)} ms, bound ${within} ms`);
        if (s.messages) {
          assert.deepEqual(
            events.messages.map((m) => (typeof m === "string" ? m : [...m])),
            s.messages,
          );
        }
      }, within + 4000),
    );
  }
});
