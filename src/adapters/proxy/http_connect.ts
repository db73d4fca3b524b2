/**
 * HTTP CONNECT proxies (RFC 9110 §9.3.6): a tunnel through an `http://` or `https://` proxy,
 * opened over any {@linkcode Socket}; `wss://` then upgrades the tunnel to TLS with the
 * adapter's `startTls`.
 *
 * @module
 */

import type { HandshakeError } from "../../core/errors.ts";
import { NetworkError } from "../../core/errors.ts";
import { HttpResponseParser } from "../../core/http11.ts";
import { latin1Encode } from "../../core/bytes.ts";
import type { Socket } from "../socket.ts";
import type { ProxyEndpoint } from "./proxy_url.ts";

/**
 * Asks the proxy, over `socket`, for a tunnel to `hostname:port`, and reads its answer.
 * Afterwards the socket carries the tunnel's bytes.
 *
 * @throws {NetworkError} `PROXY_ERROR` when the proxy refuses (status in the message: 407 when it
 * wants credentials or refused them) or answers something that is not HTTP.
 */
export async function openTunnel(
  socket: Socket,
  target: { hostname: string; port: number },
  proxy: ProxyEndpoint,
): Promise<void> {
  const authority = target.hostname.includes(":")
    ? `[${target.hostname}]:${target.port}`
    : `${target.hostname}:${target.port}`;
  let request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  const authorization = proxy.authorization();
  if (authorization) request += `Proxy-Authorization: ${authorization}\r\n`;
  request += "\r\n";
  await socket.write(latin1Encode(request));
  const parser = new HttpResponseParser();
  for (;;) {
    const chunk = await socket.read();
    if (chunk === null) {
      throw new NetworkError("PROXY_ERROR", "the proxy closed the connection during CONNECT");
    }
    let response;
    try {
      response = parser.push(chunk);
    } catch (error) {
      throw new NetworkError(
        "PROXY_ERROR",
        `invalid answer from the proxy: ${(error as HandshakeError).message}`,
        {
          cause: error,
        },
      );
    }
    if (!response) continue;
    if (response.status < 200 || response.status > 299) {
      throw new NetworkError(
        "PROXY_ERROR",
        `${proxy.display} refused CONNECT ${authority}: HTTP ${response.status} ${response.reason}`
          .trim(),
      );
    }
    // The target has not spoken yet (it waits for our handshake), so nothing may follow.
    if (parser.rest.length > 0) {
      throw new NetworkError("PROXY_ERROR", "the proxy sent data after its CONNECT answer");
    }
    return;
  }
}
