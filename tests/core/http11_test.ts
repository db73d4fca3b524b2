/**
 * Tests of `src/core/http11.ts`: the incremental HTTP/1.1 response-head parser (RFC 9112) with its
 * limits, fed whole, byte by byte and at every split point.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULTS } from "../../src/core/constants.ts";
import { HandshakeError, type HandshakeErrorCode } from "../../src/core/errors.ts";
import {
  type HttpLimits,
  type HttpResponse,
  HttpResponseParser,
  isToken,
  isTokenChar,
} from "../../src/core/http11.ts";
import { concat, latin1, splitAt } from "../_util/fixtures.ts";

const RESPONSE = "HTTP/1.1 101 Switching Protocols\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
  "\r\n";

const EXPECTED: HttpResponse = {
  version: "HTTP/1.1",
  status: 101,
  reason: "Switching Protocols",
  headers: {
    "upgrade": "websocket",
    "connection": "Upgrade",
    "sec-websocket-accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
  },
};

/** The parsed response as a plain object (headers copied out of their null-prototype record). */
function plain(response: HttpResponse | undefined) {
  assert.ok(response, "the head is complete");
  return { ...response, headers: { ...response.headers } };
}

/** Pushes `chunks` in order; returns the response and the parser (for `rest`). */
function parse(chunks: readonly Uint8Array[], limits?: HttpLimits) {
  const parser = new HttpResponseParser(limits);
  let response: HttpResponse | undefined;
  for (const [i, chunk] of chunks.entries()) {
    assert.equal(response, undefined, `a response was returned before chunk ${i}`);
    response = parser.push(chunk);
  }
  return { response, parser };
}

/** Runs `fn`, asserts it throws a HandshakeError with `code`, and returns the error. */
function expectHandshakeError(fn: () => unknown, code: HandshakeErrorCode): HandshakeError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HandshakeError, `expected a HandshakeError, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** Asserts that the head `text` is refused with `code` whole, and byte by byte. */
function assertRefused(text: string, code: HandshakeErrorCode, limits?: HttpLimits): void {
  expectHandshakeError(() => new HttpResponseParser(limits).push(latin1(text)), code);
  const parser = new HttpResponseParser(limits);
  expectHandshakeError(() => {
    for (const b of latin1(text)) parser.push(new Uint8Array([b]));
  }, code);
}

/** A head with the given header lines after a 101 status line. */
function headWith(...lines: string[]): string {
  return ["HTTP/1.1 101 Switching Protocols", ...lines, "", ""].join("\r\n");
}

describe("HttpResponseParser", () => {
  describe("parsing", () => {
    it("parses a normal 101 response with lower-case header names", () => {
      const { response, parser } = parse([latin1(RESPONSE)]);
      assert.deepEqual(plain(response), EXPECTED);
      assert.equal(parser.rest.length, 0);
    });

    it("returns the same response when fed byte by byte, and only on the last byte", () => {
      const bytes = latin1(RESPONSE);
      const { response } = parse(splitAt(bytes, [...bytes.keys()].slice(1)));
      assert.deepEqual(plain(response), EXPECTED);
    });

    it("returns the same response for every split into two and three chunks", () => {
      const bytes = latin1(RESPONSE);
      // The last chunk is never empty: nothing may be pushed after the response was returned.
      for (let i = 0; i < bytes.length; i++) {
        assert.deepEqual(plain(parse(splitAt(bytes, [i])).response), EXPECTED, `split at ${i}`);
        for (let j = i; j < bytes.length; j += 7) {
          assert.deepEqual(plain(parse(splitAt(bytes, [i, j])).response), EXPECTED, `${i}, ${j}`);
        }
      }
    });

    it("keeps the bytes after the head in rest, wherever the chunk boundary falls", () => {
      const after = latin1("\x81\x02hi and more");
      const bytes = concat(latin1(RESPONSE), after);
      const headLength = RESPONSE.length;
      for (let cut = 0; cut < headLength; cut++) {
        const { response, parser } = parse(splitAt(bytes, [cut]));
        assert.deepEqual(plain(response), EXPECTED);
        assert.deepEqual(parser.rest, after, `cut at ${cut}`);
      }
      // When the head ends exactly at a chunk boundary, rest is empty (the frames come later).
      const { parser } = parse(splitAt(bytes, [headLength]).slice(0, 1));
      assert.equal(parser.rest.length, 0);
    });

    it("does not let rest alias the caller's chunk (later changes to the chunk do not leak)", () => {
      const chunk = concat(latin1(RESPONSE), latin1("abc"));
      const parser = new HttpResponseParser();
      parser.push(chunk);
      chunk.fill(0);
      assert.deepEqual(parser.rest, latin1("abc"));
    });

    it("joins repeated headers with ', ' in order of arrival (RFC 9110 §5.3)", () => {
      const { response } = parse([
        latin1(headWith("Connection: keep-alive", "X-A: 1", "connection: Upgrade", "X-a: 2")),
      ]);
      assert.equal(response?.headers["connection"], "keep-alive, Upgrade");
      assert.equal(response?.headers["x-a"], "1, 2");
    });

    it("trims spaces and tabs around header values but keeps inner ones", () => {
      const { response } = parse([
        latin1(headWith("X-Pad: \t  a \t b  \t", "X-Empty:", "X-Sp:   ")),
      ]);
      assert.equal(response?.headers["x-pad"], "a \t b");
      assert.equal(response?.headers["x-empty"], "");
      assert.equal(response?.headers["x-sp"], "");
    });

    it("keeps Latin-1 obs-text bytes in header values", () => {
      const { response } = parse([latin1(headWith("X-Name: caf\xe9 \xff"))]);
      assert.equal(response?.headers["x-name"], "caf\xe9 \xff");
    });

    it("accepts a status line without a reason phrase, with an empty one, and HTTP/1.0", () => {
      const cases: Array<[string, Partial<HttpResponse>]> = [
        ["HTTP/1.1 101", { status: 101, reason: "" }],
        ["HTTP/1.1 101 ", { status: 101, reason: "" }],
        ["HTTP/1.1 404 Not\tFound \xe9", { status: 404, reason: "Not\tFound \xe9" }],
        ["HTTP/1.0 200 OK", { version: "HTTP/1.0", status: 200, reason: "OK" }],
        ["HTTP/1.1 999 Whatever", { status: 999, reason: "Whatever" }],
      ];
      for (const [statusLine, expected] of cases) {
        const { response } = parse([latin1(`${statusLine}\r\n\r\n`)]);
        assert.ok(response, statusLine);
        for (const [key, value] of Object.entries(expected)) {
          assert.equal(response[key as keyof HttpResponse], value, `${statusLine}: ${key}`);
        }
      }
    });

    it("stores header names such as __proto__ and constructor as plain data", () => {
      const { response } = parse([
        latin1(headWith("__proto__: polluted", "constructor: c", "toString: t")),
      ]);
      assert.ok(response);
      assert.equal(response.headers["__proto__"], "polluted");
      assert.equal(response.headers["constructor"], "c");
      assert.equal(response.headers["tostring"], "t");
      assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
      assert.equal(Object.getPrototypeOf({}), Object.prototype);
    });

    it("answers undefined for headers that were not sent, even names of Object.prototype", () => {
      const { response } = parse([latin1(RESPONSE)]);
      assert.ok(response);
      for (const name of ["constructor", "tostring", "__proto__", "hasownproperty", "valueof"]) {
        assert.equal(response.headers[name], undefined, name);
      }
    });
  });

  describe("limits (checked as bytes arrive)", () => {
    const limits = { maxHeaderLineLength: 40, maxHeaderCount: 3, maxHeadSize: 200 };

    it("accepts lines of exactly maxHeaderLineLength bytes", () => {
      const status = "HTTP/1.1 101 " + "s".repeat(40 - 13);
      const header = "X-Long: " + "v".repeat(40 - 8);
      assert.equal(status.length, 40);
      assert.equal(header.length, 40);
      const { response } = parse([latin1(`${status}\r\n${header}\r\n\r\n`)], limits);
      assert.equal(response?.headers["x-long"], "v".repeat(32));
    });

    it("refuses a line as soon as it exceeds maxHeaderLineLength, before its CRLF arrives", () => {
      for (const prefix of ["", "HTTP/1.1 101 OK\r\n"]) {
        const parser = new HttpResponseParser(limits);
        parser.push(latin1(prefix));
        // 40 bytes are allowed; the 41st byte of the line (not a CR) already exceeds the limit.
        parser.push(latin1("x".repeat(40)));
        expectHandshakeError(() => parser.push(latin1("x")), "RESPONSE_TOO_LARGE");
      }
    });

    it("refuses a too-long line well before its end (a 1 MB line is not buffered)", () => {
      const parser = new HttpResponseParser(limits);
      const error = expectHandshakeError(
        () => parser.push(latin1("HTTP/1.1 101 " + "x".repeat(1_000_000))),
        "RESPONSE_TOO_LARGE",
      );
      assert.match(error.message, /line/);
    });

    it("refuses a line of maxHeaderLineLength + 1 bytes when its CRLF arrives", () => {
      assertRefused(headWith("X-Long: " + "v".repeat(33)), "RESPONSE_TOO_LARGE", limits);
    });

    it("accepts maxHeaderCount headers and refuses one more when that line ends", () => {
      const ok = parse([latin1(headWith("A: 1", "B: 2", "C: 3"))], limits);
      assert.equal(ok.response?.headers["c"], "3");
      const parser = new HttpResponseParser(limits);
      parser.push(latin1("HTTP/1.1 101 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4"));
      const error = expectHandshakeError(() => parser.push(latin1("\r\n")), "RESPONSE_TOO_LARGE");
      assert.match(error.message, /headers/);
    });

    it("accepts a head of exactly maxHeadSize bytes and refuses one byte more", () => {
      const lines = ["HTTP/1.1 101 OK"];
      while (lines.join("\r\n").length + 2 * 2 + 40 < 200) lines.push("X: " + "a".repeat(20));
      const base = lines.join("\r\n") + "\r\n";
      const filler = "Y: " + "b".repeat(200 - base.length - 2 - 2 - 3);
      const head = base + filler + "\r\n\r\n";
      assert.equal(head.length, 200);
      const big = { maxHeadSize: 200, maxHeaderCount: 100 };
      assert.ok(parse([latin1(head)], big).response);
      const tooBig = head.replace("Y: b", "Y: bb");
      assertRefused(tooBig, "RESPONSE_TOO_LARGE", big);
    });

    it("refuses a head as soon as byte maxHeadSize + 1 arrives, even in the middle of a line", () => {
      const parser = new HttpResponseParser({ maxHeadSize: 64, maxHeaderLineLength: 1000 });
      parser.push(latin1("HTTP/1.1 101 OK\r\nX: " + "a".repeat(64 - 20)));
      expectHandshakeError(() => parser.push(latin1("a")), "RESPONSE_TOO_LARGE");
    });

    it("applies the documented defaults: 8192-byte lines, 128 headers, 64 KiB heads", () => {
      assert.equal(DEFAULTS.maxHeaderLineLength, 8192);
      const longest = "X: " + "a".repeat(8192 - 3);
      assert.ok(parse([latin1(headWith(longest))]).response, "an 8192-byte line is accepted");
      assertRefused(headWith(longest + "a"), "RESPONSE_TOO_LARGE");
      const many = Array.from({ length: 128 }, (_, i) => `H${i}: v`);
      assert.ok(parse([latin1(headWith(...many))]).response, "128 headers are accepted");
      assertRefused(headWith(...many, "H128: v"), "RESPONSE_TOO_LARGE");
      const huge = Array.from({ length: 100 }, (_, i) => `H${i}: ${"z".repeat(700)}`);
      assertRefused(headWith(...huge), "RESPONSE_TOO_LARGE");
    });
  });

  describe("malformed heads (INVALID_HTTP_RESPONSE)", () => {
    it("refuses bare LF line endings (RFC 9112 §2.2), in the status line, headers and the end", () => {
      assertRefused("HTTP/1.1 101 OK\nUpgrade: websocket\r\n\r\n", "INVALID_HTTP_RESPONSE");
      assertRefused("HTTP/1.1 101 OK\r\nUpgrade: websocket\n\r\n", "INVALID_HTTP_RESPONSE");
      assertRefused("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n\n", "INVALID_HTTP_RESPONSE");
      assertRefused("\nHTTP/1.1 101 OK\r\n\r\n", "INVALID_HTTP_RESPONSE");
    });

    it("refuses an empty status line", () => {
      assertRefused("\r\nHTTP/1.1 101 OK\r\n\r\n", "INVALID_HTTP_RESPONSE");
    });

    it("refuses obsolete line folding (RFC 9112 §5.2)", () => {
      assertRefused(headWith("X-Folded: a", " continued"), "INVALID_HTTP_RESPONSE");
      assertRefused(headWith("X-Folded: a", "\tcontinued"), "INVALID_HTTP_RESPONSE");
      assertRefused(headWith("X-Folded: a", " X-Other: b"), "INVALID_HTTP_RESPONSE");
    });

    it("refuses malformed status lines", () => {
      for (
        const line of [
          "HTTP/1.1 101Switching Protocols",
          "HTTP/1.1  101 Switching Protocols",
          "HTTP/2 101 Switching Protocols",
          "HTTP/1.2 101 Switching Protocols",
          "http/1.1 101 Switching Protocols",
          "HTTP/1.1 10 Short",
          "HTTP/1.1 1010 Long",
          "HTTP/1.1 099 Leading zero",
          "HTTP/1.1 abc Letters",
          "ICY 200 OK",
          "HTTP/1.1 101 Bad\x00Reason",
          "HTTP/1.1 101 Bad\x7fReason",
          " HTTP/1.1 101 Switching Protocols",
          "Upgrade: websocket",
        ]
      ) {
        assertRefused(`${line}\r\n\r\n`, "INVALID_HTTP_RESPONSE");
      }
    });

    it("refuses header names that are not tokens (RFC 9110 §5.1, RFC 9112 §5.1)", () => {
      for (
        const line of [
          "Bad Name: x",
          "Upgrade : websocket",
          "Upgrade\t: websocket",
          ": empty name",
          "NoColonAtAll",
          "X(comment): y",
          'X"q: y',
          "Caf\xe9: y",
          "X/Y: z",
        ]
      ) {
        assertRefused(headWith(line), "INVALID_HTTP_RESPONSE");
      }
    });

    it("refuses control characters in header values (RFC 9110 §5.5) but allows tab", () => {
      for (const c of ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\r", "\x1b", "\x1f", "\x7f"]) {
        assertRefused(headWith(`X-Bad: a${c}b`), "INVALID_HTTP_RESPONSE");
      }
      assert.equal(parse([latin1(headWith("X-Tab: a\tb"))]).response?.headers["x-tab"], "a\tb");
    });

    it("reports errors as HandshakeError without status or headers (none were read)", () => {
      const error = expectHandshakeError(
        () => new HttpResponseParser().push(latin1("garbage\r\n\r\n")),
        "INVALID_HTTP_RESPONSE",
      );
      assert.equal(error.status, undefined);
      assert.deepEqual({ ...error.headers }, {});
      assert.equal(error.name, "HandshakeError");
    });
  });
});

describe("isToken and isTokenChar (RFC 9110 §5.6.2)", () => {
  it("accepts every tchar and nothing else", () => {
    const tchars = "!#$%&'*+-.^_`|~0123456789" +
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (let c = 0; c < 300; c++) {
      assert.equal(isTokenChar(c), tchars.includes(String.fromCharCode(c)), `char ${c}`);
    }
  });

  it("requires a non-empty string of tchars", () => {
    assert.equal(isToken("permessage-deflate"), true);
    assert.equal(isToken("x_y.z~1"), true);
    assert.equal(isToken(""), false);
    assert.equal(isToken("a b"), false);
    assert.equal(isToken("a,b"), false);
    assert.equal(isToken("é"), false);
    assert.equal(isToken("a\u0100"), false);
  });
});
