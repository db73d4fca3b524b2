/**
 * Protocol constants of RFC 6455 and the library's default limits.
 *
 * @module
 */

/** RFC 6455 §1.3: the GUID appended to `Sec-WebSocket-Key` to compute `Sec-WebSocket-Accept`. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** RFC 6455 §5.2 frame opcodes. */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** A frame opcode. */
export type Opcode = typeof Opcode[keyof typeof Opcode];

/** RFC 6455 §7.4.1 and the IANA registry: close status codes with their names. */
export const CloseCode = {
  NORMAL_CLOSURE: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  /** Never sent: reported when a close frame carried no status code. */
  NO_STATUS_RECEIVED: 1005,
  /** Never sent: reported when the connection ended without a close frame. */
  ABNORMAL_CLOSURE: 1006,
  INVALID_PAYLOAD_DATA: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXTENSION: 1010,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  BAD_GATEWAY: 1014,
  /** Never sent: reported when the TLS handshake failed. */
  TLS_HANDSHAKE: 1015,
} as const;

/** WHATWG `readyState` values. */
export const ReadyState = {
  CONNECTING: 0,
  OPEN: 1,
  CLOSING: 2,
  CLOSED: 3,
} as const;

/** One of the four {@linkcode ReadyState} values. */
export type ReadyState = typeof ReadyState[keyof typeof ReadyState];

/** A close status code (any number; see {@linkcode isValidCloseCode}). */
export type CloseCode = number;

/**
 * Whether `code` may appear in a close frame on the wire (RFC 6455 §7.4).
 *
 * 1000–1003 and 1007–1014 are defined; 1004 is reserved, 1005, 1006 and 1015 must never be sent;
 * 3000–3999 are registered with IANA and 4000–4999 are private. Everything else is invalid.
 */
export function isValidCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

/** Default limits, each documented in the README. */
export const DEFAULTS = {
  /** Largest message (after decompression) that is accepted: 64 MiB. */
  maxMessageSize: 67_108_864,
  /** Most fragments one message may have (twice what the Autobahn 9.3/9.4 cases need). */
  maxFragments: 131_072,
  /** Longest line in the HTTP response head. */
  maxHeaderLineLength: 8192,
  /** Most header lines in the HTTP response head. */
  maxHeaderCount: 128,
  /** Largest HTTP response head (status line and headers). */
  maxHeadSize: 65_536,
  /** Largest non-101 response body kept for the error report. */
  maxErrorBodySize: 65_536,
} as const;

/** RFC 6455 §5.5: control frames carry at most 125 bytes of payload. */
export const MAX_CONTROL_PAYLOAD = 125;

/** RFC 6455 §5.5.1: a close reason fits in a control frame after the 2-byte code. */
export const MAX_CLOSE_REASON_BYTES = 123;
