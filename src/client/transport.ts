/**
 * Opening the byte stream of one attempt: the connector (to `hostname:port`, or to a Unix domain
 * socket for `ws+unix://`), through the proxy the `proxy` option chooses for the target (HTTP
 * CONNECT or SOCKS), with TLS to the target inside the tunnel for `wss://`.
 *
 * @module
 */

import { defaultConnector, proxyTlsConnector } from "../adapters/detect.ts";
import { openTunnel } from "../adapters/proxy/http_connect.ts";
import { openSocksTunnel } from "../adapters/proxy/socks.ts";
import type { Socket } from "../adapters/socket.ts";
import { ArgumentError } from "../core/errors.ts";
import type { WebSocketUrl } from "../core/uri.ts";
import type { Settings } from "./options.ts";

/**
 * Opens the socket that the handshake will be written to. `track` is told of a socket as soon as
 * it exists (the proxy's, before the tunnel is up), so that a timeout or an abort can close it.
 *
 * @throws {NetworkError} (as a rejection) connection refused, DNS or TLS failure, proxy refusal.
 * @throws {ArgumentError} (as a rejection) `wss://` through a proxy with a connector that cannot
 * start TLS.
 */
export async function openTransport(
  settings: Settings,
  target: WebSocketUrl,
  signal: AbortSignal,
  track: (socket: Socket) => void,
): Promise<Socket> {
  const proxy = settings.proxy?.route(target);
  const connector = settings.connector ??
    (proxy?.secure ? await proxyTlsConnector() : await defaultConnector());
  if (!proxy) {
    return connector({
      hostname: target.hostname,
      port: target.port,
      ...(target.socketPath === undefined ? {} : { path: target.socketPath }),
      tls: target.secure ? (settings.tls ?? {}) : undefined,
      signal,
    });
  }
  const socket = await connector({
    hostname: proxy.hostname,
    port: proxy.port,
    tls: proxy.secure ? (settings.proxy?.tls ?? {}) : undefined,
    signal,
  });
  track(socket);
  if (proxy.socks) await openSocksTunnel(socket, target, proxy);
  else await openTunnel(socket, target, proxy);
  if (!target.secure) return socket;
  if (!socket.startTls) {
    throw new ArgumentError(
      "INVALID_OPTION",
      "wss:// through a proxy needs a connector whose sockets support startTls",
    );
  }
  return socket.startTls({ hostname: target.hostname, tls: settings.tls ?? {}, signal });
}
