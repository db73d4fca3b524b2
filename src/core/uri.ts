/**
 * WebSocket URL parsing (RFC 6455 §3): `ws://` and `wss://`, default ports, IPv6 literals, path
 * and query kept, user and password turned into a Basic `Authorization` header; and
 * `ws+unix:///path/to.sock:/request/path` (the form the `ws` library reads) for a server on a Unix
 * domain socket.
 *
 * @module
 */

import { basicCredentials } from "./bytes.ts";
import { ArgumentError } from "./errors.ts";

/** A parsed WebSocket URL. */
export interface WebSocketUrl {
  /** The URL as given, normalized, without user and password. */
  readonly href: string;
  /** True for `wss://`. */
  readonly secure: boolean;
  /** Host name or IP address to connect to (IPv6 without brackets). */
  readonly hostname: string;
  /** TCP port (80 and 443 by default). */
  readonly port: number;
  /** Host header value: host (IPv6 in brackets), plus ":port" unless it is the default. */
  readonly host: string;
  /** Resource name: path and query. */
  readonly path: string;
  /** `Basic ...` from the URL's user and password, if any. */
  readonly authorization?: string;
  /** For `ws+unix://`: the Unix domain socket's path (then `hostname` is `localhost`). */
  readonly socketPath?: string;
}

/**
 * Parses and checks a WebSocket URL before any socket is opened.
 *
 * @throws {ArgumentError} `INVALID_URL` for anything but a `ws:`/`wss:` URL with a host and no
 * fragment.
 */
export function parseWebSocketUrl(input: string | URL): WebSocketUrl {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new ArgumentError("INVALID_URL", `invalid URL: ${JSON.stringify(String(input))}`);
  }
  const scheme = url.protocol;
  if (scheme === "ws+unix:") return unixUrl(url, input);
  if (scheme !== "ws:" && scheme !== "wss:") {
    throw new ArgumentError(
      "INVALID_URL",
      `unsupported URL scheme ${JSON.stringify(scheme)}: use ws://, wss:// or ws+unix://`,
    );
  }
  if (url.hostname === "") {
    throw new ArgumentError("INVALID_URL", `URL has no host: ${JSON.stringify(String(input))}`);
  }
  // RFC 6455 §3: "Fragment identifiers are meaningless in the context of WebSocket URIs".
  if (url.hash !== "" || String(input).includes("#")) {
    throw new ArgumentError(
      "INVALID_URL",
      `WebSocket URLs cannot have a fragment: ${JSON.stringify(String(input))}`,
    );
  }
  const secure = scheme === "wss:";
  const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
  const bracketed = url.hostname.startsWith("[");
  const hostname = bracketed ? url.hostname.slice(1, -1) : url.hostname;
  let authorization: string | undefined;
  try {
    authorization = basicCredentials(url);
  } catch (error) {
    // decodeURIComponent's URIError: "%E0" alone is not UTF-8 (found by scripts/fuzz).
    throw new ArgumentError(
      "INVALID_URL",
      `URL credentials are not valid percent-encoded UTF-8: ${JSON.stringify(String(input))}`,
      { cause: error },
    );
  }
  url.username = "";
  url.password = "";
  return {
    href: url.href,
    secure,
    hostname,
    port,
    host: url.host,
    path: `${url.pathname || "/"}${url.search}`,
    authorization,
  };
}

/**
 * `ws+unix:///path/to.sock:/request/path?query`: the socket path runs up to the first `:` of the
 * URL's path (so a socket path cannot contain one), the request path follows (default `/`). The
 * Host header is `localhost`.
 */
function unixUrl(url: URL, input: string | URL): WebSocketUrl {
  if (url.hash !== "" || String(input).includes("#")) {
    throw new ArgumentError(
      "INVALID_URL",
      `WebSocket URLs cannot have a fragment: ${JSON.stringify(String(input))}`,
    );
  }
  if (url.host !== "") {
    throw new ArgumentError(
      "INVALID_URL",
      `ws+unix:// URLs take no host: ws+unix:///path/to.sock:/request/path, got ${
        JSON.stringify(String(input))
      }`,
    );
  }
  const pathname = url.pathname;
  const colon = pathname.indexOf(":");
  let socketPath: string;
  try {
    socketPath = decodeURIComponent(colon < 0 ? pathname : pathname.slice(0, colon));
  } catch {
    throw new ArgumentError(
      "INVALID_URL",
      `malformed socket path: ${JSON.stringify(String(input))}`,
    );
  }
  const request = colon < 0 ? "/" : pathname.slice(colon + 1) || "/";
  if (socketPath === "" || socketPath === "/") {
    throw new ArgumentError(
      "INVALID_URL",
      `ws+unix:// URL has no socket path: ${JSON.stringify(String(input))}`,
    );
  }
  if (!request.startsWith("/")) {
    throw new ArgumentError(
      "INVALID_URL",
      `the request path of a ws+unix:// URL must start with "/": ${JSON.stringify(String(input))}`,
    );
  }
  return {
    href: url.href,
    secure: false,
    hostname: "localhost",
    port: 0,
    host: "localhost",
    path: `${request}${url.search}`,
    socketPath,
  };
}
