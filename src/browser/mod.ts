/**
 * The browser build: `connect()`, `WebSocketClient` and `RomWebSocket` over the browser's own
 * `WebSocket`, with the same events, async iteration, reconnection (policy and outage report),
 * outbox, `onOpen`, `idleTimeout` and error tree as on Deno, Bun and Node.js. What a browser
 * cannot do (request headers, a proxy, TLS settings, a connector, `ping()`, ...) is refused with
 * an `ArgumentError` `UNSUPPORTED_IN_BROWSER`, never ignored. Bundlers that target browsers pick
 * this build for the package root too (the `browser` export condition).
 *
 * @example
 * ```ts
 * import { RomWebSocket } from "@rom/websocket/browser";
 *
 * const rom = new RomWebSocket({ reconnect: true });
 * rom.onExternalEvent = (_source, event, data) => console.log(event, data);
 * await rom.Connect("wss://feed.example/events");
 * ```
 *
 * @module
 */

import type * as events from "../client/events.ts";
import type { WebSocketClient } from "./client.ts";

export { connect, WebSocketClient } from "./client.ts";
export type { ClientOptions, OpenInfo, UrlSource } from "./options.ts";
export { type RomOptions, RomWebSocket } from "./rom_websocket.ts";
export {
  type ExternalEventHandler,
  type RomBinaryOption,
  type RomClient,
  type RomClientFactory,
  type RomClientOptions,
  RomFacade,
} from "../rom/rom_websocket.ts";
export {
  ROM_BINARY_MESSAGE_EVENT,
  ROM_CLOSE_DROP,
  ROM_CLOSE_NORMAL,
  ROM_FAIL,
  ROM_MESSAGE_EVENT,
  ROM_OPEN,
  ROM_SOURCE,
  type RomEvent,
} from "../rom/contract.ts";
export { compilePcre, PcreError, type TranslatedPattern, translatePcre } from "../rom/pcre.ts";
export type {
  HeadersSource,
  MessageOptions,
  Outage,
  OutboxOptions,
  RequestHeaders,
  SendData,
} from "../client/options.ts";
export { isTransient, type ReconnectOptions } from "../client/reconnect.ts";
export type { Listener, ListenerOptions } from "../client/events.ts";
export { CloseCode, isValidCloseCode, ReadyState } from "../core/constants.ts";
export {
  AbortError,
  ArgumentError,
  type ArgumentErrorCode,
  CallbackError,
  type CallbackErrorCode,
  type CloseFrame,
  type CloseInfo,
  ConnectionClosedError,
  HandshakeError,
  type HandshakeErrorCode,
  type HandshakeErrorOptions,
  InvalidStateError,
  type InvalidStateErrorCode,
  isNormalClosure,
  NetworkError,
  type NetworkErrorCode,
  ProtocolError,
  type ProtocolErrorCode,
  type ResponseHeaders,
  TimeoutError,
  type TimeoutErrorCode,
  WebSocketError,
  type WebSocketErrorOptions,
} from "../core/errors.ts";
export { VERSION } from "../version.ts";

/** The events of the browser's {@linkcode WebSocketClient}, by type. */
export type WebSocketClientEventMap = events.WebSocketClientEventMap<WebSocketClient>;
/** Event passed to `open` listeners (after `onOpen`, if given, has run). */
export type OpenEvent = events.OpenEvent<WebSocketClient>;
/** Event passed to `outage` listeners, right after the `open` event of a reconnection. */
export type OutageEvent = events.OutageEvent<WebSocketClient>;
/** Event passed to `reconnect` listeners. */
export type ReconnectEvent = events.ReconnectEvent<WebSocketClient>;
/** Event passed to `message` listeners: text as `string`, binary as `Uint8Array`. */
export type MessageEvent = events.MessageEvent<WebSocketClient>;
/** Event of `ping` and `pong` listeners (never raised in a browser, which hides them). */
export type PingEvent = events.PingEvent<WebSocketClient>;
/** Event passed to `close` listeners: how the connection ended. */
export type CloseEvent = events.CloseEvent<WebSocketClient>;
/** Event passed to `error` listeners, before the `close` event. */
export type ErrorEvent = events.ErrorEvent<WebSocketClient>;
