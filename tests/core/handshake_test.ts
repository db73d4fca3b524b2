/**
 * Tests of `src/core/handshake.ts`: the opening request (RFC 6455 §4.1), header and subprotocol
 * validation, and every check of the server's response.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ArgumentError, HandshakeError, type HandshakeErrorCode } from "../../src/core/errors.ts";
import {
  acceptFor,
  buildRequest,
  checkResponse,
  generateKey,
  RefusedResponse,
  type ResponseExpectations,
  validateHeader,
  validateProtocols,
} from "../../src/core/handshake.ts";
import { type HttpResponse, HttpResponseParser } from "../../src/core/http11.ts";
import {
  counterRandom,
  fakeExtension,
  handshakeResponse,
  type HandshakeResponseOptions,
  latin1,
} from "../_util/fixtures.ts";

/** RFC 6455 §1.3's sample nonce and key. */
const NONCE = "the sample nonce";
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** A random source that writes `text`'s bytes (for a known key). */
function randomOf(text: string) {
  return (buffer: Uint8Array) => buffer.set(latin1(text).subarray(0, buffer.length));
}

/** The request as text (it is Latin-1 by construction). */
function requestText(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

/** Parses a response head produced by the fake server. */
function response(options: HandshakeResponseOptions = {}, key = KEY): HttpResponse {
  const parsed = new HttpResponseParser().push(handshakeResponse(key, options));
  assert.ok(parsed, "the fixture is a complete head");
  return parsed;
}

/** Runs `fn` and asserts it throws `ArgumentError` with `code`. */
function expectArgumentError(fn: () => unknown, code: ArgumentError["code"]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ArgumentError, `expected ArgumentError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

/**
 * Asserts `checkResponse` refuses `res` with `code`, and that the error carries the status and the
 * headers received (and the body, when one is given).
 */
function expectRefusal(
  res: HttpResponse,
  code: HandshakeErrorCode,
  expected: ResponseExpectations = { key: KEY },
  body?: Uint8Array,
): HandshakeError {
  let caught: unknown;
  try {
    checkResponse(res, expected, body);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HandshakeError, `expected a HandshakeError, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.status, res.status, "the error carries the status");
  assert.deepEqual({ ...caught.headers }, { ...res.headers }, "the error carries the headers");
  if (body) assert.deepEqual(caught.body, body, "the error carries the body");
  return caught;
}

describe("generateKey", () => {
  it("is base64 of 16 bytes from the injected random source (RFC 6455 §4.1 item 7)", () => {
    assert.equal(generateKey(randomOf(NONCE)), KEY);
    const random = counterRandom();
    assert.equal(generateKey(random), "AAECAwQFBgcICQoLDA0ODw==");
    assert.deepEqual(random.calls, [16]);
  });

  it("uses Web Crypto by default: 24 base64 characters, different each time", () => {
    const a = generateKey();
    const b = generateKey();
    assert.match(a, /^[A-Za-z0-9+/]{22}==$/);
    assert.equal(atob(a).length, 16);
    assert.notEqual(a, b);
  });
});

describe("buildRequest (RFC 6455 §4.1)", () => {
  const base = { host: "server.example.com", path: "/chat", key: generateKey(randomOf(NONCE)) };

  it("writes the RFC 6455 §1.3 request byte for byte", () => {
    assert.equal(
      requestText(buildRequest(base)),
      "GET /chat HTTP/1.1\r\n" +
        "Host: server.example.com\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "\r\n",
    );
  });

  it("offers subprotocols and extensions, then appends custom headers in order", () => {
    const bytes = buildRequest({
      ...base,
      path: "/ari/events?app=demo&x=%20",
      protocols: ["chat", "superchat"],
      extensions: ["permessage-deflate; client_max_window_bits", "x-foo"],
      headers: [["Origin", "http://example.com"], ["Authorization", "Basic dTpw"]],
    });
    assert.equal(
      requestText(bytes),
      "GET /ari/events?app=demo&x=%20 HTTP/1.1\r\n" +
        "Host: server.example.com\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Protocol: chat, superchat\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n" +
        "Origin: http://example.com\r\n" +
        "Authorization: Basic dTpw\r\n" +
        "\r\n",
    );
  });

  it("omits the protocol and extension headers when the lists are empty", () => {
    const text = requestText(buildRequest({ ...base, protocols: [], extensions: [] }));
    assert.doesNotMatch(text, /Sec-WebSocket-Protocol|Sec-WebSocket-Extensions/);
  });

  it("lets a custom Host header (any case) replace the default, in the Host position", () => {
    const text = requestText(
      buildRequest({ ...base, headers: [["X-First", "1"], ["hOsT", "proxy.example:8080"]] }),
    );
    assert.equal(text.match(/^Host:/gim)?.length, 1, "exactly one Host header");
    assert.ok(text.startsWith("GET /chat HTTP/1.1\r\nHost: proxy.example:8080\r\nUpgrade:"));
    assert.ok(text.endsWith("X-First: 1\r\n\r\n"));
  });

  it("writes header values as Latin-1 bytes", () => {
    const bytes = buildRequest({ ...base, headers: [["X-Name", "caf\xe9"]] });
    const at = requestText(bytes).indexOf("caf");
    assert.deepEqual([...bytes.subarray(at, at + 4)], [0x63, 0x61, 0x66, 0xe9]);
  });
});

describe("validateHeader", () => {
  it("accepts ordinary headers, Host, tabs and Latin-1 in values", () => {
    validateHeader("Authorization", "Basic dXNlcjpwYXNz");
    validateHeader("Host", "example.com:8080");
    validateHeader("X-Custom_1", "a\tb ~ caf\xe9 \xff");
    validateHeader("Origin", "");
  });

  it("refuses CR, LF, NUL and other control characters in values (no header injection)", () => {
    for (const c of ["\r", "\n", "\r\nX-Evil: 1", "\x00", "\x01", "\x1f", "\x7f"]) {
      expectArgumentError(() => validateHeader("X-Test", `a${c}b`), "INVALID_HEADER");
    }
  });

  it("refuses characters above U+00FF in values (they cannot be written as Latin-1)", () => {
    expectArgumentError(() => validateHeader("X-Test", "€"), "INVALID_HEADER");
    expectArgumentError(() => validateHeader("X-Test", "\u0100"), "INVALID_HEADER");
  });

  it("refuses names that are not RFC 9110 tokens", () => {
    for (const name of ["", "X Test", "X:Test", "X-Tést", "X\r\nY", "(x)", "a/b"]) {
      expectArgumentError(() => validateHeader(name, "v"), "INVALID_HEADER");
    }
  });

  it("refuses the headers the handshake owns, in any case", () => {
    for (
      const name of [
        "Upgrade",
        "connection",
        "SEC-WEBSOCKET-KEY",
        "Sec-WebSocket-Version",
        "sec-websocket-extensions",
        "Sec-WebSocket-Protocol",
      ]
    ) {
      expectArgumentError(() => validateHeader(name, "x"), "INVALID_HEADER");
    }
  });
});

describe("validateProtocols (RFC 6455 §4.1 item 10)", () => {
  it("accepts an empty list and distinct tokens", () => {
    validateProtocols([]);
    validateProtocols(["chat", "superchat", "v2.mqtt", "x_y-z"]);
  });

  it("refuses elements that are not tokens", () => {
    for (const p of ["", "a b", "a,b", "é", "a;b", '"q"']) {
      expectArgumentError(() => validateProtocols([p]), "INVALID_SUBPROTOCOL");
    }
    expectArgumentError(
      () => validateProtocols([42 as unknown as string]),
      "INVALID_SUBPROTOCOL",
    );
  });

  it("refuses duplicates", () => {
    expectArgumentError(() => validateProtocols(["chat", "x", "chat"]), "INVALID_SUBPROTOCOL");
  });
});

describe("checkResponse (RFC 6455 §4.1, the client's checks)", () => {
  it("accepts a valid 101 response: no subprotocol, no extensions", () => {
    assert.deepEqual(checkResponse(response(), { key: KEY }), { protocol: "", extensions: [] });
  });

  it("accepts the RFC 6455 §1.3 answer s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", () => {
    const res = response({ accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" });
    assert.equal(checkResponse(res, { key: KEY }).protocol, "");
  });

  describe("status (item 1)", () => {
    it("refuses non-101 statuses with status, headers and body kept", () => {
      for (const status of [200, 301, 400, 401, 403, 404, 426, 500, 503]) {
        const res = response({
          statusLine: `HTTP/1.1 ${status} Nope`,
          headers: [["Content-Length", "5"], ["WWW-Authenticate", "Basic"]],
        });
        const error = expectRefusal(res, "UNEXPECTED_STATUS", { key: KEY }, latin1("nope!"));
        assert.match(error.message, new RegExp(`${status} Nope`));
        assert.equal(error.bodyText, "nope!");
      }
    });

    it("refuses a non-101 status without a body (empty body)", () => {
      const error = expectRefusal(
        response({ statusLine: "HTTP/1.1 200 OK" }),
        "UNEXPECTED_STATUS",
      );
      assert.equal(error.body.length, 0);
    });

    it("refuses a 101 in HTTP/1.0", () => {
      expectRefusal(
        response({ statusLine: "HTTP/1.0 101 Switching Protocols" }),
        "INVALID_HTTP_RESPONSE",
      );
    });
  });

  describe("Upgrade (item 2)", () => {
    it("accepts 'websocket' in any case", () => {
      for (const upgrade of ["websocket", "WebSocket", "WEBSOCKET"]) {
        checkResponse(response({ upgrade }), { key: KEY });
      }
    });

    it("refuses a missing or different Upgrade header", () => {
      for (const upgrade of [null, "", "h2c", "websocket2", "web socket", "websocket, h2c"]) {
        expectRefusal(response({ upgrade }), "INVALID_UPGRADE_HEADER");
      }
    });
  });

  describe("Connection (item 3)", () => {
    it("accepts a token list that contains Upgrade, in any case", () => {
      for (const connection of ["Upgrade", "upgrade", "keep-alive, Upgrade", "UPGRADE ,close"]) {
        checkResponse(response({ connection }), { key: KEY });
      }
    });

    it("refuses a missing Connection header or one without the Upgrade token", () => {
      for (const connection of [null, "", "keep-alive", "Upgrade-Insecure", "Upgrades", "close"]) {
        expectRefusal(response({ connection }), "INVALID_CONNECTION_HEADER");
      }
    });
  });

  describe("Sec-WebSocket-Accept (item 4)", () => {
    it("refuses a missing, wrong or differently cased accept value", () => {
      const right = acceptFor(KEY);
      for (
        const accept of [
          null,
          "",
          acceptFor("AAECAwQFBgcICQoLDA0ODw=="),
          right.toLowerCase(),
          right.slice(0, -1),
          KEY,
        ]
      ) {
        expectRefusal(response({ accept }), "INVALID_ACCEPT");
      }
    });

    it("refuses the accept value of another key", () => {
      expectRefusal(response({}, "AAECAwQFBgcICQoLDA0ODw=="), "INVALID_ACCEPT");
    });
  });

  describe("Sec-WebSocket-Protocol (item 6)", () => {
    const offered = { key: KEY, protocols: ["chat", "superchat"] };

    it("returns the subprotocol the server chose among those offered", () => {
      assert.equal(
        checkResponse(response({ protocol: "superchat" }), offered).protocol,
        "superchat",
      );
      assert.equal(checkResponse(response(), offered).protocol, "", "the server may choose none");
    });

    it("refuses a subprotocol that was not offered", () => {
      expectRefusal(response({ protocol: "other" }), "UNEXPECTED_SUBPROTOCOL", offered);
      expectRefusal(response({ protocol: "Chat" }), "UNEXPECTED_SUBPROTOCOL", offered);
      expectRefusal(response({ protocol: "chat" }), "UNEXPECTED_SUBPROTOCOL", { key: KEY });
    });

    it("refuses a list of subprotocols (the server must choose one)", () => {
      expectRefusal(response({ protocol: "chat, superchat" }), "UNEXPECTED_SUBPROTOCOL", offered);
      expectRefusal(
        response({ protocol: "chat", headers: [["Sec-WebSocket-Protocol", "superchat"]] }),
        "UNEXPECTED_SUBPROTOCOL",
        offered,
      );
    });

    it("refuses an empty Sec-WebSocket-Protocol header (not a token, so no valid choice)", () => {
      expectRefusal(response({ protocol: "" }), "UNEXPECTED_SUBPROTOCOL", offered);
      expectRefusal(response({ protocol: "" }), "UNEXPECTED_SUBPROTOCOL", { key: KEY });
    });
  });

  describe("Sec-WebSocket-Extensions (item 5)", () => {
    it("accepts an offered extension and hands its parameters to the factory", () => {
      const { factory, accepted } = fakeExtension();
      const result = checkResponse(response({ extensions: "x-test; a=1; b" }), {
        key: KEY,
        extensionFactories: [factory],
      });
      assert.equal(result.extensions.length, 1);
      assert.equal(result.extensions[0].header, "x-test; a=1; b");
      assert.deepEqual([...accepted[0]], [["a", "1"], ["b", true]]);
    });

    it("keeps the server's order when several extensions are accepted", () => {
      const a = fakeExtension({ name: "x-a" }).factory;
      const b = fakeExtension({ name: "x-b", rsvBits: 0x20 }).factory;
      const result = checkResponse(response({ extensions: "x-b, x-a" }), {
        key: KEY,
        extensionFactories: [a, b],
      });
      assert.deepEqual(result.extensions.map((e) => e.name), ["x-b", "x-a"]);
    });

    it("treats an empty extensions header as no extension", () => {
      const { factory, accepted } = fakeExtension();
      const result = checkResponse(response({ extensions: "" }), {
        key: KEY,
        extensionFactories: [factory],
      });
      assert.deepEqual(result.extensions, []);
      assert.equal(accepted.length, 0);
    });

    it("refuses an extension that was not offered", () => {
      const { factory } = fakeExtension();
      expectRefusal(response({ extensions: "x-other" }), "UNEXPECTED_EXTENSION", {
        key: KEY,
        extensionFactories: [factory],
      });
      expectRefusal(response({ extensions: "x-test" }), "UNEXPECTED_EXTENSION");
    });

    it("refuses an extension accepted twice", () => {
      const { factory } = fakeExtension();
      expectRefusal(response({ extensions: "x-test, x-test; a=1" }), "UNEXPECTED_EXTENSION", {
        key: KEY,
        extensionFactories: [factory],
      });
    });

    it("passes on the factory's refusal with the status and headers attached", () => {
      const { factory } = fakeExtension();
      expectRefusal(response({ extensions: "x-test; refuse" }), "UNEXPECTED_EXTENSION", {
        key: KEY,
        extensionFactories: [factory],
      });
    });

    it("refuses a malformed extensions header with the status and headers attached", () => {
      const { factory } = fakeExtension();
      expectRefusal(response({ extensions: 'x-test; a="1' }), "UNEXPECTED_EXTENSION", {
        key: KEY,
        extensionFactories: [factory],
      });
    });
  });

  it("checks in RFC order: status, version, Upgrade, Connection, accept", () => {
    const bad = { upgrade: null, connection: null, accept: null };
    expectRefusal(response({ ...bad, statusLine: "HTTP/1.1 200 OK" }), "UNEXPECTED_STATUS");
    expectRefusal(response({ ...bad, statusLine: "HTTP/1.0 101 OK" }), "INVALID_HTTP_RESPONSE");
    expectRefusal(response(bad), "INVALID_UPGRADE_HEADER");
    expectRefusal(response({ ...bad, upgrade: "websocket" }), "INVALID_CONNECTION_HEADER");
    expectRefusal(response({ accept: null }), "INVALID_ACCEPT");
  });
});

describe("RefusedResponse (the body of a non-101 answer, for the error report)", () => {
  function head(status: number, headers: Record<string, string> = {}): HttpResponse {
    return { version: "HTTP/1.1", status, reason: "Refused", headers };
  }

  it("wants as many bytes as Content-Length announces and keeps them in the error", () => {
    const refused = new RefusedResponse(head(401, { "content-length": "5" }), KEY);
    assert.equal(refused.complete, false);
    refused.push(latin1("he"));
    assert.equal(refused.complete, false);
    refused.push(latin1("llo, and more"));
    assert.equal(refused.complete, true);
    const error = refused.error();
    assert.ok(error instanceof HandshakeError);
    assert.equal(error.code, "UNEXPECTED_STATUS");
    assert.equal(error.status, 401);
    assert.equal(error.bodyText, "hello");
  });

  it("wants nothing without Content-Length, or with one that is not a length", () => {
    const cases: Array<Record<string, string>> = [{}, { "content-length": "-3" }, {
      "content-length": "x",
    }];
    for (const headers of cases) {
      const refused = new RefusedResponse(head(500, headers), KEY);
      assert.equal(refused.complete, true, JSON.stringify(headers));
      assert.equal(refused.error()?.body.length, 0);
    }
  });

  it("keeps at most 64 KiB, and what arrived when the stream ends early", () => {
    const big = new RefusedResponse(head(502, { "content-length": "1000000" }), KEY);
    big.push(new Uint8Array(70000));
    assert.equal(big.complete, true);
    assert.equal(big.error()?.body.length, 65536);
    const cut = new RefusedResponse(head(503, { "content-length": "10" }), KEY);
    cut.push(latin1("abc"));
    assert.equal(cut.complete, false);
    assert.equal(cut.error()?.bodyText, "abc");
  });
});
