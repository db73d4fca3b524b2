/**
 * Tests of `src/core/frame.ts`: masked client frames (RFC 6455 §5.2, §5.3), byte-exact against the
 * §5.7 examples with a fixed mask key.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Opcode } from "../../src/core/constants.ts";
import {
  encodeFragments,
  encodeFrame,
  encodeTextFrame,
  maskedHeaderSize,
  POOL_FRAME_MIN,
  releaseFrame,
  setLargeTextEncoder,
} from "../../src/core/frame.ts";
import { setUninitializedBytes } from "../../src/core/bytes.ts";
import { MaskKeyPool } from "../../src/core/mask.ts";
import {
  assertBytes,
  concat,
  counterRandom,
  decodeClientFrames,
  patternBytes,
  toHex,
  utf8,
} from "../_util/fixtures.ts";

/** A pool whose every key is 37 fa 21 3d, the key of the RFC 6455 §5.7 examples. */
function rfcKeys(): MaskKeyPool {
  return new MaskKeyPool((buffer) => {
    for (let i = 0; i < buffer.length; i += 4) buffer.set([0x37, 0xfa, 0x21, 0x3d], i);
  });
}

const FINAL = { fin: true, rsv1: false };

describe("encodeFrame", () => {
  describe("RFC 6455 §5.7 examples, byte for byte", () => {
    it("encodes a single-frame masked text message 'Hello'", () => {
      const frame = encodeFrame(Opcode.TEXT, utf8("Hello"), FINAL, rfcKeys());
      assert.equal(toHex(frame), "81 85 37 fa 21 3d 7f 9f 4d 51 58");
    });

    it("encodes the fragmented text message 'Hel' + 'lo' (masked)", () => {
      const keys = rfcKeys();
      const first = encodeFrame(Opcode.TEXT, utf8("Hel"), { fin: false, rsv1: false }, keys);
      const last = encodeFrame(Opcode.CONTINUATION, utf8("lo"), FINAL, keys);
      assert.equal(toHex(first), "01 83 37 fa 21 3d 7f 9f 4d");
      assert.equal(toHex(last), "80 82 37 fa 21 3d 5b 95");
    });

    it("encodes the masked pong answering 'Hello'", () => {
      const frame = encodeFrame(Opcode.PONG, utf8("Hello"), FINAL, rfcKeys());
      assert.equal(toHex(frame), "8a 85 37 fa 21 3d 7f 9f 4d 51 58");
    });

    it("encodes a 256-byte binary message with a 16-bit length: 82 fe 01 00", () => {
      const payload = patternBytes(256, 4);
      const frame = encodeFrame(Opcode.BINARY, payload, FINAL, rfcKeys());
      assert.equal(toHex(frame.subarray(0, 8)), "82 fe 01 00 37 fa 21 3d");
      assertBytes(decodeClientFrames(frame)[0].payload, payload);
    });

    it("encodes a 64 KiB binary message with a 64-bit length: 82 ff 00..01 00 00", () => {
      const payload = patternBytes(65536, 5);
      const frame = encodeFrame(Opcode.BINARY, payload, FINAL, rfcKeys());
      assert.equal(toHex(frame.subarray(0, 14)), "82 ff 00 00 00 00 00 01 00 00 37 fa 21 3d");
      assertBytes(decodeClientFrames(frame)[0].payload, payload);
    });
  });

  it("uses the 7/16/64-bit length forms at the 125/126/65535/65536 boundaries (RFC 6455 §5.2)", () => {
    const cases: Array<[number, string, number]> = [
      [0, "82 80", 6],
      [1, "82 81", 6],
      [125, "82 fd", 6],
      [126, "82 fe 00 7e", 8],
      [127, "82 fe 00 7f", 8],
      [65535, "82 fe ff ff", 8],
      [65536, "82 ff 00 00 00 00 00 01 00 00", 14],
      [70000, "82 ff 00 00 00 00 00 01 11 70", 14],
    ];
    for (const [length, header, size] of cases) {
      assert.equal(maskedHeaderSize(length), size, `header size for ${length}`);
      const payload = patternBytes(length, length + 1);
      const frame = encodeFrame(Opcode.BINARY, payload, FINAL, rfcKeys());
      assert.equal(frame.length, size + length);
      assert.equal(toHex(frame.subarray(0, size - 4)), header, `length ${length}`);
      assert.equal(toHex(frame.subarray(size - 4, size)), "37 fa 21 3d");
      const [decoded] = decodeClientFrames(frame);
      assertBytes(decoded.payload, payload, `payload of ${length}`);
    }
  });

  it("sets FIN, RSV1 and the opcode as asked, and always the MASK bit", () => {
    for (const opcode of [0, 1, 2, 8, 9, 10]) {
      for (const fin of [true, false]) {
        for (const rsv1 of [true, false]) {
          const [frame] = decodeClientFrames(
            encodeFrame(opcode, utf8("x"), { fin, rsv1 }, rfcKeys()),
          );
          assert.deepEqual(
            { opcode: frame.opcode, fin: frame.fin, rsv: frame.rsv, masked: frame.masked },
            { opcode, fin, rsv: rsv1 ? 4 : 0, masked: true },
          );
        }
      }
    }
  });

  it("takes a fresh key from the pool for every frame", () => {
    const keys = new MaskKeyPool(counterRandom());
    const frames = decodeClientFrames([
      encodeFrame(Opcode.TEXT, utf8("a"), FINAL, keys),
      encodeFrame(Opcode.TEXT, utf8("b"), FINAL, keys),
    ]);
    assert.deepEqual(frames.map((f) => toHex(f.key)), ["00 01 02 03", "04 05 06 07"]);
    assert.deepEqual(frames.map((f) => f.payload), [utf8("a"), utf8("b")]);
  });

  it("leaves the caller's payload unmodified, also when it is a view at an odd offset", () => {
    const backing = patternBytes(1000, 6);
    const payload = backing.subarray(3, 903);
    const copy = payload.slice();
    const frame = encodeFrame(Opcode.BINARY, payload, FINAL, rfcKeys());
    assert.deepEqual(payload, copy);
    assert.deepEqual(decodeClientFrames(frame)[0].payload, copy);
  });

  it("round-trips random payloads through the fixture decoder", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70_000 }), fc.boolean(), (payload, fin) => {
        const keys = new MaskKeyPool(counterRandom(payload.length));
        const [frame] = decodeClientFrames(
          encodeFrame(Opcode.BINARY, payload, { fin, rsv1: false }, keys),
        );
        assertBytes(frame.payload, payload);
        assert.equal(frame.fin, fin);
      }),
      { numRuns: 50 },
    );
  });
});

describe("encodeTextFrame", () => {
  /** The frame encodeFrame writes for the UTF-8 bytes of `text`, with the same key sequence. */
  function viaEncodeFrame(text: string, flags = FINAL): Uint8Array {
    return encodeFrame(Opcode.TEXT, utf8(text), flags, new MaskKeyPool(counterRandom(7)));
  }
  function viaEncodeText(text: string, flags = FINAL): Uint8Array {
    return encodeTextFrame(text, flags, new MaskKeyPool(counterRandom(7)));
  }

  const strings: Array<[string, string]> = [
    ["the empty string", ""],
    ["'Hello'", "Hello"],
    ["125 ASCII characters", "a".repeat(125)],
    ["126 ASCII characters", "b".repeat(126)],
    ["65535 ASCII characters", "c".repeat(65535)],
    ["65536 ASCII characters", "d".repeat(65536)],
    ["non-ASCII Latin (2-byte) text", "Привет мир! café"],
    ["62 'é' plus 'x' (125 bytes)", "é".repeat(62) + "x"],
    ["63 'é' (126 bytes from 63 characters)", "é".repeat(63)],
    ["21845 '€' (65535 bytes)", "€".repeat(21845)],
    ["21846 '€' (65538 bytes: 64-bit length from 21846 characters)", "€".repeat(21846)],
    ["emoji (surrogate pairs)", "😀 ok 🎉"],
    ["a lone surrogate (written as U+FFFD, like TextEncoder)", "a\ud800b"],
    ["NUL and control characters", "\x00\x01\x7f"],
  ];
  for (const [name, text] of strings) {
    it(`equals encodeFrame of the UTF-8 bytes for ${name}`, () => {
      assertBytes(viaEncodeText(text), viaEncodeFrame(text));
    });
  }

  it("a large-text encoder, when set, encodes strings of 64 Ki characters or more, same frames", () => {
    const encoder = new TextEncoder();
    const seen: number[] = [];
    setLargeTextEncoder((text) => {
      seen.push(text.length);
      return encoder.encode(text);
    });
    try {
      const texts = [
        "a".repeat(65535),
        "b".repeat(65536),
        "€".repeat(70_000),
        "x".repeat(1 << 20) + "😀",
        "é".repeat(1000),
      ];
      for (const text of texts) assertBytes(viaEncodeText(text), viaEncodeFrame(text));
      assert.deepEqual(seen, [65536, 70_000, (1 << 20) + 2], "only strings of 64 Ki or more");
    } finally {
      setLargeTextEncoder(undefined);
    }
    viaEncodeText("c".repeat(100_000));
    assert.equal(seen.length, 3, "removed: encodeInto again");
  });

  it("short strings: ASCII up to 40 characters, and one non-ASCII character at each position", () => {
    for (let length = 0; length <= 40; length++) {
      const ascii = "x".repeat(length);
      assertBytes(viaEncodeText(ascii), viaEncodeFrame(ascii));
      for (let at = 0; at < length; at++) {
        for (const c of ["\x7f", "\x80", "é", "€", "😀"]) {
          const text = ascii.slice(0, at) + c + ascii.slice(at + 1);
          assertBytes(viaEncodeText(text), viaEncodeFrame(text));
        }
      }
    }
  });

  it("strings around the longest one encoded in the shared slab (1360 characters) and mixed", () => {
    for (let length = 1350; length <= 1370; length++) {
      for (const text of ["y".repeat(length), "é".repeat(length >> 1), "€" + "z".repeat(length)]) {
        assertBytes(viaEncodeText(text), viaEncodeFrame(text));
      }
    }
  });

  it("frames stay intact while later frames fill and replace the shared slab", () => {
    const keys = new MaskKeyPool(counterRandom(9));
    const again = new MaskKeyPool(counterRandom(9));
    const texts = Array.from({ length: 300 }, (_, i) => `${i}:` + "é€x".repeat(i % 400));
    const frames = texts.map((t) => encodeTextFrame(t, FINAL, keys));
    texts.forEach((t, i) => {
      assertBytes(frames[i], encodeFrame(Opcode.TEXT, utf8(t), FINAL, again));
    });
  });

  it("frames encoded one after another lie end to end, also when the text moves for a longer header", () => {
    const keys = new MaskKeyPool(counterRandom(11));
    const again = new MaskKeyPool(counterRandom(11));
    // 'é' x 63 is 63 characters but 126 bytes: its header is 2 bytes longer than guessed.
    const texts = [
      "a".repeat(100),
      "é".repeat(63),
      '{"k":1}'.repeat(130),
      "€".repeat(400),
      "z".repeat(1360),
    ];
    const frames = texts.map((t) => encodeTextFrame(t, FINAL, keys));
    texts.forEach((t, i) =>
      assertBytes(frames[i], encodeFrame(Opcode.TEXT, utf8(t), FINAL, again))
    );
    let adjacent = 0;
    for (let i = 1; i < frames.length; i++) {
      const [a, b] = [frames[i - 1], frames[i]];
      if (a.buffer !== b.buffer) continue; // a new slab began
      assert.equal(b.byteOffset, a.byteOffset + a.length, `frame ${i} follows frame ${i - 1}`);
      adjacent++;
    }
    assert.ok(adjacent >= 3, `${adjacent} pairs shared a slab`);
  });

  it("keeps the FIN and RSV1 flags", () => {
    const flags = { fin: false, rsv1: true };
    assert.deepEqual(viaEncodeText("abc", flags), viaEncodeFrame("abc", flags));
    assert.deepEqual(viaEncodeText("äbc", flags), viaEncodeFrame("äbc", flags));
  });

  it("equals encodeFrame of the UTF-8 bytes for random strings", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 300 }),
          fc.string({ unit: "binary-ascii", maxLength: 300 }),
          fc.string({ unit: "grapheme", maxLength: 100 }),
        ),
        (text) => {
          assert.deepEqual(viaEncodeText(text), viaEncodeFrame(text));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("encodeFragments", () => {
  it("splits a message into frames of fragmentSize bytes: first opcode, then continuations", () => {
    const payload = patternBytes(10, 3);
    const frames = decodeClientFrames(
      encodeFragments(
        Opcode.BINARY,
        payload,
        { fin: true, rsv1: true, fragmentSize: 4 },
        rfcKeys(),
      ),
    );
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.fin, f.rsv, f.payload.length, f.masked]),
      [[Opcode.BINARY, false, 4, 4, true], [0, false, 0, 4, true], [0, true, 0, 2, true]],
    );
    assertBytes(concat(...frames.map((f) => f.payload)), payload);
  });

  it("leaves FIN clear on the last frame when the message stays open", () => {
    const frames = decodeClientFrames(
      encodeFragments(
        Opcode.TEXT,
        utf8("abcdef"),
        { fin: false, rsv1: false, fragmentSize: 3 },
        rfcKeys(),
      ),
    );
    assert.deepEqual(frames.map((f) => [f.opcode, f.fin]), [[Opcode.TEXT, false], [0, false]]);
  });
});

describe("encodeFrame of payloads at every byte offset", () => {
  it("frames of 0 B to 70 KiB from views at offsets 0-3 decode to the payload", () => {
    const keys = rfcKeys();
    const flags = { fin: true, rsv1: false };
    for (const length of [0, 1, 63, 64, 65, 125, 126, 1000, 4096, 4097, 65535, 70_000]) {
      for (let offset = 0; offset < 4; offset++) {
        const payload = patternBytes(length + offset, length).subarray(offset);
        const frames = [0, 1, 2].map(() => encodeFrame(Opcode.BINARY, payload, flags, keys));
        for (const frame of frames) {
          const [decoded] = decodeClientFrames(frame);
          assert.equal(decoded.opcode, Opcode.BINARY);
          assertBytes(decoded.payload, payload, `${length} B at offset ${offset}`);
        }
      }
    }
  });
});

describe("encodeFrame through many slabs", () => {
  it("20,000 frames of 0-300 B at offsets 0-3, interleaved with text frames, all decode", () => {
    const keys = rfcKeys();
    const flags = { fin: true, rsv1: false };
    for (let i = 0; i < 20_000; i++) {
      const length = (i * 37) % 301;
      const offset = i & 3;
      const payload = patternBytes(length + offset, i).subarray(offset);
      const frame = encodeFrame(Opcode.BINARY, payload, flags, keys);
      assertBytes(decodeClientFrames(frame)[0].payload, payload, `frame ${i}`);
      if (i % 7 === 0) {
        const text = "x".repeat(length);
        const textFrame = encodeTextFrame(text, flags, keys);
        assert.equal(new TextDecoder().decode(decodeClientFrames(textFrame)[0].payload), text);
      }
    }
  });
});

describe("encodeFrame at the end of a slab", () => {
  const flags = { fin: true, rsv1: false };
  /** Bytes left in the current slab (a 1-byte frame is never padded, and takes 7 bytes). */
  function slabRoom(keys: MaskKeyPool): number {
    const probe = encodeFrame(Opcode.BINARY, new Uint8Array(1), flags, keys);
    return probe.buffer.byteLength - (probe.byteOffset + probe.length);
  }

  it("a frame that fills the slab to within 0-3 bytes, from payloads at offsets 0-3", () => {
    const keys = rfcKeys();
    for (let gap = 0; gap < 4; gap++) {
      for (let offset = 0; offset < 4; offset++) {
        let room = slabRoom(keys);
        while (room < 300 || room > 4000) {
          encodeFrame(Opcode.BINARY, new Uint8Array(room > 4000 ? 3000 : 100), flags, keys);
          room = slabRoom(keys);
        }
        const length = room - gap - 8; // a 16-bit length: 8 header bytes
        const payload = patternBytes(length + offset, gap * 4 + offset).subarray(offset);
        const frame = encodeFrame(Opcode.BINARY, payload, flags, keys);
        assertBytes(decodeClientFrames(frame)[0].payload, payload, `gap ${gap}, offset ${offset}`);
      }
    }
  });
});

describe("the pool of large frame buffers", () => {
  const flags = { fin: true, rsv1: false };
  const big = (seed: number) => patternBytes(POOL_FRAME_MIN + 1000, seed);

  it("a released frame's buffer is reused by the next large frame, which is encoded afresh", () => {
    const keys = rfcKeys();
    const first = encodeFrame(Opcode.BINARY, big(1), flags, keys);
    releaseFrame(first);
    const payload = big(2);
    const second = encodeFrame(Opcode.BINARY, payload, flags, keys);
    assert.equal(second.buffer, first.buffer, "the buffer came back");
    const [frame] = decodeClientFrames(second);
    assertBytes(frame.payload, payload);
  });

  it("payloads at any byte offset: the frame is right, and its buffer comes back", () => {
    const keys = rfcKeys();
    for (let offset = 0; offset < 4; offset++) {
      const backing = patternBytes(POOL_FRAME_MIN + 1000 + offset, 20 + offset);
      const payload = backing.subarray(offset);
      const first = encodeFrame(Opcode.BINARY, payload, flags, keys);
      assertBytes(decodeClientFrames(first)[0].payload, payload);
      releaseFrame(first);
      const second = encodeFrame(Opcode.BINARY, payload, flags, keys);
      assert.equal(second.buffer, first.buffer, `offset ${offset}: the buffer came back`);
      assertBytes(decodeClientFrames(second)[0].payload, payload);
      releaseFrame(second.subarray(1));
      const third = encodeFrame(Opcode.BINARY, payload, flags, keys);
      assert.notEqual(third.buffer, second.buffer, "a view inside a frame is not a frame");
    }
  });

  it("keeps at most 64 MiB of buffers: of three 24 MiB frames given back, two are reused", () => {
    const keys = rfcKeys();
    const payload = new Uint8Array(24 * 1024 * 1024);
    const given = [0, 1, 2].map(() => encodeFrame(Opcode.BINARY, payload, flags, keys));
    for (const frame of given) releaseFrame(frame);
    const next = [0, 1, 2].map(() => encodeFrame(Opcode.BINARY, payload, flags, keys));
    const reused = next.filter((frame) => given.some((old) => old.buffer === frame.buffer));
    assert.equal(reused.length, 2);
    for (const frame of next) {
      assert.equal(decodeClientFrames(frame)[0].payload.length, payload.length);
    }
  });

  it("a frame not given back is never handed out again", () => {
    const keys = rfcKeys();
    const a = encodeFrame(Opcode.BINARY, big(3), flags, keys);
    const b = encodeFrame(Opcode.BINARY, big(4), flags, keys);
    assert.notEqual(a.buffer, b.buffer);
  });

  it("a frame given back twice is reused once: two later frames never share a buffer", () => {
    const keys = rfcKeys();
    const a = encodeFrame(Opcode.BINARY, big(5), flags, keys);
    releaseFrame(a);
    releaseFrame(a);
    const b = encodeFrame(Opcode.BINARY, big(6), flags, keys);
    const c = encodeFrame(Opcode.BINARY, big(7), flags, keys);
    assert.notEqual(b.buffer, c.buffer);
    assertBytes(decodeClientFrames(b)[0].payload, big(6));
    assertBytes(decodeClientFrames(c)[0].payload, big(7));
  });

  it("ignores what it did not make: small frames, foreign buffers, views not at the start", () => {
    const keys = rfcKeys();
    const small = encodeFrame(Opcode.BINARY, patternBytes(100, 1), flags, keys);
    releaseFrame(small);
    const foreign = new Uint8Array(POOL_FRAME_MIN * 2);
    releaseFrame(foreign);
    const a = encodeFrame(Opcode.BINARY, big(8), flags, keys);
    releaseFrame(a.subarray(1));
    for (const seed of [9, 10]) {
      const frame = encodeFrame(Opcode.BINARY, big(seed), flags, keys);
      assert.notEqual(frame.buffer, small.buffer);
      assert.notEqual(frame.buffer, foreign.buffer);
      assert.notEqual(frame.buffer, a.buffer);
    }
  });

  it("does not hand out a buffer too large for the frame (over a quarter unused)", () => {
    const keys = rfcKeys();
    const large = encodeFrame(Opcode.BINARY, patternBytes(POOL_FRAME_MIN * 4, 11), flags, keys);
    releaseFrame(large);
    const smaller = encodeFrame(Opcode.BINARY, big(12), flags, keys);
    assert.notEqual(smaller.buffer, large.buffer);
    const near = encodeFrame(
      Opcode.BINARY,
      patternBytes(POOL_FRAME_MIN * 4 - 100, 13),
      flags,
      keys,
    );
    assert.equal(near.buffer, large.buffer);
    assertBytes(decodeClientFrames(near)[0].payload, patternBytes(POOL_FRAME_MIN * 4 - 100, 13));
  });
});

describe("large frames in buffers that are not zero-filled (setUninitializedBytes)", () => {
  it("binary and text frames from 64 KiB, at payload offsets 0-3: exact frames over stale bytes", () => {
    const sizes: number[] = [];
    setUninitializedBytes((size) => {
      sizes.push(size);
      return new Uint8Array(size).fill(0xee);
    });
    try {
      const keys = rfcKeys();
      for (let offset = 0; offset < 4; offset++) {
        const backing = patternBytes(POOL_FRAME_MIN + 10 + offset, 40 + offset);
        const payload = backing.subarray(offset);
        // Not given back, so each one is a fresh buffer from the allocator.
        const frame = encodeFrame(Opcode.BINARY, payload, FINAL, keys);
        const [decoded] = decodeClientFrames(frame);
        assert.equal(decoded.opcode, Opcode.BINARY);
        assertBytes(decoded.payload, payload);
        const text = "a".repeat(POOL_FRAME_MIN + offset);
        const textFrame = encodeTextFrame(text, FINAL, keys);
        assert.equal(new TextDecoder().decode(decodeClientFrames(textFrame)[0].payload), text);
      }
      assert.equal(sizes.length, 8, "every frame came from the allocator");
      // The bytes in front of a frame (alignment) are no stale memory either.
      const frame = encodeFrame(Opcode.BINARY, patternBytes(POOL_FRAME_MIN, 1), FINAL, keys);
      assert.ok(frame.byteOffset > 0, "a 14-byte header puts the payload's start off alignment");
      assert.deepEqual([...new Uint8Array(frame.buffer, 0, frame.byteOffset)].filter((b) => b), []);
      // A non-ASCII large text leaves its first buffer unsent: the frame is still exact.
      const mixed = "é".repeat(POOL_FRAME_MIN);
      const mixedFrame = encodeTextFrame(mixed, FINAL, keys);
      assert.equal(new TextDecoder().decode(decodeClientFrames(mixedFrame)[0].payload), mixed);
    } finally {
      setUninitializedBytes(undefined);
    }
  });
});
