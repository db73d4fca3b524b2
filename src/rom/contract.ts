/**
 * The ROM-WebSocket event contract (1C:Enterprise external events), byte for byte: the table of
 * `ARCHITECTURE.md` §7. Every string here is part of the public contract: 1C code compares them
 * literally.
 *
 * @module
 */

/** `source` of every external event. */
export const ROM_SOURCE = "ROM-WebSocket";

/** One external event: `(source, event, data)`. */
export interface RomEvent {
  /** The `event` string, e.g. `{"Event": "Message"}`. */
  readonly event: string;
  /** The `data` string. */
  readonly data: string;
}

/** The connection opened. */
export const ROM_OPEN: RomEvent = {
  event: '{"Event": "Connection","State": "Open"}',
  data: '{"Connection": "Open"}',
};

/** The connection was closed by `Disconnect()`. */
export const ROM_CLOSE_NORMAL: RomEvent = {
  event: '{"Event": "Connection","State": "Close","Reason": "Normal"}',
  data: '{"Connection": "Close"}',
};

/** The server closed the connection, or it broke. */
export const ROM_CLOSE_DROP: RomEvent = {
  event: '{"Event": "Connection","State": "Close","Reason": "Drop"}',
  data: '{"Connection": "Close"}',
};

/** The connection could not be opened. */
export const ROM_FAIL: RomEvent = {
  event: '{"Event": "Connection","State": "Fail"}',
  data: '{"Connection": "Fail"}',
};

/** `event` of a received message; `data` is the message text. */
export const ROM_MESSAGE_EVENT = '{"Event": "Message"}';

/** `event` of a binary message delivered as base64 (an extension, off by default). */
export const ROM_BINARY_MESSAGE_EVENT = '{"Event": "Message","Type": "Binary"}';
