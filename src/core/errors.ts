/**
 * The error tree. Every error the library raises or reports is a {@linkcode WebSocketError} with a
 * stable `code` string; the README lists every code.
 *
 * ```
 * WebSocketError                 base class; `code` is stable
 * ├── ArgumentError              a bad URL, option, header, close code, payload (misuse); what
 * │                              a browser cannot do (UNSUPPORTED_IN_BROWSER)
 * ├── InvalidStateError          an operation the connection's state does not allow; the outbox
 * │                              refused or dropped a message (full, expired)
 * ├── NetworkError               the TCP or TLS connection failed (refused, DNS, reset, TLS)
 * ├── TimeoutError               open, close, keepalive or idle deadline passed
 * ├── AbortError                 the caller's AbortSignal fired
 * ├── HandshakeError             the server's HTTP response was refused; carries status, headers
 * ├── ProtocolError              the server broke RFC 6455/7692; carries the close code we sent
 * ├── CallbackError              a function given in the options (url, headers, onOpen) failed
 * └── ConnectionClosedError      the connection is closed; carries both close frames
 * ```
 *
 * Peer errors are data, misuse is an exception: the sans-I/O core never throws on received bytes;
 * it records a `ProtocolError` or `HandshakeError` and queues the right close frame.
 *
 * @module
 */

/** Options accepted by every error constructor. */
export interface WebSocketErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Base class of every error raised or reported by rom-websocket. */
export class WebSocketError extends Error {
  /** A stable, documented identifier such as `"INVALID_UTF8"`. */
  readonly code: string;

  /** Creates the error; `options.cause` keeps the underlying error. */
  constructor(code: string, message: string, options?: WebSocketErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WebSocketError";
    this.code = code;
  }
}

/** Codes of {@linkcode ArgumentError}. */
export type ArgumentErrorCode =
  | "INVALID_URL"
  | "INVALID_OPTION"
  | "INVALID_HEADER"
  | "INVALID_SUBPROTOCOL"
  | "INVALID_CLOSE_CODE"
  | "INVALID_CLOSE_REASON"
  | "INVALID_DATA"
  | "CONTROL_PAYLOAD_TOO_BIG"
  | "UNSUPPORTED_IN_BROWSER";

/**
 * A caller passed something the library cannot use. Thrown before any I/O happens.
 * `UNSUPPORTED_IN_BROWSER`: the browser build was asked for what a browser's `WebSocket` cannot
 * do (request headers, a proxy, TLS settings, a connector, `ping()`, ...).
 */
export class ArgumentError extends WebSocketError {
  /** The stable error code (listed in the README). */
  declare readonly code: ArgumentErrorCode;
  /** Creates the error; `options.cause` keeps the underlying error. */
  constructor(code: ArgumentErrorCode, message: string, options?: WebSocketErrorOptions) {
    super(code, message, options);
    this.name = "ArgumentError";
  }
}

/** Codes of {@linkcode InvalidStateError}. */
export type InvalidStateErrorCode =
  | "NOT_OPEN"
  | "NOT_CONNECTING"
  | "OUTBOX_FULL"
  | "OUTBOX_EXPIRED";

/** The operation is not allowed in the connection's current state (e.g. `send` after close). */
export class InvalidStateError extends WebSocketError {
  /** The stable error code (listed in the README). */
  declare readonly code: InvalidStateErrorCode;
  /** Creates the error; `options.cause` keeps the underlying error. */
  constructor(code: InvalidStateErrorCode, message: string, options?: WebSocketErrorOptions) {
    super(code, message, options);
    this.name = "InvalidStateError";
  }
}

/** Codes of {@linkcode NetworkError}. */
export type NetworkErrorCode =
  | "CONNECTION_REFUSED"
  | "HOST_NOT_FOUND"
  | "CONNECTION_RESET"
  | "UNEXPECTED_EOF"
  | "TLS_ERROR"
  | "PROXY_ERROR"
  | "NETWORK_ERROR";

/** The transport failed: connection refused, DNS failure, reset, TLS or proxy failure. */
export class NetworkError extends WebSocketError {
  /** The stable error code (listed in the README). */
  declare readonly code: NetworkErrorCode;
  /** Creates the error; `options.cause` keeps the underlying error. */
  constructor(code: NetworkErrorCode, message: string, options?: WebSocketErrorOptions) {
    super(code, message, options);
    this.name = "NetworkError";
  }
}

/** Codes of {@linkcode TimeoutError}. */
export type TimeoutErrorCode = "OPEN_TIMEOUT" | "CLOSE_TIMEOUT" | "PING_TIMEOUT" | "IDLE_TIMEOUT";

/**
 * A deadline passed: opening (`openTimeout`), closing (`closeTimeout`), keepalive (`pingTimeout`)
 * or silence from the peer (`idleTimeout`).
 */
export class TimeoutError extends WebSocketError {
  /** The stable error code (listed in the README). */
  declare readonly code: TimeoutErrorCode;
  /** Creates the error; `options.cause` keeps the underlying error. */
  constructor(code: TimeoutErrorCode, message: string, options?: WebSocketErrorOptions) {
    super(code, message, options);
    this.name = "TimeoutError";
  }
}

/** The caller's `AbortSignal` fired; `cause` holds the signal's reason. */
export class AbortError extends WebSocketError {
  /** The stable error code (listed in the README). */
  declare readonly code: "ABORTED";
  /** Creates the error; `options.cause` keeps the underlying error. */
  constructor(message = "The operation was aborted", options?: WebSocketErrorOptions) {
    super("ABORTED", message, options);
    this.name = "AbortError";
  }
}

/** Codes of {@linkcode CallbackError}: which function failed. */
export type CallbackErrorCode =
  | "URL_CALLBACK_FAILED"
  | "HEADERS_CALLBACK_FAILED"
  | "ON_OPEN_FAILED";

/**
 * A function given in the options threw or rejected: `url` or `headers` (that attempt fails and
 * the reconnect policy decides; the default retries) or `onOpen` (reported as an `error` event; the
 * connection stays open). `cause` holds what it threw.
 */
export class CallbackError extends WebSocketError {
  /** The stable error code (listed in the README). */
  declare readonly code: CallbackErrorCode;
  /** Creates the error; `options.cause` keeps what the function threw. */
  constructor(code: CallbackErrorCode, message: string, options?: WebSocketErrorOptions) {
    super(code, message, options);
    this.name = "CallbackError";
  }
}

/** Codes of {@linkcode HandshakeError}. */
export type HandshakeErrorCode =
  | "UNEXPECTED_STATUS"
  | "INVALID_UPGRADE_HEADER"
  | "INVALID_CONNECTION_HEADER"
  | "INVALID_ACCEPT"
  | "UNEXPECTED_SUBPROTOCOL"
  | "UNEXPECTED_EXTENSION"
  | "INVALID_HTTP_RESPONSE"
  | "RESPONSE_TOO_LARGE"
  | "HANDSHAKE_INTERRUPTED";

/** Headers as received: lower-case names, repeated headers joined with ", ". */
export type ResponseHeaders = Readonly<Record<string, string>>;

/** Details a {@linkcode HandshakeError} carries. */
export interface HandshakeErrorOptions extends WebSocketErrorOptions {
  /** HTTP status of the response, when a status line was read. */
  status?: number;
  /** Headers of the response, when they were read. */
  headers?: ResponseHeaders;
  /** The start of the response body (at most 64 KiB) for non-101 responses. */
  body?: Uint8Array;
}

/** The server's HTTP response does not open a WebSocket connection. */
export class HandshakeError extends WebSocketError {
  /** The stable error code (listed in the README). */
  declare readonly code: HandshakeErrorCode;
  /** HTTP status code received, if a status line was read. */
  readonly status?: number;
  /** Response headers received (lower-case names), if the head was read. */
  readonly headers: ResponseHeaders;
  /** Start of the response body for a refused handshake (empty if none arrived). */
  readonly body: Uint8Array;

  /** Creates the error; `options.cause` keeps the underlying error. */
  constructor(code: HandshakeErrorCode, message: string, options?: HandshakeErrorOptions) {
    super(code, message, options);
    this.name = "HandshakeError";
    this.status = options?.status;
    this.headers = options?.headers ?? {};
    this.body = options?.body ?? new Uint8Array(0);
  }

  /** The body decoded as UTF-8 (invalid bytes replaced), for messages and logs. */
  get bodyText(): string {
    return new TextDecoder().decode(this.body);
  }
}

/** Codes of {@linkcode ProtocolError}. */
export type ProtocolErrorCode =
  | "MASKED_FRAME"
  | "RESERVED_BITS"
  | "INVALID_OPCODE"
  | "CONTROL_FRAME_TOO_BIG"
  | "FRAGMENTED_CONTROL_FRAME"
  | "UNEXPECTED_CONTINUATION"
  | "EXPECTED_CONTINUATION"
  | "INVALID_LENGTH"
  | "MESSAGE_TOO_BIG"
  | "TOO_MANY_FRAGMENTS"
  | "INVALID_UTF8"
  | "INVALID_CLOSE_PAYLOAD"
  | "INVALID_CLOSE_CODE"
  | "INVALID_CLOSE_REASON"
  | "INVALID_COMPRESSED_DATA";

/** The server violated the protocol; the connection was failed with `closeCode`. */
export class ProtocolError extends WebSocketError {
  /** The stable error code (listed in the README). */
  declare readonly code: ProtocolErrorCode;
  /** The close code sent to the server (1002, 1007, 1008 or 1009). */
  readonly closeCode: number;

  /** Creates the error; `options.cause` keeps the underlying error. */
  constructor(
    code: ProtocolErrorCode,
    closeCode: number,
    message: string,
    options?: WebSocketErrorOptions,
  ) {
    super(code, message, options);
    this.name = "ProtocolError";
    this.closeCode = closeCode;
  }
}

/** A close frame as sent or received. */
export interface CloseFrame {
  /** Status code; 1005 when the frame carried none. */
  readonly code: number;
  /** Reason text (may be empty). */
  readonly reason: string;
}

/** How a connection ended. */
export interface CloseInfo extends CloseFrame {
  /** True when close frames were exchanged and the TCP connection then ended in order. */
  readonly wasClean: boolean;
  /** The close frame received from the server, if one arrived. */
  readonly received?: CloseFrame;
  /** The close frame sent to the server, if one was sent. */
  readonly sent?: CloseFrame;
  /** The error that ended the connection, if it did not end cleanly by request of either side. */
  readonly error?: WebSocketError;
}

/**
 * Whether a connection ended normally: both close frames exchanged, no error, and a code that
 * means "done" (1000 normal, 1001 going away, 1005 no status given). Anything else (1006, a
 * failure, 1011, ...) is an abnormal end, e.g. one worth reconnecting after.
 */
export function isNormalClosure(info: CloseInfo): boolean {
  return info.wasClean && info.error === undefined &&
    (info.code === 1000 || info.code === 1001 || info.code === 1005);
}

/** The connection is closed (or closing); `info` says how. */
export class ConnectionClosedError extends WebSocketError {
  /** The stable error code (listed in the README). */
  declare readonly code: "CONNECTION_CLOSED";
  /** How the connection ended. */
  readonly info: CloseInfo;

  /** Creates the error; `options.cause` keeps the underlying error. */
  constructor(info: CloseInfo, message?: string) {
    super(
      "CONNECTION_CLOSED",
      message ?? describeClose(info),
      info.error ? { cause: info.error } : undefined,
    );
    this.name = "ConnectionClosedError";
    this.info = info;
  }
}

/** Human-readable summary of how a connection closed, e.g. "received 1000 (OK); then sent 1000". */
export function describeClose(info: CloseInfo): string {
  const frame = (f: CloseFrame) => `${f.code}${f.reason ? ` (${f.reason})` : ""}`;
  const parts: string[] = [];
  if (info.received) parts.push(`received ${frame(info.received)}`);
  if (info.sent) parts.push(`sent ${frame(info.sent)}`);
  if (parts.length === 0) parts.push(`no close frame (code ${info.code})`);
  let text = `connection closed: ${parts.join(", ")}`;
  if (info.error) text += `: ${info.error.message}`;
  return text;
}
