/**
 * The client's face to the rest of the library (the root `mod.ts` and the 1C facade): what
 * `src/client/` offers, from the modules that define it.
 *
 * @module
 */

export { connect, WebSocketClient } from "./client.ts";
export {
  type CloseEvent,
  type ErrorEvent,
  type Listener,
  type ListenerOptions,
  type MessageEvent,
  type OpenEvent,
  type PingEvent,
  type ReconnectEvent,
  reportListenerError,
  type WebSocketClientEventMap,
} from "./events.ts";
export { type ClientOptions, type MessageOptions, type SendData } from "./options.ts";
export { isTransient, type ReconnectOptions } from "./reconnect.ts";
