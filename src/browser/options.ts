/**
 * The options of the browser build's `connect()`, checked once, before any attempt: the same names,
 * defaults and checks as the client of Deno, Bun and Node.js (the checks are shared:
 * `src/client/checks.ts`, `src/client/reconnect.ts`, `src/core/uri.ts`), and a typed
 * `UNSUPPORTED_IN_BROWSER` for what a browser's `WebSocket` cannot do. Nothing is ignored silently.
 *
 * @module
 */

import { nonNegative, outboxLimits } from "../client/checks.ts";
import type {
  HeadersSource,
  Outage,
  OutboxLimits,
  OutboxOptions,
  RequestHeaders,
} from "../client/options.ts";
import {
  type ReconnectOptions,
  type ReconnectPolicy,
  reconnectPolicy,
} from "../client/reconnect.ts";
import { ArgumentError, CallbackError } from "../core/errors.ts";
import { validateProtocols } from "../core/handshake.ts";
import { parseWebSocketUrl } from "../core/uri.ts";
import type { WebSocketClient } from "./client.ts";

/**
 * Options of the browser build's {@linkcode connect}: those of the client of Deno, Bun and
 * Node.js that a browser can honour, with the same defaults. The others are refused with an
 * `ArgumentError` `UNSUPPORTED_IN_BROWSER` (they are typed `unknown` so that options shared with
 * server code still type-check, and fail at once, by name, when they are set).
 */
export interface ClientOptions {
  /** Subprotocols to offer, in order of preference. */
  protocols?: string | readonly string[];
  /** Milliseconds for the browser to open the connection; 0 waits forever. Default 10,000. */
  openTimeout?: number;
  /** Milliseconds to wait for the closing handshake. Default 10,000. */
  closeTimeout?: number;
  /**
   * Messages queued for async iteration. Default 1,024. A browser cannot stop reading from the
   * network, so nothing pauses when the queue is full: messages keep arriving and wait here.
   */
  maxQueue?: number;
  /** Aborts the attempt to connect; once open, closes the connection. */
  signal?: AbortSignal;
  /**
   * Reconnect after the connection drops or cannot be opened: `true` for the defaults, or a
   * policy (the same {@linkcode ReconnectOptions} and backoff as on the server). Default `false`.
   */
  reconnect?: boolean | ReconnectOptions;
  /**
   * Runs on every open, awaited, before any message of that connection is delivered (messages
   * wait, none are lost) and before the `open` event: the place to (re)subscribe.
   */
  onOpen?: (client: WebSocketClient, info: OpenInfo) => void | Promise<void>;
  /** Holds messages sent while not open (see the server client's `outbox`). Default: off. */
  outbox?: boolean | OutboxOptions;
  /**
   * Milliseconds without any message after which the server is taken for dead (`TimeoutError`
   * `IDLE_TIMEOUT`), for feeds that send heartbeats of their own. A browser does not show pings
   * and pongs, so only messages count. 0 turns it off. Default 0.
   */
  idleTimeout?: number;
  /**
   * Only 0 (the default in the browser): a browser cannot send pings; use `idleTimeout` with a
   * feed's own heartbeats instead.
   */
  pingInterval?: number;
  /** Accepted for options shared with server code; without pings it has no effect. */
  pingTimeout?: number;
  /** Only `true` (the default): the browser decides what it offers. */
  compression?: unknown;
  /**
   * Refused unless empty: a browser does not let a page set request headers (typed as on the
   * server so that options shared with server code type-check).
   */
  headers?: RequestHeaders | HeadersSource;
  /** Refused: the browser uses its own proxy settings. */
  proxy?: unknown;
  /** Refused: the browser uses its own certificate store. */
  tls?: unknown;
  /** Refused: the browser opens its own connections. */
  connector?: unknown;
  /** Refused: the browser negotiates its own extensions. */
  extensions?: unknown;
  /** Refused: the browser makes its own keys. */
  random?: unknown;
  /** Refused: the browser has no message size limit to set. */
  maxMessageSize?: unknown;
  /** Refused: the browser has no fragment limit to set. */
  maxFragments?: unknown;
  /** Refused: the browser frames messages itself. */
  fragmentSize?: unknown;
}

/** Returns the URL of attempt `attempt` (1, 2, ...: every attempt of the client). */
export type UrlSource = (attempt: number) => string | URL | Promise<string | URL>;

/** What `onOpen` is told about the connection that just opened. */
export interface OpenInfo {
  /** The attempt that opened (1, 2, ...: every attempt of the client counts). */
  readonly attempt: number;
  /** The URL connected to. */
  readonly url: string;
  /** Set when this open ends an outage (a reconnection). */
  readonly outage: Outage | undefined;
}

/** Checked options, shared by every attempt of one client. */
export interface Settings {
  readonly url: string | URL | UrlSource;
  /** The URL of every attempt, when `url` is not a function. */
  readonly href: string | undefined;
  readonly protocols: string[];
  readonly openTimeout: number;
  readonly closeTimeout: number;
  readonly idleTimeout: number;
  readonly maxQueue: number;
  readonly reconnect: ReconnectPolicy | undefined;
  readonly onOpen: ClientOptions["onOpen"];
  readonly outbox: OutboxLimits | undefined;
}

/** Why each refused option is refused (the message of its error). */
const REFUSED: Record<string, string> = {
  headers: "a browser does not let a page set request headers (put a token in the URL's query " +
    "or in the first message)",
  proxy: "the browser uses its own proxy settings",
  tls: "the browser uses its own certificate store",
  connector: "the browser opens its own connections",
  extensions: "the browser negotiates its own extensions",
  random: "the browser makes its own handshake and mask keys",
  maxMessageSize: "the browser has no message size limit to set",
  maxFragments: "the browser has no fragment limit to set",
  fragmentSize: "the browser frames messages itself",
};

/** An `ArgumentError` `UNSUPPORTED_IN_BROWSER` naming `what`. */
export function unsupported(what: string, why: string): ArgumentError {
  return new ArgumentError(
    "UNSUPPORTED_IN_BROWSER",
    `${what} is not supported in a browser: ${why}`,
  );
}

/** Whether a `headers` value asks for nothing (an empty object or list). */
function noHeaders(headers: unknown): boolean {
  if (headers === undefined) return true;
  if (typeof headers !== "object" || headers === null) return false;
  if (Symbol.iterator in headers) {
    for (const _ of headers as Iterable<unknown>) return false;
    return true;
  }
  return Object.keys(headers).length === 0;
}

/**
 * Checks `options` and applies the defaults.
 *
 * @throws {ArgumentError} `UNSUPPORTED_IN_BROWSER` for what a browser cannot do; `INVALID_URL`,
 * `INVALID_OPTION`, `INVALID_SUBPROTOCOL` as on the server.
 */
export function resolveSettings(url: string | URL | UrlSource, options: ClientOptions): Settings {
  if (typeof options !== "object" || options === null) {
    throw new ArgumentError("INVALID_OPTION", "options must be an object");
  }
  for (const name of Object.keys(REFUSED)) {
    const value = options[name as keyof ClientOptions];
    if (value === undefined) continue;
    // An empty header list asks for nothing (RomWebSocket always passes its own, maybe empty).
    if (name === "headers" && noHeaders(value)) continue;
    throw unsupported(`the ${name} option`, REFUSED[name]);
  }
  if (options.compression !== undefined && options.compression !== true) {
    throw unsupported("compression other than true", "the browser decides what it offers");
  }
  if (nonNegative(options, "pingInterval", 0) !== 0) {
    throw unsupported(
      "pingInterval",
      "a page cannot send pings; use idleTimeout with the server's own heartbeats",
    );
  }
  nonNegative(options, "pingTimeout", 20_000);
  const href = typeof url === "function" ? undefined : checkUrl(url);
  const protocols = options.protocols === undefined
    ? []
    : typeof options.protocols === "string"
    ? [options.protocols]
    : [...options.protocols];
  validateProtocols(protocols);
  if (options.onOpen !== undefined && typeof options.onOpen !== "function") {
    throw new ArgumentError("INVALID_OPTION", "onOpen must be a function");
  }
  return {
    url,
    href,
    protocols,
    openTimeout: nonNegative(options, "openTimeout", 10_000),
    closeTimeout: nonNegative(options, "closeTimeout", 10_000),
    idleTimeout: nonNegative(options, "idleTimeout", 0),
    maxQueue: Math.max(1, nonNegative(options, "maxQueue", 1024)),
    reconnect: reconnectPolicy(options.reconnect),
    onOpen: options.onOpen,
    outbox: outboxLimits(options.outbox),
  };
}

/**
 * A `ws://` or `wss://` URL, checked as on the server.
 *
 * @throws {ArgumentError} `INVALID_URL`; `UNSUPPORTED_IN_BROWSER` for a user and password (the
 * server client sends them as an `Authorization` header, which a page cannot set).
 */
export function checkUrl(url: string | URL): string {
  const parsed = parseWebSocketUrl(url);
  if (parsed.authorization !== undefined) {
    throw unsupported("a user and password in the URL", REFUSED.headers);
  }
  return parsed.href;
}

/**
 * The URL of attempt `attempt`: the static one, or what the `url` function returns now.
 *
 * @throws {CallbackError} (as a rejection) the function threw or rejected.
 * @throws {ArgumentError} (as a rejection) it returned a bad URL.
 */
export async function attemptUrl(settings: Settings, attempt: number): Promise<string> {
  if (settings.href !== undefined) return settings.href;
  const source = settings.url as UrlSource;
  let raw: string | URL;
  try {
    raw = await source(attempt);
  } catch (error) {
    throw new CallbackError("URL_CALLBACK_FAILED", `the url function failed: ${error}`, {
      cause: error,
    });
  }
  return checkUrl(raw);
}
