/**
 * The events of the browser's {@linkcode WebSocketClient}: the shared events of
 * `src/client/events.ts` with the browser's client as their `target`. They are spelled out here
 * so that the browser entry documents itself (its types name no server class); the check at the
 * bottom fails to compile if they ever differ from the shared ones.
 *
 * @module
 */

import type * as shared from "../client/events.ts";
import type { Outage } from "../client/options.ts";
import type { CloseInfo, WebSocketError } from "../core/errors.ts";
import type { WebSocketClient } from "./client.ts";

/** Event passed to `open` listeners (after `onOpen`, if given, has run). */
export interface OpenEvent {
  /** The event type. */
  readonly type: "open";
  /** Set when this open ends an outage: a reconnection after an open connection was lost. */
  readonly outage?: Outage;
  /** The client that raised the event. */
  readonly target: WebSocketClient;
}

/** Event passed to `outage` listeners, right after the `open` event of a reconnection. */
export interface OutageEvent {
  /** The event type. */
  readonly type: "outage";
  /** When the connection was lost and restored, the attempts, the last message before the loss. */
  readonly outage: Outage;
  /** The client that raised the event. */
  readonly target: WebSocketClient;
}

/** Event passed to `message` listeners: text as `string`, binary as `Uint8Array`. */
export interface MessageEvent {
  /** The event type. */
  readonly type: "message";
  /** The message: a string for text, bytes for binary. */
  readonly data: string | Uint8Array;
  /** The client that raised the event. */
  readonly target: WebSocketClient;
}

/** Event of `ping` and `pong` listeners: never raised in a browser, which hides control frames. */
export interface PingEvent {
  /** The event type. */
  readonly type: "ping" | "pong";
  /** The payload of the control frame. */
  readonly data: Uint8Array;
  /** The client that raised the event. */
  readonly target: WebSocketClient;
}

/** Event passed to `close` listeners: how the connection ended. */
export interface CloseEvent extends CloseInfo {
  /** The event type. */
  readonly type: "close";
  /** The client that raised the event. */
  readonly target: WebSocketClient;
}

/** Event passed to `error` listeners, before the `close` event. */
export interface ErrorEvent {
  /** The event type. */
  readonly type: "error";
  /** What failed. */
  readonly error: WebSocketError;
  /** The client that raised the event. */
  readonly target: WebSocketClient;
}

/** Event passed to `reconnect` listeners: the connection dropped (or an attempt failed). */
export interface ReconnectEvent {
  /** The event type. */
  readonly type: "reconnect";
  /** How the last connection (or attempt) ended. */
  readonly info: CloseInfo;
  /** Whether that connection had been open (false: an attempt to connect failed). */
  readonly wasOpen: boolean;
  /** The number of the next attempt (1 for the first retry). */
  readonly attempt: number;
  /** Milliseconds until that attempt. */
  readonly delay: number;
  /** The client that raised the event. */
  readonly target: WebSocketClient;
}

/** Events of the browser's {@linkcode WebSocketClient} by type. */
export interface WebSocketClientEventMap {
  /** The connection opened (again, after a reconnection). */
  open: OpenEvent;
  /** A reconnection ended an outage (fired right after its `open`). */
  outage: OutageEvent;
  /** The connection dropped or an attempt failed; another attempt follows. */
  reconnect: ReconnectEvent;
  /** A message arrived. */
  message: MessageEvent;
  /** Never raised in a browser. */
  ping: PingEvent;
  /** Never raised in a browser. */
  pong: PingEvent;
  /** The connection is closed for good. */
  close: CloseEvent;
  /** The connection failed; a close event follows. */
  error: ErrorEvent;
}

// Compile-time check: the events above are the shared ones, retargeted (both ways assignable).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
type _SameAsShared = Holds<
  Same<WebSocketClientEventMap, shared.WebSocketClientEventMap<WebSocketClient>>
>;
