/**
 * WebSocket extensions (RFC 6455 §9): parsing `Sec-WebSocket-Extensions` and the interface an
 * extension such as permessage-deflate implements to plug into the core.
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import { isToken, isTokenChar } from "./http11.ts";

/** Parameters of one extension in a `Sec-WebSocket-Extensions` header; `true` when valueless. */
export type ExtensionParams = ReadonlyMap<string, string | true>;

/** One element of a `Sec-WebSocket-Extensions` header. */
export interface ExtensionElement {
  /** Extension token, e.g. "permessage-deflate". */
  readonly name: string;
  /** Parameters in order of appearance (a duplicate makes parsing fail). */
  readonly params: ExtensionParams;
}

/**
 * An extension negotiated for this connection. The core calls it for every data message whose
 * first frame had one of its reserved bits set.
 */
export interface Extension {
  /** Extension token, e.g. "permessage-deflate". */
  readonly name: string;
  /** The negotiated parameters as the server sent them, for display. */
  readonly header: string;
  /** The RSV bits this extension uses on the first frame of a message (RSV1 is 0x40). */
  readonly rsvBits: number;
  /**
   * Turns a received message's payload (all frames joined) back into the original bytes.
   *
   * @param maxSize the largest result allowed; the extension must stop as soon as it is crossed.
   * @throws {ProtocolError} `MESSAGE_TOO_BIG` past `maxSize`, `INVALID_COMPRESSED_DATA` when the
   * payload cannot be decoded.
   */
  decodeMessage(payload: Uint8Array, maxSize: number): Uint8Array;
}

/** Negotiates one extension on the client side. */
export interface ClientExtensionFactory {
  /** Extension token this factory offers. */
  readonly name: string;
  /** The offer as it appears in the request header, e.g. "permessage-deflate; client_max_window_bits". */
  offer(): string;
  /**
   * Accepts the server's response for this extension.
   *
   * @throws {HandshakeError} `UNEXPECTED_EXTENSION` when the response is not one the offer allows.
   */
  accept(params: ExtensionParams): Extension;
}

const enum Char {
  TAB = 0x09,
  SPACE = 0x20,
  QUOTE = 0x22,
  COMMA = 0x2c,
  SEMICOLON = 0x3b,
  EQUALS = 0x3d,
  BACKSLASH = 0x5c,
}

/**
 * Parses a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1, with RFC 9110 quoted strings) with a
 * single left-to-right scan: no regular expression, so no backtracking on hostile input, and no
 * plain objects keyed by peer data.
 *
 * @throws {HandshakeError} `UNEXPECTED_EXTENSION` when the value is malformed.
 */
export function parseExtensions(value: string): ExtensionElement[] {
  const result: ExtensionElement[] = [];
  let i = 0;
  const n = value.length;
  const bad = (why: string): never => {
    throw new HandshakeError(
      "UNEXPECTED_EXTENSION",
      `malformed Sec-WebSocket-Extensions (${why}): ${JSON.stringify(value.slice(0, 200))}`,
    );
  };
  const skipSpace = () => {
    while (i < n && (value.charCodeAt(i) === Char.SPACE || value.charCodeAt(i) === Char.TAB)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && isTokenChar(value.charCodeAt(i))) i++;
    if (i === start) bad("expected a token");
    return value.slice(start, i);
  };
  const quoted = (): string => {
    i++; // opening quote
    let out = "";
    while (i < n) {
      const c = value.charCodeAt(i++);
      if (c === Char.QUOTE) return out;
      if (c === Char.BACKSLASH) {
        if (i === n) break;
        out += value[i++];
      } else {
        out += String.fromCharCode(c);
      }
    }
    return bad("unterminated quoted string");
  };

  for (;;) {
    skipSpace();
    // RFC 9110 §5.6.1: empty list elements are tolerated.
    if (i < n && value.charCodeAt(i) === Char.COMMA) {
      i++;
      continue;
    }
    if (i >= n) break;
    const name = token();
    const params = new Map<string, string | true>();
    skipSpace();
    while (i < n && value.charCodeAt(i) === Char.SEMICOLON) {
      i++;
      skipSpace();
      const key = token();
      skipSpace();
      let paramValue: string | true = true;
      if (i < n && value.charCodeAt(i) === Char.EQUALS) {
        i++;
        skipSpace();
        paramValue = i < n && value.charCodeAt(i) === Char.QUOTE ? quoted() : token();
        // RFC 6455 §9.1: a quoted value must still be a token once unquoted.
        if (!isToken(paramValue)) bad(`parameter ${key} is not a token`);
        skipSpace();
      }
      if (params.has(key)) bad(`duplicate parameter ${key}`);
      params.set(key, paramValue);
    }
    result.push({ name, params });
    if (i < n) {
      if (value.charCodeAt(i) !== Char.COMMA) bad("expected ',' or ';'");
      i++;
    }
  }
  return result;
}
