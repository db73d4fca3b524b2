/**
 * The opening handshake, client side (RFC 6455 §4.1): the request, and every check of the
 * server's response.
 *
 * @module
 */

import { DEFAULTS, WEBSOCKET_GUID } from "./constants.ts";
import { ArgumentError, HandshakeError } from "./errors.ts";
import { type ClientExtensionFactory, type Extension, parseExtensions } from "./extensions.ts";
import { type HttpResponse, isToken } from "./http11.ts";
import { type RandomSource, webCryptoRandom } from "./mask.ts";
import { base64, latin1Encode } from "./bytes.ts";
import { sha1 } from "./sha1.ts";

/** Request headers the handshake owns; set them through options, not `headers`. */
const RESERVED_HEADERS = new Set([
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
]);

/** A fresh `Sec-WebSocket-Key`: 16 random bytes, base64 (RFC 6455 §4.1 item 7). */
export function generateKey(random: RandomSource = webCryptoRandom): string {
  const bytes = new Uint8Array(16);
  random(bytes);
  return base64(bytes);
}

/** The `Sec-WebSocket-Accept` a server must answer for `key` (RFC 6455 §4.2.2 item 5.4). */
export function acceptFor(key: string): string {
  return base64(sha1(new TextEncoder().encode(key + WEBSOCKET_GUID)));
}

/**
 * Checks one request header supplied by the user: the name must be a token and not one the
 * handshake owns; the value may hold tab, visible ASCII, space and Latin-1 bytes, never CR, LF
 * or NUL (no header injection).
 *
 * @throws {ArgumentError} `INVALID_HEADER`.
 */
export function validateHeader(name: string, value: string): void {
  if (!isToken(name)) {
    throw new ArgumentError("INVALID_HEADER", `invalid header name ${JSON.stringify(name)}`);
  }
  if (RESERVED_HEADERS.has(name.toLowerCase())) {
    throw new ArgumentError(
      "INVALID_HEADER",
      `header ${name} is set by the handshake; use the protocols or compression option instead`,
    );
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!(c === 0x09 || (c >= 0x20 && c <= 0x7e) || (c >= 0x80 && c <= 0xff))) {
      throw new ArgumentError(
        "INVALID_HEADER",
        `header ${name} has an invalid character (code ${c}) in its value`,
      );
    }
  }
}

/**
 * Checks the request line's parts given to `ClientProtocol` (the URL parser already gives clean
 * ones; the core may be driven without it): `host` and `path` are visible ASCII only, so neither a
 * space (the end of the request target) nor CR, LF or NUL can start a header of their own
 * (CVE-2026-1527 was such an injection).
 *
 * @throws {ArgumentError} `INVALID_URL`.
 */
export function validateRequestTarget(host: string, path: string): void {
  for (const [what, value] of [["host", host], ["path", path]] as const) {
    if (typeof value !== "string" || value.length === 0 || !isVisibleAscii(value)) {
      throw new ArgumentError(
        "INVALID_URL",
        `request ${what} ${JSON.stringify(value)} must be non-empty visible ASCII`,
      );
    }
  }
}

/**
 * Checks one extension offer (an element of `Sec-WebSocket-Extensions`) made by an extension
 * factory: tab, space and visible ASCII only, so an offer cannot end its header line.
 *
 * @throws {ArgumentError} `INVALID_HEADER`.
 */
export function validateOffer(offer: string): void {
  if (typeof offer !== "string" || offer.trim() === "") {
    throw new ArgumentError("INVALID_HEADER", "an extension offer must be a non-empty string");
  }
  for (let i = 0; i < offer.length; i++) {
    const c = offer.charCodeAt(i);
    if (!(c === 0x09 || (c >= 0x20 && c <= 0x7e))) {
      throw new ArgumentError(
        "INVALID_HEADER",
        `extension offer has an invalid character (code ${c}): ${JSON.stringify(offer)}`,
      );
    }
  }
}

function isVisibleAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Checks a list of subprotocols: each a token, no duplicates (RFC 6455 §4.1 item 10).
 *
 * @throws {ArgumentError} `INVALID_SUBPROTOCOL`.
 */
export function validateProtocols(protocols: readonly string[]): void {
  const seen = new Set<string>();
  for (const p of protocols) {
    if (typeof p !== "string" || !isToken(p)) {
      throw new ArgumentError("INVALID_SUBPROTOCOL", `invalid subprotocol ${JSON.stringify(p)}`);
    }
    if (seen.has(p)) {
      throw new ArgumentError("INVALID_SUBPROTOCOL", `duplicate subprotocol ${JSON.stringify(p)}`);
    }
    seen.add(p);
  }
}

/** What goes into the opening request. */
export interface HandshakeRequest {
  /** Value of the Host header: host, plus ":port" unless it is the scheme's default. */
  readonly host: string;
  /** Resource name: path and query, starting with "/". */
  readonly path: string;
  /** The `Sec-WebSocket-Key`. */
  readonly key: string;
  /** Extra headers, already validated with {@linkcode validateHeader}. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  /** Subprotocols to offer, in order of preference. */
  readonly protocols?: readonly string[];
  /** Extension offers, each a `Sec-WebSocket-Extensions` element. */
  readonly extensions?: readonly string[];
}

/** Serializes the opening request (RFC 6455 §4.1). Header values are written as Latin-1. */
export function buildRequest(request: HandshakeRequest): Uint8Array {
  const lines = [`GET ${request.path} HTTP/1.1`];
  let hostSet = false;
  const extra: string[] = [];
  for (const [name, value] of request.headers ?? []) {
    if (name.toLowerCase() === "host") {
      hostSet = true;
      lines.push(`Host: ${value}`);
    } else {
      extra.push(`${name}: ${value}`);
    }
  }
  if (!hostSet) lines.push(`Host: ${request.host}`);
  lines.push(
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${request.key}`,
    "Sec-WebSocket-Version: 13",
  );
  if (request.protocols && request.protocols.length > 0) {
    lines.push(`Sec-WebSocket-Protocol: ${request.protocols.join(", ")}`);
  }
  if (request.extensions && request.extensions.length > 0) {
    lines.push(`Sec-WebSocket-Extensions: ${request.extensions.join(", ")}`);
  }
  lines.push(...extra, "", "");
  return latin1Encode(lines.join("\r\n"));
}

/** The outcome of a successful handshake. */
export interface HandshakeResult {
  /** The subprotocol the server chose, or "" for none. */
  readonly protocol: string;
  /** The extensions in effect, in the order the server listed them. */
  readonly extensions: Extension[];
}

/** What the response is checked against. */
export interface ResponseExpectations {
  /** The key that was sent. */
  readonly key: string;
  /** The subprotocols that were offered. */
  readonly protocols?: readonly string[];
  /** The extensions that were offered. */
  readonly extensionFactories?: readonly ClientExtensionFactory[];
}

/** Whether a comma-separated header value contains `token` (ASCII case-insensitive). */
function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const part of value.split(",")) {
    if (part.trim().toLowerCase() === token) return true;
  }
  return false;
}

/**
 * Checks the server's response (RFC 6455 §4.1, "the client MUST validate the server's response").
 * Every header is treated as possibly missing.
 *
 * @throws {HandshakeError} with the status and headers received.
 */
export function checkResponse(
  response: HttpResponse,
  expected: ResponseExpectations,
  body?: Uint8Array,
): HandshakeResult {
  const details = { status: response.status, headers: response.headers, body };
  const h = response.headers;
  // Item 1: a status other than 101 is handled as HTTP, i.e. refused here.
  if (response.status !== 101) {
    const reason = response.reason ? ` ${response.reason}` : "";
    throw new HandshakeError(
      "UNEXPECTED_STATUS",
      `server answered HTTP ${response.status}${reason} instead of 101 Switching Protocols`,
      details,
    );
  }
  if (response.version !== "HTTP/1.1") {
    throw new HandshakeError(
      "INVALID_HTTP_RESPONSE",
      `101 response uses ${response.version}, not HTTP/1.1`,
      details,
    );
  }
  // Item 2: Upgrade must be "websocket", case-insensitively.
  if ((h["upgrade"] ?? "").trim().toLowerCase() !== "websocket") {
    throw new HandshakeError(
      "INVALID_UPGRADE_HEADER",
      `missing or invalid Upgrade header: ${JSON.stringify(h["upgrade"] ?? null)}`,
      details,
    );
  }
  // Item 3: Connection is a token list that must contain "Upgrade".
  if (!hasToken(h["connection"], "upgrade")) {
    throw new HandshakeError(
      "INVALID_CONNECTION_HEADER",
      `missing or invalid Connection header: ${JSON.stringify(h["connection"] ?? null)}`,
      details,
    );
  }
  // Item 4: Sec-WebSocket-Accept must be exactly base64(SHA-1(key + GUID)).
  const accept = h["sec-websocket-accept"];
  if (accept === undefined || accept.trim() !== acceptFor(expected.key)) {
    throw new HandshakeError(
      "INVALID_ACCEPT",
      `missing or wrong Sec-WebSocket-Accept: ${JSON.stringify(accept ?? null)}`,
      details,
    );
  }
  // Item 5: extensions must all have been offered, each at most once.
  const extensions: Extension[] = [];
  const extHeader = h["sec-websocket-extensions"];
  if (extHeader !== undefined && extHeader.trim() !== "") {
    const factories = expected.extensionFactories ?? [];
    const used = new Set<string>();
    let elements;
    try {
      elements = parseExtensions(extHeader);
    } catch (error) {
      const e = error as HandshakeError;
      throw new HandshakeError(e.code, e.message, details);
    }
    for (const element of elements) {
      const factory = factories.find((f) => f.name === element.name);
      if (!factory) {
        throw new HandshakeError(
          "UNEXPECTED_EXTENSION",
          `server accepted extension ${element.name}, which was not offered`,
          details,
        );
      }
      if (used.has(element.name)) {
        throw new HandshakeError(
          "UNEXPECTED_EXTENSION",
          `server accepted extension ${element.name} twice`,
          details,
        );
      }
      used.add(element.name);
      try {
        extensions.push(factory.accept(element.params));
      } catch (error) {
        if (error instanceof HandshakeError) {
          throw new HandshakeError(error.code, error.message, { ...details, cause: error.cause });
        }
        throw error;
      }
    }
  }
  // Item 6: a subprotocol must be one that was offered.
  let protocol = "";
  const protoHeader = h["sec-websocket-protocol"];
  if (protoHeader !== undefined) {
    protocol = protoHeader.trim();
    if (!(expected.protocols ?? []).includes(protocol)) {
      throw new HandshakeError(
        "UNEXPECTED_SUBPROTOCOL",
        `server chose subprotocol ${JSON.stringify(protocol)}, which was not offered`,
        details,
      );
    }
  }
  return { protocol, extensions };
}

/**
 * The start of a refused response's body (a status other than 101), kept for the error report:
 * as many bytes as `Content-Length` announces, at most 64 KiB (`DEFAULTS.maxErrorBodySize`), and
 * none when no length is announced (the body could be endless).
 */
export class RefusedResponse {
  readonly #response: HttpResponse;
  readonly #key: string;
  readonly #body: Uint8Array;
  #length = 0;

  /** `response`: the refused head; `key`: the `Sec-WebSocket-Key` sent. */
  constructor(response: HttpResponse, key: string) {
    this.#response = response;
    this.#key = key;
    const announced = Number(response.headers["content-length"] ?? "0");
    const wanted = Number.isSafeInteger(announced) && announced > 0
      ? Math.min(announced, DEFAULTS.maxErrorBodySize)
      : 0;
    this.#body = new Uint8Array(wanted);
  }

  /** Whether the wanted part of the body is in. */
  get complete(): boolean {
    return this.#length === this.#body.length;
  }

  /** Adds body bytes; those past the wanted part are ignored. */
  push(chunk: Uint8Array): void {
    const take = Math.min(chunk.length, this.#body.length - this.#length);
    this.#body.set(chunk.subarray(0, take), this.#length);
    this.#length += take;
  }

  /** The error to report, with the body received so far. */
  error(): HandshakeError | undefined {
    try {
      checkResponse(this.#response, { key: this.#key }, this.#body.subarray(0, this.#length));
    } catch (error) {
      if (error instanceof HandshakeError) return error;
      throw error;
    }
    return undefined;
  }
}
