/**
 * Tests of `src/core/utf8.ts`: the incremental UTF-8 validator (RFC 3629) that lets text fail as
 * soon as the bad byte arrives (Autobahn 6.4.x strict).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { isUtf8 } from "node:buffer";
import {
  decodeUtf8,
  decodeValidUtf8,
  isValidUtf8,
  Utf8PieceValidator,
  Utf8Validator,
  type WholeUtf8Validator,
} from "../../src/core/utf8.ts";
import { hex, toHex, utf8 } from "../_util/fixtures.ts";

/** The WHATWG decoder in fatal mode is the reference: same RFC 3629 boundaries. */
function referenceValid(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Index of the byte at which the reference decoder (streaming, fatal) first errors, or -1. The
 * WHATWG decoder reports an error on the first byte that cannot continue a valid sequence.
 */
function referenceFailIndex(bytes: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      decoder.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return -1;
}

/** Index of the first push that returns false when `bytes` are pushed one at a time, or -1. */
function failIndexByteByByte(bytes: Uint8Array): number {
  const v = new Utf8Validator();
  for (let i = 0; i < bytes.length; i++) {
    if (!v.push(bytes.subarray(i, i + 1))) return i;
  }
  return -1;
}

/** Verdict (valid and complete) when `bytes` are pushed in the pieces cut at `points`. */
function verdictInPieces(bytes: Uint8Array, points: readonly number[]): boolean {
  const v = new Utf8Validator();
  let start = 0;
  for (const p of [...points].sort((a, b) => a - b)) {
    if (!v.push(bytes.subarray(start, p))) return false;
    start = p;
  }
  return v.push(bytes.subarray(start)) && v.complete;
}

/**
 * Autobahn 6.x style cases (the UTF-8 decoder stress test by Markus Kuhn, which Autobahn uses).
 * `valid` is the verdict for the whole input; `failAt` the index of the first byte that makes it
 * invalid (undefined when the input is only truncated).
 */
const CASES: ReadonlyArray<{ name: string; bytes: string; valid: boolean; failAt?: number }> = [
  // 6.2 / 6.5: valid text and the first and last code points of each length.
  { name: "6.2 Hello-µ@ßöäüàá-UTF-8!!", bytes: toHex(utf8("Hello-µ@ßöäüàá-UTF-8!!")), valid: true },
  { name: "6.5.1 κόσμε", bytes: "ce ba e1 bd b9 cf 83 ce bc ce b5", valid: true },
  { name: "6.7.1 U+0000", bytes: "00", valid: true },
  { name: "6.7.2 U+0080", bytes: "c2 80", valid: true },
  { name: "6.7.3 U+0800", bytes: "e0 a0 80", valid: true },
  { name: "6.7.4 U+10000", bytes: "f0 90 80 80", valid: true },
  { name: "6.9.1 U+007F", bytes: "7f", valid: true },
  { name: "6.9.2 U+07FF", bytes: "df bf", valid: true },
  { name: "6.9.3 U+FFFF", bytes: "ef bf bf", valid: true },
  { name: "6.9.4 U+10FFFF", bytes: "f4 8f bf bf", valid: true },
  { name: "6.10 U+D7FF (just below the surrogates)", bytes: "ed 9f bf", valid: true },
  { name: "6.10 U+E000 (just above the surrogates)", bytes: "ee 80 80", valid: true },
  { name: "6.10 U+FFFD", bytes: "ef bf bd", valid: true },
  { name: "6.22 noncharacter U+FFFE is valid", bytes: "ef bf be", valid: true },
  { name: "6.22 noncharacter U+1FFFF is valid", bytes: "f0 9f bf bf", valid: true },
  { name: "6.22 noncharacter U+10FFFE is valid", bytes: "f4 8f bf be", valid: true },
  { name: "BOM is valid UTF-8", bytes: "ef bb bf 61", valid: true },
  // 6.3: a surrogate in the middle of valid text.
  {
    name: "6.3.1 κόσμε + U+D800 + edited",
    bytes: "ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64",
    valid: false,
    failAt: 12,
  },
  // 6.4: fail fast, at the byte that breaks the sequence.
  {
    name: "6.4.1 κόσμε + F4 90 80 80 (above U+10FFFF) + edited",
    bytes: "ce ba e1 bd b9 cf 83 ce bc ce b5 f4 90 80 80 65 64 69 74 65 64",
    valid: false,
    failAt: 12,
  },
  {
    name: "6.4.3 κόσμε + F4 90 80 80 split mid-sequence",
    bytes: "ce ba e1 bd b9 cf 83 ce bc ce b5 f4 90",
    valid: false,
    failAt: 12,
  },
  // 6.8: five- and six-byte forms (not UTF-8 since RFC 3629).
  { name: "6.8.1 five-byte form F8 88 80 80 80", bytes: "f8 88 80 80 80", valid: false, failAt: 0 },
  {
    name: "6.8.2 six-byte form FC 84 80 80 80 80",
    bytes: "fc 84 80 80 80 80",
    valid: false,
    failAt: 0,
  },
  // 6.11: above U+10FFFF.
  { name: "6.11 U+110000 (F4 90 80 80)", bytes: "f4 90 80 80", valid: false, failAt: 1 },
  { name: "6.11 F5 lead byte", bytes: "f5 80 80 80", valid: false, failAt: 0 },
  { name: "6.11 F7 BF BF BF", bytes: "f7 bf bf bf", valid: false, failAt: 0 },
  // 6.12: unexpected continuation bytes.
  { name: "6.12.1 stray continuation 80", bytes: "80", valid: false, failAt: 0 },
  { name: "6.12.2 stray continuation BF", bytes: "bf", valid: false, failAt: 0 },
  { name: "6.12.3 80 BF", bytes: "80 bf", valid: false, failAt: 0 },
  {
    name: "6.12 continuation after a complete code point",
    bytes: "c2 80 80",
    valid: false,
    failAt: 2,
  },
  { name: "6.12 continuation after ASCII", bytes: "61 62 bf", valid: false, failAt: 2 },
  // 6.13: lonely start bytes followed by a space.
  { name: "6.13.1 C0 20", bytes: "c0 20", valid: false, failAt: 0 },
  { name: "6.13.1 C2 20", bytes: "c2 20", valid: false, failAt: 1 },
  { name: "6.13.2 E0 20", bytes: "e0 20", valid: false, failAt: 1 },
  { name: "6.13.3 F0 20", bytes: "f0 20", valid: false, failAt: 1 },
  // 6.14: sequences with the last continuation byte missing (only truncated: no fail index).
  { name: "6.14.2 E0 80 (overlong prefix)", bytes: "e0 80", valid: false, failAt: 1 },
  { name: "6.14.6 DF (truncated)", bytes: "df", valid: false },
  { name: "6.14.7 EF BF (truncated)", bytes: "ef bf", valid: false },
  { name: "6.14.8 F4 8F BF (truncated)", bytes: "f4 8f bf", valid: false },
  { name: "6.14 E1 80 (truncated)", bytes: "e1 80", valid: false },
  // 6.16: impossible bytes.
  { name: "6.16.1 FE", bytes: "fe", valid: false, failAt: 0 },
  { name: "6.16.2 FF", bytes: "ff", valid: false, failAt: 0 },
  { name: "6.16.3 FE FE FF FF", bytes: "fe fe ff ff", valid: false, failAt: 0 },
  // 6.17-6.19: overlong forms.
  { name: "6.17.1 overlong '/' C0 AF", bytes: "c0 af", valid: false, failAt: 0 },
  { name: "6.17.2 overlong '/' E0 80 AF", bytes: "e0 80 af", valid: false, failAt: 1 },
  { name: "6.17.3 overlong '/' F0 80 80 AF", bytes: "f0 80 80 af", valid: false, failAt: 1 },
  { name: "6.18.1 max overlong C1 BF", bytes: "c1 bf", valid: false, failAt: 0 },
  { name: "6.18.2 max overlong E0 9F BF", bytes: "e0 9f bf", valid: false, failAt: 1 },
  { name: "6.18.3 max overlong F0 8F BF BF", bytes: "f0 8f bf bf", valid: false, failAt: 1 },
  { name: "6.19.1 overlong NUL C0 80", bytes: "c0 80", valid: false, failAt: 0 },
  { name: "6.19.2 overlong NUL E0 80 80", bytes: "e0 80 80", valid: false, failAt: 1 },
  { name: "6.19.3 overlong NUL F0 80 80 80", bytes: "f0 80 80 80", valid: false, failAt: 1 },
  // 6.20-6.21: UTF-16 surrogates, single and paired.
  { name: "6.20.1 U+D800", bytes: "ed a0 80", valid: false, failAt: 1 },
  { name: "6.20.4 U+DB80", bytes: "ed ae 80", valid: false, failAt: 1 },
  { name: "6.20.7 U+DFFF", bytes: "ed bf bf", valid: false, failAt: 1 },
  {
    name: "6.21.1 U+D800 U+DC00 (CESU-8 pair)",
    bytes: "ed a0 80 ed b0 80",
    valid: false,
    failAt: 1,
  },
  // Bad continuation inside a sequence.
  { name: "E1 followed by ASCII", bytes: "e1 80 41", valid: false, failAt: 2 },
  { name: "F1 with a lead byte as third byte", bytes: "f1 80 c2 80", valid: false, failAt: 2 },
];

describe("Utf8Validator and isValidUtf8", () => {
  describe("Autobahn 6.x cases", () => {
    for (const c of CASES) {
      it(`${c.valid ? "accepts" : "refuses"} ${c.name}`, () => {
        const bytes = hex(c.bytes);
        assert.equal(isValidUtf8(bytes), c.valid);
        assert.equal(referenceValid(bytes), c.valid, "the reference decoder agrees");
        assert.equal(failIndexByteByByte(bytes), c.failAt ?? -1, "fails at the breaking byte");
      });
    }
  });

  it("accepts the empty input", () => {
    assert.equal(isValidUtf8(new Uint8Array(0)), true);
    const v = new Utf8Validator();
    assert.equal(v.push(new Uint8Array(0)), true);
    assert.equal(v.complete, true);
  });

  it("reports an unfinished code point as incomplete, and complete once it is finished", () => {
    const v = new Utf8Validator();
    assert.equal(v.push(hex("f0 9f")), true);
    assert.equal(v.complete, false);
    assert.equal(v.push(hex("98")), true);
    assert.equal(v.complete, false);
    assert.equal(v.push(hex("80")), true);
    assert.equal(v.complete, true);
  });

  it("validates only bytes[start..end) when given a range", () => {
    const bytes = hex("ff 61 e2 82 ac 62 ff");
    const v = new Utf8Validator();
    assert.equal(v.push(bytes, 1, 6), true);
    assert.equal(v.complete, true);
    assert.equal(new Utf8Validator().push(bytes, 0, 1), false);
    assert.equal(new Utf8Validator().push(bytes, 6), false);
    // A range that ends inside a code point leaves it pending.
    const w = new Utf8Validator();
    assert.equal(w.push(bytes, 1, 4), true);
    assert.equal(w.complete, false);
    assert.equal(w.push(bytes, 4, 5), true);
    assert.equal(w.complete, true);
  });

  it("forgets a pending sequence on reset()", () => {
    const v = new Utf8Validator();
    assert.equal(v.push(hex("e2 82")), true);
    v.reset();
    assert.equal(v.complete, true);
    // After reset, a continuation byte is a stray one.
    assert.equal(v.push(hex("ac")), false);
  });

  it("keeps the narrow second-byte range across pushes (E0, ED, F0, F4 split after the lead)", () => {
    const cases = [["e0", "80", "a0"], ["ed", "a0", "9f"], ["f0", "8f", "90"], ["f4", "90", "8f"]];
    for (const [lead, bad, good] of cases) {
      const refused = new Utf8Validator();
      assert.equal(refused.push(hex(lead)), true);
      assert.equal(refused.push(hex(bad)), false, `${lead} then ${bad}`);
      const accepted = new Utf8Validator();
      assert.equal(accepted.push(hex(lead)), true);
      assert.equal(accepted.push(hex(good)), true, `${lead} then ${good}`);
    }
  });

  it("gives the same verdict at every split point of multi-byte sequences", () => {
    const inputs = [
      ...CASES.map((c) => hex(c.bytes)),
      utf8("aé€😀b"),
      utf8("€😀€😀"),
    ];
    for (const bytes of inputs) {
      const whole = isValidUtf8(bytes);
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          assert.equal(verdictInPieces(bytes, [i, j]), whole, `${toHex(bytes)} cut at ${i}, ${j}`);
        }
      }
    }
  });

  it("restores the full continuation range once a code point split across pushes is done", () => {
    // The lead byte (E0, ED, F0, F4) narrows the next byte's range; after the code point is
    // finished in a later push that ends in ASCII, the following code points are unaffected.
    const cases: Array<[string, string, string]> = [
      ["f0", "9f 98 80 61", "e2 82 ac"], // 😀 a €: 82 is below F0's 90 lower bound
      ["f0", "90 80 80 20", "c3 80"], // U+10000, space, À
      ["ed", "9f bf 61", "c3 a9"], // U+D7FF a é: A9 is above ED's 9F upper bound
      ["f4", "8f bf bf 61", "e4 b8 ad"], // U+10FFFF a 中: B8 is above F4's 8F upper bound
      ["e0", "a0 80 61", "c2 80"], // U+0800 a U+0080 (E0's lower bound A0)
    ];
    for (const [first, second, third] of cases) {
      const v = new Utf8Validator();
      assert.equal(v.push(hex(first)), true);
      assert.equal(v.push(hex(second)), true);
      assert.equal(v.push(hex(third)), true, `${first} | ${second} | ${third}`);
      assert.equal(v.complete, true);
      assert.equal(isValidUtf8(hex(`${first} ${second} ${third}`)), true);
    }
  });

  it("gives the same verdict at every pair of split points of mixed text", () => {
    const bytes = utf8("a😀b€c\u{10ffff}dé\ue000f\ud7ffg\u0800hÀ中");
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        assert.equal(verdictInPieces(bytes, [i, j]), true, `cut at ${i}, ${j}`);
      }
    }
  });

  it("fails fast: the push that contains the bad byte returns false", () => {
    // A long valid prefix, then a surrogate: fed in 3 pushes, the middle one holds the bad byte.
    const prefix = utf8("κόσμε".repeat(20));
    const bytes = new Uint8Array([...prefix, 0xed, 0xa0, 0x80, ...utf8("tail")]);
    const bad = prefix.length + 1;
    const v = new Utf8Validator();
    assert.equal(v.push(bytes, 0, bad - 5), true);
    assert.equal(v.push(bytes, bad - 5, bad + 1), false);
  });

  it("matches TextDecoder (fatal) on long ASCII runs ending in a bad byte (the hot path)", () => {
    for (let n = 0; n < 40; n++) {
      const bytes = new Uint8Array(n + 1).fill(0x61);
      bytes[n] = 0x80;
      assert.equal(failIndexByteByByte(bytes), n);
      assert.equal(new Utf8Validator().push(bytes), false);
      assert.equal(new Utf8Validator().push(bytes, 0, n), true);
    }
  });

  describe("property tests against new TextDecoder('utf-8', { fatal: true })", () => {
    /** Bytes biased towards the interesting boundaries, so that valid sequences do occur. */
    const edgeByte = fc.oneof(
      fc.integer({ min: 0, max: 0x7f }),
      fc.constantFrom(0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf),
      fc.constantFrom(0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef),
      fc.constantFrom(0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf8, 0xfe, 0xff),
      fc.integer({ min: 0x80, max: 0xbf }),
    );
    const edgyBytes = fc.array(edgeByte, { maxLength: 64 }).map((a) => Uint8Array.from(a));
    const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 64 }), edgyBytes);

    it("agrees on validity of random byte arrays", () => {
      fc.assert(
        fc.property(anyBytes, (bytes) => {
          assert.equal(isValidUtf8(bytes), referenceValid(bytes), toHex(bytes));
        }),
        { numRuns: 2000 },
      );
    });

    it("fails on the same byte as the streaming reference decoder", () => {
      fc.assert(
        fc.property(anyBytes, (bytes) => {
          assert.equal(failIndexByteByByte(bytes), referenceFailIndex(bytes), toHex(bytes));
        }),
        { numRuns: 1000 },
      );
    });

    it("gives the same verdict for any chunking of random byte arrays", () => {
      fc.assert(
        fc.property(
          anyBytes,
          fc.array(fc.nat({ max: 64 }), { maxLength: 6 }),
          (bytes, points) => {
            const cuts = points.map((p) => p % (bytes.length + 1));
            assert.equal(verdictInPieces(bytes, cuts), referenceValid(bytes), toHex(bytes));
          },
        ),
        { numRuns: 1000 },
      );
    });

    it("accepts text mixing ASCII and narrow-range leads, in any chunking", () => {
      const mixed = fc.string({
        unit: fc.constantFrom("a", " ", "é", "€", "😀", "\ud7ff", "\u0800", "\u{10ffff}", "\ue000"),
        maxLength: 30,
      });
      fc.assert(
        fc.property(mixed, fc.array(fc.nat({ max: 200 }), { maxLength: 10 }), (text, points) => {
          const bytes = utf8(text);
          const cuts = points.map((p) => p % (bytes.length + 1));
          assert.equal(verdictInPieces(bytes, cuts), true, `${toHex(bytes)} cut at ${cuts}`);
        }),
        { numRuns: 1000 },
      );
    });

    it("accepts the UTF-8 encoding of any string, in any chunking", () => {
      fc.assert(
        fc.property(
          fc.string({ unit: "binary", maxLength: 40 }),
          fc.array(fc.nat({ max: 200 }), { maxLength: 5 }),
          (text, points) => {
            const bytes = utf8(text);
            assert.equal(isValidUtf8(bytes), true);
            const cuts = points.map((p) => p % (bytes.length + 1));
            assert.equal(verdictInPieces(bytes, cuts), true);
          },
        ),
        { numRuns: 500 },
      );
    });

    it("refuses a valid string truncated inside its last code point", () => {
      fc.assert(
        fc.property(
          fc.string({ unit: "binary", maxLength: 10 }),
          fc.integer({ min: 0x80, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff),
          (text, codePoint) => {
            const tail = utf8(String.fromCodePoint(codePoint));
            const bytes = new Uint8Array([...utf8(text), ...tail.subarray(0, tail.length - 1)]);
            const v = new Utf8Validator();
            assert.equal(v.push(bytes), true);
            assert.equal(v.complete, false);
            assert.equal(isValidUtf8(bytes), false);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});

/**
 * Runs `bytes` through a Utf8PieceValidator (whose bulk validator is `whole`) in pieces cut at
 * `cuts`; returns the text decoded at the end, or the index of the piece that failed (the end
 * counts as one more piece).
 */
function streamInPieces(
  bytes: Uint8Array,
  cuts: number[],
  whole?: WholeUtf8Validator,
): { text?: string; failedPiece?: number } {
  const points = [...new Set([0, ...cuts, bytes.length])].sort((a, b) => a - b);
  const v = new Utf8PieceValidator(whole);
  for (let i = 0; i + 1 < points.length; i++) {
    if (!v.push(bytes, points[i], points[i + 1])) return { failedPiece: i };
  }
  if (!v.complete) return { failedPiece: points.length - 1 };
  return { text: decodeValidUtf8(bytes) };
}

/** The bulk validators a Utf8PieceValidator is tried with: the core's own and node:buffer's. */
const WHOLE: Array<[string, WholeUtf8Validator | undefined]> = [
  ["the core's validator", undefined],
  ["node:buffer isUtf8", isUtf8],
];

/** The same with the reference: a fatal streaming TextDecoder. */
function referenceInPieces(
  bytes: Uint8Array,
  cuts: number[],
): { text?: string; failedPiece?: number } {
  const points = [...new Set([0, ...cuts, bytes.length])].sort((a, b) => a - b);
  const d = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let text = "";
  for (let i = 0; i + 1 < points.length; i++) {
    try {
      text += d.decode(bytes.subarray(points[i], points[i + 1]), { stream: true });
    } catch {
      return { failedPiece: i };
    }
  }
  try {
    return { text: text + d.decode() };
  } catch {
    return { failedPiece: points.length - 1 };
  }
}

const byte = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }),
  fc.constantFrom(0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xbd, 0xc0, 0xc2, 0xdf, 0xe0, 0xed),
  fc.constantFrom(0xef, 0xf0, 0xf4, 0xf5, 0xff),
);
/** Genuine U+FFFD (EF BF BD) and valid code points mixed with arbitrary bytes. */
const unit = fc.oneof(
  byte.map((b) => [b]),
  fc.constant([0xef, 0xbf, 0xbd]),
  fc.constantFrom("é", "€", "😀", "\u{10ffff}").map((c) => [...utf8(c)]),
);
const mixedBytes = fc.array(unit, { maxLength: 40 }).map((u) => Uint8Array.from(u.flat()));
const cuts = fc.array(fc.nat({ max: 160 }), { maxLength: 8 });

describe("decodeUtf8 (lenient decode, checked where U+FFFD appears)", () => {
  it("decodes valid text, a genuine U+FFFD and a leading BOM as they are", () => {
    for (const text of ["", "ASCII", "Привет мир", "\ufffd", "a\ufffdb\ufffd", "\ufeffBOM", "😀"]) {
      assert.equal(decodeUtf8(utf8(text)), text);
    }
  });

  it("refuses invalid bytes, the Autobahn 6.x cases among them", () => {
    for (const c of CASES) {
      assert.equal(decodeUtf8(hex(c.bytes)) !== undefined, c.valid, c.name);
    }
    // Invalid bytes next to a genuine U+FFFD (EF BF BD) are still refused.
    assert.equal(decodeUtf8(hex("ef bf bd ff")), undefined);
    assert.equal(decodeUtf8(hex("c0 af ef bf bd")), undefined);
  });

  it("agrees with the fatal decoder on whole inputs", () => {
    fc.assert(
      fc.property(mixedBytes, (b) => {
        assert.equal(decodeUtf8(b), referenceInPieces(b, []).text);
      }),
      { numRuns: 2000 },
    );
  });
});

for (const [name, whole] of WHOLE) {
  describe(`Utf8PieceValidator with ${name} (fails on the piece that holds the bad byte)`, () => {
    it("fails on the piece that holds the bad byte, when a genuine U+FFFD came before it", () => {
      const v = new Utf8PieceValidator(whole);
      const bytes = hex("ef bf bd 61 f0 9f 98 ff");
      assert.equal(v.push(bytes, 0, 5), true, "U+FFFD and 'a'; F0 waits");
      assert.equal(v.complete, false);
      assert.equal(v.push(bytes, 5, 7), true, "9F 98 continue the code point");
      assert.equal(v.push(bytes, 7, 8), false, "FF cannot finish it");
    });

    it("fails at once on a lead byte that cannot start a valid sequence, at a piece's end", () => {
      // E0 80 (overlong), ED A0 (a surrogate), F4 90 (above U+10FFFF), F5 and C0 (never valid).
      for (const tail of ["e0 80", "ed a0", "f4 90", "f5", "c0", "f0 80"]) {
        const bytes = hex(`61 62 ${tail}`);
        assert.equal(new Utf8PieceValidator(whole).push(bytes, 0, bytes.length), false, tail);
      }
    });

    it("accepts a genuine U+FFFD split across pieces and after an unfinished code point", () => {
      const bytes = utf8("€\ufffd😀\ufffd");
      for (let a = 0; a <= bytes.length; a++) {
        for (let b = a; b <= bytes.length; b++) {
          assert.deepEqual(
            streamInPieces(bytes, [a, b], whole),
            { text: "€\ufffd😀\ufffd" },
            `${a},${b}`,
          );
        }
      }
    });

    it("leaves a text that ends inside a code point incomplete; reset forgets it", () => {
      const v = new Utf8PieceValidator(whole);
      assert.equal(v.push(hex("61 e2 82"), 0, 3), true);
      assert.equal(v.complete, false);
      v.reset();
      assert.equal(v.push(utf8("ok"), 0, 2), true);
      assert.equal(v.complete, true);
    });

    it("gives the same text, or fails on the same piece, as a fatal streaming TextDecoder", () => {
      fc.assert(
        fc.property(mixedBytes, cuts, (b, c) => {
          const points = c.map((p) => p % (b.length + 1));
          assert.deepEqual(streamInPieces(b, points, whole), referenceInPieces(b, points));
        }),
        { numRuns: 2000 },
      );
    });
  });
}
