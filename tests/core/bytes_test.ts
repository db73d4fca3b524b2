/**
 * Tests of `src/core/bytes.ts`: concatenation (copied, or joined in place), Latin-1 both ways, base64 (RFC 4648) and the Basic
 * credentials of a URL's userinfo (RFC 7617).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  base64,
  basicCredentials,
  concatBytes,
  joinBytes,
  latin1Decode,
  latin1Encode,
} from "../../src/core/bytes.ts";
import { hex, latin1, patternBytes, toHex } from "../_util/fixtures.ts";

describe("joinBytes", () => {
  const slab = patternBytes(64, 7);

  it("spans chunks that lie end to end in one buffer with one view, no copy", () => {
    const parts = [slab.subarray(3, 10), slab.subarray(10, 10), slab.subarray(10, 30)];
    const joined = joinBytes(parts, 27);
    assert.equal(joined.buffer, slab.buffer, "the slab's memory");
    assert.equal(joined.byteOffset, 3);
    assert.equal(joined.length, 27);
    assert.deepEqual(joined, slab.slice(3, 30));
  });

  it("copies when a chunk is out of place, from another buffer, or overlaps", () => {
    const cases: Array<[string, Uint8Array[]]> = [
      ["a gap", [slab.subarray(0, 4), slab.subarray(5, 9)]],
      ["out of order", [slab.subarray(4, 8), slab.subarray(0, 4)]],
      ["another buffer", [slab.subarray(0, 4), patternBytes(4, 9)]],
      ["overlapping", [slab.subarray(0, 6), slab.subarray(4, 8)]],
    ];
    for (const [name, parts] of cases) {
      const total = parts.reduce((n, p) => n + p.length, 0);
      const joined = joinBytes(parts, total);
      assert.notEqual(joined.buffer, slab.buffer, name);
      assert.deepEqual(joined, concatBytes(parts), name);
    }
  });

  it("agrees with concatBytes on any split of any buffers (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(40), fc.nat(40), fc.boolean()), { minLength: 1, maxLength: 8 }),
        (specs) => {
          let at = 0;
          const parts = specs.map(([skip, length, own]) => {
            if (own) return patternBytes(length, skip);
            const start = Math.min(at + (skip % 3 === 0 ? 0 : skip), 64);
            at = Math.min(start + length, 64);
            return slab.subarray(start, at);
          });
          const total = parts.reduce((n, p) => n + p.length, 0);
          assert.deepEqual(joinBytes(parts, total), concatBytes(parts));
        },
      ),
    );
  });
});

describe("concatBytes", () => {
  it("joins the chunks in order", () => {
    assert.equal(
      toHex(concatBytes([hex("01 02"), hex(""), hex("03"), hex("04 05 06")])),
      "01 02 03 04 05 06",
    );
    assert.equal(concatBytes([]).length, 0);
  });

  it("returns a single chunk as it is, without a copy", () => {
    const only = patternBytes(10, 1);
    assert.equal(concatBytes([only]), only);
  });

  it("copies two or more chunks into a new array (the inputs may then change)", () => {
    const a = hex("0a 0b");
    const b = hex("0c");
    const joined = concatBytes([a, b]);
    a.fill(0);
    b.fill(0);
    assert.equal(toHex(joined), "0a 0b 0c");
  });

  it("uses the given total as the length", () => {
    const joined = concatBytes([hex("01"), hex("02 03")], 3);
    assert.equal(toHex(joined), "01 02 03");
  });

  it("agrees with a byte-by-byte join for random chunks", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 8 }), (chunks) => {
        const expected = chunks.flatMap((c) => Array.from(c));
        assert.deepEqual(Array.from(concatBytes(chunks)), expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe("latin1Encode and latin1Decode", () => {
  it("map each character below 256 to one byte and back", () => {
    assert.equal(toHex(latin1Encode("Az\x00\xe9\xff")), "41 7a 00 e9 ff");
    assert.equal(latin1Decode(hex("41 7a 00 e9 ff")), "Az\x00\xe9\xff");
    assert.equal(latin1Encode("").length, 0);
    assert.equal(latin1Decode(new Uint8Array(0)), "");
  });

  it("encodes HTTP text byte for byte (it is not UTF-8)", () => {
    assert.equal(toHex(latin1Encode("GET / HTTP/1.1\r\n")), toHex(latin1("GET / HTTP/1.1\r\n")));
    // One byte for é, where UTF-8 would take two.
    assert.equal(latin1Encode("é").length, 1);
  });

  it("keeps only the low byte of code units above 255", () => {
    assert.equal(toHex(latin1Encode("\u0141\u20ac")), "41 ac");
  });

  it("decodes the range [start, end) only", () => {
    assert.equal(latin1Decode(hex("61 62 63 64"), 1, 3), "bc");
    assert.equal(latin1Decode(hex("61 62 63 64"), 2), "cd");
  });

  it("round-trips every byte value, and random bytes", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.deepEqual(latin1Encode(latin1Decode(all)), all);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        assert.deepEqual(latin1Encode(latin1Decode(bytes)), bytes);
      }),
      { numRuns: 200 },
    );
  });
});

describe("base64", () => {
  it("encodes RFC 4648 §10 test vectors", () => {
    const vectors: Array<[string, string]> = [
      ["", ""],
      ["f", "Zg=="],
      ["fo", "Zm8="],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg=="],
      ["fooba", "Zm9vYmE="],
      ["foobar", "Zm9vYmFy"],
    ];
    for (const [input, output] of vectors) assert.equal(base64(latin1(input)), output);
  });

  it("uses the standard alphabet with + and / (not base64url)", () => {
    assert.equal(base64(hex("fb ff bf")), "+/+/");
  });

  it("agrees with btoa over a binary string for random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        assert.equal(base64(bytes), btoa(String.fromCharCode(...bytes)));
      }),
      { numRuns: 300 },
    );
  });

  it("encodes every byte value 0..255", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.equal(base64(all), btoa(String.fromCharCode(...all)));
  });
});

describe("basicCredentials (RFC 7617)", () => {
  it("is undefined without userinfo", () => {
    assert.equal(basicCredentials(new URL("ws://example.com/")), undefined);
  });

  it("encodes user:password, the RFC 7617 §2 example", () => {
    assert.equal(
      basicCredentials(new URL("ws://Aladdin:open%20sesame@example.com/")),
      "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
    );
  });

  it("percent-decodes the userinfo and encodes it as UTF-8", () => {
    // "user:pässword" with ä as UTF-8 (c3 a4), and a colon in the password.
    assert.equal(
      basicCredentials(new URL("ws://us%65r:p%C3%A4ss%3Aword@example.com/")),
      `Basic ${btoa("user:p\xc3\xa4ss:word")}`,
    );
  });

  it("keeps an empty user or an empty password", () => {
    assert.equal(
      basicCredentials(new URL("ws://:secret@example.com/")),
      `Basic ${btoa(":secret")}`,
    );
    assert.equal(basicCredentials(new URL("ws://alice@example.com/")), `Basic ${btoa("alice:")}`);
  });
});
