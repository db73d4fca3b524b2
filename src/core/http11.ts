/**
 * An incremental HTTP/1.1 response-head parser with limits (RFC 9112 §2–§5), enough for the
 * WebSocket opening handshake. It never buffers more than `maxHeadSize` bytes, checks each line's
 * length as bytes arrive (not after the head is complete) and never rescans bytes it has seen.
 *
 * @module
 */

import { latin1Decode } from "./bytes.ts";
import { DEFAULTS } from "./constants.ts";
import { HandshakeError, type ResponseHeaders } from "./errors.ts";

/** A parsed response head. */
export interface HttpResponse {
  /** The status code, e.g. 101. */
  readonly status: number;
  /** The reason phrase, e.g. "Switching Protocols". */
  readonly reason: string;
  /** "HTTP/1.1" or "HTTP/1.0". */
  readonly version: string;
  /** Header values by lower-case name; repeated headers are joined with ", ". */
  readonly headers: ResponseHeaders;
}

/** Limits of {@linkcode HttpResponseParser}. */
export interface HttpLimits {
  /** Longest line (status line or one header line), CRLF excluded. Default 8192. */
  maxHeaderLineLength?: number;
  /** Most header lines. Default 128. */
  maxHeaderCount?: number;
  /** Largest head in bytes (status line, headers, final blank line). Default 64 KiB. */
  maxHeadSize?: number;
}

const CR = 0x0d;
const LF = 0x0a;

const NO_PROTOTYPE: object = Object.freeze(Object.create(null));

/** RFC 9110 §5.6.2 tchar. */
const TOKEN = (() => {
  const t = new Uint8Array(128);
  for (const c of "!#$%&'*+-.^_`|~") t[c.charCodeAt(0)] = 1;
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  return t;
})();

/** Whether the character code `c` is an RFC 9110 tchar. */
export function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

/** Whether `s` is a non-empty RFC 9110 token. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    if (!isTokenChar(s.charCodeAt(i))) return false;
  }
  return true;
}

/**
 * Feeds bytes with {@linkcode HttpResponseParser.push} until it returns the parsed head; the
 * bytes that followed the head (the first WebSocket frames, or the start of an error body) are then
 * in {@linkcode HttpResponseParser.rest}. Malformed or oversized input throws a
 * {@linkcode HandshakeError} (`INVALID_HTTP_RESPONSE` or `RESPONSE_TOO_LARGE`).
 */
export class HttpResponseParser {
  readonly #maxLine: number;
  readonly #maxHeaders: number;
  readonly #maxHead: number;
  #buffer: Uint8Array;
  #length = 0;
  #lineStart = 0;
  #lines: string[] = [];
  /** Where each of `#lines` starts in `#buffer`. */
  #starts: number[] = [];
  #rest: Uint8Array = new Uint8Array(0);

  /** `limits`: line length, header count and head size (defaults in `DEFAULTS`). */
  constructor(limits: HttpLimits = {}) {
    this.#maxLine = limits.maxHeaderLineLength ?? DEFAULTS.maxHeaderLineLength;
    this.#maxHeaders = limits.maxHeaderCount ?? DEFAULTS.maxHeaderCount;
    this.#maxHead = limits.maxHeadSize ?? DEFAULTS.maxHeadSize;
    this.#buffer = new Uint8Array(Math.min(1024, this.#maxHead));
  }

  /** Bytes received after the end of the head (valid once `push` returned a response). */
  get rest(): Uint8Array {
    return this.#rest;
  }

  /**
   * Adds bytes; returns the response once the blank line ending the head has arrived, else
   * `undefined`.
   *
   * @throws {HandshakeError} `RESPONSE_TOO_LARGE` past a limit, `INVALID_HTTP_RESPONSE` when malformed.
   */
  push(chunk: Uint8Array): HttpResponse | undefined {
    let i = 0;
    while (i < chunk.length) {
      const b = chunk[i++];
      this.#append(b);
      if (b !== LF) {
        // The line may reach maxLine bytes plus its CR; a longer one fails now, before its end.
        const length = this.#length - this.#lineStart;
        if (length > this.#maxLine + 1 || (length === this.#maxLine + 1 && b !== CR)) {
          throw new HandshakeError(
            "RESPONSE_TOO_LARGE",
            `HTTP response line longer than ${this.#maxLine} bytes`,
          );
        }
        continue;
      }
      // A line ended: it must end with CRLF (RFC 9112 §2.2; bare LF is refused).
      const end = this.#length - 1;
      if (end === this.#lineStart || this.#buffer[end - 1] !== CR) {
        throw new HandshakeError("INVALID_HTTP_RESPONSE", "HTTP response line not ended by CRLF");
      }
      const start = this.#lineStart;
      const line = latin1Decode(this.#buffer, start, end - 1);
      this.#lineStart = this.#length;
      if (line.length === 0) {
        if (this.#lines.length === 0) {
          throw new HandshakeError("INVALID_HTTP_RESPONSE", "empty HTTP status line");
        }
        this.#rest = chunk.slice(i);
        return this.#parse();
      }
      if (this.#lines.length > this.#maxHeaders) {
        throw new HandshakeError(
          "RESPONSE_TOO_LARGE",
          `HTTP response has more than ${this.#maxHeaders} headers`,
        );
      }
      this.#lines.push(line);
      this.#starts.push(start);
    }
    return undefined;
  }

  #append(b: number): void {
    if (this.#length === this.#buffer.length) {
      if (this.#length >= this.#maxHead) {
        throw new HandshakeError(
          "RESPONSE_TOO_LARGE",
          `HTTP response head larger than ${this.#maxHead} bytes`,
        );
      }
      const bigger = new Uint8Array(Math.min(this.#maxHead, this.#buffer.length * 2));
      bigger.set(this.#buffer);
      this.#buffer = bigger;
    }
    this.#buffer[this.#length++] = b;
  }

  #parse(): HttpResponse {
    const statusLine = this.#lines[0];
    // status-line = HTTP-version SP status-code SP [ reason-phrase ]
    const match = /^(HTTP\/1\.[01]) ([1-9][0-9]{2})(?: ([\t\x20-\x7e\x80-\xff]*))?$/.exec(
      statusLine,
    );
    if (!match) {
      throw new HandshakeError(
        "INVALID_HTTP_RESPONSE",
        `invalid HTTP status line: ${JSON.stringify(statusLine.slice(0, 100))}`,
      );
    }
    // No inherited names ("constructor", "__proto__"...), yet a fast-mode object: a prototype
    // that is an empty frozen null-prototype object costs 64 bytes where Object.create(null)
    // (a dictionary) costs about 300 per response.
    const headers: Record<string, string> = Object.create(NO_PROTOTYPE);
    for (let n = 1; n < this.#lines.length; n++) {
      const line = this.#lines[n];
      const colon = line.indexOf(":");
      const name = colon > 0 ? line.slice(0, colon) : "";
      // RFC 9112 §5.2: obsolete line folding is refused, as is anything that is not a token.
      if (!isToken(name)) {
        throw new HandshakeError(
          "INVALID_HTTP_RESPONSE",
          `invalid HTTP header line: ${JSON.stringify(line.slice(0, 100))}`,
        );
      }
      const value = headerValue(line, colon + 1, this.#buffer, this.#starts[n]);
      if (hasControlCharacter(value)) {
        throw new HandshakeError(
          "INVALID_HTTP_RESPONSE",
          `invalid characters in HTTP header ${name}`,
        );
      }
      const key = name.toLowerCase();
      headers[key] = key in headers ? `${headers[key]}, ${value}` : sameAsLast(key, value);
    }
    return {
      // Literals rather than slices of the status line, which would keep the line alive.
      version: match[1] === "HTTP/1.1" ? "HTTP/1.1" : "HTTP/1.0",
      status: Number(match[2]),
      reason: match[3] === "Switching Protocols" ? "Switching Protocols" : match[3] ?? "",
      headers,
    };
  }
}

/** Values the handshake response usually has, kept once for every response. */
const COMMON_VALUES = new Map(
  ["websocket", "Upgrade", "upgrade", "permessage-deflate"].map((v) => [v, v]),
);

/**
 * The value of a header line (`line`, read from `bytes` at `lineStart`), without leading and
 * trailing SP and HTAB (RFC 9112 §5.1 OWS): a common value's shared string, or a string of its
 * own. The trim scans from each end: the regular expression `/[ \t]+$/` it replaced backtracked
 * on a value of many spaces followed by one other byte, quadratic in the line (an 8 KiB line of
 * them cost 30 ms, a head of 128 such lines 4 s of CPU: the shape of tungstenite's
 * CVE-2023-43669). A slice of 13 characters or more would be a
 * view holding the whole line, for as long as the response is kept (the client keeps it for the
 * connection's life): ~150 B per idle connection with a typical 101 response.
 */
function headerValue(line: string, from: number, bytes: Uint8Array, lineStart: number): string {
  let start = from;
  let end = line.length;
  while (start < end && isWhitespace(line.charCodeAt(start))) start++;
  while (end > start && isWhitespace(line.charCodeAt(end - 1))) end--;
  if (end - start < 13 || end - start > 1024) {
    const value = line.slice(start, end);
    return COMMON_VALUES.get(value) ?? value;
  }
  const value = String.fromCharCode.apply(
    null,
    bytes.subarray(lineStart + start, lineStart + end) as unknown as number[],
  );
  return COMMON_VALUES.get(value) ?? value;
}

/**
 * The last value of each header name, among the first 32 names seen, for values up to 256
 * characters: a response whose `Date` (or `Server`, ...) is the one the previous response had
 * shares its string. Responses are kept for the connection's life, and connections opened in
 * the same second have the same `Date`: 48 B less per idle connection (Node.js 20, 2,000
 * connections to the benchmark's echo server), for one string comparison per header.
 */
const LAST_VALUES = new Map<string, string>();

function sameAsLast(key: string, value: string): string {
  if (value.length > 256) return value;
  const last = LAST_VALUES.get(key);
  if (last === value) return last;
  if (last !== undefined || LAST_VALUES.size < 32) LAST_VALUES.set(key, value);
  return value;
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** RFC 9110 §5.5: field values hold no control characters other than tab. */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}
