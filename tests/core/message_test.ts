/**
 * Tests of `src/core/message.ts`: `MessageAssembler` told of data frames directly, and behind a
 * `FrameReader` fed at every split point. Limits are checked at the header; whole messages are
 * views of the chunk; text is validated as it arrives; flagged messages go through the extension.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Opcode } from "../../src/core/constants.ts";
import { ProtocolError, type ProtocolErrorCode } from "../../src/core/errors.ts";
import type { Extension } from "../../src/core/extensions.ts";
import { FrameReader } from "../../src/core/frame_reader.ts";
import {
  MessageAssembler,
  type MessageAssemblerOptions,
  type MessageSink,
} from "../../src/core/message.ts";
import { setUninitializedBytes, UNINITIALIZED_MIN } from "../../src/core/bytes.ts";
import {
  assertBytes,
  concat,
  hex,
  patternBytes,
  serverFrame,
  splitAt,
  utf8,
} from "../_util/fixtures.ts";

const { TEXT, BINARY, CONTINUATION } = Opcode;

interface Recorded extends MessageSink {
  readonly messages: Array<string | Uint8Array>;
  readonly errors: ProtocolError[];
}

function sink(): Recorded {
  const messages: Array<string | Uint8Array> = [];
  const errors: ProtocolError[] = [];
  return {
    messages,
    errors,
    message: (data) => messages.push(data),
    error: (error) => errors.push(error),
  };
}

function assembler(options: Partial<MessageAssemblerOptions> = {}) {
  const out = sink();
  const messages = new MessageAssembler(out, {
    maxMessageSize: options.maxMessageSize ?? 1 << 20,
    maxFragments: options.maxFragments ?? 1000,
    extension: options.extension,
  });
  return { messages, out };
}

/** A reader in front of `messages`, its errors recorded in `out`. */
function readerFor(messages: MessageAssembler, out: Recorded, rsvBits = 0): FrameReader {
  return new FrameReader(messages, {
    controlFrame: () => true,
    error: (error) => out.errors.push(error),
  }, { rsvBits });
}

/** An assembler for messages up to 16 MiB, behind a reader. */
function behindReader() {
  const { messages, out } = assembler({ maxMessageSize: 1 << 24 });
  return { messages, out, reader: readerFor(messages, out) };
}

/** Reads `chunks` through a FrameReader into a fresh assembler. */
function readAll(chunks: readonly Uint8Array[], options: Partial<MessageAssemblerOptions> = {}) {
  const { messages, out } = assembler(options);
  const reader = readerFor(messages, out, options.extension?.rsvBits ?? 0);
  for (const chunk of chunks) reader.read(chunk);
  return { ...out, reader };
}

function assertError(
  error: ProtocolError | undefined,
  code: ProtocolErrorCode,
  closeCode: number,
  message?: string,
): void {
  assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
  assert.equal(error.code, code, error.message);
  assert.equal(error.closeCode, closeCode);
  if (message !== undefined) assert.equal(error.message, message);
}

/** An extension whose decoding reverses the bytes, recording each call. */
function reversing(decode?: (payload: Uint8Array, maxSize: number) => Uint8Array) {
  const calls: Array<{ payload: Uint8Array; maxSize: number }> = [];
  const extension: Extension = {
    name: "x-test",
    header: "x-test",
    rsvBits: 0x40,
    decodeMessage(payload, maxSize) {
      calls.push({ payload: payload.slice(), maxSize });
      return decode ? decode(payload, maxSize) : payload.slice().reverse();
    },
  };
  return { extension, calls };
}

describe("MessageAssembler", () => {
  describe("assembly", () => {
    it("hands out a message that arrived whole in one chunk as a view into that chunk", () => {
      const first = patternBytes(300, 5);
      const second = patternBytes(70000, 6);
      const chunk = concat(serverFrame(BINARY, first), serverFrame(BINARY, second));
      const [a, b] = readAll([chunk]).messages as Uint8Array[];
      assert.equal(a.buffer, chunk.buffer, "no copy of the first message");
      assert.equal(a.byteOffset, 4);
      assert.equal(b.buffer, chunk.buffer, "no copy of the second message");
      assert.equal(b.byteOffset, 4 + 300 + 10);
      assertBytes(a, first);
      assertBytes(b, second);
    });

    it("copies a message whose frame spans chunks, and a fragmented one", () => {
      const payload = patternBytes(500, 7);
      const chunks = splitAt(serverFrame(BINARY, payload), [100]);
      const [spanning] = readAll(chunks).messages as Uint8Array[];
      assert.notEqual(spanning.buffer, chunks[0].buffer);
      assert.notEqual(spanning.buffer, chunks[1].buffer);
      assertBytes(spanning, payload);
      const chunk = concat(
        serverFrame(BINARY, payload.subarray(0, 200), { fin: false }),
        serverFrame(CONTINUATION, payload.subarray(200)),
      );
      const [fragmented] = readAll([chunk]).messages as Uint8Array[];
      assertBytes(fragmented, payload);
      chunk.fill(0);
      assertBytes(fragmented, payload, "the fragmented message does not alias the chunk");
    });

    it("decodes text, whole or split, and keeps a leading BOM", () => {
      const text = "\ufeffhé€😀 end";
      const frame = serverFrame(TEXT, text);
      assert.deepEqual(readAll([frame]).messages, [text]);
      for (let cut = 1; cut < frame.length; cut++) {
        assert.deepEqual(readAll(splitAt(frame, [cut])).messages, [text], `split at ${cut}`);
      }
    });

    it("text that spans reads reuses buffers across messages and connections, bytes unmixed", () => {
      // Two connections whose messages arrive in interleaved pieces; each message's buffer may be
      // the one an earlier message (of either connection) gave back once decoded.
      const a = assembler();
      const b = assembler();
      const sizes = [70_000, 5, 300_000, 1000, 70_000, 69_999];
      for (let i = 0; i < sizes.length; i++) {
        const textA = String.fromCharCode(97 + i).repeat(sizes[i]) + "é";
        const textB = "€".repeat(sizes[sizes.length - 1 - i] >> 1) + String(i);
        const frameA = splitAt(serverFrame(TEXT, textA), [3, 4 + (sizes[i] >> 1)]);
        const frameB = splitAt(serverFrame(TEXT, textB), [7, 20]);
        const readerA = new FrameReader(a.messages, { controlFrame: () => true, error: () => {} });
        const readerB = new FrameReader(b.messages, { controlFrame: () => true, error: () => {} });
        for (let k = 0; k < 3; k++) {
          if (frameA[k]) readerA.read(frameA[k]);
          if (frameB[k]) readerB.read(frameB[k]);
        }
        assert.equal(a.out.messages[i], textA, `connection a, message ${i}`);
        assert.equal(b.out.messages[i], textB, `connection b, message ${i}`);
      }
      assert.deepEqual([...a.out.errors, ...b.out.errors], []);
    });

    it("delivers empty messages as '' and an empty Uint8Array", () => {
      const { messages } = readAll([
        concat(serverFrame(TEXT), serverFrame(BINARY), serverFrame(TEXT, "", { fin: false })),
        serverFrame(CONTINUATION),
      ]);
      assert.equal(messages.length, 3);
      assert.equal(messages[0], "");
      assert.ok(messages[1] instanceof Uint8Array);
      assert.equal((messages[1] as Uint8Array).length, 0);
      assert.equal(messages[2], "");
    });

    it("assembles 65,536 one-byte fragments, and fragments of more than 1 MiB", () => {
      const parts: Uint8Array[] = [serverFrame(BINARY, hex("00"), { fin: false })];
      for (let i = 1; i < 65535; i++) {
        parts.push(serverFrame(CONTINUATION, new Uint8Array([i & 0xff]), { fin: false }));
      }
      parts.push(serverFrame(CONTINUATION, hex("ff")));
      const { messages } = readAll([concat(...parts)], { maxFragments: 65536 });
      const message = messages[0] as Uint8Array;
      assert.equal(message.length, 65536);
      for (let i = 0; i < 65535; i++) assert.equal(message[i], i & 0xff);
      assert.equal(message[65535], 0xff);

      const big = patternBytes(3 * 1024 * 1024 + 5, 8);
      const bigFrames = concat(
        serverFrame(BINARY, big.subarray(0, 10), { fin: false }),
        serverFrame(CONTINUATION, big.subarray(10, 2 * 1024 * 1024), { fin: false }),
        serverFrame(CONTINUATION, big.subarray(2 * 1024 * 1024)),
      );
      const result = readAll(splitAt(bigFrames, [5000, 1_500_000, 2_500_000]), {
        maxMessageSize: big.length,
      });
      assert.equal(result.errors.length, 0);
      assertBytes(result.messages[0] as Uint8Array, big);
    });
  });

  describe("limits, checked at the header", () => {
    it("refuses a frame that would make the message too big, before its payload", () => {
      const { messages, out } = assembler({ maxMessageSize: 100 });
      assert.equal(messages.dataHeader(BINARY, false, 0, 60), true);
      assert.equal(messages.dataPayload(patternBytes(60, 1), 0, 60, 0), true);
      assert.equal(messages.dataHeader(CONTINUATION, true, 0, 41), false);
      assert.equal(out.errors.length, 1);
      assertError(
        out.errors[0],
        "MESSAGE_TOO_BIG",
        1009,
        "message larger than maxMessageSize (100 bytes)",
      );
      assert.deepEqual(out.messages, []);
    });

    it("fails on the header of an oversized frame when no payload byte has arrived", () => {
      // Only the header of a 101-byte frame (16-bit length 0x0065) is given.
      const { errors, messages } = readAll([hex("82 7e 00 65")], { maxMessageSize: 100 });
      assert.deepEqual(messages, []);
      assertError(errors[0], "MESSAGE_TOO_BIG", 1009);
    });

    it("accepts a message of exactly maxMessageSize bytes, in one frame or fragmented", () => {
      const payload = patternBytes(100, 2);
      const one = readAll([serverFrame(BINARY, payload)], { maxMessageSize: 100 });
      assert.equal(one.errors.length, 0);
      assertBytes(one.messages[0] as Uint8Array, payload);
      const fragmented = readAll([
        concat(
          serverFrame(TEXT, "a".repeat(50), { fin: false }),
          serverFrame(CONTINUATION, "b".repeat(50)),
        ),
      ], { maxMessageSize: 100 });
      assert.deepEqual(fragmented.messages, ["a".repeat(50) + "b".repeat(50)]);
    });

    it("accepts exactly maxFragments fragments and refuses the next header", () => {
      const frames = (count: number) =>
        concat(
          serverFrame(BINARY, "x", { fin: false }),
          ...Array.from(
            { length: count - 1 },
            (_, i) => serverFrame(CONTINUATION, "x", { fin: i === count - 2 }),
          ),
        );
      assert.equal(readAll([frames(5)], { maxFragments: 5 }).messages.length, 1);
      const over = readAll([frames(6)], { maxFragments: 5 });
      assert.deepEqual(over.messages, []);
      assertError(
        over.errors[0],
        "TOO_MANY_FRAGMENTS",
        1008,
        "message has more than 5 fragments",
      );
    });

    it("counts the fragments and size of each message afresh", () => {
      const { messages, errors } = readAll([
        concat(
          serverFrame(BINARY, patternBytes(80, 1), { fin: false }),
          serverFrame(CONTINUATION, patternBytes(20, 2)),
          serverFrame(BINARY, patternBytes(80, 3), { fin: false }),
          serverFrame(CONTINUATION, patternBytes(20, 4)),
        ),
      ], { maxMessageSize: 100, maxFragments: 2 });
      assert.equal(errors.length, 0);
      assert.equal(messages.length, 2);
    });
  });

  describe("text validation as it arrives (RFC 6455 §8.1, Autobahn 6.4.x)", () => {
    it("fails on the payload piece that holds the invalid byte, before the frame ends", () => {
      const { messages, out } = assembler();
      const bytes = concat(utf8("κόσμε"), hex("ed a0 80"), utf8("edited"));
      assert.equal(messages.dataHeader(TEXT, true, 0, bytes.length), true);
      assert.equal(messages.dataPayload(bytes, 0, 5, bytes.length - 5), true);
      assert.equal(out.errors.length, 0);
      // The piece with ED A0 (a surrogate) is refused at once.
      assert.equal(messages.dataPayload(bytes, 5, 13, bytes.length - 13), false);
      assertError(out.errors[0], "INVALID_UTF8", 1007, "text message is not valid UTF-8");
      assert.deepEqual(out.messages, []);
    });

    it("fails on the fragment that holds the invalid byte, for any chunking", () => {
      const bytes = concat(
        serverFrame(TEXT, "ok", { fin: false }),
        serverFrame(CONTINUATION, hex("c3 28"), { fin: false }),
      );
      for (let cut = 1; cut < bytes.length; cut++) {
        const { errors, messages } = readAll(splitAt(bytes, [cut]));
        assert.deepEqual(messages, []);
        assert.equal(errors.length, 1, `split at ${cut}`);
        assertError(errors[0], "INVALID_UTF8", 1007);
      }
    });

    it("fails when the message ends inside a code point", () => {
      for (
        const frames of [
          [serverFrame(TEXT, hex("61 e2 82"))],
          splitAt(serverFrame(TEXT, hex("61 e2 82")), [3]),
          [concat(serverFrame(TEXT, "a", { fin: false }), serverFrame(CONTINUATION, hex("f0 9f")))],
        ]
      ) {
        const { errors, messages } = readAll(frames);
        assert.deepEqual(messages, []);
        assertError(errors[0], "INVALID_UTF8", 1007);
      }
    });

    it("accepts code points split between fragments and reads", () => {
      const frames = concat(
        serverFrame(TEXT, hex("f0"), { fin: false }),
        serverFrame(CONTINUATION, hex("9f 98 80 61"), { fin: false }),
        serverFrame(CONTINUATION, hex("e2 82 ac")),
      );
      for (let cut = 0; cut <= frames.length; cut++) {
        const { messages, errors } = readAll(splitAt(frames, [cut]));
        assert.equal(errors.length, 0, `split at ${cut}`);
        assert.deepEqual(messages, ["😀a€"]);
      }
    });
  });

  describe("the extension (RFC 6455 §9, RFC 7692)", () => {
    it("decodes a flagged message from its joined fragments, with maxMessageSize", () => {
      const { extension, calls } = reversing();
      const { messages } = readAll([
        concat(
          serverFrame(BINARY, hex("01 02"), { fin: false, rsv: 4 }),
          serverFrame(CONTINUATION, hex("03")),
          serverFrame(BINARY, hex("09")),
        ),
      ], { extension, maxMessageSize: 1234 });
      assert.equal(calls.length, 1, "the unflagged message is not decoded");
      assert.deepEqual(Array.from(calls[0].payload), [1, 2, 3]);
      assert.equal(calls[0].maxSize, 1234);
      assert.deepEqual(messages.map((m) => Array.from(m as Uint8Array)), [[3, 2, 1], [9]]);
    });

    it("validates the decoded text, not the flagged bytes", () => {
      // Reversed, c3 a9 is "é"; as sent (a9 c3) it is not UTF-8.
      const { extension } = reversing();
      assert.deepEqual(
        readAll([serverFrame(TEXT, hex("a9 c3"), { rsv: 4 })], { extension }).messages,
        [
          "é",
        ],
      );
      const bad = readAll([serverFrame(TEXT, hex("c3 a9"), { rsv: 4 })], { extension });
      assertError(bad.errors[0], "INVALID_UTF8", 1007);
    });

    it("passes the extension's ProtocolError on, and rethrows anything else (a bug)", () => {
      const tooBig = reversing(() => {
        throw new ProtocolError("MESSAGE_TOO_BIG", 1009, "too big once decoded");
      });
      const failed = readAll([serverFrame(BINARY, "x", { rsv: 4 })], {
        extension: tooBig.extension,
      });
      assertError(failed.errors[0], "MESSAGE_TOO_BIG", 1009, "too big once decoded");
      assert.deepEqual(failed.messages, []);
      const buggy = reversing(() => {
        throw new TypeError("bug");
      });
      assert.throws(
        () => readAll([serverFrame(BINARY, "x", { rsv: 4 })], { extension: buggy.extension }),
        TypeError,
      );
    });
  });

  describe("reset", () => {
    it("forgets the message in progress", () => {
      const { messages, out } = assembler();
      messages.dataHeader(TEXT, false, 0, 3);
      messages.dataPayload(utf8("abc"), 0, 2, 1);
      messages.reset();
      messages.dataHeader(BINARY, true, 0, 1);
      messages.dataPayload(hex("07"), 0, 1, 0);
      assert.equal(out.errors.length, 0);
      assert.deepEqual(out.messages.map((m) => Array.from(m as Uint8Array)), [[7]]);
    });
  });

  describe("property tests", () => {
    it("round-trips random messages with random fragmentation and chunking", () => {
      const message = fc.oneof(
        fc.string({ unit: "grapheme", maxLength: 200 }),
        fc.uint8Array({ maxLength: 300 }),
      );
      fc.assert(
        fc.property(
          fc.array(fc.tuple(message, fc.array(fc.nat(), { maxLength: 4 })), { maxLength: 6 }),
          fc.array(fc.nat(), { maxLength: 8 }),
          (sent, cutSeeds) => {
            const parts: Uint8Array[] = [];
            for (const [data, fragmentSeeds] of sent) {
              const bytes = typeof data === "string" ? utf8(data) : data;
              const cuts = [...new Set(fragmentSeeds.map((s) => s % (bytes.length + 1)))]
                .sort((a, b) => a - b);
              const pieces = splitAt(bytes, cuts);
              pieces.forEach((piece, i) => {
                const opcode = i === 0 ? (typeof data === "string" ? TEXT : BINARY) : CONTINUATION;
                parts.push(serverFrame(opcode, piece, { fin: i === pieces.length - 1 }));
              });
            }
            const stream = concat(...parts);
            const cuts = [...new Set(cutSeeds.map((s) => s % (stream.length + 1)))]
              .sort((a, b) => a - b);
            const { messages, errors } = readAll(splitAt(stream, cuts));
            assert.deepEqual(errors, []);
            assert.deepEqual(
              messages.map((m) => typeof m === "string" ? m : Array.from(m)),
              sent.map(([data]) => typeof data === "string" ? data : Array.from(data)),
            );
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});

describe("reading straight into the message (readTarget)", () => {
  /** An assembler behind a reader, and a way to ask both where the next bytes go. */
  function reading() {
    const { messages, out, reader } = behindReader();
    const target = (min: number) =>
      reader.dataRemaining >= min ? messages.readTarget(reader.dataRemaining) : undefined;
    return { reader, out, target };
  }

  it("the rest of a binary frame read into the target becomes the message: its buffer is the target's", () => {
    const payload = patternBytes(300_000, 3);
    const frame = serverFrame(BINARY, payload);
    const { reader, out, target } = reading();
    // The header and the first bytes arrive as an ordinary chunk: the buffer is then allocated.
    let at = 10 + 1000;
    reader.read(frame.subarray(0, at));
    assert.equal(reader.dataRemaining, frame.length - at);
    const buffers = new Set<ArrayBufferLike>();
    while (at < frame.length) {
      const into = target(1);
      assert.ok(into, `a target with ${frame.length - at} bytes to come`);
      assert.equal(into.length, frame.length - at, "the target is the rest of the frame");
      buffers.add(into.buffer);
      // What a socket does: read some bytes into it, hand back a view of its start.
      const n = Math.min(into.length, 65_536 + (at % 7));
      into.set(frame.subarray(at, at + n));
      reader.read(into.subarray(0, n));
      at += n;
    }
    assert.equal(out.messages.length, 1);
    const message = out.messages[0] as Uint8Array;
    assertBytes(message, payload);
    assert.equal(buffers.size, 1, "every target was in one buffer");
    assert.ok(buffers.has(message.buffer), "the message is that buffer");
    assert.equal(target(1), undefined, "nothing after the frame");
  });

  it("a following frame in the same stream is read as usual after a targeted one", () => {
    const first = patternBytes(100_000, 1);
    const stream = concat(serverFrame(BINARY, first), serverFrame(TEXT, "after"));
    const { reader, out, target } = reading();
    reader.read(stream.subarray(0, 20));
    const into = target(1)!;
    const rest = 10 + first.length - 20;
    into.set(stream.subarray(20, 20 + rest));
    reader.read(into.subarray(0, rest));
    reader.read(stream.subarray(20 + rest));
    assert.equal(out.messages.length, 2);
    assertBytes(out.messages[0] as Uint8Array, first);
    assert.equal(out.messages[1], "after");
  });

  it("the rest of a text frame read into the target is validated there and decoded once", () => {
    const text = "é€😀 ascii ".repeat(20_000);
    const frame = serverFrame(TEXT, text);
    for (const step of [65_536, 65_537, 1]) {
      const { reader, out, target } = reading();
      // The header and the first bytes (cut inside a code point) arrive as an ordinary chunk.
      let at = 10 + 1001;
      reader.read(frame.subarray(0, at));
      while (at < frame.length) {
        const into = target(1);
        assert.ok(into, `a target with ${frame.length - at} bytes to come`);
        // Steps that cut code points between reads.
        const n = Math.min(into.length, step === 1 ? 1 + (at % 5) * 9_999 : step);
        into.set(frame.subarray(at, at + n));
        reader.read(into.subarray(0, n));
        at += n;
      }
      assert.deepEqual(out.errors, []);
      assert.equal(out.messages.length, 1);
      assert.equal(out.messages[0], text, `read in steps of ${step}`);
    }
  });

  it("invalid UTF-8 read into the target fails on that read, before the frame ends", () => {
    const bytes = utf8("x".repeat(100_000));
    bytes[70_000] = 0xff;
    const frame = serverFrame(TEXT, bytes);
    const { reader, out, target } = reading();
    reader.read(frame.subarray(0, 1000));
    let into = target(1)!;
    into.set(frame.subarray(1000, 60_000));
    reader.read(into.subarray(0, 59_000));
    assert.deepEqual(out.errors, [], "the bytes before the bad one are valid");
    into = target(1)!;
    into.set(frame.subarray(60_000, 80_000));
    reader.read(into.subarray(0, 20_000));
    assert.equal(out.errors.length, 1, "the read that holds 0xFF fails");
    assertError(out.errors[0], "INVALID_UTF8", 1007);
    assert.deepEqual(out.messages, []);
  });

  it("no target for control frames, small rests or between frames", () => {
    const { reader, target } = reading();
    assert.equal(target(1), undefined, "between frames");
    // A binary frame whose rest is under the minimum asked for.
    const small = serverFrame(BINARY, patternBytes(40_000, 2));
    reader.read(small.subarray(0, 20_000));
    assert.equal(target(32 * 1024), undefined, "less than the minimum to come");
    assert.ok(target(1), "but a target for a smaller minimum");
    reader.read(small.subarray(20_000));
    // A ping: a control frame's payload is never targeted.
    const ping = serverFrame(Opcode.PING, patternBytes(100, 1));
    reader.read(ping.subarray(0, 4));
    assert.equal(reader.dataRemaining, 0, "a control frame has no data to come");
  });
});

describe("buffers that are not zero-filled (setUninitializedBytes)", () => {
  const MiB = 1024 * 1024;

  /** Installs an allocator that fills with 0xee, the stale bytes it stands for; runs `body`. */
  function withDirtyAllocator(body: (sizes: number[]) => void): void {
    const sizes: number[] = [];
    setUninitializedBytes((size) => {
      sizes.push(size);
      return new Uint8Array(size).fill(0xee);
    });
    try {
      body(sizes);
    } finally {
      setUninitializedBytes(undefined);
    }
  }

  it("a one-frame message of 64 KiB or more gets one, at its exact size, every byte overwritten", () => {
    withDirtyAllocator((sizes) => {
      for (const size of [UNINITIALIZED_MIN, MiB, 3 * MiB + 5]) {
        sizes.length = 0;
        const payload = patternBytes(size, 7);
        const frame = serverFrame(BINARY, payload);
        const { messages, errors } = readAll(splitAt(frame, [4, 14, 65_550, 2 * 65_536]), {
          maxMessageSize: 1 << 24,
        });
        assert.deepEqual(errors, []);
        assert.deepEqual(sizes, [size]);
        const message = messages[0] as Uint8Array;
        assertBytes(message, payload);
        assert.equal(message.buffer.byteLength, size, "the message is the whole buffer");
      }
    });
  });

  it("text in one frame too; smaller messages and fragmented ones keep zero-filled buffers", () => {
    withDirtyAllocator((sizes) => {
      const text = "é".repeat(MiB / 2) + "x";
      const { messages } = readAll(splitAt(serverFrame(TEXT, text), [100, 70_000]), {
        maxMessageSize: 1 << 24,
      });
      assert.equal(messages[0], text);
      // The spare buffer of that text may serve the next text, so binary from here on.
      sizes.length = 0;
      const small = patternBytes(UNINITIALIZED_MIN - 1, 2);
      const a = readAll(splitAt(serverFrame(BINARY, small), [100]), { maxMessageSize: 1 << 24 });
      assertBytes(a.messages[0] as Uint8Array, small);
      // Two frames: the buffer grows past what the first frame holds, so it may be larger than
      // the message and bytes beyond it would be seen through `.buffer`.
      const first = patternBytes(600_000, 3), second = patternBytes(700_000, 4);
      const b = readAll(
        splitAt(
          concat(serverFrame(BINARY, first, { fin: false }), serverFrame(CONTINUATION, second)),
          [
            50,
            600_100,
          ],
        ),
        { maxMessageSize: 1 << 24 },
      );
      assertBytes(b.messages[0] as Uint8Array, concat(first, second));
      assert.deepEqual(sizes, [], "no uninitialized buffer for these");
    });
  });

  it("no read target is lent out of such a buffer: a socket of the application never sees it", () => {
    withDirtyAllocator((sizes) => {
      const { messages, out, reader } = behindReader();
      const payload = patternBytes(MiB, 6);
      const frame = serverFrame(BINARY, payload);
      reader.read(frame.subarray(0, 70_000));
      assert.deepEqual(sizes, [MiB], "the buffer came from the allocator");
      assert.equal(messages.readTarget(reader.dataRemaining), undefined);
      reader.read(frame.subarray(70_000));
      assertBytes(out.messages[0] as Uint8Array, payload);
    });
    // Without the allocator the same message lends its free part (the Deno case).
    const { messages, reader } = behindReader();
    reader.read(serverFrame(BINARY, patternBytes(MiB, 6)).subarray(0, 70_000));
    assert.equal(messages.readTarget(reader.dataRemaining)?.length, reader.dataRemaining);
  });

  it("a message cut short is never handed out; the next one is whole", () => {
    withDirtyAllocator((sizes) => {
      const { messages, out, reader } = behindReader();
      const payload = patternBytes(2 * MiB, 5);
      const frame = serverFrame(BINARY, payload);
      // Half of it, then the connection is gone: what the client does is reset the assembler.
      reader.read(frame.subarray(0, MiB));
      messages.reset();
      assert.equal(out.messages.length, 0);
      const next = patternBytes(MiB, 9);
      const fresh = readerFor(messages, out);
      for (const chunk of splitAt(serverFrame(BINARY, next), [3, 500_000])) fresh.read(chunk);
      assert.deepEqual(sizes, [2 * MiB, MiB]);
      assert.equal(out.messages.length, 1);
      assertBytes(out.messages[0] as Uint8Array, next);
      assert.deepEqual(out.errors, []);
    });
  });
});
