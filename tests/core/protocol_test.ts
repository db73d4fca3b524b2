/**
 * Tests of `src/core/protocol.ts`: `ClientProtocol` driven by a fake server. The server side writes
 * UNMASKED frames with the fixtures; what the client sends is read back by unmasking and parsing
 * `takeWrites()`. Every parser is also fed byte by byte and at random split points.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes } from "../../src/core/bytes.ts";
import { CloseCode, Opcode } from "../../src/core/constants.ts";
import {
  ArgumentError,
  HandshakeError,
  type HandshakeErrorCode,
  InvalidStateError,
  isNormalClosure,
  ProtocolError,
  type ProtocolErrorCode,
  TimeoutError,
} from "../../src/core/errors.ts";
import { ClientProtocol, type ProtocolEvent, ReadyState } from "../../src/core/protocol.ts";
import {
  type ClientFrame,
  closePayload,
  concat,
  counterRandom,
  decodeClientFrames,
  deliver,
  fakeExtension,
  frameHeader,
  handshakeResponse,
  hex,
  latin1,
  newClient,
  normalizeEvents,
  openClient,
  patternBytes,
  readClosePayload,
  serverFrame,
  splitAt,
  summarize,
  type TestClientOptions,
  toHex,
  utf8,
} from "../_util/fixtures.ts";

/** The key `counterRandom()` gives: base64 of the bytes 00..0f. */
const KEY = "AAECAwQFBgcICQoLDA0ODw==";

const { TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG } = Opcode;

// -------------------------------------------------------------------------------------------------
// Helpers.

/** An open client (handshake done, "open" event and request taken). */
function open(options: TestClientOptions = {}): ClientProtocol {
  return openClient(options).client;
}

/** The frames the client queued since the last call, unmasked. */
function sent(client: ClientProtocol): ClientFrame[] {
  const frames = decodeClientFrames(client.takeWrites());
  for (const f of frames) assert.ok(f.masked, "RFC 6455 §5.3: every client frame is masked");
  return frames;
}

/** The status code of a close frame the client sent (undefined for an empty payload). */
function closeCodeOf(frame: ClientFrame | undefined): number | undefined {
  assert.ok(frame, "a frame was sent");
  assert.equal(frame.opcode, CLOSE, `expected a close frame, got opcode ${frame.opcode}`);
  return readClosePayload(frame.payload).code;
}

/** Feeds `chunks` and returns the events. */
function feed(client: ClientProtocol, ...chunks: Uint8Array[]): ProtocolEvent[] {
  return deliver(client, chunks);
}

/** The data of the message events, in order. */
function messages(events: readonly ProtocolEvent[]): Array<string | Uint8Array> {
  return events.flatMap((e) => e.type === "message" ? [e.data] : []);
}

/** Asserts the message events carry `expected`, compared through `summarize` (cheap to diff). */
function assertMessages(
  events: readonly ProtocolEvent[],
  expected: ReadonlyArray<string | Uint8Array>,
  message = "message data",
): void {
  assert.deepEqual(messages(events).map(summarize), expected.map(summarize), message);
}

/** Asserts that input after a failure or close is ignored: no events, no writes. */
function assertInputIgnored(client: ClientProtocol): void {
  client.receiveData(serverFrame(TEXT, "ignored"));
  client.receiveData(serverFrame(PING, "ping"));
  client.receiveData(serverFrame(CLOSE, closePayload(1000)));
  client.receiveData(latin1("\xff\xff garbage"));
  assert.deepEqual(client.takeEvents(), [], "no events after the connection was failed or closed");
  assert.deepEqual(client.takeWrites(), [], "nothing written in reply to ignored input");
}

/**
 * Asserts RFC 6455 §7.1.7 "Fail the WebSocket Connection": `failure` is a ProtocolError with
 * `code` and `closeCode`, the last event is the "error" event carrying it, the client queued a
 * close frame with `closeCode`, the state is CLOSING, `closeExpected()` is true, and further input
 * is ignored.
 */
function assertFailed(
  client: ClientProtocol,
  events: readonly ProtocolEvent[],
  code: ProtocolErrorCode,
  closeCode: number,
): void {
  const failure = client.failure;
  assert.ok(failure instanceof ProtocolError, `expected a ProtocolError, got ${failure}`);
  assert.equal(failure.code, code, failure.message);
  assert.equal(failure.closeCode, closeCode);
  const last = events.at(-1);
  assert.equal(last?.type, "error", `events: ${JSON.stringify(normalizeEvents(events))}`);
  assert.equal(last.error, failure, "the error event carries the failure");
  assert.equal(events.filter((e) => e.type === "error").length, 1, "exactly one error event");
  const frames = sent(client);
  const close = frames.at(-1);
  assert.equal(closeCodeOf(close), closeCode, "the client sent a close frame with the code");
  assert.ok(close!.payload.length <= 125, "the close reason fits a control frame");
  assert.deepEqual(client.closeSent?.code, closeCode);
  assert.equal(client.state, ReadyState.CLOSING);
  assert.equal(client.closeExpected(), true);
  assertInputIgnored(client);
}

/** Asserts the handshake failed with a HandshakeError of `code`; returns it. */
function assertHandshakeFailed(
  client: ClientProtocol,
  events: readonly ProtocolEvent[],
  code: HandshakeErrorCode,
): HandshakeError {
  const failure = client.failure;
  assert.ok(failure instanceof HandshakeError, `expected a HandshakeError, got ${failure}`);
  assert.equal(failure.code, code, failure.message);
  assert.deepEqual(events.map((e) => e.type), ["error"]);
  assert.equal((events[0] as { error: unknown }).error, failure);
  assert.equal(client.state, ReadyState.CLOSED);
  assert.equal(client.closeExpected(), false);
  assert.deepEqual(client.takeWrites(), [], "no close frame before the connection opened");
  assertInputIgnored(client);
  return failure;
}

/** Asserts `fn` throws `cls` with `code`. */
function expectThrows(
  fn: () => unknown,
  cls: typeof ArgumentError | typeof InvalidStateError,
  code: string,
): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof cls, `expected ${cls.name}, got ${error}`);
    assert.equal((error as { code: string }).code, code, (error as Error).message);
    return true;
  });
}

/** Runs `bytes` through a fresh open client in the given chunks; events and decoded writes. */
function run(bytes: Uint8Array, cuts: readonly number[], options: TestClientOptions = {}) {
  const client = open(options);
  const events = normalizeEvents(deliver(client, splitAt(bytes, cuts)));
  return { client, events, writes: sent(client) };
}

/** Every offset of `bytes`: cutting at all of them delivers it byte by byte. */
function everyOffset(bytes: Uint8Array): number[] {
  return Array.from({ length: bytes.length }, (_, i) => i);
}

/** 1- to 4-byte characters, including leads with a narrow second-byte range (F0, ED, E0, F4). */
const MIXED = [
  "a",
  "b",
  " ",
  "\u0000",
  "é",
  "ж",
  "€",
  "\ufeff",
  "😀",
  "𝄞",
  "\ud7ff",
  "\u0800",
  "\u{10ffff}",
];

/** Text of at least `size` UTF-8 bytes (at most 3 more) drawn from `alphabet`, from a seed. */
function textOf(size: number, seed: number, alphabet: readonly string[] = MIXED): string {
  const bytes = patternBytes(size + 1, seed);
  let text = "";
  let length = 0;
  for (let i = 0; length < size; i++) {
    const c = alphabet[bytes[i % bytes.length] % alphabet.length];
    text += c;
    length += utf8(c).length;
  }
  return text;
}

// -------------------------------------------------------------------------------------------------

describe("ClientProtocol", () => {
  describe("opening handshake (RFC 6455 §4.1)", () => {
    it("writes the request byte for byte with a fixed random source", () => {
      const { request } = openClient();
      assert.equal(
        String.fromCharCode(...request),
        "GET /chat HTTP/1.1\r\n" +
          "Host: example.com\r\n" +
          "Upgrade: websocket\r\n" +
          "Connection: Upgrade\r\n" +
          `Sec-WebSocket-Key: ${KEY}\r\n` +
          "Sec-WebSocket-Version: 13\r\n" +
          "\r\n",
      );
    });

    it("offers subprotocols, extensions and custom headers, with a Host override", () => {
      const { factory } = fakeExtension();
      const client = newClient({
        host: "example.com:8080",
        path: "/ari/events?app=demo",
        protocols: ["chat", "superchat"],
        extensions: [factory],
        headers: [["Authorization", "Basic dTpw"], ["Host", "front.example"]],
      });
      assert.equal(
        String.fromCharCode(...concat(...client.takeWrites())),
        "GET /ari/events?app=demo HTTP/1.1\r\n" +
          "Host: front.example\r\n" +
          "Upgrade: websocket\r\n" +
          "Connection: Upgrade\r\n" +
          `Sec-WebSocket-Key: ${KEY}\r\n` +
          "Sec-WebSocket-Version: 13\r\n" +
          "Sec-WebSocket-Protocol: chat, superchat\r\n" +
          "Sec-WebSocket-Extensions: x-test; client_param\r\n" +
          "Authorization: Basic dTpw\r\n" +
          "\r\n",
      );
    });

    it("opens on a valid 101: an open event, state OPEN, the response kept", () => {
      const client = newClient();
      client.takeWrites();
      assert.equal(client.state, ReadyState.CONNECTING);
      assert.equal(client.key, KEY);
      const events = feed(client, handshakeResponse(KEY));
      assert.equal(events.length, 1);
      const [event] = events;
      assert.equal(event.type, "open");
      assert.equal(event.protocol, "");
      assert.equal(event.extensions, "");
      assert.equal(event.response.status, 101);
      assert.equal(event.response.headers["upgrade"], "websocket");
      assert.equal(client.state, ReadyState.OPEN);
      assert.equal(client.response, event.response);
      assert.equal(client.failure, undefined);
      assert.equal(client.closeExpected(), false);
      assert.deepEqual(client.takeWrites(), []);
    });

    it("reports the subprotocol the server chose", () => {
      const { client, events } = openClient({ protocols: ["chat", "superchat"] }, {
        protocol: "superchat",
      });
      assert.equal(client.protocol, "superchat");
      assert.equal((events[0] as { protocol: string }).protocol, "superchat");
    });

    it("reports the negotiated extensions", () => {
      const ext = fakeExtension();
      const { client, events } = openClient({ extensions: [ext.factory] }, {
        extensions: "x-test; a=1",
      });
      assert.equal((events[0] as { extensions: string }).extensions, "x-test; a=1");
      assert.deepEqual(client.extensions.map((e) => e.name), ["x-test"]);
      assert.deepEqual([...ext.accepted[0]], [["a", "1"]]);
    });

    it("processes frames that arrive in the same chunk as the end of the head", () => {
      const client = newClient();
      const events = feed(
        client,
        handshakeResponse(KEY, {
          after: concat(serverFrame(TEXT, "first"), serverFrame(BINARY, hex("01 02"))),
        }),
      );
      assert.deepEqual(normalizeEvents(events), [
        { type: "open", protocol: "", extensions: "" },
        { type: "message", data: "first" },
        { type: "message", data: hex("01 02") },
      ]);
    });

    it("gives the same events when the head and the first frames arrive byte by byte", () => {
      const bytes = handshakeResponse(KEY, {
        after: concat(serverFrame(TEXT, "first"), serverFrame(PING, "p")),
      });
      const whole = normalizeEvents(feed(newClient(), bytes));
      const client = newClient();
      assert.deepEqual(normalizeEvents(deliver(client, splitAt(bytes, everyOffset(bytes)))), whole);
      assert.equal(whole.length, 3);
    });

    it("refuses to send the request twice or to receive before the request", () => {
      const client = newClient();
      expectThrows(() => client.sendRequest(), InvalidStateError, "NOT_CONNECTING");
      const fresh = new ClientProtocol({ host: "h", path: "/", random: counterRandom() });
      expectThrows(() => fresh.receiveData(latin1("HTTP")), InvalidStateError, "NOT_CONNECTING");
    });

    it("validates headers, subprotocols and limits in the constructor", () => {
      const base = { host: "h", path: "/" };
      expectThrows(
        () => new ClientProtocol({ ...base, headers: [["X", "a\r\nb"]] }),
        ArgumentError,
        "INVALID_HEADER",
      );
      expectThrows(
        () => new ClientProtocol({ ...base, headers: [["Sec-WebSocket-Key", "x"]] }),
        ArgumentError,
        "INVALID_HEADER",
      );
      expectThrows(
        () => new ClientProtocol({ ...base, protocols: ["a b"] }),
        ArgumentError,
        "INVALID_SUBPROTOCOL",
      );
      for (const bad of [0, -1, 1.5, NaN, Infinity]) {
        expectThrows(
          () => new ClientProtocol({ ...base, maxMessageSize: bad }),
          ArgumentError,
          "INVALID_OPTION",
        );
        expectThrows(
          () => new ClientProtocol({ ...base, maxFragments: bad }),
          ArgumentError,
          "INVALID_OPTION",
        );
      }
    });

    it("takes the key and the mask keys from the injected random source", () => {
      const client = open();
      client.sendText("a");
      client.sendText("b");
      // 16 bytes for the key (00..0f), then the pool is filled from 0x10 on.
      assert.deepEqual(sent(client).map((f) => toHex(f.key)), ["10 11 12 13", "14 15 16 17"]);
    });
  });

  describe("handshake failures", () => {
    it("fails on a wrong Sec-WebSocket-Accept: error event, state CLOSED, no frames", () => {
      const client = newClient();
      client.takeWrites();
      const events = feed(
        client,
        handshakeResponse(KEY, { accept: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" }),
      );
      const error = assertHandshakeFailed(client, events, "INVALID_ACCEPT");
      assert.equal(error.status, 101);
      assert.equal(error.headers["sec-websocket-accept"], "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
      expectThrows(() => client.sendText("x"), InvalidStateError, "NOT_OPEN");
    });

    it("fails on a subprotocol that was not offered", () => {
      const client = newClient({ protocols: ["chat"] });
      client.takeWrites();
      const events = feed(client, handshakeResponse(KEY, { protocol: "other" }));
      assertHandshakeFailed(client, events, "UNEXPECTED_SUBPROTOCOL");
    });

    it("fails on an extension that was not offered", () => {
      const client = newClient();
      client.takeWrites();
      const events = feed(client, handshakeResponse(KEY, { extensions: "permessage-deflate" }));
      assertHandshakeFailed(client, events, "UNEXPECTED_EXTENSION");
    });

    it("fails on a malformed head (bare LF)", () => {
      const client = newClient();
      client.takeWrites();
      const events = feed(client, latin1("HTTP/1.1 101 Switching Protocols\nUpgrade: websocket"));
      assertHandshakeFailed(client, events, "INVALID_HTTP_RESPONSE");
    });

    it("applies the HTTP limits given as options", () => {
      const client = newClient({ maxHeaderLineLength: 20 });
      client.takeWrites();
      const events = feed(client, handshakeResponse(KEY));
      assertHandshakeFailed(client, events, "RESPONSE_TOO_LARGE");
    });

    it("waits for a 401's Content-Length body, then fails with status, headers and body", () => {
      const client = newClient();
      client.takeWrites();
      const head = latin1(
        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\nWWW-Authenticate: Basic\r\n\r\n",
      );
      assert.deepEqual(feed(client, concat(head, latin1("unau"))), [], "waits for the body");
      assert.equal(client.state, ReadyState.CONNECTING);
      assert.deepEqual(feed(client, latin1("thori")), []);
      const events = feed(client, latin1("zed"));
      const error = assertHandshakeFailed(client, events, "UNEXPECTED_STATUS");
      assert.equal(error.status, 401);
      assert.equal(error.headers["www-authenticate"], "Basic");
      assert.equal(error.bodyText, "unauthorized");
      assert.match(error.message, /401 Unauthorized/);
    });

    it("fails at once on a non-101 response without Content-Length (empty body)", () => {
      const client = newClient();
      client.takeWrites();
      const events = feed(client, latin1("HTTP/1.1 403 Forbidden\r\n\r\nignored body"));
      const error = assertHandshakeFailed(client, events, "UNEXPECTED_STATUS");
      assert.equal(error.status, 403);
      assert.equal(error.body.length, 0);
    });

    it("keeps the partial body when the stream ends before the announced length", () => {
      const client = newClient();
      client.takeWrites();
      assert.deepEqual(
        feed(client, latin1("HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\npartial")),
        [],
      );
      client.receiveEof();
      const error = assertHandshakeFailed(client, client.takeEvents(), "UNEXPECTED_STATUS");
      assert.equal(error.bodyText, "partial");
    });

    it("keeps at most 64 KiB of an error body and fails as soon as it has them", () => {
      const client = newClient();
      client.takeWrites();
      const head = latin1("HTTP/1.1 500 Oops\r\nContent-Length: 1000000\r\n\r\n");
      const events = feed(client, head, new Uint8Array(65536).fill(0x61));
      const error = assertHandshakeFailed(client, events, "UNEXPECTED_STATUS");
      assert.equal(error.body.length, 65536);
    });

    it("fails with HANDSHAKE_INTERRUPTED when the stream ends during the head", () => {
      for (const partial of ["", "HTTP/1.1 101 Switching", "HTTP/1.1 101 OK\r\nUpgrade: web"]) {
        const client = newClient();
        client.takeWrites();
        feed(client, latin1(partial));
        client.receiveEof();
        assertHandshakeFailed(client, client.takeEvents(), "HANDSHAKE_INTERRUPTED");
        assert.equal(client.eofReceived, true);
      }
    });
  });

  describe("receiving messages (RFC 6455 §5.6, §6.2)", () => {
    for (const size of [0, 1, 125, 126, 65535, 65536, 70000]) {
      it(`delivers a ${size}-byte text message and a ${size}-byte binary message`, () => {
        const client = open();
        const text = textOf(size, size + 1);
        const binary = patternBytes(size, size + 2);
        const events = feed(client, serverFrame(TEXT, text), serverFrame(BINARY, binary));
        assertMessages(events, [text, binary]);
        assert.deepEqual(client.takeWrites(), []);
      });
    }

    it("parses the RFC 6455 §5.7 unmasked frames: 'Hello' whole and as 'Hel' + 'lo'", () => {
      const client = open();
      const events = feed(
        client,
        hex("81 05 48 65 6c 6c 6f"),
        hex("01 03 48 65 6c"),
        hex("80 02 6c 6f"),
      );
      assertMessages(events, ["Hello", "Hello"]);
    });

    it("parses the §5.7 256-byte (16-bit length) and 64 KiB (64-bit length) binary frames", () => {
      const client = open();
      const small = patternBytes(256, 1);
      const big = patternBytes(65536, 2);
      const events = feed(
        client,
        concat(hex("82 7e 01 00"), small),
        concat(hex("82 7f 00 00 00 00 00 01 00 00"), big),
      );
      assertMessages(events, [small, big]);
    });

    it("accepts non-minimal length encodings from the server", () => {
      const client = open();
      const events = feed(
        client,
        serverFrame(TEXT, "short", { lengthForm: 16 }),
        serverFrame(BINARY, hex("01"), { lengthForm: 64 }),
      );
      assertMessages(events, ["short", hex("01")]);
    });

    it("keeps a leading BOM in text messages", () => {
      const client = open();
      assertMessages(feed(client, serverFrame(TEXT, "\ufeffhi")), ["\ufeffhi"]);
    });

    it("assembles fragmented messages with an interleaved ping; the pong echoes its data", () => {
      const client = open();
      const events = feed(
        client,
        serverFrame(TEXT, "Hel", { fin: false }),
        serverFrame(PING, hex("de ad be ef")),
        serverFrame(CONTINUATION, "l", { fin: false }),
        serverFrame(PONG, "pong data"),
        serverFrame(CONTINUATION, "o"),
      );
      assert.deepEqual(normalizeEvents(events), [
        { type: "ping", data: hex("de ad be ef") },
        { type: "pong", data: utf8("pong data") },
        { type: "message", data: "Hello" },
      ]);
      const frames = sent(client);
      assert.equal(frames.length, 1, "a ping is answered, a pong is not");
      assert.deepEqual(
        { opcode: frames[0].opcode, fin: frames[0].fin, payload: frames[0].payload },
        { opcode: PONG, fin: true, payload: hex("de ad be ef") },
      );
    });

    it("answers empty and 125-byte pings with pongs carrying the same data (RFC 6455 §5.5.2)", () => {
      const client = open();
      const big = patternBytes(125, 3);
      feed(client, serverFrame(PING), serverFrame(PING, big));
      assert.deepEqual(
        sent(client).map((f) => [f.opcode, f.payload]),
        [[PONG, new Uint8Array(0)], [PONG, big]],
      );
    });

    it("answers every ping of a read up to 16, then only the latest (RFC 6455 §5.5.3)", () => {
      const pings = (n: number) =>
        concatBytes(Array.from({ length: n }, (_, i) => serverFrame(PING, `ping ${i}`)));
      // Autobahn 2.10 sends 10 pings at once and expects 10 pongs.
      const ten = open();
      feed(ten, pings(10));
      assert.deepEqual(
        sent(ten).map((f) => new TextDecoder().decode(f.payload)),
        Array.from({ length: 10 }, (_, i) => `ping ${i}`),
      );
      // A flood: 40 pings in one read cost 16 pongs, the last one answering the latest ping.
      const flood = open();
      const events = feed(flood, pings(40));
      assert.equal(events.filter((e) => e.type === "ping").length, 40, "every ping is reported");
      assert.deepEqual(
        sent(flood).map((f) => new TextDecoder().decode(f.payload)),
        [...Array.from({ length: 15 }, (_, i) => `ping ${i}`), "ping 39"],
      );
      // Once the writes are taken (the pongs are out), the count starts again.
      feed(flood, pings(3));
      assert.equal(sent(flood).length, 3);
    });

    it("assembles text whose code points are split across fragments", () => {
      const bytes = utf8("κόσμε €😀");
      for (let cut = 0; cut <= bytes.length; cut++) {
        const client = open();
        const events = feed(
          client,
          serverFrame(TEXT, bytes.subarray(0, cut), { fin: false }),
          serverFrame(CONTINUATION, bytes.subarray(cut)),
        );
        assertMessages(events, ["κόσμε €😀"], `cut at ${cut}`);
      }
    });

    it("accepts valid text whose code points straddle three reads (F0 | 9F 98 80 61 | E2 82 AC)", () => {
      // "😀a€" as one frame, delivered in three chunks: the first ends right after the F0 lead,
      // the second finishes the emoji and ends in ASCII, the third holds "€".
      const frame = serverFrame(TEXT, "😀a€");
      const client = open();
      const events = feed(client, ...splitAt(frame, [3, 7]));
      assert.deepEqual(normalizeEvents(events), [{ type: "message", data: "😀a€" }]);
      assert.equal(client.failure, undefined);
    });

    it("accepts valid text whose code points straddle fragments (ED | 9F BF 61 | C3 A9)", () => {
      const bytes = utf8("\ud7ffaé");
      const client = open();
      const events = feed(
        client,
        serverFrame(TEXT, bytes.subarray(0, 1), { fin: false }),
        serverFrame(CONTINUATION, bytes.subarray(1, 4), { fin: false }),
        serverFrame(CONTINUATION, bytes.subarray(4)),
      );
      assert.deepEqual(normalizeEvents(events), [{ type: "message", data: "\ud7ffaé" }]);
    });

    it("assembles many fragments, including empty ones", () => {
      const client = open();
      const payload = patternBytes(1000, 4);
      const frames = [serverFrame(BINARY, new Uint8Array(0), { fin: false })];
      for (let at = 0; at < 1000; at += 7) {
        frames.push(serverFrame(CONTINUATION, payload.subarray(at, at + 7), { fin: false }));
        frames.push(serverFrame(CONTINUATION, new Uint8Array(0), { fin: false }));
      }
      frames.push(serverFrame(CONTINUATION, new Uint8Array(0)));
      assertMessages(feed(client, concat(...frames)), [payload]);
    });

    it("delivers messages of 0 bytes as '' and an empty Uint8Array", () => {
      const client = open();
      const events = feed(client, serverFrame(TEXT), serverFrame(BINARY));
      assertMessages(events, ["", new Uint8Array(0)]);
    });

    it("hands out events once: takeEvents() forgets them", () => {
      const client = open();
      client.receiveData(serverFrame(TEXT, "x"));
      assert.equal(client.takeEvents().length, 1);
      assert.deepEqual(client.takeEvents(), []);
    });
  });

  describe("chunking: every input in any pieces gives the same events", () => {
    /** Every frame kind, code points split across fragments, control frames between fragments. */
    const dataFrames = concat(
      serverFrame(TEXT, "Hello"),
      serverFrame(BINARY, patternBytes(130, 8)),
      serverFrame(TEXT, utf8("κόσμε €😀").subarray(0, 5), { fin: false }),
      serverFrame(PING, "p1"),
      serverFrame(CONTINUATION, utf8("κόσμε €😀").subarray(5, 13), { fin: false }),
      serverFrame(PONG, "p2"),
      serverFrame(CONTINUATION, utf8("κόσμε €😀").subarray(13)),
      serverFrame(TEXT),
      serverFrame(BINARY, patternBytes(300, 9), { lengthForm: 64 }),
    );
    /** A small stream: the data frames, the server's close, and a frame that must be ignored. */
    const small = concat(
      dataFrames,
      serverFrame(CLOSE, closePayload(1001, "going")),
      serverFrame(TEXT, "after the close: ignored"),
    );

    it("at every single split point, and byte by byte", () => {
      const whole = run(small, []);
      assert.equal(whole.events.length, 8);
      for (let cut = 0; cut <= small.length; cut++) {
        const split = run(small, [cut]);
        assert.deepEqual(split.events, whole.events, `split at ${cut}`);
        assert.deepEqual(split.writes, whole.writes, `writes, split at ${cut}`);
      }
      const bytewise = run(small, everyOffset(small));
      assert.deepEqual(bytewise.events, whole.events);
      assert.deepEqual(bytewise.writes, whole.writes);
    });

    it("at every pair of split points around each frame header", () => {
      const whole = run(small, []);
      for (let i = 0; i < 40; i++) {
        for (let j = i; j < small.length; j += 3) {
          assert.deepEqual(run(small, [i, j]).events, whole.events, `split at ${i}, ${j}`);
        }
      }
    });

    it("for the handshake plus a large stream: whole, byte by byte and at random points", () => {
      const stream = concat(
        handshakeResponse(KEY),
        dataFrames,
        serverFrame(BINARY, patternBytes(70000, 10)),
        serverFrame(TEXT, textOf(66000, 11)),
        serverFrame(CLOSE, closePayload(1000)),
      );
      const runFresh = (cuts: readonly number[]) => {
        const client = newClient();
        client.takeWrites();
        const events = normalizeEvents(deliver(client, splitAt(stream, cuts)));
        return { events, writes: sent(client), state: client.state };
      };
      const whole = runFresh([]);
      assert.deepEqual(whole.events.at(-1), { type: "close", code: 1000, reason: "" });
      assert.deepEqual(runFresh(everyOffset(stream)), whole);
      fc.assert(
        fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 30 }), (cuts) => {
          assert.deepEqual(runFresh(cuts), whole);
        }),
        { numRuns: 100, endOnFailure: true },
      );
    });
  });

  describe("failing the connection on bad input (RFC 6455 §7.1.7)", () => {
    const mask = hex("37 fa 21 3d");
    const cases: Array<{
      name: string;
      bytes: Uint8Array;
      code: ProtocolErrorCode;
      closeCode: number;
      options?: TestClientOptions;
    }> = [
      {
        name: "a masked server frame (§5.1)",
        bytes: serverFrame(TEXT, "Hello", { mask }),
        code: "MASKED_FRAME",
        closeCode: 1002,
      },
      {
        name: "a masked control frame (§5.1)",
        bytes: serverFrame(PING, "", { mask }),
        code: "MASKED_FRAME",
        closeCode: 1002,
      },
      ...[4, 2, 1, 7].map((rsv) => ({
        name: `RSV bits ${
          rsv.toString(2).padStart(3, "0")
        } on a data frame without extension (§5.2)`,
        bytes: serverFrame(TEXT, "x", { rsv }),
        code: "RESERVED_BITS" as const,
        closeCode: 1002,
      })),
      {
        name: "RSV1 on a ping (§5.2)",
        bytes: serverFrame(PING, "x", { rsv: 4 }),
        code: "RESERVED_BITS",
        closeCode: 1002,
      },
      {
        name: "RSV1 on a continuation frame (§5.2)",
        bytes: concat(
          serverFrame(TEXT, "a", { fin: false }),
          serverFrame(CONTINUATION, "b", { rsv: 4 }),
        ),
        code: "RESERVED_BITS",
        closeCode: 1002,
      },
      ...[3, 4, 5, 6, 7].map((opcode) => ({
        name: `reserved data opcode ${opcode} (§5.2)`,
        bytes: serverFrame(opcode, "x"),
        code: "INVALID_OPCODE" as const,
        closeCode: 1002,
      })),
      ...[0xb, 0xc, 0xd, 0xe, 0xf].map((opcode) => ({
        name: `reserved control opcode 0x${opcode.toString(16)} (§5.2)`,
        bytes: serverFrame(opcode, "x"),
        code: "INVALID_OPCODE" as const,
        closeCode: 1002,
      })),
      {
        name: "a fragmented ping (§5.5)",
        bytes: serverFrame(PING, "x", { fin: false }),
        code: "FRAGMENTED_CONTROL_FRAME",
        closeCode: 1002,
      },
      {
        name: "a fragmented close (§5.5)",
        bytes: serverFrame(CLOSE, closePayload(1000), { fin: false }),
        code: "FRAGMENTED_CONTROL_FRAME",
        closeCode: 1002,
      },
      {
        name: "a 126-byte ping (§5.5)",
        bytes: serverFrame(PING, patternBytes(126)),
        code: "CONTROL_FRAME_TOO_BIG",
        closeCode: 1002,
      },
      {
        name: "a close frame with a 64-bit length of 200 (§5.5)",
        bytes: serverFrame(CLOSE, closePayload(1000, "x".repeat(198)), { lengthForm: 64 }),
        code: "CONTROL_FRAME_TOO_BIG",
        closeCode: 1002,
      },
      {
        name: "a 64-bit length with its most significant bit set (§5.2)",
        bytes: frameHeader(BINARY, 0x8000000000000000n),
        code: "INVALID_LENGTH",
        closeCode: 1002,
      },
      {
        name: "a 64-bit length of 2^64 - 1 (§5.2)",
        bytes: frameHeader(BINARY, 0xffffffffffffffffn),
        code: "INVALID_LENGTH",
        closeCode: 1002,
      },
      {
        name: "invalid UTF-8 in a text message (§8.1)",
        bytes: serverFrame(TEXT, hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64")),
        code: "INVALID_UTF8",
        closeCode: 1007,
      },
      {
        name: "invalid UTF-8 across the fragments of a text message (§8.1)",
        bytes: concat(
          serverFrame(TEXT, hex("61 e2 82"), { fin: false }),
          serverFrame(CONTINUATION, hex("28 61")),
        ),
        code: "INVALID_UTF8",
        closeCode: 1007,
      },
      {
        name: "a text message that ends inside a code point (§8.1)",
        bytes: serverFrame(TEXT, hex("61 e2 82")),
        code: "INVALID_UTF8",
        closeCode: 1007,
      },
      {
        name: "a fragmented text message whose last fragment ends inside a code point",
        bytes: concat(
          serverFrame(TEXT, "a", { fin: false }),
          serverFrame(CONTINUATION, hex("f0 9f 98")),
        ),
        code: "INVALID_UTF8",
        closeCode: 1007,
      },
      ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000].map((code) => ({
        name: `a close frame with invalid code ${code} (§7.4)`,
        bytes: serverFrame(CLOSE, closePayload(code)),
        code: "INVALID_CLOSE_CODE" as const,
        closeCode: 1002,
      })),
      {
        name: "a close frame with a 1-byte payload (§5.5.1)",
        bytes: serverFrame(CLOSE, hex("03")),
        code: "INVALID_CLOSE_PAYLOAD",
        closeCode: 1002,
      },
      {
        name: "a close reason that is not UTF-8 (§5.5.1)",
        bytes: serverFrame(CLOSE, closePayload(1000, hex("ed a0 80"))),
        code: "INVALID_CLOSE_REASON",
        closeCode: 1007,
      },
      {
        name: "a continuation frame without a message to continue (§5.4)",
        bytes: serverFrame(CONTINUATION, "x"),
        code: "UNEXPECTED_CONTINUATION",
        closeCode: 1002,
      },
      {
        name: "a continuation frame after a finished message (§5.4)",
        bytes: concat(serverFrame(TEXT, "done"), serverFrame(CONTINUATION, "x")),
        code: "UNEXPECTED_CONTINUATION",
        closeCode: 1002,
      },
      {
        name: "a new text message while a fragmented one is unfinished (§5.4)",
        bytes: concat(serverFrame(TEXT, "a", { fin: false }), serverFrame(TEXT, "b")),
        code: "EXPECTED_CONTINUATION",
        closeCode: 1002,
      },
      {
        name: "a new binary message while a fragmented text is unfinished (§5.4)",
        bytes: concat(serverFrame(TEXT, "a", { fin: false }), serverFrame(BINARY, "b")),
        code: "EXPECTED_CONTINUATION",
        closeCode: 1002,
      },
      {
        name: "a frame longer than maxMessageSize, from its header alone",
        bytes: frameHeader(BINARY, 1001),
        code: "MESSAGE_TOO_BIG",
        closeCode: 1009,
        options: { maxMessageSize: 1000 },
      },
      {
        name: "fragments adding up to more than maxMessageSize",
        bytes: concat(serverFrame(TEXT, "a".repeat(600), { fin: false }), frameHeader(0, 401)),
        code: "MESSAGE_TOO_BIG",
        closeCode: 1009,
        options: { maxMessageSize: 1000 },
      },
      {
        name: "a 2^40-byte frame under the default 64 MiB limit",
        bytes: frameHeader(TEXT, 2n ** 40n),
        code: "MESSAGE_TOO_BIG",
        closeCode: 1009,
      },
      {
        name: "more than maxFragments fragments",
        bytes: concat(
          serverFrame(BINARY, "1", { fin: false }),
          serverFrame(CONTINUATION, "2", { fin: false }),
          serverFrame(CONTINUATION, "3", { fin: false }),
          frameHeader(CONTINUATION, 1),
        ),
        code: "TOO_MANY_FRAGMENTS",
        closeCode: 1008,
        options: { maxFragments: 3 },
      },
    ];

    for (const c of cases) {
      it(`fails on ${c.name} with ${c.code} and close code ${c.closeCode}`, () => {
        const client = open(c.options);
        const events = feed(client, c.bytes);
        assertFailed(client, events, c.code, c.closeCode);
        // Byte by byte: the same failure, and the same events before it.
        const bytewise = open(c.options);
        const bytewiseEvents = deliver(bytewise, splitAt(c.bytes, everyOffset(c.bytes)));
        assert.deepEqual(normalizeEvents(bytewiseEvents), normalizeEvents(events));
        assertFailed(bytewise, bytewiseEvents, c.code, c.closeCode);
      });
    }

    it("delivers the messages that came before the bad frame in the same chunk", () => {
      const client = open();
      const events = feed(
        client,
        concat(serverFrame(TEXT, "ok"), serverFrame(BINARY, hex("01")), serverFrame(7, "bad")),
      );
      assertMessages(events, ["ok", hex("01")]);
      assertFailed(client, events, "INVALID_OPCODE", 1002);
    });

    it("fails on the chunk that holds the invalid byte, in the middle of a frame", () => {
      const payload = new Uint8Array(100).fill(0x61);
      payload[50] = 0xff;
      const frame = serverFrame(TEXT, payload);
      const client = open();
      assert.deepEqual(feed(client, frame.subarray(0, 2 + 40)), [], "the first 40 bytes are fine");
      assert.deepEqual(feed(client, frame.subarray(42, 2 + 50)), [], "still fine up to byte 49");
      const events = feed(client, frame.subarray(52, 2 + 60));
      assertFailed(client, events, "INVALID_UTF8", 1007);
    });

    it("fails on the chunk that holds the invalid byte, for any chunking (fast-check)", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 3000 }),
          fc.nat(),
          fc.array(fc.nat(), { maxLength: 8 }),
          fc.boolean(),
          (length, badAt, cuts, fragmented) => {
            // Characters whose continuation bytes may take any value: a check independent of the
            // narrow-range bug shown by the regression test above.
            const payload = utf8(textOf(length, length, ["a", "é", "ж", "€", "中", " "]));
            const bad = badAt % payload.length;
            payload[bad] = 0xff;
            const frames = fragmented
              ? concat(
                serverFrame(TEXT, payload.subarray(0, bad >> 1), { fin: false }),
                serverFrame(CONTINUATION, payload.subarray(bad >> 1)),
              )
              : serverFrame(TEXT, payload);
            // Every header precedes the bad byte (when fragmented it is in the second fragment,
            // since bad >= bad >> 1), so its offset in the stream is all header bytes plus bad.
            const offset = frames.length - payload.length + bad;
            const chunks = splitAt(frames, cuts.map((c) => c % (frames.length + 1)));
            const client = open();
            let start = 0;
            let failedAt = -1;
            let expectedAt = -1;
            for (const [i, chunk] of chunks.entries()) {
              if (expectedAt < 0 && offset >= start && offset < start + chunk.length) {
                expectedAt = i;
              }
              start += chunk.length;
              client.receiveData(chunk);
              if (failedAt < 0 && client.failure) failedAt = i;
            }
            // The bad byte may be found earlier only if an earlier byte was already invalid (the
            // patterned text is valid up to the replaced byte, so it cannot).
            assert.equal(failedAt, expectedAt);
            assert.equal((client.failure as ProtocolError).code, "INVALID_UTF8");
          },
        ),
        { numRuns: 300 },
      );
    });

    it("fails at the header of an oversized frame, before any payload byte arrives", () => {
      const client = open({ maxMessageSize: 65536 });
      const events = feed(client, frameHeader(BINARY, 65537));
      assertFailed(client, events, "MESSAGE_TOO_BIG", 1009);
    });

    it("accepts a message of exactly maxMessageSize bytes, in one frame or fragmented", () => {
      const client = open({ maxMessageSize: 1000 });
      const payload = patternBytes(1000, 12);
      const events = feed(
        client,
        serverFrame(BINARY, payload),
        serverFrame(BINARY, payload.subarray(0, 999), { fin: false }),
        serverFrame(CONTINUATION, payload.subarray(999)),
      );
      assertMessages(events, [payload, payload]);
      assert.equal(client.failure, undefined);
    });

    it("accepts exactly maxFragments fragments and fails on the next header", () => {
      const client = open({ maxFragments: 3 });
      const events = feed(
        client,
        serverFrame(TEXT, "a", { fin: false }),
        serverFrame(CONTINUATION, "b", { fin: false }),
        serverFrame(CONTINUATION, "c"),
      );
      assertMessages(events, ["abc"]);
      feed(client, serverFrame(BINARY, "1", { fin: false }));
      feed(client, serverFrame(CONTINUATION, "2", { fin: false }));
      feed(client, serverFrame(CONTINUATION, "3", { fin: false }));
      assertFailed(client, feed(client, frameHeader(CONTINUATION, 5)), "TOO_MANY_FRAGMENTS", 1008);
    });

    it("counts control frames between fragments as no fragment", () => {
      const client = open({ maxFragments: 2 });
      const events = feed(
        client,
        serverFrame(TEXT, "a", { fin: false }),
        serverFrame(PING),
        serverFrame(PING),
        serverFrame(PONG),
        serverFrame(CONTINUATION, "b"),
      );
      assertMessages(events, ["ab"]);
    });

    it("truncates the error message to a 123-byte close reason", () => {
      const client = open();
      client.receiveData(frameHeader(0xb, 0));
      const [close] = sent(client);
      const { code, reason } = readClosePayload(close.payload);
      assert.equal(code, 1002);
      assert.ok(utf8(reason).length <= 123);
      assert.equal(reason, client.failure!.message.slice(0, reason.length));
    });

    it("does not send a second close frame when failing after its own close", () => {
      const client = open();
      client.sendClose(1000);
      assert.equal(closeCodeOf(sent(client)[0]), 1000);
      const events = feed(client, serverFrame(TEXT, "x", { mask }));
      assert.equal(events.at(-1)?.type, "error");
      assert.equal((client.failure as ProtocolError).code, "MASKED_FRAME");
      assert.deepEqual(client.takeWrites(), [], "no second close frame");
      assert.deepEqual(client.closeSent, { code: 1000, reason: "" });
      assert.equal(client.state, ReadyState.CLOSING);
      assert.equal(client.closeExpected(), true);
    });
  });

  describe("closing handshake (RFC 6455 §5.5.1, §7)", () => {
    it("answers a server's close by echoing its code, then ignores further input", () => {
      const client = open();
      const events = feed(client, serverFrame(CLOSE, closePayload(1001, "bye")));
      assert.deepEqual(events, [{ type: "close", code: 1001, reason: "bye" }]);
      const [reply] = sent(client);
      assert.deepEqual(readClosePayload(reply.payload), { code: 1001, reason: "" });
      assert.deepEqual(client.closeReceived, { code: 1001, reason: "bye" });
      assert.deepEqual(client.closeSent, { code: 1001, reason: "" });
      assert.equal(client.closeReceivedFirst, true);
      assert.equal(client.state, ReadyState.CLOSING);
      assert.equal(client.closeExpected(), true);
      assert.equal(client.failure, undefined);
      assertInputIgnored(client);
      expectThrows(() => client.sendText("late"), InvalidStateError, "NOT_OPEN");
      expectThrows(() => client.sendClose(1000), InvalidStateError, "NOT_OPEN");
      client.receiveEof();
      assert.equal(client.state, ReadyState.CLOSED);
      assert.deepEqual(client.closeReceived, { code: 1001, reason: "bye" });
    });

    it("answers an empty close frame (1005) with an empty close frame", () => {
      const client = open();
      const events = feed(client, serverFrame(CLOSE));
      assert.deepEqual(events, [{ type: "close", code: 1005, reason: "" }]);
      const [reply] = sent(client);
      assert.equal(reply.payload.length, 0);
      assert.equal(client.closeSent?.code, 1005);
    });

    it("ignores anything after the server's close frame in the same chunk", () => {
      const client = open();
      const events = feed(
        client,
        concat(
          serverFrame(TEXT, "before"),
          serverFrame(CLOSE, closePayload(1000)),
          serverFrame(TEXT, "after"),
          serverFrame(99, "not even a valid frame"),
        ),
      );
      assert.deepEqual(normalizeEvents(events), [
        { type: "message", data: "before" },
        { type: "close", code: 1000, reason: "" },
      ]);
      assert.equal(client.failure, undefined);
    });

    it("client-initiated: still delivers data frames until the server's close arrives", () => {
      const client = open();
      client.sendClose(1000, "done");
      const [close] = sent(client);
      assert.equal(toHex(close.payload), toHex(closePayload(1000, "done")));
      assert.equal(client.state, ReadyState.CLOSING);
      assert.equal(client.closeExpected(), false, "the server's close has not arrived");
      const events = feed(
        client,
        serverFrame(TEXT, "in flight"),
        serverFrame(PING, "p"),
        serverFrame(BINARY, hex("01 02")),
      );
      assert.deepEqual(normalizeEvents(events), [
        { type: "message", data: "in flight" },
        { type: "ping", data: utf8("p") },
        { type: "message", data: hex("01 02") },
      ]);
      assert.deepEqual(client.takeWrites(), [], "no pong after our close frame");
      const closing = feed(client, serverFrame(CLOSE, closePayload(1000, "ok")));
      assert.deepEqual(closing, [{ type: "close", code: 1000, reason: "ok" }]);
      assert.deepEqual(client.takeWrites(), [], "no reply to the server's answer");
      assert.equal(client.closeReceivedFirst, false);
      assert.deepEqual(client.closeSent, { code: 1000, reason: "done" });
      assert.equal(client.closeExpected(), true);
      client.receiveEof();
      assert.equal(client.state, ReadyState.CLOSED);
    });

    it("sends an empty close frame when no code is given (the server sees 1005)", () => {
      const client = open();
      client.sendClose();
      const [close] = sent(client);
      assert.equal(close.opcode, CLOSE);
      assert.equal(close.payload.length, 0);
      assert.deepEqual(client.closeSent, { code: 1005, reason: "" });
    });

    it("sends a close reason of exactly 123 UTF-8 bytes", () => {
      const client = open();
      const reason = "€".repeat(41);
      client.sendClose(4000, reason);
      assert.deepEqual(readClosePayload(sent(client)[0].payload), { code: 4000, reason });
    });
  });

  describe("a message and a close or bad frame in the same read (resume())", () => {
    /** Delivers one chunk and takes the events, without resuming (what a driver sees first). */
    function receive(client: ClientProtocol, chunk: Uint8Array): ProtocolEvent[] {
      client.receiveData(chunk);
      return client.takeEvents();
    }

    it("hands out the message first and holds the server's close until resume()", () => {
      const client = open();
      const events = receive(
        client,
        concat(serverFrame(TEXT, "echo me"), serverFrame(CLOSE, closePayload(1000, "bye"))),
      );
      assertMessages(events, ["echo me"]);
      assert.equal(events.length, 1, "the close is not applied yet");
      assert.equal(client.state, ReadyState.OPEN);
      assert.equal(client.closeReceived, undefined);
      assert.deepEqual(client.takeWrites(), []);
      client.sendText("echo me"); // the application answers the message
      assert.equal(client.resume(), true);
      assert.deepEqual(client.takeEvents(), [{ type: "close", code: 1000, reason: "bye" }]);
      assert.deepEqual(
        sent(client).map((f) => [f.opcode, toHex(f.payload)]),
        [[TEXT, toHex(utf8("echo me"))], [CLOSE, "03 e8"]],
        "the echo goes out before the close reply",
      );
      assert.equal(client.state, ReadyState.CLOSING);
      assert.equal(client.closeExpected(), true);
      assert.equal(client.resume(), false, "nothing left to apply");
    });

    it("holds a protocol error behind the messages that came before it", () => {
      const client = open();
      const bad = serverFrame(TEXT, "x", { mask: hex("01 02 03 04") });
      const events = receive(client, concat(serverFrame(BINARY, hex("01 02")), bad));
      assertMessages(events, [hex("01 02")]);
      assert.equal(client.failure, undefined);
      client.sendBinary(hex("01 02"));
      assert.equal(client.resume(), true);
      const after = client.takeEvents();
      assert.deepEqual(normalizeEvents(after), [
        { type: "error", name: "ProtocolError", code: "MASKED_FRAME", closeCode: 1002 },
      ]);
      assert.deepEqual(sent(client).map((f) => f.opcode), [BINARY, CLOSE]);
      assert.equal(client.state, ReadyState.CLOSING);
    });

    it("answers a ping that follows the message at once; only the close waits", () => {
      const client = open();
      const events = receive(
        client,
        concat(
          serverFrame(TEXT, "m"),
          serverFrame(PING, "p"),
          serverFrame(CLOSE, closePayload(1001)),
        ),
      );
      assert.deepEqual(events.map((e) => e.type), ["message", "ping"]);
      assert.deepEqual(sent(client).map((f) => f.opcode), [PONG]);
      client.resume();
      assert.deepEqual(client.takeEvents(), [{ type: "close", code: 1001, reason: "" }]);
    });

    it("applies a close at once when no message came before it in the read", () => {
      const client = open();
      feed(client, serverFrame(TEXT, "taken earlier"));
      const events = receive(client, serverFrame(CLOSE, closePayload(1000)));
      assert.deepEqual(events, [{ type: "close", code: 1000, reason: "" }]);
      assert.equal(client.resume(), false);
    });

    it("holds a close in a later read while the messages taken are in flight", () => {
      const client = open();
      assertMessages(receive(client, serverFrame(TEXT, "m")), ["m"]);
      client.messagesInFlight(); // the driver hands "m" to the application in a later microtask
      const events = receive(client, serverFrame(CLOSE, closePayload(1000)));
      assert.deepEqual(events, [], "the close waits for the application's turn");
      assert.equal(client.held, true);
      client.sendText("m");
      client.messagesHandled();
      assert.equal(client.resume(), true);
      assert.deepEqual(client.takeEvents(), [{ type: "close", code: 1000, reason: "" }]);
      assert.deepEqual(sent(client).map((f) => f.opcode), [TEXT, CLOSE]);
    });

    it("applies a close in a later read at once once the messages were handled", () => {
      const client = open();
      receive(client, serverFrame(TEXT, "m"));
      client.messagesInFlight();
      client.messagesHandled();
      const events = receive(client, serverFrame(CLOSE, closePayload(1000)));
      assert.deepEqual(events, [{ type: "close", code: 1000, reason: "" }]);
      assert.equal(client.held, false);
    });

    it("applies what was held when more data or the end of stream arrives without resume()", () => {
      const client = open();
      receive(client, concat(serverFrame(TEXT, "m"), serverFrame(CLOSE, closePayload(1000))));
      client.receiveEof();
      assert.deepEqual(client.takeEvents(), [{ type: "close", code: 1000, reason: "" }]);
      assert.deepEqual(client.closeReceived, { code: 1000, reason: "" });
      assert.equal(client.state, ReadyState.CLOSED);
      const other = open();
      receive(other, concat(serverFrame(TEXT, "m"), serverFrame(7)));
      other.receiveData(serverFrame(TEXT, "ignored"));
      assert.deepEqual(normalizeEvents(other.takeEvents()), [
        { type: "error", name: "ProtocolError", code: "INVALID_OPCODE", closeCode: 1002 },
      ]);
    });

    it("does not echo a held close when the application closed first", () => {
      const client = open();
      receive(client, concat(serverFrame(TEXT, "m"), serverFrame(CLOSE, closePayload(1001))));
      client.sendClose(1000, "done");
      client.resume();
      assert.deepEqual(client.takeEvents(), [{ type: "close", code: 1001, reason: "" }]);
      const frames = sent(client);
      assert.equal(frames.length, 1, "one close frame only");
      assert.deepEqual(readClosePayload(frames[0].payload), { code: 1000, reason: "done" });
      assert.equal(client.closeExpected(), true);
    });
  });

  describe("end of stream", () => {
    it("before any close frame: CLOSED with no close received (1006 semantics)", () => {
      const client = open();
      client.receiveEof();
      assert.equal(client.state, ReadyState.CLOSED);
      assert.equal(client.eofReceived, true);
      assert.equal(client.closeReceived, undefined);
      assert.equal(client.closeSent, undefined);
      assert.equal(client.closeExpected(), false);
      assert.deepEqual(client.takeWrites(), []);
      assertInputIgnored(client);
      expectThrows(() => client.sendText("x"), InvalidStateError, "NOT_OPEN");
    });

    it("in the middle of a message: no message is delivered", () => {
      const client = open();
      feed(client, serverFrame(TEXT, "partial", { fin: false }), hex("80 05 61"));
      client.receiveEof();
      assert.deepEqual(client.takeEvents(), []);
      assert.equal(client.state, ReadyState.CLOSED);
    });

    it("after our close frame but before the server's: CLOSED, close received undefined", () => {
      const client = open();
      client.sendClose(1000);
      client.receiveEof();
      assert.equal(client.state, ReadyState.CLOSED);
      assert.equal(client.closeReceived, undefined);
      assert.deepEqual(client.closeSent, { code: 1000, reason: "" });
    });

    it("after the closing handshake: CLOSED, both close frames kept; repeated EOF is a no-op", () => {
      const client = open();
      feed(client, serverFrame(CLOSE, closePayload(1000)));
      client.receiveEof();
      client.receiveEof();
      assert.equal(client.state, ReadyState.CLOSED);
      assert.deepEqual(client.closeReceived, { code: 1000, reason: "" });
      assert.deepEqual(client.takeEvents(), []);
    });
  });

  describe("closeInfo(): how the connection ended", () => {
    it("after the closing handshake the server began: clean, its code and reason", () => {
      const client = open();
      feed(client, serverFrame(CLOSE, closePayload(1001, "going")));
      client.receiveEof();
      const info = client.closeInfo();
      assert.deepEqual(info, {
        code: 1001,
        reason: "going",
        wasClean: true,
        received: { code: 1001, reason: "going" },
        sent: { code: 1001, reason: "" },
        error: undefined,
      });
      assert.equal(isNormalClosure(info), true);
    });

    it("after a closing handshake we began: the server's frame decides code and reason", () => {
      const client = open();
      client.sendClose(4000, "bye");
      feed(client, serverFrame(CLOSE));
      const info = client.closeInfo();
      assert.equal(info.code, 1005);
      assert.equal(info.reason, "");
      assert.equal(info.wasClean, true);
      assert.deepEqual(info.sent, { code: 4000, reason: "bye" });
      assert.deepEqual(info.received, { code: 1005, reason: "" });
      assert.equal(isNormalClosure(info), true);
    });

    it("without a close frame from the server: 1006, not clean", () => {
      const client = open();
      client.sendClose(1000);
      client.receiveEof();
      const info = client.closeInfo();
      assert.equal(info.code, 1006);
      assert.equal(info.reason, "");
      assert.equal(info.wasClean, false);
      assert.equal(info.received, undefined);
      assert.deepEqual(info.sent, { code: 1000, reason: "" });
      assert.equal(info.error, undefined);
      assert.equal(isNormalClosure(info), false);
      const dropped = open();
      dropped.receiveEof();
      assert.deepEqual(dropped.closeInfo(), {
        code: 1006,
        reason: "",
        wasClean: false,
        received: undefined,
        sent: undefined,
        error: undefined,
      });
    });

    it("after a protocol error: the recorded failure, and the close frame we sent", () => {
      const client = open();
      feed(client, serverFrame(TEXT, hex("c3 28")));
      const info = client.closeInfo();
      assert.ok(info.error instanceof ProtocolError);
      assert.equal(info.error, client.failure);
      assert.equal((info.error as ProtocolError).code, "INVALID_UTF8");
      assert.equal(info.sent?.code, 1007);
      assert.equal(info.code, 1006, "no close frame received");
      assert.equal(info.wasClean, false);
      // The server's echo makes the exchange complete, but the failure stays.
      feed(client, serverFrame(CLOSE, closePayload(1007)));
      assert.equal(client.closeInfo().wasClean, false, "input is ignored after a failure");
      assert.equal(isNormalClosure(client.closeInfo()), false);
    });

    it("prefers the error given by the driver over the recorded failure", () => {
      const client = open();
      feed(client, serverFrame(CLOSE, closePayload(1000)));
      client.receiveEof();
      assert.equal(client.closeInfo().error, undefined);
      const timeout = new TimeoutError("CLOSE_TIMEOUT", "late");
      const info = client.closeInfo(timeout);
      assert.equal(info.error, timeout);
      assert.equal(info.wasClean, true);
      assert.equal(isNormalClosure(info), false);
      const failed = open();
      failed.fail(new TimeoutError("PING_TIMEOUT", "no pong"));
      assert.equal((failed.closeInfo().error as TimeoutError).code, "PING_TIMEOUT");
      assert.equal(failed.closeInfo(timeout).error, timeout);
    });

    it("after a refused handshake: the HandshakeError, 1006, nothing sent", () => {
      const client = newClient();
      client.takeWrites();
      client.receiveData(latin1("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"));
      const info = client.closeInfo();
      assert.ok(info.error instanceof HandshakeError);
      assert.equal(info.code, 1006);
      assert.equal(info.sent, undefined);
      assert.equal(info.wasClean, false);
    });
  });

  describe("sending", () => {
    it("sends text from a string or from UTF-8 bytes, and binary, each masked", () => {
      const client = open();
      client.sendText("Hello");
      client.sendText(utf8("Привет"));
      client.sendBinary(hex("00 ff"));
      client.sendText("");
      assert.deepEqual(
        sent(client).map((f) => [f.opcode, f.fin, f.rsv, toHex(f.payload)]),
        [
          [TEXT, true, 0, toHex(utf8("Hello"))],
          [TEXT, true, 0, toHex(utf8("Привет"))],
          [BINARY, true, 0, "00 ff"],
          [TEXT, true, 0, ""],
        ],
      );
    });

    it("reports queued bytes through hasWrites", () => {
      const client = open();
      assert.equal(client.hasWrites, false);
      client.sendText("x");
      assert.equal(client.hasWrites, true);
      client.takeWrites();
      assert.equal(client.hasWrites, false);
    });

    it("sends pings and pongs of 0 to 125 bytes", () => {
      const client = open();
      client.sendPing();
      client.sendPing(patternBytes(125));
      client.sendPong(hex("01"));
      assert.deepEqual(
        sent(client).map((f) => [f.opcode, f.payload.length]),
        [[PING, 0], [PING, 125], [PONG, 1]],
      );
    });

    it("refuses pings and pongs above 125 bytes with CONTROL_PAYLOAD_TOO_BIG (RFC 6455 §5.5)", () => {
      const client = open();
      expectThrows(
        () => client.sendPing(new Uint8Array(126)),
        ArgumentError,
        "CONTROL_PAYLOAD_TOO_BIG",
      );
      expectThrows(
        () => client.sendPong(new Uint8Array(1000)),
        ArgumentError,
        "CONTROL_PAYLOAD_TOO_BIG",
      );
      assert.deepEqual(client.takeWrites(), []);
    });

    it("splits binary messages into frames of fragmentSize bytes", () => {
      const client = open();
      const payload = patternBytes(1000, 13);
      client.sendBinary(payload, { fragmentSize: 300 });
      const frames = sent(client);
      assert.deepEqual(frames.map((f) => [f.opcode, f.fin, f.payload.length]), [
        [BINARY, false, 300],
        [CONTINUATION, false, 300],
        [CONTINUATION, false, 300],
        [CONTINUATION, true, 100],
      ]);
      assert.deepEqual(concat(...frames.map((f) => f.payload)), payload);
    });

    it("splits text messages at byte boundaries, even inside code points", () => {
      const client = open();
      const text = "€".repeat(100);
      client.sendText(text, { fragmentSize: 64 });
      const frames = sent(client);
      assert.equal(frames.length, 5);
      assert.deepEqual(frames.map((f) => f.opcode), [TEXT, 0, 0, 0, 0]);
      assert.deepEqual(frames.map((f) => f.fin), [false, false, false, false, true]);
      assert.ok(frames.slice(0, 4).every((f) => f.payload.length === 64));
      const joined = concat(...frames.map((f) => f.payload));
      assert.equal(new TextDecoder().decode(joined), text);
    });

    it("sends one frame when the message fits fragmentSize, or fragmentSize is 0", () => {
      const client = open();
      client.sendText("short", { fragmentSize: 100 });
      client.sendText("€€€", { fragmentSize: 9 });
      client.sendBinary(patternBytes(100), { fragmentSize: 100 });
      client.sendBinary(patternBytes(100), { fragmentSize: 0 });
      assert.deepEqual(sent(client).map((f) => [f.opcode, f.fin]), [
        [TEXT, true],
        [TEXT, true],
        [BINARY, true],
        [BINARY, true],
      ]);
    });

    it("sets RSV1 on the first frame only of a compressed message", () => {
      const client = open();
      client.sendBinary(patternBytes(10), { compressed: true, fragmentSize: 4 });
      client.sendText("abc", { compressed: true });
      assert.deepEqual(sent(client).map((f) => f.rsv), [4, 0, 0, 4]);
    });

    it("continues a message started with fin: false through sendContinuation", () => {
      const client = open();
      client.sendText("Hel", { fin: false });
      expectThrows(() => client.sendText("other"), InvalidStateError, "NOT_OPEN");
      expectThrows(() => client.sendBinary(hex("01")), InvalidStateError, "NOT_OPEN");
      client.sendPing(utf8("control frames may interleave"));
      client.sendContinuation(utf8("l"), { fin: false });
      client.sendContinuation(utf8("o"));
      expectThrows(() => client.sendContinuation(utf8("x")), InvalidStateError, "NOT_OPEN");
      client.sendBinary(hex("01"), { fin: false, fragmentSize: 1 });
      client.sendContinuation(hex("02"));
      assert.deepEqual(
        sent(client).map((f) => [f.opcode, f.fin, toHex(f.payload)]),
        [
          [TEXT, false, "48 65 6c"],
          [PING, true, toHex(utf8("control frames may interleave"))],
          [CONTINUATION, false, "6c"],
          [CONTINUATION, true, "6f"],
          [BINARY, false, "01"],
          [CONTINUATION, true, "02"],
        ],
      );
    });

    it("throws InvalidStateError NOT_OPEN for every send while connecting, closing or closed", () => {
      const connecting = newClient();
      const closing = open();
      closing.sendClose(1000);
      const closed = open();
      closed.receiveEof();
      const failed = open();
      failed.receiveData(serverFrame(7));
      for (const client of [connecting, closing, closed, failed]) {
        client.takeWrites();
        expectThrows(() => client.sendText("x"), InvalidStateError, "NOT_OPEN");
        expectThrows(() => client.sendBinary(hex("01")), InvalidStateError, "NOT_OPEN");
        expectThrows(() => client.sendPing(), InvalidStateError, "NOT_OPEN");
        expectThrows(() => client.sendPong(), InvalidStateError, "NOT_OPEN");
        expectThrows(() => client.sendContinuation(hex("01")), InvalidStateError, "NOT_OPEN");
        expectThrows(() => client.sendClose(1000), InvalidStateError, "NOT_OPEN");
        assert.deepEqual(client.takeWrites(), []);
      }
    });

    it("refuses invalid close codes and reasons with ArgumentError (RFC 6455 §7.4)", () => {
      const client = open();
      for (const code of [0, 999, 1001, 1002, 1004, 1005, 1006, 1011, 1015, 2999, 5000, 1000.5]) {
        expectThrows(() => client.sendClose(code), ArgumentError, "INVALID_CLOSE_CODE");
      }
      expectThrows(() => client.sendClose(NaN), ArgumentError, "INVALID_CLOSE_CODE");
      expectThrows(
        () => client.sendClose(undefined, "why"),
        ArgumentError,
        "INVALID_CLOSE_REASON",
      );
      expectThrows(
        () => client.sendClose(1000, "x".repeat(124)),
        ArgumentError,
        "INVALID_CLOSE_REASON",
      );
      expectThrows(
        () => client.sendClose(1000, "€".repeat(42)),
        ArgumentError,
        "INVALID_CLOSE_REASON",
      );
      assert.equal(client.state, ReadyState.OPEN, "a refused close changes nothing");
      assert.deepEqual(client.takeWrites(), []);
    });
  });

  describe("fail() from the driver (e.g. a keepalive timeout)", () => {
    it("sends a close frame with 1011 by default, records the error and ignores input", () => {
      const client = open();
      const error = new TimeoutError("PING_TIMEOUT", "no pong within 20 s");
      client.fail(error);
      const events = client.takeEvents();
      assert.deepEqual(events, [{ type: "error", error }]);
      assert.equal(client.failure, error);
      assert.deepEqual(readClosePayload(sent(client)[0].payload), {
        code: 1011,
        reason: "no pong within 20 s",
      });
      assert.equal(client.state, ReadyState.CLOSING);
      assert.equal(client.closeExpected(), true);
      assertInputIgnored(client);
    });

    it("uses the given code and reason", () => {
      const client = open();
      client.fail(new TimeoutError("PING_TIMEOUT", "t"), CloseCode.GOING_AWAY, "bye");
      assert.deepEqual(readClosePayload(sent(client)[0].payload), { code: 1001, reason: "bye" });
    });

    it("while connecting: CLOSED without a close frame", () => {
      const client = newClient();
      client.takeWrites();
      client.fail(new TimeoutError("OPEN_TIMEOUT", "t"));
      assert.equal(client.state, ReadyState.CLOSED);
      assert.deepEqual(client.takeWrites(), []);
      assert.equal(client.takeEvents()[0].type, "error");
    });

    it("after the connection closed: does nothing", () => {
      const client = open();
      client.receiveEof();
      client.fail(new TimeoutError("CLOSE_TIMEOUT", "t"));
      assert.deepEqual(client.takeEvents(), []);
      assert.deepEqual(client.takeWrites(), []);
      assert.equal(client.failure, undefined);
    });
  });

  describe("extensions (RFC 6455 §9)", () => {
    /** A client that negotiated the fake extension (RSV1, decoding reverses the bytes). */
    function openWith(ext = fakeExtension(), options: TestClientOptions = {}) {
      const { client } = openClient({ extensions: [ext.factory], ...options }, {
        extensions: ext.factory.name,
      });
      return { client, ext };
    }

    it("accepts RSV1 from a negotiated extension and decodes the joined fragments", () => {
      const { client, ext } = openWith(fakeExtension(), { maxMessageSize: 5000 });
      const events = feed(
        client,
        serverFrame(TEXT, "oll", { fin: false, rsv: 4 }),
        serverFrame(PING),
        serverFrame(CONTINUATION, "eh"),
        serverFrame(BINARY, hex("01 02 03"), { rsv: 4 }),
        serverFrame(TEXT, "plain"),
      );
      assertMessages(events, ["hello", hex("03 02 01"), "plain"]);
      assert.deepEqual(ext.decoded.map((d) => [toHex(d.payload), d.maxSize]), [
        [toHex(utf8("olleh")), 5000],
        ["01 02 03", 5000],
      ]);
    });

    it("still refuses the RSV bits the extension does not use, and RSV1 on continuations", () => {
      for (
        const bytes of [
          serverFrame(TEXT, "x", { rsv: 2 }),
          serverFrame(TEXT, "x", { rsv: 6 }),
          concat(
            serverFrame(TEXT, "x", { fin: false, rsv: 4 }),
            serverFrame(CONTINUATION, "y", { rsv: 4 }),
          ),
          serverFrame(PING, "", { rsv: 4 }),
        ]
      ) {
        const { client } = openWith();
        assertFailed(client, feed(client, bytes), "RESERVED_BITS", 1002);
      }
    });

    it("does not validate UTF-8 before decoding, but validates the decoded text", () => {
      const { client } = openWith();
      // Reversed, "\x80\xc3" is "\xc3\x80" = "À": invalid on the wire, valid once decoded.
      assertMessages(feed(client, serverFrame(TEXT, hex("80 c3"), { rsv: 4 })), ["À"]);
      const events = feed(client, serverFrame(TEXT, hex("c3 80 ff"), { rsv: 4 }));
      assertFailed(client, events, "INVALID_UTF8", 1007);
    });

    it("fails with 1007 when the decoded text ends inside a code point", () => {
      const { client } = openWith();
      const events = feed(client, serverFrame(TEXT, hex("82 e2"), { rsv: 4 }));
      assertFailed(client, events, "INVALID_UTF8", 1007);
    });

    it("fails with the extension's ProtocolError (e.g. MESSAGE_TOO_BIG 1009)", () => {
      const ext = fakeExtension({
        decode: (_payload, maxSize) => {
          throw new ProtocolError("MESSAGE_TOO_BIG", 1009, `inflates past ${maxSize}`);
        },
      });
      const { client } = openWith(ext);
      const events = feed(client, serverFrame(BINARY, hex("01"), { rsv: 4 }));
      assertFailed(client, events, "MESSAGE_TOO_BIG", 1009);
    });
  });

  describe("property tests", () => {
    const message = fc.record({
      binary: fc.boolean(),
      size: fc.oneof(fc.nat({ max: 200 }), fc.nat({ max: 70_000 })),
      seed: fc.nat(),
      cuts: fc.array(fc.nat(), { maxLength: 5 }),
      pings: fc.array(fc.boolean(), { maxLength: 6 }),
    });

    it("round-trips random messages with random fragmentation, pings and chunking", () => {
      fc.assert(
        fc.property(
          fc.array(message, { minLength: 1, maxLength: 5 }),
          fc.array(fc.nat(), { maxLength: 25 }),
          (specs, chunkCuts) => {
            const frames: Uint8Array[] = [];
            const expectedEvents: unknown[] = [];
            const expectedPongs: Uint8Array[] = [];
            for (const [m, spec] of specs.entries()) {
              const data = spec.binary
                ? patternBytes(spec.size, spec.seed)
                : textOf(spec.size, spec.seed);
              const payload = typeof data === "string" ? utf8(data) : data;
              const cuts = [...new Set(spec.cuts.map((c) => c % (payload.length + 1)))];
              const pieces = splitAt(payload, cuts);
              for (const [i, piece] of pieces.entries()) {
                frames.push(serverFrame(i === 0 ? (spec.binary ? BINARY : TEXT) : 0, piece, {
                  fin: i === pieces.length - 1,
                }));
                if (spec.pings[i] && i < pieces.length - 1) {
                  const ping = utf8(`ping ${m}.${i}`);
                  frames.push(serverFrame(PING, ping));
                  expectedEvents.push({ type: "ping", data: ping });
                  expectedPongs.push(ping);
                }
              }
              expectedEvents.push({ type: "message", data: summarize(data) });
            }
            const stream = concat(...frames);
            const client = open();
            const events = deliver(
              client,
              splitAt(stream, chunkCuts.map((c) => c % (stream.length + 1))),
            );
            assert.deepEqual(normalizeEvents(events), expectedEvents);
            const pongs = sent(client);
            assert.deepEqual(pongs.map((f) => f.opcode), expectedPongs.map(() => PONG));
            assert.deepEqual(pongs.map((f) => f.payload), expectedPongs);
            assert.equal(client.state, ReadyState.OPEN);
          },
        ),
        // Shrinking 70 KB inputs takes minutes; report the first counterexample as found.
        { numRuns: 60, endOnFailure: true },
      );
    });

    it("never throws on random bytes after the handshake, and fails only with documented codes", () => {
      const documented: Record<string, number> = {
        MASKED_FRAME: 1002,
        RESERVED_BITS: 1002,
        INVALID_OPCODE: 1002,
        CONTROL_FRAME_TOO_BIG: 1002,
        FRAGMENTED_CONTROL_FRAME: 1002,
        UNEXPECTED_CONTINUATION: 1002,
        EXPECTED_CONTINUATION: 1002,
        INVALID_LENGTH: 1002,
        MESSAGE_TOO_BIG: 1009,
        TOO_MANY_FRAGMENTS: 1008,
        INVALID_UTF8: 1007,
        INVALID_CLOSE_PAYLOAD: 1002,
        INVALID_CLOSE_CODE: 1002,
        INVALID_CLOSE_REASON: 1007,
      };
      fc.assert(
        fc.property(
          fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }),
          (chunks) => {
            const client = open({ maxMessageSize: 10_000 });
            deliver(client, chunks);
            const failure = client.failure;
            if (failure) {
              assert.ok(failure instanceof ProtocolError, String(failure));
              assert.equal(documented[failure.code], failure.closeCode, failure.code);
              assert.equal(client.state, ReadyState.CLOSING);
            }
          },
        ),
        { numRuns: 2000 },
      );
    });
  });
});
