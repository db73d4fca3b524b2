/**
 * Tests of `src/core/permessage_deflate.ts`: the RFC 7692 offer, every check of the server's
 * response, the decoding of compressed messages, and the extension at work inside
 * `ClientProtocol` with the RFC 7692 §7.2.3 frames.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ArgumentError, HandshakeError, ProtocolError } from "../../src/core/errors.ts";
import { type ExtensionParams, parseExtensions } from "../../src/core/extensions.ts";
import {
  type DeflateOptions,
  normalizeDeflateOptions,
  PerMessageDeflate,
  PerMessageDeflateFactory,
} from "../../src/core/permessage_deflate.ts";
import { ReadyState } from "../../src/core/protocol.ts";
import { DeflateWriter, fixedMessage, webDeflateRaw } from "../_util/core_deflate.ts";
import {
  assertBytes,
  concat,
  deliver,
  handshakeResponse,
  hex,
  latin1,
  newClient,
  normalizeEvents,
  openClient,
  patternBytes,
  serverFrame,
  splitAt,
  summarize,
  utf8,
} from "../_util/fixtures.ts";

/** The parameters of a `Sec-WebSocket-Extensions` response element. */
function params(value: string): ExtensionParams {
  const [element] = parseExtensions(`permessage-deflate${value ? "; " + value : ""}`);
  return element.params;
}

/** Asserts the factory refuses the response `value` with UNEXPECTED_EXTENSION. */
function expectRefused(options: DeflateOptions, value: string, why: RegExp): void {
  assert.throws(() => new PerMessageDeflateFactory(options).accept(params(value)), (e: unknown) => {
    assert.ok(e instanceof HandshakeError, `expected HandshakeError, got ${e}`);
    assert.equal(e.code, "UNEXPECTED_EXTENSION");
    assert.match(e.message, why);
    return true;
  });
}

/** Asserts `fn` throws ArgumentError INVALID_OPTION. */
function expectInvalidOption(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ArgumentError, `expected ArgumentError, got ${e}`);
    assert.equal(e.code, "INVALID_OPTION");
    return true;
  });
}

/** Asserts `fn` throws ProtocolError `code` with `closeCode`. */
function expectProtocolError(fn: () => unknown, code: string, closeCode: number): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.closeCode, closeCode);
    return true;
  });
}

/** The extension as negotiated from the server's response `value`. */
function negotiate(value = "", options: DeflateOptions = {}): PerMessageDeflate {
  return new PerMessageDeflateFactory(options).accept(params(value));
}

/** A client that negotiated permessage-deflate (the server's answer is `response`). */
function deflateClient(response = "permessage-deflate", maxMessageSize?: number) {
  return openClient(
    { extensions: [new PerMessageDeflateFactory()], maxMessageSize },
    { extensions: response },
  ).client;
}

const HELLO = hex("f2 48 cd c9 c9 07 00");

describe("normalizeDeflateOptions", () => {
  it("fills in the documented defaults", () => {
    assert.deepEqual(normalizeDeflateOptions({}), {
      clientMaxWindowBits: true,
      serverMaxWindowBits: undefined,
      clientNoContextTakeover: false,
      serverNoContextTakeover: false,
      threshold: 1024,
      level: 1,
      memLevel: 8,
    });
  });

  it("accepts the bounds of every range", () => {
    for (
      const options of [
        { clientMaxWindowBits: 9 },
        { clientMaxWindowBits: 15 },
        { clientMaxWindowBits: false },
        { serverMaxWindowBits: 8 },
        { serverMaxWindowBits: 15 },
        { level: 0 },
        { level: 9 },
        { memLevel: 1 },
        { memLevel: 9 },
        { threshold: 0 },
      ]
    ) {
      normalizeDeflateOptions(options);
    }
  });

  it("refuses values out of range with ArgumentError INVALID_OPTION", () => {
    const bad: unknown[] = [
      null,
      5,
      { clientMaxWindowBits: 8 },
      { clientMaxWindowBits: 16 },
      { clientMaxWindowBits: 9.5 },
      { clientMaxWindowBits: "12" },
      { serverMaxWindowBits: 7 },
      { serverMaxWindowBits: 16 },
      { level: -1 },
      { level: 10 },
      { level: 1.5 },
      { memLevel: 0 },
      { memLevel: 10 },
      { threshold: -1 },
      { threshold: NaN },
      { threshold: "1" },
    ];
    for (const options of bad) {
      expectInvalidOption(() => normalizeDeflateOptions(options as DeflateOptions));
      expectInvalidOption(() => new PerMessageDeflateFactory(options as DeflateOptions));
    }
  });
});

describe("PerMessageDeflateFactory.offer (RFC 7692 §7.1)", () => {
  it("offers client_max_window_bits without a value by default", () => {
    assert.equal(
      new PerMessageDeflateFactory().offer(),
      "permessage-deflate; client_max_window_bits",
    );
  });

  it("offers every parameter that was asked for", () => {
    const offer = new PerMessageDeflateFactory({
      clientNoContextTakeover: true,
      serverNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 12,
    }).offer();
    assert.equal(
      offer,
      "permessage-deflate; client_no_context_takeover; server_no_context_takeover; " +
        "server_max_window_bits=10; client_max_window_bits=12",
    );
    assert.equal(parseExtensions(offer).length, 1, "the offer is one well-formed element");
  });

  it("offers nothing more than the name when client_max_window_bits is turned off", () => {
    assert.equal(
      new PerMessageDeflateFactory({ clientMaxWindowBits: false }).offer(),
      "permessage-deflate",
    );
  });
});

describe("PerMessageDeflateFactory.accept (RFC 7692 §7.1)", () => {
  it("accepts a bare response: 15-bit windows, context takeover both ways", () => {
    const ext = negotiate();
    assert.equal(ext.name, "permessage-deflate");
    assert.equal(ext.rsvBits, 0x40);
    assert.equal(ext.header, "permessage-deflate");
    assert.deepEqual(ext.parameters, {
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      threshold: 1024,
      level: 1,
      memLevel: 8,
    });
  });

  it("takes every parameter of the response and shows it in header", () => {
    const ext = negotiate(
      "server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; " +
        "client_max_window_bits=9",
    );
    assert.deepEqual(
      {
        server: ext.parameters.serverMaxWindowBits,
        client: ext.parameters.clientMaxWindowBits,
        serverReset: ext.parameters.serverNoContextTakeover,
        clientReset: ext.parameters.clientNoContextTakeover,
      },
      { server: 10, client: 9, serverReset: true, clientReset: true },
    );
    assert.equal(
      ext.header,
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; " +
        "server_max_window_bits=10; client_max_window_bits=9",
    );
  });

  it("keeps our own limits when the server does not repeat them", () => {
    const ext = negotiate("", { clientMaxWindowBits: 12, clientNoContextTakeover: true });
    assert.equal(ext.parameters.clientMaxWindowBits, 12);
    assert.equal(ext.parameters.clientNoContextTakeover, true);
    assert.deepEqual(ext.deflaterSettings, {
      windowBits: 12,
      noContextTakeover: true,
      level: 1,
      memLevel: 8,
    });
  });

  it("accepts server_max_window_bits at or below what was asked (§7.1.2.1)", () => {
    assert.equal(
      negotiate("server_max_window_bits=10", { serverMaxWindowBits: 10 })
        .parameters.serverMaxWindowBits,
      10,
    );
    assert.equal(
      negotiate("server_max_window_bits=8", { serverMaxWindowBits: 10 })
        .parameters.serverMaxWindowBits,
      8,
    );
  });

  it("says whether we can compress: not with an 8-bit client window (zlib cannot)", () => {
    assert.equal(negotiate("client_max_window_bits=8").canCompress, false);
    assert.equal(negotiate("client_max_window_bits=9").canCompress, true);
    assert.equal(negotiate().canCompress, true);
  });

  it("compresses messages from the threshold up (OutgoingCompression.shouldCompress)", () => {
    const byDefault = negotiate();
    assert.equal(byDefault.shouldCompress(1023), false);
    assert.equal(byDefault.shouldCompress(1024), true);
    assert.equal(byDefault.shouldCompress(1 << 20), true);
    const always = negotiate("", { threshold: 0 });
    assert.equal(always.shouldCompress(0), true);
    const fromTen = negotiate("", { threshold: 10 });
    assert.equal(fromTen.shouldCompress(9), false);
    assert.equal(fromTen.shouldCompress(10), true);
  });

  describe("refusals (UNEXPECTED_EXTENSION)", () => {
    const cases: Array<[string, DeflateOptions, string, RegExp]> = [
      ["an unknown parameter", {}, "x_custom", /unknown parameter x_custom/],
      ["a value on server_no_context_takeover", {}, "server_no_context_takeover=1", /has a value/],
      ["a value on client_no_context_takeover", {}, "client_no_context_takeover=1", /has a value/],
      ["server_max_window_bits without a value", {}, "server_max_window_bits", /invalid/],
      ["server_max_window_bits=7", {}, "server_max_window_bits=7", /invalid/],
      ["server_max_window_bits=16", {}, "server_max_window_bits=16", /invalid/],
      ["a leading zero (§7.1.2.1)", {}, "server_max_window_bits=08", /invalid/],
      ["a quoted non-number", {}, 'server_max_window_bits="x1"', /invalid/],
      ["client_max_window_bits=16", {}, "client_max_window_bits=16", /invalid/],
      ["client_max_window_bits without a value", {}, "client_max_window_bits", /invalid/],
      [
        "server_max_window_bits above what was asked",
        { serverMaxWindowBits: 10 },
        "server_max_window_bits=11",
        /exceeds the 10 requested/,
      ],
      [
        "client_max_window_bits when it was not offered (§7.1.2.2)",
        { clientMaxWindowBits: false },
        "client_max_window_bits=10",
        /not offered/,
      ],
      [
        "client_max_window_bits above the offered value",
        { clientMaxWindowBits: 12 },
        "client_max_window_bits=13",
        /exceeds the 12 offered/,
      ],
      [
        "a response without the requested server_no_context_takeover (§7.1.1.1)",
        { serverNoContextTakeover: true },
        "",
        /not confirmed/,
      ],
    ];
    for (const [what, options, value, why] of cases) {
      it(`refuses ${what}`, () => expectRefused(options, value, why));
    }
  });
});

describe("PerMessageDeflate.decodeMessage (RFC 7692 §7.2.2)", () => {
  it("decodes the §7.2.3 examples and keeps the window between messages", () => {
    const ext = negotiate();
    const decode = (h: string) => new TextDecoder().decode(ext.decodeMessage(hex(h), 1000));
    assert.equal(decode("f2 48 cd c9 c9 07 00"), "Hello");
    assert.equal(decode("f2 00 11 00 00"), "Hello");
    assert.equal(decode("00 05 00 fa ff 48 65 6c 6c 6f 00"), "Hello");
    assert.equal(decode("f3 48 cd c9 c9 07 00 00"), "Hello");
    assert.equal(decode("f2 48 05 00 00 00 ff ff ca c9 c9 07 00"), "Hello");
  });

  it("decodes an empty payload as an empty message (§7.2.3.6)", () => {
    assert.equal(negotiate().decodeMessage(new Uint8Array(0), 10).length, 0);
  });

  it("does not append the tail to the caller's payload", () => {
    const payload = HELLO.slice();
    negotiate().decodeMessage(payload, 100);
    assert.deepEqual(payload, HELLO);
  });

  it("with server_no_context_takeover, decodes each message on its own", () => {
    const ext = negotiate("server_no_context_takeover");
    assert.deepEqual(ext.decodeMessage(HELLO, 100), latin1("Hello"));
    expectProtocolError(
      () => ext.decodeMessage(hex("f2 00 11 00 00"), 100),
      "INVALID_COMPRESSED_DATA",
      1007,
    );
  });

  it("uses the negotiated server window", () => {
    const ext = negotiate("server_max_window_bits=9");
    let history = new Uint8Array(0) as Uint8Array;
    for (let i = 0; i < 20; i++) {
      const data = latin1(`message ${i}: ${"ab".repeat(i * 10)} the end`);
      const payload = fixedMessage(data, history.subarray(-512), 512);
      assertBytes(ext.decodeMessage(payload, 10_000), data);
      history = concat(history, data);
    }
  });

  it("refuses output above maxSize with MESSAGE_TOO_BIG and close code 1009", () => {
    const ext = negotiate();
    const payload = new DeflateWriter().fixed([0x61, [258, 1], [258, 1]]).message();
    assert.equal(ext.decodeMessage(payload, 517).length, 517);
    expectProtocolError(() => negotiate().decodeMessage(payload, 516), "MESSAGE_TOO_BIG", 1009);
  });

  it("refuses corrupt data with INVALID_COMPRESSED_DATA and close code 1007", () => {
    for (const bad of ["ff ff ff", "f2 48", "07", "00 05 00 00 00 48"]) {
      expectProtocolError(
        () => negotiate().decodeMessage(hex(bad), 1000),
        "INVALID_COMPRESSED_DATA",
        1007,
      );
    }
  });
});

describe("permessage-deflate inside ClientProtocol", () => {
  it("offers the extension in the request and reports it on open", () => {
    const { client, request, events } = openClient(
      { extensions: [new PerMessageDeflateFactory({ serverNoContextTakeover: true })] },
      { extensions: "permessage-deflate; server_no_context_takeover" },
    );
    assert.match(
      String.fromCharCode(...request),
      /\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits\r\n/,
    );
    assert.equal(
      (events[0] as { extensions: string }).extensions,
      "permessage-deflate; server_no_context_takeover",
    );
    assert.ok(client.extensions[0] instanceof PerMessageDeflate);
  });

  it("answers compression with the negotiated extension when it can compress", () => {
    const client = deflateClient("permessage-deflate; client_max_window_bits=10");
    const compression = client.compression;
    assert.ok(compression !== undefined);
    assert.equal(compression, client.extensions[0]);
    assert.deepEqual(compression.deflaterSettings, {
      windowBits: 10,
      noContextTakeover: false,
      level: 1,
      memLevel: 8,
    });
    assert.equal(compression.shouldCompress(1024), true);
    assert.equal(compression.shouldCompress(1023), false);
  });

  it("answers compression with undefined for an 8-bit client window, or without the extension", () => {
    const narrow = deflateClient("permessage-deflate; client_max_window_bits=8");
    assert.ok(narrow.extensions[0] instanceof PerMessageDeflate, "negotiated all the same");
    assert.equal(narrow.compression, undefined);
    const offeredOnly = openClient({ extensions: [new PerMessageDeflateFactory()] }).client;
    assert.deepEqual(offeredOnly.extensions, []);
    assert.equal(offeredOnly.compression, undefined);
    assert.equal(newClient().compression, undefined, "before the handshake");
  });

  it("decodes the RFC 7692 §7.2.3.1 frames: c1 07 ..., and the fragmented 41 03 ... 80 04 ...", () => {
    const client = deflateClient();
    const events = deliver(client, [
      hex("c1 07 f2 48 cd c9 c9 07 00"),
      hex("41 03 f2 48 cd"),
      hex("80 04 c9 c9 07 00"),
      hex("c1 05 f2 00 11 00 00"), // §7.2.3.2: the shared window
      hex("81 05 48 65 6c 6c 6f"), // an uncompressed message in between
      hex("c2 07 f2 48 cd c9 c9 07 00"), // a compressed binary message
    ]);
    assert.deepEqual(normalizeEvents(events), [
      { type: "message", data: "Hello" },
      { type: "message", data: "Hello" },
      { type: "message", data: "Hello" },
      { type: "message", data: "Hello" },
      { type: "message", data: latin1("Hello") },
    ]);
  });

  it("gives the same messages when the frames arrive byte by byte", () => {
    const stream = hex("c1 07 f2 48 cd c9 c9 07 00 41 03 f2 48 cd 80 04 c9 c9 07 00");
    const client = deflateClient();
    const events = deliver(client, splitAt(stream, Array.from(stream.keys())));
    assert.deepEqual(normalizeEvents(events), [
      { type: "message", data: "Hello" },
      { type: "message", data: "Hello" },
    ]);
  });

  it("fails with 1007 INVALID_UTF8 when decompressed text is not UTF-8", () => {
    const client = deflateClient();
    const payload = new DeflateWriter().fixed([0x61, 0xff]).message();
    deliver(client, [serverFrame(1, payload, { rsv: 4 })]);
    const failure = client.failure as ProtocolError;
    assert.equal(failure.code, "INVALID_UTF8");
    assert.equal(failure.closeCode, 1007);
    assert.equal(client.state, ReadyState.CLOSING);
  });

  it("fails with 1009 when a message inflates past maxMessageSize (a bomb on the wire)", () => {
    const client = deflateClient("permessage-deflate", 1000);
    const bomb = new DeflateWriter().fixed([0x61, ...new Array(10).fill([258, 1])]).message();
    deliver(client, [serverFrame(2, bomb, { rsv: 4 })]);
    const failure = client.failure as ProtocolError;
    assert.equal(failure.code, "MESSAGE_TOO_BIG");
    assert.equal(failure.closeCode, 1009);
  });

  it("fails with 1007 INVALID_COMPRESSED_DATA on corrupt compressed data", () => {
    const client = deflateClient();
    deliver(client, [serverFrame(2, hex("ff ff ff"), { rsv: 4 })]);
    assert.equal((client.failure as ProtocolError).code, "INVALID_COMPRESSED_DATA");
    assert.equal((client.failure as ProtocolError).closeCode, 1007);
  });

  it("refuses a response it cannot accept, with the status and headers of the 101", () => {
    const client = newClient({ extensions: [new PerMessageDeflateFactory()] });
    client.receiveData(
      handshakeResponse(client.key, { extensions: "permessage-deflate; server_max_window_bits=7" }),
    );
    const failure = client.failure as HandshakeError;
    assert.ok(failure instanceof HandshakeError);
    assert.equal(failure.code, "UNEXPECTED_EXTENSION");
    assert.equal(failure.status, 101);
    assert.equal(
      failure.headers["sec-websocket-extensions"],
      "permessage-deflate; server_max_window_bits=7",
    );
    assert.equal(client.state, ReadyState.CLOSED);
  });

  it("refuses a permessage-deflate response with a duplicate parameter", () => {
    const client = newClient({ extensions: [new PerMessageDeflateFactory()] });
    client.receiveData(
      handshakeResponse(client.key, {
        extensions: "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
      }),
    );
    assert.equal((client.failure as HandshakeError).code, "UNEXPECTED_EXTENSION");
  });

  it("round-trips CompressionStream-compressed messages, fragmented and chunked (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            binary: fc.boolean(),
            data: fc.oneof(
              fc.string({ unit: "grapheme", maxLength: 200 }).map(utf8),
              fc.tuple(fc.nat(20_000), fc.nat()).map(([n, s]) =>
                patternBytes(n, s).map((b) => b & 0x3f | 0x40)
              ),
            ),
            cut: fc.nat(),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (messages, chunkCuts) => {
          // Each message is its own deflate stream (BFINAL set): valid with or without takeover.
          const client = deflateClient("permessage-deflate; server_no_context_takeover");
          const frames: Uint8Array[] = [];
          for (const m of messages) {
            const payload = await webDeflateRaw(m.data);
            const cut = m.cut % (payload.length + 1);
            const opcode = m.binary ? 2 : 1;
            frames.push(
              serverFrame(opcode, payload.subarray(0, cut), { fin: false, rsv: 4 }),
              serverFrame(0, payload.subarray(cut)),
            );
          }
          const stream = concat(...frames);
          const events = deliver(
            client,
            splitAt(stream, chunkCuts.map((c) => c % (stream.length + 1))),
          );
          assert.deepEqual(
            normalizeEvents(events),
            messages.map((m) => ({
              type: "message",
              data: summarize(m.binary ? m.data : new TextDecoder().decode(m.data)),
            })),
          );
        },
      ),
      { numRuns: 80 },
    );
  });
});
