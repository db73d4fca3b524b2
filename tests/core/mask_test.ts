/**
 * Tests of `src/core/mask.ts`: `applyMask` (RFC 6455 §5.3 masking, 32 bits at a time on the
 * aligned middle), `copyMasked` (the copy and the mask in one pass) and `MaskKeyPool` (keys from an injected random source, refilled 8 KiB at a time).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  applyMask,
  applyMaskWords,
  copyMasked,
  MaskKeyPool,
  sharedMaskKeyPool,
  webCryptoRandom,
} from "../../src/core/mask.ts";
import { assertBytes, counterRandom, hex, openClient, patternBytes } from "../_util/fixtures.ts";

/** RFC 6455 §5.3: octet i is XORed with key octet (i MOD 4). The reference, one byte at a time. */
function naiveMask(data: Uint8Array, key: Uint8Array, keyAt = 0, start = 0, end = data.length) {
  const out = data.slice();
  for (let i = start; i < end; i++) out[i] ^= key[keyAt + ((i - start) % 4)];
  return out;
}

/** `length` pattern bytes placed at `byteOffset` inside a larger buffer (to test alignment). */
function viewAt(length: number, byteOffset: number, seed: number): Uint8Array {
  const backing = new Uint8Array(byteOffset + length + 8).fill(0xee);
  const view = backing.subarray(byteOffset, byteOffset + length);
  view.set(patternBytes(length, seed));
  return view;
}

const KEY = hex("37 fa 21 3d");
const LENGTHS = [
  ...Array.from({ length: 301 }, (_, i) => i),
  1000,
  1023,
  4096,
  65535,
  65536,
  65537,
  100_003,
];

describe("applyMask", () => {
  it("masks RFC 6455 §5.7's 'Hello' with key 37 fa 21 3d into 7f 9f 4d 51 58", () => {
    const data = new TextEncoder().encode("Hello");
    applyMask(data, KEY);
    assert.deepEqual(data, hex("7f 9f 4d 51 58"));
  });

  it("equals the naive byte loop for lengths 0..300 and large sizes at byte offsets 0..7", () => {
    for (const length of LENGTHS) {
      for (let offset = 0; offset < 8; offset++) {
        const data = viewAt(length, offset, length * 8 + offset + 1);
        const expected = naiveMask(data, KEY);
        applyMask(data, KEY);
        assertBytes(data, expected, `length ${length}, byteOffset ${offset}`);
      }
    }
  });

  it("touches no byte outside the view it is given", () => {
    for (const length of [0, 3, 63, 64, 65, 200, 4099]) {
      for (let offset = 0; offset < 8; offset++) {
        const data = viewAt(length, offset, 7);
        applyMask(data, KEY);
        const backing = new Uint8Array(data.buffer);
        for (let i = 0; i < offset; i++) assert.equal(backing[i], 0xee, `before, offset ${offset}`);
        for (let i = offset + length; i < backing.length; i++) {
          assert.equal(backing[i], 0xee, `after, length ${length} offset ${offset}`);
        }
      }
    }
  });

  it("masks only data[start..end), starting with the first key byte at start", () => {
    for (const length of [10, 70, 300, 1025]) {
      for (let offset = 0; offset < 4; offset++) {
        for (const [start, end] of [[0, length], [1, length], [3, length - 2], [5, 9], [7, 7]]) {
          const data = viewAt(length, offset, start * 31 + end);
          const expected = naiveMask(data, KEY, 0, start, end);
          applyMask(data, KEY, 0, start, end);
          assert.deepEqual(data, expected, `length ${length} offset ${offset} [${start}, ${end})`);
        }
      }
    }
  });

  it("reads the key at keyAt, even when the key lies inside the data being masked", () => {
    // This is how encodeFrame uses it: key and payload in one buffer.
    for (const length of [5, 64, 200]) {
      const frame = new Uint8Array(6 + length);
      frame.set(KEY, 2);
      frame.set(patternBytes(length, 3), 6);
      const expected = naiveMask(frame, frame, 2, 6, frame.length);
      applyMask(frame, frame, 2, 6, frame.length);
      assert.deepEqual(frame, expected);
      assert.deepEqual(frame.subarray(2, 6), KEY, "the key itself is untouched");
    }
  });

  it("is its own inverse (involution), for random data, keys, offsets and ranges", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.nat({ max: 7 }),
        fc.nat(),
        fc.nat(),
        (original, key, offset, a, b) => {
          const data = viewAt(original.length, offset, 1);
          data.set(original);
          const start = a % (original.length + 1);
          const end = start + (b % (original.length - start + 1));
          const expected = naiveMask(data, key, 0, start, end);
          applyMask(data, key, 0, start, end);
          assert.deepEqual(data, expected);
          applyMask(data, key, 0, start, end);
          assert.deepEqual(data, original);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("with an all-zero key leaves the data unchanged", () => {
    const data = patternBytes(500, 9);
    const copy = data.slice();
    applyMask(data, new Uint8Array(4));
    assert.deepEqual(data, copy);
  });
});

describe("MaskKeyPool", () => {
  it("hands out keys from the injected random source, in order", () => {
    const random = counterRandom();
    const pool = new MaskKeyPool(random);
    const dst = new Uint8Array(12);
    pool.writeKey(dst, 0);
    pool.writeKey(dst, 4);
    pool.writeKey(dst, 8);
    assert.deepEqual(dst, hex("00 01 02 03 04 05 06 07 08 09 0a 0b"));
  });

  it("writes the key at the given offset and nowhere else", () => {
    const pool = new MaskKeyPool(counterRandom(0x40));
    const dst = new Uint8Array(8).fill(0xee);
    pool.writeKey(dst, 3);
    assert.deepEqual(dst, hex("ee ee ee 40 41 42 43 ee"));
  });

  it("fills 8 KiB lazily and refills after 8 KiB / 4 = 2048 keys", () => {
    const random = counterRandom();
    const pool = new MaskKeyPool(random);
    assert.deepEqual(random.calls, [], "no randomness is drawn before the first key");
    const dst = new Uint8Array(4);
    pool.writeKey(dst, 0);
    assert.deepEqual(random.calls, [8192]);
    for (let k = 1; k < 2048; k++) pool.writeKey(dst, 0);
    assert.equal(random.calls.length, 1, "2048 keys come from one fill");
    // Key 2047 is bytes 8188..8191 of the first fill: (8188 & 0xff) = 0xfc.
    assert.deepEqual(dst, hex("fc fd fe ff"));
    pool.writeKey(dst, 0);
    assert.deepEqual(random.calls, [8192, 8192], "key 2049 triggers the second fill");
    // The counter continues at 8192 & 0xff = 0.
    assert.deepEqual(dst, hex("00 01 02 03"));
  });

  it("uses Web Crypto by default and produces keys that differ", () => {
    const pool = new MaskKeyPool();
    const seen = new Set<string>();
    const dst = new Uint8Array(4);
    for (let k = 0; k < 64; k++) {
      pool.writeKey(dst, 0);
      seen.add(dst.join(","));
    }
    // 64 random 32-bit keys colliding down to fewer than 60 distinct ones is ~1e-12 likely.
    assert.ok(seen.size >= 60, `only ${seen.size} distinct keys out of 64`);
  });
});

describe("webCryptoRandom", () => {
  it("fills buffers larger than the 65,536-byte getRandomValues limit completely", () => {
    const buffer = new Uint8Array(65536 * 2 + 10);
    webCryptoRandom(buffer);
    // Each 4 KiB stretch being all zero after filling has probability 2^-32768.
    for (let at = 0; at < buffer.length; at += 4096) {
      const piece = buffer.subarray(at, Math.min(buffer.length, at + 4096));
      assert.ok(piece.some((b) => b !== 0), `bytes ${at}.. were left unfilled`);
    }
    assert.ok(buffer.subarray(buffer.length - 10).some((b) => b !== 0), "the tail was filled");
  });
});

describe("applyMaskWords", () => {
  it("masks as applyMask does, for every start alignment, length and key position", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 8 }),
        (start, length, keyAt) => {
          const buffer = patternBytes(512, start + length);
          const words = new Uint32Array(buffer.buffer);
          const key = patternBytes(12, keyAt + 1);
          const expected = buffer.slice();
          applyMask(expected, key, keyAt, start, start + length);
          applyMaskWords(buffer, words, key, keyAt, start, start + length);
          assertBytes(buffer, expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("copyMasked", () => {
  it("writes what copying and then masking writes, for every pair of alignments and lengths", () => {
    for (const length of LENGTHS) {
      for (let srcOffset = 0; srcOffset < 4; srcOffset++) {
        for (let dstAt = 0; dstAt < 8; dstAt++) {
          const src = viewAt(length, srcOffset, length + srcOffset);
          const before = src.slice();
          const dst = new Uint8Array(length + 16).fill(0xee);
          const key = patternBytes(8, dstAt + 1);
          copyMasked(dst, dstAt, src, key, 2);
          const expected = new Uint8Array(length + 16).fill(0xee);
          expected.set(src, dstAt);
          assertBytes(dst, naiveMask(expected, key, 2, dstAt, dstAt + length), `${length}`);
          assertBytes(src, before, "the source is not modified");
        }
      }
    }
  });

  it("reads the key from the destination itself, before the payload is written", () => {
    const frame = new Uint8Array(6 + 200);
    frame.set(KEY, 2);
    const src = patternBytes(200, 3);
    copyMasked(frame, 6, src, frame, 2);
    assertBytes(frame.subarray(6), naiveMask(src, KEY));
  });
});

describe("mask keys on the wire are uniform and unpredictable (statistics, RFC 6455 §10.3)", () => {
  /**
   * The chi-square quantile for `df` degrees of freedom at the standard normal quantile `z`
   * (Wilson–Hilferty; within 1% for df = 255). z = ±6.0 is a tail probability under 1e-9.
   */
  const chiSquareQuantile = (df: number, z: number) =>
    df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
  const HIGH = chiSquareQuantile(255, 6.0); // about 415
  const LOW = chiSquareQuantile(255, -6.0); // about 142: too even is not random either

  /** Mask keys of `count` frames written by a real ClientProtocol with the default source. */
  function wireKeys(count: number): Uint8Array {
    const client = openClient({ random: undefined }).client;
    const keys = new Uint8Array(count * 4);
    const payload = new Uint8Array(1);
    for (let k = 0; k < count; k++) {
      client.sendBinary(payload);
      const [frame] = client.takeWrites();
      // A 1-byte binary frame: 82 81, then the key at bytes 2..5.
      keys.set(frame.subarray(2, 6), k * 4);
    }
    return keys;
  }

  function chiSquare(bytes: Uint8Array, start: number, step: number): number {
    const counts = new Float64Array(256);
    let n = 0;
    for (let i = start; i < bytes.length; i += step, n++) counts[bytes[i]]++;
    const expected = n / 256;
    let x = 0;
    for (const c of counts) x += (c - expected) ** 2 / expected;
    return x;
  }

  it("100,000 keys: each byte position and all bytes pass a chi-square test at 1e-9", () => {
    const keys = wireKeys(100_000);
    const results = [
      ["all bytes", chiSquare(keys, 0, 1)],
      ...[0, 1, 2, 3].map((p) => [`byte ${p}`, chiSquare(keys, p, 4)] as const),
    ] as const;
    for (const [what, x] of results) {
      assert.ok(
        x > LOW && x < HIGH,
        `${what}: chi-square ${x.toFixed(1)} outside ${LOW.toFixed(0)}..${HIGH.toFixed(0)}`,
      );
    }
  });

  it("1,000,000 keys repeat about as often as the birthday bound says (no refill reused)", () => {
    // n random 32-bit keys give n(n-1)/2 / 2^32 equal pairs on average: 116.4 for n = 10^6,
    // Poisson, standard deviation 10.8. Outside 50..200 (6 deviations below, 7.7 above) has a
    // probability under 1e-9. A pool refill handed out twice would add 2,048 repeats; a counter
    // or other non-random source gives none.
    const n = 1_000_000;
    const pool = sharedMaskKeyPool();
    const bytes = new Uint8Array(4);
    const view = new DataView(bytes.buffer);
    const keys = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      pool.writeKey(bytes, 0);
      keys[k] = view.getUint32(0);
    }
    keys.sort();
    let repeats = 0;
    for (let k = 1; k < n; k++) if (keys[k] === keys[k - 1]) repeats++;
    assert.ok(repeats >= 50 && repeats <= 200, `${repeats} repeated keys (expected about 116)`);
  });
});
