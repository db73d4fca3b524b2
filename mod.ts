/**
 * rom-websocket: an RFC 6455 WebSocket client that behaves the same on Deno, Bun and Node.js,
 * plus `RomWebSocket`, the event contract of the 1C:Enterprise component ROM-WebSocket.
 *
 * @example Deno, Bun and Node.js alike
 * ```ts
 * import { connect } from "@rom/websocket";
 *
 * const ws = await connect("ws://127.0.0.1:8088/ari/events?app=demo", {
 *   headers: { Authorization: "Basic " + btoa("user:secret") },
 * });
 * for await (const message of ws) console.log(message);
 * ```
 *
 * @module
 */

export {
  type ClientOptions,
  type ClientStats,
  type CloseEvent,
  connect,
  DIAGNOSTICS_CHANNELS,
  type ErrorEvent,
  type HeadersSource,
  isTransient,
  type Listener,
  type ListenerOptions,
  type MessageEvent,
  type MessageOptions,
  type OpenEvent,
  type OpenInfo,
  type Outage,
  type OutageEvent,
  type OutboxOptions,
  type PingEvent,
  type ProxyOption,
  type ProxyOptions,
  type ReconnectEvent,
  type ReconnectOptions,
  type RequestHeaders,
  type SendData,
  type UrlSource,
  WebSocketClient,
  type WebSocketClientEventMap,
} from "./src/client/mod.ts";
export { CloseCode, isValidCloseCode } from "./src/core/constants.ts";
export type { DeflateOptions } from "./src/core/permessage_deflate.ts";
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
  InvalidStateError,
  type InvalidStateErrorCode,
  NetworkError,
  type NetworkErrorCode,
  ProtocolError,
  type ProtocolErrorCode,
  type ResponseHeaders,
  TimeoutError,
  type TimeoutErrorCode,
  WebSocketError,
} from "./src/core/errors.ts";
export type { HttpResponse } from "./src/core/http11.ts";
export { ReadyState } from "./src/core/protocol.ts";
export type {
  ConnectOptions,
  Connector,
  ReadSink,
  Socket,
  StartTlsOptions,
  TlsOptions,
} from "./src/adapters/socket.ts";
export type { ClientExtensionFactory, Extension, ExtensionParams } from "./src/core/extensions.ts";
export type { RandomSource } from "./src/core/mask.ts";
export { VERSION } from "./src/version.ts";
export {
  type ExternalEventHandler,
  type RomBinaryOption,
  type RomClient,
  type RomClientFactory,
  type RomClientOptions,
  type RomFacade,
  type RomOptions,
  RomWebSocket,
} from "./src/rom/mod.ts";
