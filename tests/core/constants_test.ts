/**
 * Tests of `src/core/constants.ts`: the close-code validity rule of RFC 6455 §7.4 (the constants
 * themselves are checked where they act: frame, protocol and integration tests).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isValidCloseCode } from "../../src/core/constants.ts";

describe("isValidCloseCode (RFC 6455 §7.4)", () => {
  it("accepts exactly 1000-1003, 1007-1014 and 3000-4999 among 0..65535", () => {
    for (let code = 0; code <= 65535; code++) {
      const expected = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
        (code >= 3000 && code <= 4999);
      assert.equal(isValidCloseCode(code), expected, `code ${code}`);
    }
  });

  it("refuses the codes that must never be sent: 1004, 1005, 1006, 1015", () => {
    for (const code of [1004, 1005, 1006, 1015]) assert.equal(isValidCloseCode(code), false);
  });

  it("refuses non-finite numbers", () => {
    for (const code of [NaN, Infinity, -Infinity, -1000]) {
      assert.equal(isValidCloseCode(code), false, String(code));
    }
  });

  it("refuses non-integers in every range (1000.5 as well as 3000.5)", () => {
    for (const code of [1000.5, 1002.25, 1007.5, 1013.9, 3000.5, 4999.1]) {
      assert.equal(isValidCloseCode(code), false, String(code));
    }
  });
});
