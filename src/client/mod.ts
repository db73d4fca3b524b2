/**
 * The client's face to the rest of the library (the root `mod.ts` and the 1C facade): what
 * `src/client/` offers, from the modules that define it.
 *
 * @module
 */

export {
  type ClientOptions,
  type CloseEvent,
  connect,
  type ErrorEvent,
  isTransient,
  type Listener,
  type ListenerOptions,
  type MessageEvent,
  type MessageOptions,
  type OpenEvent,
  type PingEvent,
  type ReconnectEvent,
  type ReconnectOptions,
  reportListenerError,
  type SendData,
  WebSocketClient,
  type WebSocketClientEventMap,
} from "./client.ts";
