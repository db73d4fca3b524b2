/**
 * Tests of `src/core/inflate.ts`: the synchronous raw-DEFLATE decompressor (RFC 1951) behind
 * permessage-deflate: every block type, every length and distance code, long Huffman codes, the
 * window kept across messages (RFC 7692 context takeover), the output limit, and corrupt input.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { InflateError, Inflater } from "../../src/core/inflate.ts";
import {
  DeflateWriter,
  expand,
  FIXED_DISTANCE_LENGTHS,
  fixedMessage,
  lz77,
  type Token,
  webDeflateRaw,
  withTail,
} from "../_util/core_deflate.ts";
import { assertBytes, concat, hex, latin1, patternBytes, utf8 } from "../_util/fixtures.ts";

/** Inflates one permessage-deflate payload (the 00 00 ff ff tail is restored first). */
function inflateMessage(inflater: Inflater, payload: Uint8Array, max = 1 << 24): Uint8Array {
  return inflater.inflate(withTail(payload), max);
}

/** Asserts `fn` throws an InflateError of `kind` (and, if given, a message matching `text`). */
function expectInflateError(fn: () => unknown, kind: "TOO_BIG" | "INVALID", text?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InflateError, `expected InflateError, got ${error}`);
    assert.equal(error.kind, kind, error.message);
    assert.equal(error.name, "InflateError");
    if (text) assert.match(error.message, text);
    return true;
  });
}

/** Text with enough repetition for matches, from a seed. */
function repetitiveText(size: number, seed: number): Uint8Array {
  const words = ["alpha ", "beta ", "gamma ", "δέλτα ", "эпсилон ", "\n", "zeta-zeta ", "😀 "];
  const pick = patternBytes(size, seed);
  const out: number[] = [];
  for (let i = 0; out.length < size; i++) out.push(...utf8(words[pick[i % size] % words.length]));
  return Uint8Array.from(out.slice(0, size));
}

/**
 * Code lengths 1, 2, ..., 14, 15, 15 for 16 `symbols` (a complete code: 1 - 2^-15 + 2^-15), in
 * an array of `size` lengths.
 */
function staircase(symbols: readonly number[], size: number): number[] {
  assert.equal(symbols.length, 16);
  const lengths = new Array(size).fill(0);
  symbols.forEach((s, i) => (lengths[s] = Math.min(i + 1, 15)));
  return lengths;
}

describe("Inflater", () => {
  describe("RFC 7692 §7.2.3 examples", () => {
    it("inflates 'Hello' compressed (§7.2.3.1): f2 48 cd c9 c9 07 00", () => {
      const out = inflateMessage(new Inflater(), hex("f2 48 cd c9 c9 07 00"));
      assert.equal(new TextDecoder().decode(out), "Hello");
    });

    it("shares the LZ77 window between messages (§7.2.3.2): the second 'Hello' is f2 00 11 00 00", () => {
      const inflater = new Inflater();
      const first = inflateMessage(inflater, hex("f2 48 cd c9 c9 07 00"));
      const second = inflateMessage(inflater, hex("f2 00 11 00 00"));
      assert.deepEqual([first, second], [latin1("Hello"), latin1("Hello")]);
    });

    it("inflates a block with no compression (§7.2.3.3)", () => {
      const out = inflateMessage(new Inflater(), hex("00 05 00 fa ff 48 65 6c 6c 6f 00"));
      assert.deepEqual(out, latin1("Hello"));
    });

    it("inflates a block with BFINAL set (§7.2.3.4) and ignores what follows it", () => {
      const out = inflateMessage(new Inflater(), hex("f3 48 cd c9 c9 07 00 00"));
      assert.deepEqual(out, latin1("Hello"));
    });

    it("inflates two DEFLATE blocks in one message (§7.2.3.5)", () => {
      const payload = hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00");
      assert.deepEqual(inflateMessage(new Inflater(), payload), latin1("Hello"));
    });
  });

  describe("stored blocks (RFC 1951 §3.2.4)", () => {
    it("inflates stored blocks of 0, 1 and 65535 bytes, alone and in sequence", () => {
      for (const length of [0, 1, 100, 65535]) {
        const data = patternBytes(length, length + 1);
        const payload = new DeflateWriter().stored(data).message();
        assertBytes(inflateMessage(new Inflater(), payload), data, `${length} bytes`);
      }
      const data = patternBytes(200_000, 3);
      const payload = new DeflateWriter().storedAll(data).message();
      assertBytes(inflateMessage(new Inflater(), payload), data, "200,000 bytes in 4 blocks");
    });

    it("gives back whole bytes already read into the bit buffer before a stored block", () => {
      // A fixed block ending mid-byte, then a stored block: the stored header starts at the next
      // byte boundary.
      const payload = new DeflateWriter().fixed([0x41, 0x42]).stored(latin1("CD")).fixed([0x45])
        .message();
      assert.deepEqual(inflateMessage(new Inflater(), payload), latin1("ABCDE"));
    });
  });

  describe("fixed Huffman blocks (RFC 1951 §3.2.6)", () => {
    it("inflates every literal byte 0..255", () => {
      const tokens = Array.from({ length: 256 }, (_, i) => i);
      const payload = new DeflateWriter().fixed(tokens).message();
      assertBytes(inflateMessage(new Inflater(), payload), Uint8Array.from(tokens));
    });

    it("inflates every match length 3..258 (all length codes and extra bits)", () => {
      const tokens: Token[] = [0x61, 0x62, 0x63, 0x64];
      for (let length = 3; length <= 258; length++) tokens.push([length, 4], 0x7a);
      const payload = new DeflateWriter().fixed(tokens).message();
      assertBytes(inflateMessage(new Inflater(), payload), expand(tokens));
    });

    it("inflates every distance code 0..29 at both ends of its range, up to 32768", () => {
      const history = patternBytes(32768, 7);
      const bases = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513];
      const more = [769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577, 32769];
      const distances = [...bases, ...more].flatMap((b) => [b - 1, b]).filter((d) =>
        d >= 1 && d <= 32768
      );
      const tokens: Token[] = distances.map((d) => [3 + (d % 256), d] as const);
      const writer = new DeflateWriter().storedAll(history);
      const payload = writer.fixed(tokens).message();
      const expected = concat(history, expand(tokens, history));
      assertBytes(inflateMessage(new Inflater(), payload), expected);
    });

    it("copies overlapping matches as the format defines (runs and short periods)", () => {
      const cases: Token[][] = [
        [0x78, [258, 1], [258, 1]], // a run of one byte (the bomb shape)
        [0x61, 0x62, [258, 2]], // period 2
        [0x61, 0x62, 0x63, 0x64, 0x65, [100, 5]], // period 5, long
        [0x61, 0x62, 0x63, [20, 3]], // short match (byte loop)
        [...latin1("0123456789abcdefghijklmnopqrstuvwxyz+-"), [33, 38]], // distance >= length >= 32
      ];
      for (const tokens of cases) {
        const payload = new DeflateWriter().fixed(tokens).message();
        assertBytes(
          inflateMessage(new Inflater(), payload),
          expand(tokens),
          JSON.stringify(tokens),
        );
      }
    });

    it("inflates LZ77 output of text and of random bytes split over many blocks", () => {
      for (const data of [repetitiveText(50_000, 1), patternBytes(30_000, 2)]) {
        const payload = fixedMessage(data, undefined, undefined, 1000);
        assertBytes(inflateMessage(new Inflater(), payload), data);
      }
    });
  });

  describe("dynamic Huffman blocks (RFC 1951 §3.2.7)", () => {
    /** "abc" + end of block: four 2-bit codes; one distance code. */
    const abcLiterals = (() => {
      const l = new Array(257).fill(0);
      l[0x61] =
        l[0x62] =
        l[0x63] =
        l[256] =
          2;
      return l;
    })();

    it("inflates a hand-built dynamic block", () => {
      const payload = new DeflateWriter().dynamic(abcLiterals, [1], [0x61, 0x62, 0x63]).message();
      assert.deepEqual(inflateMessage(new Inflater(), payload), latin1("abc"));
    });

    it("reads code lengths written with the repeat codes 16, 17 and 18", () => {
      // a, b, c, d get 3 bits and end-of-block 1 bit (4/8 + 1/2: a complete code).
      const lengths = new Array(257).fill(0);
      for (const c of latin1("abcd")) lengths[c] = 3;
      lengths[256] = 1;
      const symbols: Array<readonly [number, number?]> = [
        [18, 86], // 11 + 86 = 97 zeros: symbols 0..96
        [3], // 'a'
        [16, 0], // the previous length 3 more times: 'b', 'c', 'd'
        [18, 127], // 138 zeros: 101..238
        [17, 7], // 10 zeros: 239..248
        [17, 4], // 7 zeros: 249..255
        [1], // end of block
        [1], // the one distance code
      ];
      const payload = new DeflateWriter()
        .dynamic(lengths, [1], [...latin1("dacb")], false, { symbols })
        .message();
      assert.deepEqual(inflateMessage(new Inflater(), payload), latin1("dacb"));
    });

    it("decodes codes longer than the 10-bit lookup table (up to 15 bits)", () => {
      // Literal/length symbols get 1- to 15-bit codes ('l', 'u', the length codes 257-259 and
      // end of block take the slow path); distance codes get 1 to 15 bits too.
      const lengths = staircase([...latin1("etaoinshrdlu"), 257, 258, 259, 256], 260);
      const text = [...latin1("feet of mud, a pacemaker: poet")].filter((c) => lengths[c] > 0);
      const distances = staircase([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], 16);
      // Distance codes 11 to 15 need 12 to 15 bits.
      const tokens: Token[] = [...text, [3, 49], [4, 65], [5, 97], [3, 129], [4, 200], [5, 3]];
      const history = patternBytes(200, 9);
      const payload = new DeflateWriter().stored(history).dynamic(lengths, distances, tokens)
        .message();
      assertBytes(
        inflateMessage(new Inflater(), payload),
        concat(history, expand(tokens, history)),
      );
    });

    it("accepts a block whose distance code is empty (literals only)", () => {
      const payload = new DeflateWriter().dynamic(abcLiterals, [0], [0x63, 0x61]).message();
      assert.deepEqual(inflateMessage(new Inflater(), payload), latin1("ca"));
    });

    it("inflates zlib's dynamic block and its follow-up message from the same context", () => {
      // Made with node:zlib createDeflateRaw({ level: 9 }) and Z_SYNC_FLUSH after each message.
      const text = "The quick brown fox jumps over the lazy dog. " +
        "Съешь же ещё этих мягких французских булок, да выпей чаю. ";
      const first = hex(
        "ecced911c1600045e1566e01463569c012620d21b627c4be8e127410cb6f89ad857b3b326314a0008fe73c7d" +
          "9663a3eae75205243db75946c66d21ef972a35b80ddb43ddb1514c74da48bbd938b8d58c46132dc0130d68" +
          "34d5065aaacf8b86e05d6b1e187d42037519f2a191029ed5fb6eee14f0c627a318786408ee35e78b865768" +
          "cc50ab38ac3fea47d41b",
      );
      const second = hex("0a41b255a1382735b5a0d81aec14ec2e4d4c4fcccc1ba45e0100");
      const inflater = new Inflater();
      assert.equal(new TextDecoder().decode(inflateMessage(inflater, first)), text.repeat(3));
      assert.equal(
        new TextDecoder().decode(inflateMessage(inflater, second)),
        "The lazy dog sleeps; the quick brown fox jumps again. " + text,
      );
    });

    it("inflates what CompressionStream('deflate-raw') produces, for varied inputs", async () => {
      const inputs = [
        new Uint8Array(0),
        latin1("a"),
        repetitiveText(1000, 3),
        patternBytes(5000, 4),
        repetitiveText(300_000, 5),
        new Uint8Array(1_000_000),
      ];
      for (const data of inputs) {
        const compressed = await webDeflateRaw(data);
        // A final-block stream is a valid permessage-deflate payload (RFC 7692 §7.2.3.4).
        assertBytes(inflateMessage(new Inflater(), compressed, 2_000_000), data, `${data.length}`);
      }
    });

    it("inflates CompressionStream output of random inputs (fast-check)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 3000 }),
            fc.tuple(fc.nat({ max: 20_000 }), fc.nat()).map(([n, s]) => repetitiveText(n, s)),
            fc.string({ unit: "grapheme", maxLength: 300 }).map(utf8),
          ),
          async (data) => {
            const compressed = await webDeflateRaw(data);
            assertBytes(inflateMessage(new Inflater(), compressed), data);
          },
        ),
        { numRuns: 150 },
      );
    });
  });

  describe("context takeover (RFC 7692 §7.2.2)", () => {
    it("resolves references into earlier messages, for messages of every size", () => {
      const inflater = new Inflater();
      let history: Uint8Array = new Uint8Array(0);
      // Small, medium and large messages exercise every way the history is kept.
      for (const [i, size] of [10, 5000, 40_000, 300_000, 100, 70_000, 3, 400_000, 50].entries()) {
        const data = repetitiveText(size, i + 1);
        const payload = fixedMessage(data, history.subarray(-32768));
        assertBytes(inflateMessage(inflater, payload), data, `message ${i} of ${size} bytes`);
        history = concat(history.subarray(-32768), data);
      }
    });

    it("resolves references reaching back exactly 32768 bytes across messages", () => {
      const inflater = new Inflater();
      const first = patternBytes(32768, 11);
      inflateMessage(inflater, new DeflateWriter().storedAll(first).message());
      const tokens: Token[] = [[258, 32768], [10, 1], [3, 32768 - 5]];
      const payload = new DeflateWriter().fixed(tokens).message();
      assertBytes(inflateMessage(inflater, payload), expand(tokens, first));
    });

    it("round-trips random message sequences that refer back into earlier ones (fast-check)", () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({ size: fc.oneof(fc.nat(300), fc.nat(40_000)), seed: fc.nat() }),
            { minLength: 1, maxLength: 8 },
          ),
          fc.constantFrom(9, 12, 15),
          (messages, windowBits) => {
            const window = 1 << windowBits;
            const inflater = new Inflater(windowBits);
            let history: Uint8Array = new Uint8Array(0);
            for (const { size, seed } of messages) {
              const data = repetitiveText(size, seed);
              const payload = fixedMessage(data, history.subarray(-window), window);
              assertBytes(inflateMessage(inflater, payload), data);
              history = concat(history.subarray(-window), data);
            }
          },
        ),
        { numRuns: 30 },
      );
    });

    it("without context takeover, refuses a reference into the previous message", () => {
      const inflater = new Inflater(15, false);
      assert.deepEqual(inflateMessage(inflater, hex("f2 48 cd c9 c9 07 00")), latin1("Hello"));
      expectInflateError(
        () => inflateMessage(inflater, hex("f2 00 11 00 00")),
        "INVALID",
        /distance too far back/,
      );
      // Self-contained messages still decode.
      assert.deepEqual(inflateMessage(inflater, hex("f2 48 cd c9 c9 07 00")), latin1("Hello"));
    });

    it("forgets the history on reset()", () => {
      const inflater = new Inflater();
      inflateMessage(inflater, hex("f2 48 cd c9 c9 07 00"));
      inflater.reset();
      expectInflateError(() => inflateMessage(inflater, hex("f2 00 11 00 00")), "INVALID");
    });

    it("returns a fresh array: changing a result does not change later messages", () => {
      const inflater = new Inflater();
      const first = inflateMessage(inflater, hex("f2 48 cd c9 c9 07 00"));
      first.fill(0);
      assert.deepEqual(inflateMessage(inflater, hex("f2 00 11 00 00")), latin1("Hello"));
    });

    it("does not modify its input", () => {
      const input = withTail(hex("f2 48 cd c9 c9 07 00"));
      const copy = input.slice();
      new Inflater().inflate(input, 100);
      assert.deepEqual(input, copy);
    });
  });

  describe("the output limit (compression bombs)", () => {
    const limitCases: Array<[string, Uint8Array]> = [
      ["literals", new DeflateWriter().fixed([...latin1("0123456789")]).message()],
      ["a match", new DeflateWriter().fixed([0x61, [9, 1]]).message()],
      ["a stored block", new DeflateWriter().stored(latin1("0123456789")).message()],
    ];
    for (const [what, payload] of limitCases) {
      it(`allows exactly maxOutput bytes and refuses one more, for ${what}`, () => {
        assert.equal(inflateMessage(new Inflater(), payload, 10).length, 10);
        expectInflateError(() => inflateMessage(new Inflater(), payload, 9), "TOO_BIG");
      });
    }

    it("stops a 100 MB bomb at a 1 MiB limit", () => {
      // 'a', then 390,000 matches of 258 bytes at distance 1: 13 bits each, 630 KB of input.
      const bomb = new DeflateWriter().header(false, 1).fixedSymbol(0x61);
      for (let i = 0; i < 390_000; i++) bomb.fixedSymbol(285).fixedDistance(0);
      bomb.fixedSymbol(256);
      expectInflateError(() => inflateMessage(new Inflater(), bomb.message(), 1 << 20), "TOO_BIG");
    });

    it("counts the limit per message, not including the history", () => {
      const inflater = new Inflater();
      const payload = new DeflateWriter().fixed([0x61, [99, 1]]).message();
      for (let i = 0; i < 5; i++) assert.equal(inflateMessage(inflater, payload, 100).length, 100);
    });

    it("forgets the history after a refused message", () => {
      const inflater = new Inflater();
      inflateMessage(inflater, hex("f2 48 cd c9 c9 07 00"));
      const big = new DeflateWriter().fixed([0x61, [258, 1]]).message();
      expectInflateError(() => inflateMessage(inflater, big, 100), "TOO_BIG");
      expectInflateError(() => inflateMessage(inflater, hex("f2 00 11 00 00")), "INVALID");
    });
  });

  describe("corrupt data (InflateError INVALID)", () => {
    const abc = (() => {
      const l = new Array(257).fill(0);
      l[0x61] =
        l[0x62] =
        l[0x63] =
        l[256] =
          2;
      return l;
    })();
    const cases: Array<[string, Uint8Array, RegExp]> = [
      [
        "reserved block type 3",
        new DeflateWriter().header(false, 3).bits(0, 13).bytes(),
        /reserved block type/,
      ],
      [
        "a stored block whose NLEN is not the complement of LEN",
        new DeflateWriter().stored(latin1("abc"), false, 0x1234).message(),
        /length check/,
      ],
      [
        "a truncated stored block header",
        new DeflateWriter().header(false, 0).align().raw([5, 0]).bytes(),
        /truncated stored block header/,
      ],
      [
        "a stored block shorter than its LEN",
        new DeflateWriter().header(false, 0).align().raw([9, 0, 0xf6, 0xff, 1, 2]).bytes(),
        /truncated stored block/,
      ],
      [
        "a fixed block cut before its end-of-block code",
        new DeflateWriter().header(false, 1).fixedSymbol(0x61).fixedSymbol(0x62).bytes(),
        /unexpected end of data/,
      ],
      [
        "a match before any output (distance too far back)",
        new DeflateWriter().fixed([[3, 1]]).message(),
        /distance too far back/,
      ],
      [
        "a match reaching one byte before the output",
        new DeflateWriter().fixed([0x61, 0x62, [3, 3]]).message(),
        /distance too far back/,
      ],
      [
        "the invalid length code 286",
        new DeflateWriter().header(false, 1).fixedSymbol(0x61).fixedSymbol(286).bits(0, 16).bytes(),
        /invalid length code/,
      ],
      [
        "the invalid length code 287",
        new DeflateWriter().header(false, 1).fixedSymbol(0x61).fixedSymbol(287).bits(0, 16).bytes(),
        /invalid length code/,
      ],
      [
        "the invalid distance code 30",
        new DeflateWriter().header(false, 1).fixedSymbol(0x61).fixedSymbol(257).fixedDistance(30)
          .bits(0, 16).bytes(),
        /invalid (distance|Huffman) code/,
      ],
      [
        "the invalid distance code 31",
        new DeflateWriter().header(false, 1).fixedSymbol(0x61).fixedSymbol(257).fixedDistance(31)
          .bits(0, 16).bytes(),
        /invalid (distance|Huffman) code/,
      ],
      [
        "a dynamic header with 287 literal/length codes",
        new DeflateWriter().dynamic(abc, [1], [], false, { hlit: 30 }).message(),
        /too many length or distance codes/,
      ],
      [
        "a dynamic header with 31 distance codes",
        new DeflateWriter().dynamic(abc, [1], [], false, { hdist: 30 }).message(),
        /too many length or distance codes/,
      ],
      [
        "an over-subscribed code-length code",
        new DeflateWriter().dynamic(abc, [1], [], false, { clenLengths: new Array(19).fill(1) })
          .message(),
        /invalid code length code/,
      ],
      [
        "a repeat code (16) with no previous length",
        new DeflateWriter().dynamic(abc, [1], [], false, { symbols: [[16, 0]] }).bits(0, 32)
          .message(),
        /repeat with no previous length/,
      ],
      [
        "code lengths repeated past the declared count",
        new DeflateWriter().dynamic(abc, [1], [], false, { symbols: [[18, 127], [18, 127]] })
          .bits(0, 32).message(),
        /too many code lengths/,
      ],
      [
        "a literal code without the end-of-block symbol",
        new DeflateWriter().dynamic(
          abc,
          [1],
          [],
          false,
          { symbols: [[18, 86], [2], [2], [2], [18, 127], [18, 8], [1]] },
        ).bits(0, 32).message(),
        /no end-of-block code/,
      ],
      [
        "an over-subscribed literal/length code",
        new DeflateWriter().dynamic(
          abc,
          [1],
          [],
          false,
          { symbols: [[18, 86], [1], [1], [1], [18, 127], [18, 7], [1], [1]] },
        ).bits(0, 32).message(),
        /invalid literal\/length or distance code/,
      ],
    ];
    for (const [what, payload, message] of cases) {
      it(`refuses ${what}`, () => {
        expectInflateError(() => new Inflater().inflate(payload, 1 << 20), "INVALID", message);
      });
    }

    it("forgets the history after corrupt data", () => {
      const inflater = new Inflater();
      inflateMessage(inflater, hex("f2 48 cd c9 c9 07 00"));
      expectInflateError(() => inflateMessage(inflater, hex("ff ff ff")), "INVALID");
      expectInflateError(() => inflateMessage(inflater, hex("f2 00 11 00 00")), "INVALID");
    });

    it("never throws anything but InflateError on random bytes (fast-check)", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, tail) => {
          try {
            new Inflater().inflate(tail ? withTail(bytes) : bytes, 100_000);
          } catch (error) {
            assert.ok(error instanceof InflateError, String(error));
          }
        }),
        { numRuns: 3000 },
      );
    });

    it("never throws anything but InflateError on mutated valid streams (fast-check)", () => {
      const valid = fixedMessage(repetitiveText(2000, 1));
      fc.assert(
        fc.property(fc.nat(), fc.nat({ max: 255 }), fc.nat(), (at, value, cut) => {
          const bytes = valid.slice(0, valid.length - (cut % 10));
          bytes[at % bytes.length] ^= value || 1;
          try {
            inflateMessage(new Inflater(), bytes, 100_000);
          } catch (error) {
            assert.ok(error instanceof InflateError, String(error));
          }
        }),
        { numRuns: 2000 },
      );
    });
  });

  it("uses the fixed distance code lengths of RFC 1951 (sanity check of the test writer)", () => {
    assert.equal(FIXED_DISTANCE_LENGTHS.length, 32);
    assert.deepEqual(expand(lz77(latin1("abcabcabcabc"))), latin1("abcabcabcabc"));
  });
});
