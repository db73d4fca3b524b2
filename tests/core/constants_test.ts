/**
 * Tests of `src/core/constants.ts`: RFC 6455 opcodes and close codes, the close-code validity rule
 * (§7.4) and the documented default limits.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CloseCode,
  DEFAULTS,
  isValidCloseCode,
  MAX_CLOSE_REASON_BYTES,
  MAX_CONTROL_PAYLOAD,
  Opcode,
  WEBSOCKET_GUID,
} from "../../src/core/constants.ts";

describe("constants", () => {
  it("has the RFC 6455 §1.3 GUID", () => {
    assert.equal(WEBSOCKET_GUID, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  });

  it("has the RFC 6455 §5.2 opcodes", () => {
    assert.deepEqual({ ...Opcode }, {
      CONTINUATION: 0,
      TEXT: 1,
      BINARY: 2,
      CLOSE: 8,
      PING: 9,
      PONG: 10,
    });
  });

  it("has the RFC 6455 §7.4.1 and IANA close codes", () => {
    assert.deepEqual({ ...CloseCode }, {
      NORMAL_CLOSURE: 1000,
      GOING_AWAY: 1001,
      PROTOCOL_ERROR: 1002,
      UNSUPPORTED_DATA: 1003,
      NO_STATUS_RECEIVED: 1005,
      ABNORMAL_CLOSURE: 1006,
      INVALID_PAYLOAD_DATA: 1007,
      POLICY_VIOLATION: 1008,
      MESSAGE_TOO_BIG: 1009,
      MANDATORY_EXTENSION: 1010,
      INTERNAL_ERROR: 1011,
      SERVICE_RESTART: 1012,
      TRY_AGAIN_LATER: 1013,
      BAD_GATEWAY: 1014,
      TLS_HANDSHAKE: 1015,
    });
  });

  it("limits control payloads to 125 bytes and close reasons to 123 (RFC 6455 §5.5, §5.5.1)", () => {
    assert.equal(MAX_CONTROL_PAYLOAD, 125);
    assert.equal(MAX_CLOSE_REASON_BYTES, 123);
  });

  it("has the documented defaults", () => {
    assert.deepEqual({ ...DEFAULTS }, {
      maxMessageSize: 64 * 1024 * 1024,
      maxFragments: 131_072,
      maxHeaderLineLength: 8192,
      maxHeaderCount: 128,
      maxHeadSize: 64 * 1024,
      maxErrorBodySize: 64 * 1024,
    });
  });
});

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
