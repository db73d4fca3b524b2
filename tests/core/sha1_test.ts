/**
 * Tests of `src/core/sha1.ts`: the synchronous SHA-1 (FIPS 180-4) used for `Sec-WebSocket-Accept`
 * (base64 is tested with the other byte helpers in `bytes_test.ts`).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { acceptFor } from "../../src/core/handshake.ts";
import { sha1 } from "../../src/core/sha1.ts";
import { latin1, patternBytes, toHex, utf8 } from "../_util/fixtures.ts";

/** The digest as a hex string without spaces, as FIPS examples print it. */
function sha1Hex(bytes: Uint8Array): string {
  return toHex(sha1(bytes)).replaceAll(" ", "");
}

describe("sha1", () => {
  it("hashes the FIPS 180 example 'abc'", () => {
    assert.equal(sha1Hex(latin1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  });

  it("hashes the empty message", () => {
    assert.equal(sha1Hex(new Uint8Array(0)), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  });

  it("hashes the FIPS 180 448-bit message (two blocks after padding)", () => {
    const message = latin1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
    assert.equal(message.length * 8, 448);
    assert.equal(sha1Hex(message), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  });

  it("hashes the FIPS 180 896-bit message", () => {
    const message = latin1(
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
    );
    assert.equal(sha1Hex(message), "a49b2446a02c645bf419f995b67091253a04a259");
  });

  it("hashes one million 'a' characters", () => {
    const message = new Uint8Array(1_000_000).fill(0x61);
    assert.equal(sha1Hex(message), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  });

  it("hashes 'The quick brown fox jumps over the lazy dog'", () => {
    assert.equal(
      sha1Hex(latin1("The quick brown fox jumps over the lazy dog")),
      "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
    );
  });

  it("agrees with Web Crypto's SHA-1 around every padding boundary (lengths 0..200)", async () => {
    for (let length = 0; length <= 200; length++) {
      const data = patternBytes(length, length + 1);
      const expected = new Uint8Array(
        await crypto.subtle.digest("SHA-1", data as Uint8Array<ArrayBuffer>),
      );
      assert.deepEqual(sha1(data), expected, `length ${length}`);
    }
  });

  it("agrees with Web Crypto's SHA-1 on random inputs", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (data) => {
        const expected = new Uint8Array(await crypto.subtle.digest("SHA-1", data));
        assert.deepEqual(sha1(data), expected);
      }),
      { numRuns: 100 },
    );
  });

  it("does not modify its input", () => {
    const data = patternBytes(100, 5);
    const copy = data.slice();
    sha1(data);
    assert.deepEqual(data, copy);
  });
});

describe("acceptFor (RFC 6455 §1.3, §4.2.2)", () => {
  it("turns the RFC 6455 §1.3 example key dGhlIHNhbXBsZSBub25jZQ== into s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", () => {
    assert.equal(acceptFor("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  it("is base64(SHA-1(key + GUID)) for other keys (checked against Web Crypto)", async () => {
    const key = "x3JJHMbDL1EzLkh9GBhXDw==";
    const digest = await crypto.subtle.digest(
      "SHA-1",
      utf8(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11") as Uint8Array<ArrayBuffer>,
    );
    assert.equal(acceptFor(key), btoa(String.fromCharCode(...new Uint8Array(digest))));
    // The well-known answer from the Wikipedia / MDN example.
    assert.equal(acceptFor(key), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
  });
});
