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
export type {
  CloseEvent,
  ErrorEvent,
  MessageEvent,
  OpenEvent,
  OutageEvent,
  PingEvent,
  ReconnectEvent,
  WebSocketClientEventMap,
} from "./events.ts";
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
