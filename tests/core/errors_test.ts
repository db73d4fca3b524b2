/**
 * Tests of `src/core/errors.ts`: the error tree, the stable `code` of each error, the details the
 * handshake and protocol errors carry, and the close summary.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  AbortError,
  ArgumentError,
  type CloseInfo,
  ConnectionClosedError,
  describeClose,
  HandshakeError,
  InvalidStateError,
  isNormalClosure,
  NetworkError,
  ProtocolError,
  TimeoutError,
  WebSocketError,
} from "../../src/core/errors.ts";
import { hex, latin1 } from "../_util/fixtures.ts";

describe("the error tree", () => {
  const cause = new Error("underlying");
  const errors: Array<[WebSocketError, string, string]> = [
    [new WebSocketError("SOME_CODE", "m", { cause }), "WebSocketError", "SOME_CODE"],
    [new ArgumentError("INVALID_URL", "m", { cause }), "ArgumentError", "INVALID_URL"],
    [new InvalidStateError("NOT_OPEN", "m", { cause }), "InvalidStateError", "NOT_OPEN"],
    [new NetworkError("CONNECTION_REFUSED", "m", { cause }), "NetworkError", "CONNECTION_REFUSED"],
    [new TimeoutError("OPEN_TIMEOUT", "m", { cause }), "TimeoutError", "OPEN_TIMEOUT"],
    [new AbortError("m", { cause }), "AbortError", "ABORTED"],
    [new HandshakeError("INVALID_ACCEPT", "m", { cause }), "HandshakeError", "INVALID_ACCEPT"],
    [new ProtocolError("INVALID_UTF8", 1007, "m", { cause }), "ProtocolError", "INVALID_UTF8"],
  ];

  for (const [error, name, code] of errors) {
    it(`${name} is a WebSocketError and an Error with name, code, message and cause`, () => {
      assert.ok(error instanceof WebSocketError);
      assert.ok(error instanceof Error);
      assert.equal(error.name, name);
      assert.equal(error.code, code);
      assert.equal(error.message, "m");
      assert.equal(error.cause, cause);
      assert.equal(typeof error.stack, "string");
    });
  }

  it("has no cause property when no cause is given", () => {
    const error = new ArgumentError("INVALID_URL", "m");
    assert.equal(Object.hasOwn(error, "cause"), false);
    assert.equal(error.cause, undefined);
  });

  it("gives AbortError a default message", () => {
    assert.equal(new AbortError().message, "The operation was aborted");
  });
});

describe("HandshakeError", () => {
  it("carries status, headers and body", () => {
    const error = new HandshakeError("UNEXPECTED_STATUS", "refused", {
      status: 401,
      headers: { "www-authenticate": "Basic" },
      body: latin1("denied"),
    });
    assert.equal(error.status, 401);
    assert.deepEqual(error.headers, { "www-authenticate": "Basic" });
    assert.equal(error.bodyText, "denied");
  });

  it("defaults to no status, no headers and an empty body", () => {
    const error = new HandshakeError("HANDSHAKE_INTERRUPTED", "eof");
    assert.equal(error.status, undefined);
    assert.deepEqual(error.headers, {});
    assert.equal(error.body.length, 0);
    assert.equal(error.bodyText, "");
  });

  it("decodes the body leniently for messages (invalid UTF-8 becomes U+FFFD)", () => {
    const error = new HandshakeError("UNEXPECTED_STATUS", "x", { body: hex("61 ff 62") });
    assert.equal(error.bodyText, "a\ufffdb");
  });
});

describe("ProtocolError", () => {
  it("carries the close code that was sent", () => {
    const error = new ProtocolError("MESSAGE_TOO_BIG", 1009, "too big");
    assert.equal(error.closeCode, 1009);
    assert.equal(error.code, "MESSAGE_TOO_BIG");
  });
});

describe("describeClose and ConnectionClosedError", () => {
  it("summarizes both close frames in order received, sent", () => {
    const info: CloseInfo = {
      code: 1000,
      reason: "bye",
      wasClean: true,
      received: { code: 1000, reason: "bye" },
      sent: { code: 1000, reason: "" },
    };
    assert.equal(describeClose(info), "connection closed: received 1000 (bye), sent 1000");
  });

  it("names the code when no close frame was exchanged, and appends the error", () => {
    const error = new NetworkError("CONNECTION_RESET", "reset by peer");
    const info: CloseInfo = { code: 1006, reason: "", wasClean: false, error };
    assert.equal(
      describeClose(info),
      "connection closed: no close frame (code 1006): reset by peer",
    );
  });

  it("builds ConnectionClosedError from the info, with the error as cause", () => {
    const error = new ProtocolError("INVALID_UTF8", 1007, "bad text");
    const info: CloseInfo = {
      code: 1007,
      reason: "",
      wasClean: false,
      sent: { code: 1007, reason: "bad text" },
      error,
    };
    const closed = new ConnectionClosedError(info);
    assert.ok(closed instanceof WebSocketError);
    assert.equal(closed.name, "ConnectionClosedError");
    assert.equal(closed.code, "CONNECTION_CLOSED");
    assert.equal(closed.info, info);
    assert.equal(closed.cause, error);
    assert.equal(closed.message, "connection closed: sent 1007 (bad text): bad text");
    assert.equal(new ConnectionClosedError(info, "custom").message, "custom");
    const clean = new ConnectionClosedError({ code: 1000, reason: "", wasClean: true });
    assert.equal(Object.hasOwn(clean, "cause"), false);
  });
});

describe("isNormalClosure", () => {
  const frame = (code: number) => ({ code, reason: "" });
  const clean = (code: number): CloseInfo => ({
    code,
    reason: "",
    wasClean: true,
    received: frame(code),
    sent: frame(code),
  });

  it("is true for a clean close with 1000, 1001 or 1005 and no error", () => {
    for (const code of [1000, 1001, 1005]) {
      assert.equal(isNormalClosure(clean(code)), true, `${code}`);
    }
  });

  it("is false for any other code, even when clean", () => {
    for (const code of [1002, 1003, 1006, 1007, 1008, 1009, 1011, 1012, 1013, 3000, 4000]) {
      assert.equal(isNormalClosure(clean(code)), false, `${code}`);
    }
  });

  it("is false when the close was not clean, or an error is recorded", () => {
    assert.equal(isNormalClosure({ ...clean(1000), wasClean: false }), false);
    assert.equal(
      isNormalClosure({ ...clean(1000), error: new TimeoutError("CLOSE_TIMEOUT", "late") }),
      false,
    );
    assert.equal(isNormalClosure({ code: 1006, reason: "", wasClean: false }), false);
  });
});
