/**
 * Tests of src/adapters/net_errors.ts: each runtime's way of saying why a connection failed
 * (Node's and Bun's `code`, Deno's error class `name`, the message) maps to one stable
 * `NetworkError` code; aborts become `AbortError`; the original error stays the cause.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AbortError, NetworkError } from "../../src/core/errors.ts";
import { throwIfAborted, toNetworkError } from "../../src/adapters/net_errors.ts";

/** An error as a runtime makes it: a message, and a `code` or a `name`. */
function runtimeError(message: string, fields: { code?: string; name?: string } = {}): Error {
  const error = new Error(message) as Error & { code?: string };
  if (fields.code) error.code = fields.code;
  if (fields.name) error.name = fields.name;
  return error;
}

describe("toNetworkError", () => {
  const cases: [string, Error, string][] = [
    [
      "Node refused",
      runtimeError("connect ECONNREFUSED", { code: "ECONNREFUSED" }),
      "CONNECTION_REFUSED",
    ],
    [
      "Deno refused",
      runtimeError("Connection refused (os error 111)", { name: "ConnectionRefused" }),
      "CONNECTION_REFUSED",
    ],
    [
      "Node DNS",
      runtimeError("getaddrinfo ENOTFOUND x.invalid", { code: "ENOTFOUND" }),
      "HOST_NOT_FOUND",
    ],
    [
      "Node DNS retry",
      runtimeError("getaddrinfo EAI_AGAIN", { code: "EAI_AGAIN" }),
      "HOST_NOT_FOUND",
    ],
    [
      "Deno DNS",
      runtimeError("failed to lookup address information: Name or service not known"),
      "HOST_NOT_FOUND",
    ],
    ["Node reset", runtimeError("read ECONNRESET", { code: "ECONNRESET" }), "CONNECTION_RESET"],
    ["Node pipe", runtimeError("write EPIPE", { code: "EPIPE" }), "CONNECTION_RESET"],
    [
      "Deno reset",
      runtimeError("Connection reset by peer", { name: "ConnectionReset" }),
      "CONNECTION_RESET",
    ],
    [
      "Node TLS name",
      runtimeError("Hostname/IP does not match", { code: "ERR_TLS_CERT_ALTNAME_INVALID" }),
      "TLS_ERROR",
    ],
    [
      "Node self-signed",
      runtimeError("self-signed certificate", { code: "DEPTH_ZERO_SELF_SIGNED_CERT" }),
      "TLS_ERROR",
    ],
    [
      "Deno TLS",
      runtimeError("invalid peer certificate: UnknownIssuer", { name: "InvalidData" }),
      "TLS_ERROR",
    ],
    // TLS wins over the words of other kinds inside certificate messages.
    ["TLS message with 'reset'", runtimeError("certificate reset by DnsName check"), "TLS_ERROR"],
    ["anything else", runtimeError("something odd"), "NETWORK_ERROR"],
  ];
  for (const [label, error, code] of cases) {
    it(`${label} -> ${code}`, () => {
      const mapped = toNetworkError(error, "connect to h:1");
      assert.ok(mapped instanceof NetworkError);
      assert.equal(mapped.code, code);
      assert.equal(mapped.message, `connect to h:1: ${error.message}`);
      assert.equal(mapped.cause, error);
    });
  }

  it("keeps our own errors, maps an AbortError by name, and takes non-errors", () => {
    const ours = new NetworkError("PROXY_ERROR", "refused");
    assert.equal(toNetworkError(ours, "x"), ours);
    const abort = toNetworkError(runtimeError("aborted", { name: "AbortError" }), "connect");
    assert.ok(abort instanceof AbortError);
    assert.equal(abort.message, "connect: aborted");
    const text = toNetworkError("boom", "socket error");
    assert.ok(text instanceof NetworkError);
    assert.equal(text.message, "socket error: boom");
  });
});

describe("throwIfAborted", () => {
  it("throws an AbortError with the signal's reason only once aborted", () => {
    const controller = new AbortController();
    throwIfAborted(controller.signal, "connect");
    throwIfAborted(undefined, "connect");
    controller.abort("why");
    assert.throws(
      () => throwIfAborted(controller.signal, "connect"),
      (e) => e instanceof AbortError && e.message === "connect: aborted" && e.cause === "why",
    );
  });
});
