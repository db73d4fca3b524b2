/**
 * The close frame (RFC 6455 §5.5.1, §7.4): its payload encoded and parsed, the codes and reasons
 * an application may send, and an error message cut to fit a reason.
 *
 * @module
 */

import { CloseCode, isValidCloseCode, MAX_CLOSE_REASON_BYTES } from "./constants.ts";
import { ArgumentError, ProtocolError } from "./errors.ts";
import { Utf8Validator } from "./utf8.ts";

const encoder = new TextEncoder();

/** Payload of a close frame: the code as 2 bytes big-endian, then the UTF-8 reason. */
export function encodeClosePayload(code: number | undefined, reason = ""): Uint8Array {
  if (code === undefined || code === CloseCode.NO_STATUS_RECEIVED) return new Uint8Array(0);
  const text = encoder.encode(reason);
  const payload = new Uint8Array(2 + text.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return payload;
}

const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Parses a received close payload (RFC 6455 §5.5.1, §7.4).
 *
 * @throws {ProtocolError} `INVALID_CLOSE_PAYLOAD` (1 byte), `INVALID_CLOSE_CODE` (1002) or
 * `INVALID_CLOSE_REASON` (1007).
 */
export function parseClosePayload(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length === 0) return { code: CloseCode.NO_STATUS_RECEIVED, reason: "" };
  if (payload.length === 1) {
    throw new ProtocolError(
      "INVALID_CLOSE_PAYLOAD",
      CloseCode.PROTOCOL_ERROR,
      "close frame with a 1-byte payload",
    );
  }
  const code = (payload[0] << 8) | payload[1];
  if (!isValidCloseCode(code)) {
    throw new ProtocolError(
      "INVALID_CLOSE_CODE",
      CloseCode.PROTOCOL_ERROR,
      `close frame with invalid code ${code}`,
    );
  }
  const validator = new Utf8Validator();
  if (!validator.push(payload, 2) || !validator.complete) {
    throw new ProtocolError(
      "INVALID_CLOSE_REASON",
      CloseCode.INVALID_PAYLOAD_DATA,
      "close frame reason is not valid UTF-8",
    );
  }
  return { code, reason: utf8Decoder.decode(payload.subarray(2)) };
}

/**
 * Checks a close code and reason given by the user (RFC 6455 §7.4: 1000 or 3000–4999 may be sent
 * by an application; the reason fits in 123 UTF-8 bytes).
 *
 * @throws {ArgumentError} `INVALID_CLOSE_CODE` or `INVALID_CLOSE_REASON`.
 */
export function validateCloseArguments(code: number | undefined, reason: string): void {
  if (code !== undefined) {
    if (!Number.isInteger(code) || !(code === 1000 || (code >= 3000 && code <= 4999))) {
      throw new ArgumentError(
        "INVALID_CLOSE_CODE",
        `close code must be 1000 or in 3000–4999, got ${code}`,
      );
    }
  } else if (reason !== "") {
    throw new ArgumentError("INVALID_CLOSE_REASON", "a close reason needs a close code");
  }
  if (typeof reason !== "string") {
    throw new ArgumentError("INVALID_CLOSE_REASON", "close reason must be a string");
  }
  if (encoder.encode(reason).length > MAX_CLOSE_REASON_BYTES) {
    throw new ArgumentError(
      "INVALID_CLOSE_REASON",
      `close reason longer than ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes`,
    );
  }
}

/** Cuts an error message to fit a close frame's reason (123 bytes), on a character boundary. */
export function truncateReason(message: string): string {
  if (encoder.encode(message).length <= MAX_CLOSE_REASON_BYTES) return message;
  let text = message.slice(0, MAX_CLOSE_REASON_BYTES);
  while (encoder.encode(text).length > MAX_CLOSE_REASON_BYTES) text = text.slice(0, -1);
  return text;
}
