/**
 * The options of {@linkcode connect}, checked once, before any I/O, into the settings every
 * connection attempt of a client shares. Every default is listed in the README.
 *
 * @module
 */

import type { Connector, TlsOptions } from "../adapters/socket.ts";
import { ArgumentError, CallbackError, type CloseInfo } from "../core/errors.ts";
import type { ClientExtensionFactory } from "../core/extensions.ts";
import type { HttpResponse } from "../core/http11.ts";
import type { RandomSource } from "../core/mask.ts";
import { type DeflateOptions, PerMessageDeflateFactory } from "../core/permessage_deflate.ts";
import { ClientProtocol, type ClientProtocolOptions } from "../core/protocol.ts";
import { parseWebSocketUrl, type WebSocketUrl } from "../core/uri.ts";
import type { WebSocketClient } from "./client.ts";
import { nonNegative, outboxLimits } from "./checks.ts";
import { type ProxyOption, type ProxyPolicy, proxyPolicy } from "./proxy_option.ts";
import { type ReconnectOptions, type ReconnectPolicy, reconnectPolicy } from "./reconnect.ts";
import { cachedSettings, cacheSettings, comparedOptions, recordingEnv } from "./settings_cache.ts";
import { isUtf8 } from "./engine.ts";
import { readEnvironment } from "../adapters/proxy/env.ts";

/**
 * The empty list every client without subprotocols, extensions or static headers shares, frozen
 * (~100 B less per idle connection than an empty array of its own for each).
 */
const NONE: readonly never[] = Object.freeze([]);

export { toBytes } from "./checks.ts";

/** Options of {@linkcode connect}. Every default is listed in the README. */
export interface ClientOptions {
  /**
   * Extra request headers (e.g. `Authorization`), or a function called before every attempt that
   * returns them (for tokens that expire).
   */
  headers?: RequestHeaders | HeadersSource;
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
   * The proxy to go through: a URL (`http://`, `https://`, `socks5://`, `socks5h://`,
   * `socks4://`, `socks4a://`, with `user:password@` if it wants a login), `false` for none, or
   * `{ url, noProxy, tls }`. `wss://` targets get TLS inside the tunnel, checked against the
   * target. Default: from the environment (`wss_proxy`/`ws_proxy`, `https_proxy`/`http_proxy`,
   * `all_proxy`, `no_proxy`; see the README's Proxies section).
   */
  proxy?: ProxyOption;
  /**
   * Reconnect after the connection drops or cannot be opened: `true` for the defaults, or a
   * policy. Default `false`. See {@linkcode ReconnectOptions}.
   */
  reconnect?: boolean | ReconnectOptions;
  /**
   * Runs on every open, awaited, before any message of that connection is delivered (messages
   * wait, none are lost) and before the `open` event: the place to (re)subscribe. If it throws or
   * rejects, an `error` event reports a `CallbackError` `ON_OPEN_FAILED` and the connection stays
   * open.
   */
  onOpen?: (client: WebSocketClient, info: OpenInfo) => void | Promise<void>;
  /**
   * Holds messages sent while the client is not open (connecting, or waiting to reconnect) and
   * sends them, in order, once it is: `true` for the defaults, or limits. Each `send` resolves
   * when its message is written, or rejects with `OUTBOX_FULL`, `OUTBOX_EXPIRED` or, when the
   * client gives up, `NOT_OPEN`. Default: off (`send` rejects with `NOT_OPEN` while not open).
   */
  outbox?: boolean | OutboxOptions;
  /**
   * Milliseconds without any frame from the server after which it is taken for dead
   * (`TimeoutError` `IDLE_TIMEOUT`, close code 1011), for feeds that send heartbeats of their own
   * and may not answer pings. 0 turns it off. Default 0.
   */
  idleTimeout?: number;
}

/** Request headers: an object or a list of `[name, value]` pairs. */
export type RequestHeaders = Record<string, string> | Iterable<readonly [string, string]>;

/** Returns the request headers of attempt `attempt` (1, 2, ...: every attempt of the client). */
export type HeadersSource = (attempt: number) => RequestHeaders | Promise<RequestHeaders>;

/**
 * Returns the URL of attempt `attempt` (1, 2, ...: every attempt of the client); for services that
 * hand out a URL per connection (Slack Socket Mode).
 */
export type UrlSource = (attempt: number) => string | URL | Promise<string | URL>;

/** Limits of the {@linkcode ClientOptions.outbox}. */
export interface OutboxOptions {
  /** Most messages held. Default 1,024. */
  maxMessages?: number;
  /** Most bytes held (UTF-16 units for text). Default 16 MiB. */
  maxBytes?: number;
  /** Milliseconds a message may wait before it rejects with `OUTBOX_EXPIRED`; 0: forever. Default 60,000. */
  ttl?: number;
}

/**
 * What was missed while the connection was down: given to the `open` event of a reconnection,
 * the `outage` event and `onOpen`, so that an application can resync (ARI does not replay events).
 */
export interface Outage {
  /** When the open connection was lost (epoch ms). */
  readonly lostAt: number;
  /** When the new connection opened (epoch ms). */
  readonly restoredAt: number;
  /** Attempts it took (1 when the first retry succeeded). */
  readonly attempts: number;
  /** When the last message before the loss arrived (epoch ms), if any arrived. */
  readonly lastMessageAt: number | undefined;
  /** How the lost connection ended. */
  readonly cause: CloseInfo;
}

/** What `onOpen` is told about the connection that just opened. */
export interface OpenInfo {
  /** The attempt that opened (1, 2, ...: every attempt of the client counts). */
  readonly attempt: number;
  /** The URL connected to (without user and password). */
  readonly url: string;
  /** The server's handshake response. */
  readonly response: HttpResponse;
  /** Set when this open ends an outage (a reconnection). */
  readonly outage: Outage | undefined;
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

/** The outbox limits, checked. */
export interface OutboxLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly ttl: number;
}

/** What one attempt connects to and offers. */
export interface AttemptPlan {
  readonly target: WebSocketUrl;
  /** The request headers, checked (with `Authorization` from the URL's credentials). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** What every connection attempt of one client shares: the checked options. */
export interface Settings {
  readonly openTimeout: number;
  readonly closeTimeout: number;
  readonly pingInterval: number;
  readonly pingTimeout: number;
  readonly idleTimeout: number;
  readonly fragmentSize: number;
  readonly maxQueue: number;
  readonly connector: Connector | undefined;
  readonly tls: TlsOptions | undefined;
  readonly proxy: ProxyPolicy | undefined;
  readonly reconnect: ReconnectPolicy | undefined;
  readonly onOpen: ClientOptions["onOpen"];
  readonly outbox: OutboxLimits | undefined;
  /** The plan of every attempt when neither `url` nor `headers` is a function. */
  readonly plan: AttemptPlan | undefined;
  readonly url: string | URL | UrlSource;
  readonly headers: RequestHeaders | HeadersSource | undefined;
  /** The protocol options that do not depend on the attempt. */
  readonly base: Omit<ClientProtocolOptions, "host" | "path" | "headers">;
}

/**
 * Checks `options` and applies the client's defaults.
 *
 * @throws {ArgumentError} bad URL or options. Headers, subprotocols and limits are checked by a
 * `ClientProtocol`, also before any I/O (for a `url` or `headers` function: what it returns is
 * checked before each attempt).
 */
export function resolveSettings(url: string | URL | UrlSource, options: ClientOptions): Settings {
  if (typeof options !== "object" || options === null) {
    throw new ArgumentError("INVALID_OPTION", "options must be an object");
  }
  const environment = readEnvironment();
  // Read once: compared with the last client's, then kept for the next one.
  const compared = comparedOptions(options);
  const cached = cachedSettings(url, compared, environment);
  if (cached !== undefined) return cached;
  const staticTarget = typeof url === "function" ? undefined : parseWebSocketUrl(url);
  const openTimeout = nonNegative(options, "openTimeout", 10_000);
  const closeTimeout = nonNegative(options, "closeTimeout", 10_000);
  const pingInterval = nonNegative(options, "pingInterval", 20_000);
  const pingTimeout = nonNegative(options, "pingTimeout", 20_000);
  const idleTimeout = nonNegative(options, "idleTimeout", 0);
  const fragmentSize = nonNegative(options, "fragmentSize", 0);
  const maxQueue = Math.max(1, nonNegative(options, "maxQueue", 1024));
  const staticHeaders = typeof options.headers === "function"
    ? undefined
    : normalizeHeaders(options.headers);
  if (options.connector !== undefined && typeof options.connector !== "function") {
    throw new ArgumentError("INVALID_OPTION", "connector must be a function");
  }
  if (options.onOpen !== undefined && typeof options.onOpen !== "function") {
    throw new ArgumentError("INVALID_OPTION", "onOpen must be a function");
  }
  const base: Settings["base"] = {
    protocols: options.protocols === undefined
      ? NONE
      : typeof options.protocols === "string"
      ? [options.protocols]
      : [...options.protocols],
    extensions: extensionsOf(options),
    maxMessageSize: options.maxMessageSize,
    maxFragments: options.maxFragments,
    random: options.random,
    isUtf8,
  };
  const recorded = recordingEnv(environment);
  const settings: Settings = {
    openTimeout,
    closeTimeout,
    pingInterval,
    pingTimeout,
    idleTimeout,
    fragmentSize,
    maxQueue,
    connector: options.connector,
    tls: options.tls,
    reconnect: reconnectPolicy(options.reconnect),
    proxy: proxyPolicy(options.proxy, recorded.env),
    onOpen: options.onOpen,
    outbox: outboxLimits(options.outbox),
    plan: staticTarget && staticHeaders ? makePlan(staticTarget, staticHeaders) : undefined,
    url,
    headers: options.headers,
    base,
  };
  // Subprotocols, limits and static headers are checked now, before any I/O.
  new ClientProtocol({
    ...base,
    host: "localhost",
    path: "/",
    headers: staticHeaders ?? [],
  });
  cacheSettings(url, compared, recorded.reads, settings);
  return settings;
}

/**
 * The extensions to offer, in an array of exactly their number (a spread reserves 17 slots, kept
 * for the client's life: 120 B per idle connection).
 */
function extensionsOf(options: ClientOptions): readonly ClientExtensionFactory[] {
  const own = options.extensions ?? [];
  if (options.compression === false) return own.length === 0 ? NONE : own.slice();
  const deflate = new PerMessageDeflateFactory(
    options.compression === true ? {} : options.compression,
  );
  return own.length === 0 ? [deflate] : [...own, deflate].slice(); // slice(): exact capacity
}

function makePlan(
  target: WebSocketUrl,
  headers: Array<readonly [string, string]>,
): AttemptPlan {
  if (target.authorization && !headers.some(([n]) => n.toLowerCase() === "authorization")) {
    headers.push(["Authorization", target.authorization]);
  }
  return { target, headers: headers.length === 0 ? NONE : headers };
}

/**
 * What the `ClientProtocol` of an attempt with `plan` is made with (it applies the defaults of the
 * limits). Made for each attempt, not kept in the plan: 88 B less per idle connection.
 */
export function protocolOptions(plan: AttemptPlan, base: Settings["base"]): ClientProtocolOptions {
  // A literal with every property in one order: a spread of `base` gave each client's options
  // object a hidden class of its own (+300 B per idle connection in a heap snapshot).
  return {
    host: plan.target.host,
    path: plan.target.path,
    headers: plan.headers,
    protocols: base.protocols,
    extensions: base.extensions,
    maxMessageSize: base.maxMessageSize,
    maxFragments: base.maxFragments,
    random: base.random,
    isUtf8: base.isUtf8,
  };
}

/**
 * The plan of attempt `attempt`: the static one, or what the `url` and `headers` functions
 * return now.
 *
 * @throws {CallbackError} (as a rejection) a function threw or rejected.
 * @throws {ArgumentError} (as a rejection) it returned a bad URL or headers.
 */
export function planAttempt(
  settings: Settings,
  attempt: number,
): AttemptPlan | Promise<AttemptPlan> {
  if (settings.plan) return settings.plan;
  return (async () => {
    const { url, headers } = settings;
    let raw: string | URL;
    try {
      raw = typeof url === "function" ? await url(attempt) : url;
    } catch (error) {
      throw new CallbackError("URL_CALLBACK_FAILED", `the url function failed: ${error}`, {
        cause: error,
      });
    }
    let init: RequestHeaders | undefined;
    try {
      init = typeof headers === "function" ? await headers(attempt) : headers;
    } catch (error) {
      throw new CallbackError("HEADERS_CALLBACK_FAILED", `the headers function failed: ${error}`, {
        cause: error,
      });
    }
    const plan = makePlan(parseWebSocketUrl(raw), normalizeHeaders(init));
    new ClientProtocol(protocolOptions(plan, settings.base)); // checks the headers returned
    return plan;
  })();
}

function normalizeHeaders(headers: RequestHeaders | undefined): Array<readonly [string, string]> {
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
