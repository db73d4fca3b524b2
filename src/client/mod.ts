/**
 * The client's face to the rest of the library (the root `mod.ts` and the 1C facade): what
 * `src/client/` offers, from the modules that define it.
 *
 * @module
 */

export { connect, WebSocketClient } from "./client.ts";
export { DIAGNOSTICS_CHANNELS } from "./diagnostics.ts";
export type { ClientStats } from "./stats.ts";
export {
  type CloseEvent,
  type ErrorEvent,
  type Listener,
  type ListenerOptions,
  type MessageEvent,
  type OpenEvent,
  type OutageEvent,
  type PingEvent,
  type ReconnectEvent,
  reportListenerError,
  type WebSocketClientEventMap,
} from "./events.ts";
export type {
  ClientOptions,
  HeadersSource,
  MessageOptions,
  OpenInfo,
  Outage,
  OutboxOptions,
  RequestHeaders,
  SendData,
  UrlSource,
} from "./options.ts";
export { isTransient, type ReconnectOptions } from "./reconnect.ts";
export type { ProxyOption, ProxyOptions } from "./proxy_option.ts";
