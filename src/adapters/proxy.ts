/**
 * HTTP CONNECT proxies (RFC 9110 §9.3.6): a tunnel through an `http://` or `https://` proxy,
 * opened over any {@linkcode Socket}; `wss://` then upgrades the tunnel to TLS with the
 * adapter's `startTls`.
 *
 * @module
 */

import { ArgumentError, type HandshakeError, NetworkError } from "../core/errors.ts";
import { HttpResponseParser } from "../core/http11.ts";
import { basicCredentials, latin1Encode } from "../core/bytes.ts";
import type { Socket } from "./socket.ts";

/** A parsed proxy URL. */
export interface ProxySettings {
  /** Proxy host name or IP address. */
  readonly hostname: string;
  /** Proxy port (80 for http://, 443 for https:// by default). */
  readonly port: number;
  /** True for an `https://` proxy (TLS to the proxy itself). */
  readonly secure: boolean;
  /** `Basic ...` from the proxy URL's user and password, if any. */
  readonly authorization?: string;
}

/**
 * Parses a proxy URL such as `http://user:secret@proxy.local:3128`.
 *
 * @throws {ArgumentError} `INVALID_OPTION` for anything but an http(s) URL with a host.
 */
export function parseProxyUrl(input: string | URL): ProxySettings {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new ArgumentError("INVALID_OPTION", `invalid proxy URL ${JSON.stringify(String(input))}`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    throw new ArgumentError(
      "INVALID_OPTION",
      `proxy must be an http:// or https:// URL, got ${JSON.stringify(String(input))}`,
    );
  }
  const secure = url.protocol === "https:";
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const authorization = basicCredentials(url);
  return {
    hostname,
    port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
    secure,
    authorization,
  };
}

/**
 * Asks the proxy, over `socket`, for a tunnel to `hostname:port`, and reads its answer.
 * Afterwards the socket carries the tunnel's bytes.
 *
 * @throws {NetworkError} `PROXY_ERROR` when the proxy refuses (status in the message) or answers
 * something that is not HTTP.
 */
export async function openTunnel(
  socket: Socket,
  target: { hostname: string; port: number },
  proxy: ProxySettings,
): Promise<void> {
  const authority = target.hostname.includes(":")
    ? `[${target.hostname}]:${target.port}`
    : `${target.hostname}:${target.port}`;
  let request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  if (proxy.authorization) request += `Proxy-Authorization: ${proxy.authorization}\r\n`;
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
        `the proxy refused CONNECT ${authority}: HTTP ${response.status} ${response.reason}`.trim(),
      );
    }
    // The target has not spoken yet (it waits for our handshake), so nothing may follow.
    if (parser.rest.length > 0) {
      throw new NetworkError("PROXY_ERROR", "the proxy sent data after its CONNECT answer");
    }
    return;
  }
}
