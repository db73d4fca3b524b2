/**
 * Socket adapters (`@rom/websocket/adapters`): the contract a runtime, or your own transport,
 * implements, and what helps to implement it. The runtimes' own connectors are the subpaths
 * `./adapters/deno`, `./adapters/bun` and `./adapters/node`.
 *
 * A connector of your own needs only the pull side of {@linkcode Socket} (`read`, `write`,
 * `bufferedAmount`, `closeWrite`, `close`, `closed`); the client gives it push reading with
 * {@linkcode withPushReading}. The smallest one decorates a runtime's connector:
 *
 * ```ts
 * import type { Connector } from "@rom/websocket/adapters";
 * import { connectNode } from "@rom/websocket/adapters/node";
 *
 * const logged: Connector = (options) => {
 *   console.log(`connecting to ${options.hostname}:${options.port}`);
 *   return connectNode(options);
 * };
 * ```
 *
 * Proxies are not here: the client's `proxy` option opens the CONNECT or SOCKS tunnel over any connector's
 * socket, so `proxy/` stays internal.
 *
 * @module
 */

export {
  type ConnectOptions,
  type Connector,
  READ_HIGH_WATER_MARK,
  type ReadSink,
  RESOLVED,
  type Socket,
  type StartTlsOptions,
  type TlsOptions,
  WRITE_HIGH_WATER_MARK,
} from "./socket.ts";
export { type ListeningSocket, withPushReading } from "./push_reading.ts";
export { type PausableSource, ReadQueue } from "./read_queue.ts";
export { toNetworkError } from "./net_errors.ts";
// What adapters reject with (also in the root entry).
export {
  AbortError,
  NetworkError,
  type NetworkErrorCode,
  WebSocketError,
  type WebSocketErrorOptions,
} from "../core/errors.ts";
export { defaultConnector, detectRuntime, type Runtime } from "./detect.ts";
