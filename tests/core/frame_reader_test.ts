/**
 * Tests of `src/core/frame_reader.ts`: `FrameReader` fed server frames (RFC 6455 §5.2) through a
 * recording handler. Every framing rule is checked at the header, before any payload byte is
 * reported; every input gives the same calls whole, byte by byte and at every split point.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Opcode } from "../../src/core/constants.ts";
import { ProtocolError, type ProtocolErrorCode } from "../../src/core/errors.ts";
import {
  type ControlFrameHandler,
  type DataFrameHandler,
  FrameReader,
} from "../../src/core/frame_reader.ts";
import {
  concat,
  frameHeader,
  hex,
  patternBytes,
  serverFrame,
  type ServerFrameOptions,
  splitAt,
  toHex,
} from "../_util/fixtures.ts";

const { TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG } = Opcode;

/** One handler call, payload bytes in hex (data pieces of one frame joined by `normalize`). */
type Call =
  | { call: "header"; opcode: number; fin: boolean; rsv: number; length: number }
  | { call: "payload"; hex: string; remaining: number }
  | { call: "control"; opcode: number; hex: string }
  | { call: "error"; code: string; closeCode: number; message: string };

interface Recorder extends DataFrameHandler, ControlFrameHandler {
  readonly calls: Call[];
  /** The raw (chunk, start, end) of each payload call, to check views. */
  readonly views: Array<{ chunk: Uint8Array; start: number; end: number }>;
}

/** A handler that records every call; `stopAt` makes the n-th call (0-based) return false. */
function recorder(stopAt = -1): Recorder {
  const calls: Call[] = [];
  const views: Recorder["views"] = [];
  const answer = () => calls.length - 1 !== stopAt;
  return {
    calls,
    views,
    dataHeader(opcode, fin, rsv, length) {
      calls.push({ call: "header", opcode, fin, rsv, length });
      return answer();
    },
    dataPayload(chunk, start, end, remaining) {
      views.push({ chunk, start, end });
      calls.push({ call: "payload", hex: toHex(chunk.subarray(start, end)), remaining });
      return answer();
    },
    controlFrame(opcode, payload) {
      calls.push({ call: "control", opcode, hex: toHex(payload) });
      return answer();
    },
    error(error) {
      assert.ok(error instanceof ProtocolError);
      calls.push({
        call: "error",
        code: error.code,
        closeCode: error.closeCode,
        message: error.message,
      });
    },
  };
}

/** Runs `chunks` through a fresh reader; returns the recorder and the reader. */
function read(chunks: readonly Uint8Array[], rsvBits = 0, stopAt = -1) {
  const handler = recorder(stopAt);
  const reader = new FrameReader(handler, handler, { rsvBits });
  for (const chunk of chunks) reader.read(chunk);
  return { handler, reader, calls: handler.calls };
}

/**
 * Joins the payload pieces of each frame into one call, and drops empty pieces that do not end
 * a frame, so that any chunking of the same bytes compares equal.
 */
function normalize(calls: readonly Call[]): Call[] {
  const out: Call[] = [];
  let pieces: string[] = [];
  for (const c of calls) {
    if (c.call !== "payload") {
      out.push(c);
      continue;
    }
    if (c.hex !== "") pieces.push(c.hex);
    if (c.remaining === 0) {
      out.push({ call: "payload", hex: pieces.join(" "), remaining: 0 });
      pieces = [];
    }
  }
  return out;
}

/**
 * The calls for `bytes` read whole, byte by byte and split at every offset are the same (for
 * inputs over 1 KiB: at every offset of the first and last 32 bytes, where the headers are).
 */
function assertEveryChunking(bytes: Uint8Array, rsvBits = 0): Call[] {
  const whole = normalize(read([bytes], rsvBits).calls);
  const bytewise = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
  assert.deepEqual(normalize(read(bytewise, rsvBits).calls), whole, "byte by byte");
  for (let cut = 1; cut < bytes.length; cut++) {
    if (bytes.length > 1024 && cut === 33) cut = bytes.length - 32;
    assert.deepEqual(
      normalize(read(splitAt(bytes, [cut]), rsvBits).calls),
      whole,
      `split at ${cut}`,
    );
  }
  return whole;
}

/** Asserts the frame is refused at its header: the error, and no call before or after it. */
function assertRefused(
  bytes: Uint8Array,
  code: ProtocolErrorCode,
  message: string,
  options: { rsvBits?: number; before?: number } = {},
): void {
  const { calls, reader } = read([bytes], options.rsvBits ?? 0);
  const before = options.before ?? 0;
  assert.equal(calls.length, before + 1, JSON.stringify(calls));
  assert.deepEqual(calls[before], { call: "error", code, closeCode: 1002, message });
  assert.equal(reader.stopped, true);
  // The refusal comes at the header, before the payload, however the bytes are cut.
  assertEveryChunking(bytes, options.rsvBits ?? 0);
}

describe("FrameReader", () => {
  describe("headers (RFC 6455 §5.2)", () => {
    it("reads the RFC 6455 §5.7 unmasked 'Hello', whole and as 'Hel' + 'lo'", () => {
      assert.deepEqual(read([hex("81 05 48 65 6c 6c 6f")]).calls, [
        { call: "header", opcode: TEXT, fin: true, rsv: 0, length: 5 },
        { call: "payload", hex: "48 65 6c 6c 6f", remaining: 0 },
      ]);
      assert.deepEqual(read([hex("01 03 48 65 6c 80 02 6c 6f")]).calls, [
        { call: "header", opcode: TEXT, fin: false, rsv: 0, length: 3 },
        { call: "payload", hex: "48 65 6c", remaining: 0 },
        { call: "header", opcode: CONTINUATION, fin: true, rsv: 0, length: 2 },
        { call: "payload", hex: "6c 6f", remaining: 0 },
      ]);
    });

    it("reads the 7-, 16- and 64-bit lengths, also in non-minimal forms", () => {
      for (const length of [0, 125, 126, 65535, 65536]) {
        const payload = patternBytes(length, 3);
        const { calls } = read([serverFrame(BINARY, payload)]);
        assert.deepEqual(calls, [
          { call: "header", opcode: BINARY, fin: true, rsv: 0, length },
          { call: "payload", hex: toHex(payload), remaining: 0 },
        ]);
      }
      for (const lengthForm of [16, 64] as const) {
        const { calls } = read([serverFrame(BINARY, hex("aa bb"), { lengthForm })]);
        assert.deepEqual(calls, [
          { call: "header", opcode: BINARY, fin: true, rsv: 0, length: 2 },
          { call: "payload", hex: "aa bb", remaining: 0 },
        ]);
      }
    });

    it("reads a 64-bit length above 2^32 exactly (only the header: the payload never comes)", () => {
      const length = 2 ** 40 + 7;
      const { calls } = read([frameHeader(BINARY, length)]);
      assert.deepEqual(calls, [{ call: "header", opcode: BINARY, fin: true, rsv: 0, length }]);
    });

    it("reports an empty data frame as one empty payload call with remaining 0", () => {
      const chunk = serverFrame(BINARY);
      const { calls, handler } = read([chunk]);
      assert.deepEqual(calls, [
        { call: "header", opcode: BINARY, fin: true, rsv: 0, length: 0 },
        { call: "payload", hex: "", remaining: 0 },
      ]);
      assert.equal(handler.views[0].start, handler.views[0].end);
    });

    it("gathers a header split across reads, at every split point of every length form", () => {
      for (const length of [5, 300, 70000]) {
        const frame = serverFrame(BINARY, patternBytes(length, 4), { fin: false });
        const whole = assertEveryChunking(frame);
        assert.equal(whole.length, 2);
        assert.deepEqual(whole[0], {
          call: "header",
          opcode: BINARY,
          fin: false,
          rsv: 0,
          length,
        });
      }
    });
  });

  describe("payloads", () => {
    it("hands out data payloads as views of the chunk, without a copy", () => {
      const first = patternBytes(300, 5);
      const second = patternBytes(70000, 6);
      const chunk = concat(serverFrame(BINARY, first), serverFrame(TEXT, second));
      const { handler } = read([chunk]);
      assert.equal(handler.views.length, 2);
      assert.equal(handler.views[0].chunk, chunk);
      assert.deepEqual([handler.views[0].start, handler.views[0].end], [4, 304]);
      assert.equal(handler.views[1].chunk, chunk);
      assert.deepEqual([handler.views[1].start, handler.views[1].end], [314, 314 + 70000]);
    });

    it("reports a payload split across reads piece by piece, with the bytes still to come", () => {
      const payload = patternBytes(10, 7);
      const { calls } = read(splitAt(serverFrame(BINARY, payload), [5, 9]));
      assert.deepEqual(calls, [
        { call: "header", opcode: BINARY, fin: true, rsv: 0, length: 10 },
        { call: "payload", hex: toHex(payload.subarray(0, 3)), remaining: 7 },
        { call: "payload", hex: toHex(payload.subarray(3, 7)), remaining: 3 },
        { call: "payload", hex: toHex(payload.subarray(7)), remaining: 0 },
      ]);
    });

    it("does not report an empty piece when a header ends the chunk", () => {
      const { calls } = read(splitAt(serverFrame(BINARY, hex("01 02")), [2]));
      assert.deepEqual(calls, [
        { call: "header", opcode: BINARY, fin: true, rsv: 0, length: 2 },
        { call: "payload", hex: "01 02", remaining: 0 },
      ]);
    });

    it("reports control frames whole, as copies, even when split, between data fragments", () => {
      const bytes = concat(
        serverFrame(TEXT, "ab", { fin: false }),
        serverFrame(PING, hex("01 02 03")),
        serverFrame(PONG),
        serverFrame(CONTINUATION, "c"),
        serverFrame(CLOSE, hex("03 e8")),
      );
      const whole = assertEveryChunking(bytes);
      assert.deepEqual(whole, [
        { call: "header", opcode: TEXT, fin: false, rsv: 0, length: 2 },
        { call: "payload", hex: "61 62", remaining: 0 },
        { call: "control", opcode: PING, hex: "01 02 03" },
        { call: "control", opcode: PONG, hex: "" },
        { call: "header", opcode: CONTINUATION, fin: true, rsv: 0, length: 1 },
        { call: "payload", hex: "63", remaining: 0 },
        { call: "control", opcode: CLOSE, hex: "03 e8" },
      ]);
      let kept: Uint8Array | undefined;
      const reader = new FrameReader(recorder(), {
        controlFrame: (_opcode, payload) => {
          kept = payload;
          return true;
        },
        error: () => assert.fail("no error expected"),
      });
      const chunk = serverFrame(PING, hex("0a 0b"));
      reader.read(chunk);
      chunk.fill(0);
      assert.equal(toHex(kept!), "0a 0b", "the control payload does not alias the chunk");
    });

    it("accepts control payloads of 0 and 125 bytes", () => {
      for (const length of [0, 125]) {
        const payload = patternBytes(length, 9);
        assert.deepEqual(read([serverFrame(PING, payload)]).calls, [
          { call: "control", opcode: PING, hex: toHex(payload) },
        ]);
      }
    });
  });

  describe("framing rules, checked at the header", () => {
    it("refuses a masked frame as soon as its second byte arrives (RFC 6455 §5.1)", () => {
      const masked = serverFrame(TEXT, "hi", { mask: hex("01 02 03 04") });
      assertRefused(masked, "MASKED_FRAME", "server frame is masked");
      // Two bytes of a 64-bit-length header are enough to refuse it.
      const { calls } = read([hex("82 ff")]);
      assert.deepEqual(calls, [{
        call: "error",
        code: "MASKED_FRAME",
        closeCode: 1002,
        message: "server frame is masked",
      }]);
    });

    it("refuses reserved opcodes 3-7 and 11-15", () => {
      for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
        assertRefused(serverFrame(opcode, "x"), "INVALID_OPCODE", `reserved opcode ${opcode}`);
      }
    });

    it("refuses control frames that are fragmented, too big or carry RSV bits (§5.5)", () => {
      for (const opcode of [CLOSE, PING, PONG]) {
        assertRefused(
          serverFrame(opcode, "", { fin: false }),
          "FRAGMENTED_CONTROL_FRAME",
          "control frames must not be fragmented",
        );
        assertRefused(
          serverFrame(opcode, patternBytes(126, 1)),
          "CONTROL_FRAME_TOO_BIG",
          "control frame payload of 126 bytes exceeds 125",
        );
        assertRefused(
          serverFrame(opcode, "", { rsv: 4 }),
          "RESERVED_BITS",
          "reserved bits set on a control frame",
          { rsvBits: 0x40 },
        );
      }
    });

    it("refuses a 64-bit length with its most significant bit set (§5.2)", () => {
      assertRefused(
        frameHeader(BINARY, 2n ** 63n),
        "INVALID_LENGTH",
        "64-bit payload length has its most significant bit set",
      );
    });

    it("refuses RSV bits no extension uses, on the first frame (§5.2)", () => {
      assertRefused(
        serverFrame(TEXT, "x", { rsv: 4 }),
        "RESERVED_BITS",
        "reserved bits 0x40 set without an extension that uses them",
      );
      assertRefused(
        serverFrame(BINARY, "x", { rsv: 6 }),
        "RESERVED_BITS",
        "reserved bits 0x60 set without an extension that uses them",
        { rsvBits: 0x40 },
      );
      const { calls } = read([serverFrame(TEXT, "x", { rsv: 4 })], 0x40);
      assert.deepEqual(calls[0], { call: "header", opcode: TEXT, fin: true, rsv: 0x40, length: 1 });
    });

    it("refuses RSV bits on a continuation frame, even those the extension uses (RFC 7692 §6.1)", () => {
      assertRefused(
        concat(
          serverFrame(TEXT, "a", { fin: false, rsv: 4 }),
          serverFrame(CONTINUATION, "b", { rsv: 4 }),
        ),
        "RESERVED_BITS",
        "reserved bits set on a continuation frame",
        { rsvBits: 0x40, before: 2 },
      );
    });

    it("refuses a continuation without a message, and a new message inside one (§5.4)", () => {
      assertRefused(
        serverFrame(CONTINUATION, "x"),
        "UNEXPECTED_CONTINUATION",
        "continuation frame without a message to continue",
      );
      assertRefused(
        concat(serverFrame(TEXT, "a"), serverFrame(CONTINUATION, "b")),
        "UNEXPECTED_CONTINUATION",
        "continuation frame without a message to continue",
        { before: 2 },
      );
      assertRefused(
        concat(serverFrame(TEXT, "a", { fin: false }), serverFrame(BINARY, "b")),
        "EXPECTED_CONTINUATION",
        "new data frame while a fragmented message is unfinished",
        { before: 2 },
      );
    });

    it("allows control frames between fragments without ending the message", () => {
      const { calls } = read([
        concat(
          serverFrame(BINARY, "a", { fin: false }),
          serverFrame(PING),
          serverFrame(CONTINUATION, "b", { fin: false }),
          serverFrame(PONG),
          serverFrame(CONTINUATION, "c"),
          serverFrame(TEXT, "d"),
        ),
      ]);
      assert.equal(calls.filter((c) => c.call === "error").length, 0, JSON.stringify(calls));
      assert.equal(calls.length, 10);
    });
  });

  describe("stopping", () => {
    it("stops when a handler returns false and ignores all later input", () => {
      const bytes = concat(serverFrame(TEXT, "a"), serverFrame(PING), serverFrame(TEXT, "b"));
      // Calls: 0 header a, 1 payload a, 2 ping, 3 header b, 4 payload b.
      for (let stopAt = 0; stopAt < 5; stopAt++) {
        const { calls, reader } = read([bytes, serverFrame(TEXT, "c")], 0, stopAt);
        assert.equal(calls.length, stopAt + 1, `stop at call ${stopAt}`);
        assert.equal(reader.stopped, true);
      }
      const { calls, reader } = read([bytes]);
      assert.equal(calls.length, 5);
      assert.equal(reader.stopped, false);
    });

    it("reads nothing after a broken rule, in the same chunk or later", () => {
      const { calls } = read([
        concat(serverFrame(TEXT, "a"), serverFrame(3), serverFrame(TEXT, "b")),
        serverFrame(TEXT, "c"),
      ]);
      assert.deepEqual(calls.map((c) => c.call), ["header", "payload", "error"]);
    });
  });

  describe("property tests", () => {
    /** A random valid frame sequence: messages of 1-4 fragments with control frames between. */
    const sequence = fc.array(
      fc.record({
        opcode: fc.constantFrom(TEXT, BINARY),
        fragments: fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 4 }),
        ping: fc.option(fc.uint8Array({ maxLength: 125 }), { nil: undefined }),
        rsv: fc.boolean(),
      }),
      { maxLength: 6 },
    );

    type Message = { opcode: number; fragments: Uint8Array[]; ping?: Uint8Array; rsv: boolean };

    /** The frames of `messages` and the calls a reader must make for them. */
    function encode(messages: readonly Message[]): { bytes: Uint8Array; expected: Call[] } {
      const parts: Uint8Array[] = [];
      const expected: Call[] = [];
      for (const m of messages) {
        m.fragments.forEach((payload, i) => {
          const fin = i === m.fragments.length - 1;
          const opcode = i === 0 ? m.opcode : CONTINUATION;
          const options: ServerFrameOptions = { fin, rsv: i === 0 && m.rsv ? 4 : 0 };
          parts.push(serverFrame(opcode, payload, options));
          expected.push({
            call: "header",
            opcode,
            fin,
            rsv: i === 0 && m.rsv ? 0x40 : 0,
            length: payload.length,
          });
          expected.push({ call: "payload", hex: toHex(payload), remaining: 0 });
          if (i === 0 && m.ping) {
            parts.push(serverFrame(PING, m.ping));
            expected.push({ call: "control", opcode: PING, hex: toHex(m.ping) });
          }
        });
      }
      return { bytes: concat(...parts), expected };
    }

    it("reads any valid sequence in any chunking to the same calls", () => {
      fc.assert(
        fc.property(
          sequence,
          fc.array(fc.nat(), { maxLength: 8 }),
          (messages, cutSeeds) => {
            const { bytes, expected } = encode(messages);
            const cuts = [...new Set(cutSeeds.map((s) => s % (bytes.length + 1)))].sort((a, b) =>
              a - b
            );
            assert.deepEqual(normalize(read([bytes], 0x40).calls), expected);
            assert.deepEqual(normalize(read(splitAt(bytes, cuts), 0x40).calls), expected);
          },
        ),
        { numRuns: 300 },
      );
    });

    it("never throws on random bytes and reports only framing errors, then stops", () => {
      const framing = new Set([
        "MASKED_FRAME",
        "RESERVED_BITS",
        "INVALID_OPCODE",
        "CONTROL_FRAME_TOO_BIG",
        "FRAGMENTED_CONTROL_FRAME",
        "UNEXPECTED_CONTINUATION",
        "EXPECTED_CONTINUATION",
        "INVALID_LENGTH",
      ]);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(400), (bytes, cut) => {
          const { calls, reader } = read(splitAt(bytes, [Math.min(cut, bytes.length)]));
          const errors = calls.filter((c) => c.call === "error");
          assert.ok(errors.length <= 1);
          if (errors.length === 1) {
            const error = errors[0] as Extract<Call, { call: "error" }>;
            assert.ok(framing.has(error.code), error.code);
            assert.equal(error.closeCode, 1002);
            assert.equal(calls.at(-1), error, "nothing after the error");
            assert.equal(reader.stopped, true);
          }
        }),
        { numRuns: 500 },
      );
    });
  });
});
