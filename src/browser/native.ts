/**
 * The browser's own `WebSocket`, with local types (the build's declarations then need no DOM
 * library), and the one place that looks it up on `globalThis`.
 *
 * @module
 */

import { ArgumentError } from "../core/errors.ts";

/** The close event of a browser `WebSocket`. */
export interface NativeCloseEvent {
  /** The close code: the server's when a close frame arrived, 1006 when none did. */
  readonly code: number;
  /** The close reason. */
  readonly reason: string;
  /** True when the closing handshake completed. */
  readonly wasClean: boolean;
}

/** The part of the WHATWG `WebSocket` that the browser client uses. */
export interface NativeWebSocket {
  /** 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED. */
  readonly readyState: number;
  /** Bytes queued by `send` and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** The subprotocol the server chose. */
  readonly protocol: string;
  /** The extensions in effect. */
  readonly extensions: string;
  /** How binary messages arrive: this client asks for `"arraybuffer"`. */
  binaryType: string;
  /** Queues a message. */
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  /** Starts the closing handshake (or abandons an attempt to connect). */
  close(code?: number, reason?: string): void;
  /** Called once open. */
  onopen: ((event: unknown) => void) | null;
  /** Called for each message: text as a string, binary as an `ArrayBuffer`. */
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  /** Called when the connection failed (a close event follows). */
  onerror: ((event: unknown) => void) | null;
  /** Called once closed. */
  onclose: ((event: NativeCloseEvent) => void) | null;
}

/** The `WebSocket` constructor. */
export type NativeWebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => NativeWebSocket;

/**
 * The environment's `WebSocket`.
 *
 * @throws {ArgumentError} `UNSUPPORTED_IN_BROWSER` when there is none.
 */
export function nativeWebSocket(): NativeWebSocketConstructor {
  const native = (globalThis as { WebSocket?: NativeWebSocketConstructor }).WebSocket;
  if (typeof native !== "function") {
    throw new ArgumentError(
      "UNSUPPORTED_IN_BROWSER",
      "this environment has no WebSocket: the browser build needs the browser's own",
    );
  }
  return native;
}
