/**
 * Tests of `src/core/close.ts`: close payloads (RFC 6455 §5.5.1, §7.4), the codes and reasons an
 * application may send, and error messages cut to fit a close reason.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeClosePayload,
  parseClosePayload,
  truncateReason,
  validateCloseArguments,
} from "../../src/core/close.ts";
import { ArgumentError, ProtocolError } from "../../src/core/errors.ts";
import { closePayload, concat, hex, toHex, utf8 } from "../_util/fixtures.ts";

/** Asserts `fn` throws a ProtocolError with `code` and `closeCode`. */
function expectProtocolError(
  fn: () => unknown,
  code: ProtocolError["code"],
  closeCode: number,
): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${error}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.closeCode, closeCode);
    return true;
  });
}

/** Asserts `fn` throws an ArgumentError with `code`. */
function expectArgumentError(fn: () => unknown, code: ArgumentError["code"]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ArgumentError, `expected ArgumentError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

describe("close payloads (RFC 6455 §5.5.1)", () => {
  describe("encodeClosePayload", () => {
    it("writes the code as two big-endian bytes, then the UTF-8 reason", () => {
      assert.equal(toHex(encodeClosePayload(1000)), "03 e8");
      assert.equal(toHex(encodeClosePayload(1000, "bye")), "03 e8 62 79 65");
      assert.equal(toHex(encodeClosePayload(4999, "ü")), "13 87 c3 bc");
      assert.equal(toHex(encodeClosePayload(1002, "")), "03 ea");
    });

    it("writes an empty payload when there is no code or the code is 1005", () => {
      assert.equal(encodeClosePayload(undefined).length, 0);
      assert.equal(encodeClosePayload(1005).length, 0);
      assert.equal(encodeClosePayload(1005, "ignored").length, 0);
    });
  });

  describe("parseClosePayload", () => {
    it("reads an empty payload as 1005 with no reason", () => {
      assert.deepEqual(parseClosePayload(new Uint8Array(0)), { code: 1005, reason: "" });
    });

    it("reads code and reason, keeping a leading BOM in the reason", () => {
      assert.deepEqual(parseClosePayload(hex("03 e8")), { code: 1000, reason: "" });
      assert.deepEqual(parseClosePayload(closePayload(1001, "bye")), {
        code: 1001,
        reason: "bye",
      });
      assert.deepEqual(parseClosePayload(closePayload(3000, "\ufeffκόσμε")), {
        code: 3000,
        reason: "\ufeffκόσμε",
      });
    });

    it("refuses a 1-byte payload with INVALID_CLOSE_PAYLOAD and close code 1002", () => {
      expectProtocolError(() => parseClosePayload(hex("03")), "INVALID_CLOSE_PAYLOAD", 1002);
    });

    it("refuses codes that may not be sent (RFC 6455 §7.4) with INVALID_CLOSE_CODE, 1002", () => {
      for (
        const code of [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
      ) {
        expectProtocolError(
          () => parseClosePayload(closePayload(code)),
          "INVALID_CLOSE_CODE",
          1002,
        );
      }
    });

    it("accepts the defined codes 1000-1003, 1007-1014 and 3000-4999", () => {
      for (
        const code of [
          1000,
          1001,
          1002,
          1003,
          1007,
          1008,
          1009,
          1010,
          1011,
          1012,
          1013,
          1014,
          3000,
          3999,
          4000,
          4999,
        ]
      ) {
        assert.equal(parseClosePayload(closePayload(code, "r")).code, code);
      }
    });

    it("refuses a reason that is not valid UTF-8 with INVALID_CLOSE_REASON, close code 1007", () => {
      for (const bad of ["ff", "ed a0 80", "e2 82", "c0 af", "61 80", "f4 90 80 80"]) {
        expectProtocolError(
          () => parseClosePayload(closePayload(1000, hex(bad))),
          "INVALID_CLOSE_REASON",
          1007,
        );
      }
    });

    it("round-trips any valid code and reason of at most 123 bytes", () => {
      const code = fc.oneof(
        fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014),
        fc.integer({ min: 3000, max: 4999 }),
      );
      const reason = fc.string({ unit: "binary", maxLength: 30 }).filter((r) =>
        utf8(r).length <= 123
      );
      fc.assert(
        fc.property(code, reason, (c, r) => {
          const payload = encodeClosePayload(c, r);
          assert.deepEqual(
            payload,
            concat(
              hex((c >> 8).toString(16).padStart(2, "0")),
              hex(
                (c & 0xff).toString(16).padStart(2, "0"),
              ),
              utf8(r),
            ),
          );
          assert.deepEqual(parseClosePayload(payload), { code: c, reason: r });
        }),
        { numRuns: 300 },
      );
    });
  });
});

describe("validateCloseArguments (RFC 6455 §7.4)", () => {
  it("validateCloseArguments accepts 1000 and 3000-4999 with reasons up to 123 bytes", () => {
    validateCloseArguments(undefined, "");
    validateCloseArguments(1000, "");
    validateCloseArguments(3000, "x".repeat(123));
    validateCloseArguments(4999, "€".repeat(41));
    expectArgumentError(
      () => validateCloseArguments(1000, 5 as unknown as string),
      "INVALID_CLOSE_REASON",
    );
  });

  it("refuses codes an application may not send, and reasons without a code or too long", () => {
    for (
      const code of [0, 999, 1001, 1002, 1004, 1005, 1006, 1011, 1015, 2999, 5000, 1000.5, NaN]
    ) {
      expectArgumentError(() => validateCloseArguments(code, ""), "INVALID_CLOSE_CODE");
    }
    expectArgumentError(() => validateCloseArguments(undefined, "why"), "INVALID_CLOSE_REASON");
    expectArgumentError(
      () => validateCloseArguments(1000, "x".repeat(124)),
      "INVALID_CLOSE_REASON",
    );
    expectArgumentError(() => validateCloseArguments(1000, "€".repeat(42)), "INVALID_CLOSE_REASON");
  });
});

describe("truncateReason", () => {
  it("keeps a message of at most 123 UTF-8 bytes as it is", () => {
    assert.equal(truncateReason(""), "");
    assert.equal(truncateReason("x".repeat(123)), "x".repeat(123));
    assert.equal(truncateReason("€".repeat(41)), "€".repeat(41));
  });

  it("cuts a longer message to 123 bytes on a character boundary", () => {
    assert.equal(truncateReason("x".repeat(200)), "x".repeat(123));
    // 41 euro signs are 123 bytes; a 42nd does not fit, nor half of it.
    assert.equal(truncateReason("€".repeat(50)), "€".repeat(41));
    assert.equal(truncateReason("ab" + "€".repeat(50)), "ab" + "€".repeat(40));
    // A surrogate pair (4 bytes) is never split.
    assert.equal(truncateReason("x".repeat(121) + "😀"), "x".repeat(121));
  });

  it("returns at most 123 bytes, a prefix of the message, for random text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), (message) => {
        const cut = truncateReason(message);
        assert.ok(utf8(cut).length <= 123);
        assert.ok(message.startsWith(cut));
        if (utf8(message).length <= 123) assert.equal(cut, message);
      }),
      { numRuns: 300 },
    );
  });
});
