/**
 * The options of {@linkcode connect}, checked once, before any I/O, into the settings every
 * connection attempt of a client shares. Every default is listed in the README.
 *
 * @module
 */

import type { Connector, TlsOptions } from "../adapters/socket.ts";
import { parseProxyUrl, type ProxySettings } from "../adapters/proxy.ts";
import { ArgumentError } from "../core/errors.ts";
import type { ClientExtensionFactory } from "../core/extensions.ts";
import type { RandomSource } from "../core/mask.ts";
import { type DeflateOptions, PerMessageDeflateFactory } from "../core/permessage_deflate.ts";
import type { ClientProtocolOptions } from "../core/protocol.ts";
import { parseWebSocketUrl, type WebSocketUrl } from "../core/uri.ts";
import { type ReconnectOptions, type ReconnectPolicy, reconnectPolicy } from "./reconnect.ts";

/** Options of {@linkcode connect}. Every default is listed in the README. */
export interface ClientOptions {
  /** Extra request headers (e.g. `Authorization`). */
  headers?: Record<string, string> | Iterable<readonly [string, string]>;
  /** Subprotocols to offer, in order of preference. */
  protocols?: string | readonly string[];
  /** Milliseconds for TCP, TLS and the handshake together; 0 waits forever. Default 10,000. */
  openTimeout?: number;
  /** Milliseconds to wait for the closing handshake and the server's TCP close. Default 10,000. */
  closeTimeout?: number;
  /** Largest message accepted, in bytes, after decompression. Default 64 MiB. */
  maxMessageSize?: number;
  /** Most frames one incoming message may have. Default 131,072. */
  maxFragments?: number;
  /** Split outgoing messages into frames of at most this many bytes; 0: never. Default 0. */
  fragmentSize?: number;
  /**
   * permessage-deflate (RFC 7692): `true` (default) offers it with default settings, `false`
   * offers nothing, an object tunes it (window bits, context takeover, threshold, level).
   */
  compression?: boolean | DeflateOptions;
  /** Milliseconds between keepalive pings; 0 turns keepalive off. Default 20,000. */
  pingInterval?: number;
  /** Milliseconds to wait for a keepalive pong before failing with 1011. Default 20,000. */
  pingTimeout?: number;
  /**
   * Incoming messages queued for async iteration before the client stops reading from the
   * network (receive backpressure). Default 1,024.
   */
  maxQueue?: number;
  /** Aborts the attempt to connect; once open, closes the connection with 1001. */
  signal?: AbortSignal;
  /** TLS settings for `wss://` (CA, client certificate, `rejectUnauthorized`). */
  tls?: TlsOptions;
  /** Opens the TCP/TLS connection. Default: the runtime's own adapter. */
  connector?: Connector;
  /** Extensions to offer (advanced; permessage-deflate is configured by `compression`). */
  extensions?: readonly ClientExtensionFactory[];
  /** Random source for handshake and mask keys (tests only). Default `crypto.getRandomValues`. */
  random?: RandomSource;
  /**
   * An HTTP proxy to tunnel through with CONNECT: `http://[user:password@]host:port` (or
   * `https://` for TLS to the proxy). `wss://` targets get TLS inside the tunnel. Default: none
   * (environment variables are not read; pass `process.env.HTTPS_PROXY` explicitly if wanted).
   */
  proxy?: string | URL;
  /**
   * Reconnect after the connection drops or cannot be opened: `true` for the defaults, or a
   * policy. Default `false`. See {@linkcode ReconnectOptions}.
   */
  reconnect?: boolean | ReconnectOptions;
}

/** Options of {@linkcode WebSocketClient.send}. */
export interface MessageOptions {
  /** Send a string as a binary message (UTF-8) or bytes as a text message (must be UTF-8). */
  binary?: boolean;
  /**
   * false: send this message uncompressed even if permessage-deflate is in effect. Default: compress
   * messages of at least `compression.threshold` bytes (characters for strings).
   */
  compress?: boolean;
}

/** Data accepted by {@linkcode WebSocketClient.send}. */
export type SendData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/** What every connection attempt of one client shares: the checked options. */
export interface Settings {
  readonly target: WebSocketUrl;
  readonly openTimeout: number;
  readonly closeTimeout: number;
  readonly pingInterval: number;
  readonly pingTimeout: number;
  readonly fragmentSize: number;
  readonly maxQueue: number;
  readonly connector: Connector | undefined;
  readonly tls: TlsOptions | undefined;
  readonly proxy: ProxySettings | undefined;
  readonly reconnect: ReconnectPolicy | undefined;
  /** What each attempt's `ClientProtocol` is made with (it applies the defaults of the limits). */
  readonly protocol: ClientProtocolOptions;
}

/**
 * Checks `options` and applies the client's defaults.
 *
 * @throws {ArgumentError} bad URL or options. Headers, subprotocols and limits are checked by the
 * first `ClientProtocol`, also before any I/O.
 */
export function resolveSettings(url: string | URL, options: ClientOptions): Settings {
  if (typeof options !== "object" || options === null) {
    throw new ArgumentError("INVALID_OPTION", "options must be an object");
  }
  const target = parseWebSocketUrl(url);
  const openTimeout = nonNegative(options, "openTimeout", 10_000);
  const closeTimeout = nonNegative(options, "closeTimeout", 10_000);
  const pingInterval = nonNegative(options, "pingInterval", 20_000);
  const pingTimeout = nonNegative(options, "pingTimeout", 20_000);
  const fragmentSize = nonNegative(options, "fragmentSize", 0);
  const maxQueue = Math.max(1, nonNegative(options, "maxQueue", 1024));
  const headers = normalizeHeaders(options.headers);
  if (target.authorization && !headers.some(([n]) => n.toLowerCase() === "authorization")) {
    headers.push(["Authorization", target.authorization]);
  }
  if (options.connector !== undefined && typeof options.connector !== "function") {
    throw new ArgumentError("INVALID_OPTION", "connector must be a function");
  }
  return {
    target,
    openTimeout,
    closeTimeout,
    pingInterval,
    pingTimeout,
    fragmentSize,
    maxQueue,
    connector: options.connector,
    tls: options.tls,
    reconnect: reconnectPolicy(options.reconnect),
    proxy: options.proxy === undefined ? undefined : parseProxyUrl(options.proxy),
    protocol: {
      host: target.host,
      path: target.path,
      headers,
      protocols: options.protocols === undefined
        ? []
        : typeof options.protocols === "string"
        ? [options.protocols]
        : [...options.protocols],
      extensions: [
        ...(options.extensions ?? []),
        ...(options.compression === false ? [] : [
          new PerMessageDeflateFactory(options.compression === true ? {} : options.compression),
        ]),
      ],
      maxMessageSize: options.maxMessageSize,
      maxFragments: options.maxFragments,
      random: options.random,
    },
  };
}

function nonNegative(options: ClientOptions, name: keyof ClientOptions, fallback: number): number {
  const value = options[name] ?? fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new ArgumentError(
      "INVALID_OPTION",
      `${name} must be a number >= 0, got ${String(value)}`,
    );
  }
  return value;
}

function normalizeHeaders(
  headers: ClientOptions["headers"],
): Array<readonly [string, string]> {
  if (headers === undefined) return [];
  if (typeof headers !== "object" || headers === null) {
    throw new ArgumentError("INVALID_OPTION", "headers must be an object or a list of pairs");
  }
  const list: Array<readonly [string, string]> = [];
  const entries = Symbol.iterator in headers
    ? headers as Iterable<readonly [string, string]>
    : Object.entries(headers);
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new ArgumentError("INVALID_HEADER", "each header must be a [name, value] pair");
    }
    const [name, value] = entry;
    if (typeof name !== "string" || typeof value !== "string") {
      throw new ArgumentError("INVALID_HEADER", `header ${String(name)} must have a string value`);
    }
    list.push([name, value]);
  }
  return list;
}

/** The bytes of a non-string `send` argument (a view, never a copy). */
export function toBytes(data: Exclude<SendData, string>): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw new ArgumentError(
    "INVALID_DATA",
    `cannot send ${data === null ? "null" : typeof data}: use a string, Uint8Array or ArrayBuffer`,
  );
}
