/**
 * `connect()` and `WebSocketClient`: the asynchronous driver around the sans-I/O
 * {@linkcode ClientProtocol}. It owns the socket, the timers (open, close, keepalive),
 * backpressure, events and async iteration.
 *
 * @module
 */

import { defaultConnector } from "../adapters/detect.ts";
import {
  type Connector,
  type ReadSink,
  RESOLVED,
  type Socket,
  type TlsOptions,
} from "../adapters/socket.ts";
import { latin1Decode } from "../core/bytes.ts";
import { CloseCode, DEFAULTS } from "../core/constants.ts";
import {
  AbortError,
  ArgumentError,
  type CloseFrame,
  type CloseInfo,
  ConnectionClosedError,
  HandshakeError,
  InvalidStateError,
  NetworkError,
  TimeoutError,
  WebSocketError,
} from "../core/errors.ts";
import type { ClientExtensionFactory } from "../core/extensions.ts";
import {
  type DeflateOptions,
  type Deflater,
  PerMessageDeflate,
  PerMessageDeflateFactory,
} from "../core/permessage_deflate.ts";
import type { HttpResponse } from "../core/http11.ts";
import type { RandomSource } from "../core/mask.ts";
import {
  ClientProtocol,
  type ProtocolEvent,
  ReadyState,
  validateCloseArguments,
} from "../core/protocol.ts";
import { parseWebSocketUrl, type WebSocketUrl } from "../core/uri.ts";
import { openTunnel, parseProxyUrl, type ProxySettings } from "../adapters/proxy.ts";

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

/**
 * When and how fast to reconnect. Delays follow RFC 6455 §7.2.3: the first is random in
 * `[0, initialDelay]`, the next ones grow by `factor` up to `maxDelay`, each randomized ("full
 * jitter") so that many clients do not reconnect in step. The count restarts after each open.
 */
export interface ReconnectOptions {
  /** Most attempts in a row before giving up. Default `Infinity`. */
  maxAttempts?: number;
  /** Upper bound of the first delay, in ms. Default 1,000. */
  initialDelay?: number;
  /** Upper bound of any delay, in ms. Default 30,000. */
  maxDelay?: number;
  /** Growth of the delay bound per attempt. Default 2. */
  factor?: number;
  /**
   * Decides whether to try again after `info` (a drop or a failed attempt). Default
   * {@linkcode isTransient}: network failures, timeouts, 5xx and 429 answers, and close codes 1001,
   * 1005, 1006, 1011–1014; not 4xx answers, TLS or argument errors, nor a server's 1000, 1002,
   * 1003, 1007–1010.
   */
  shouldReconnect?: (info: CloseInfo) => boolean;
}

/** Event passed to `open` listeners. */
export interface OpenEvent {
  /** The event type. */
  readonly type: "open";
  /** The client that raised the event. */
  readonly target: WebSocketClient;
}

/** Event passed to `message` listeners: text as `string`, binary as `Uint8Array`. */
export interface MessageEvent {
  /** The event type. */
  readonly type: "message";
  /** The message: a string for text, bytes for binary. */
  readonly data: string | Uint8Array;
  /** The client that raised the event. */
  readonly target: WebSocketClient;
}

/** Event passed to `ping` and `pong` listeners. */
export interface PingEvent {
  /** The event type. */
  readonly type: "ping" | "pong";
  /** The payload of the control frame. */
  readonly data: Uint8Array;
  /** The client that raised the event. */
  readonly target: WebSocketClient;
}

/** Event passed to `close` listeners: how the connection ended. */
export interface CloseEvent extends CloseInfo {
  /** The event type. */
  readonly type: "close";
  /** The client that raised the event. */
  readonly target: WebSocketClient;
}

/** Event passed to `error` listeners, before the `close` event. */
export interface ErrorEvent {
  /** The event type. */
  readonly type: "error";
  /** What failed. */
  readonly error: WebSocketError;
  /** The client that raised the event. */
  readonly target: WebSocketClient;
}

/** Event passed to `reconnect` listeners: the connection dropped (or an attempt failed) and a new
 * attempt is scheduled. */
export interface ReconnectEvent {
  /** The event type. */
  readonly type: "reconnect";
  /** How the last connection (or attempt) ended. */
  readonly info: CloseInfo;
  /** Whether that connection had been open (false: an attempt to connect failed). */
  readonly wasOpen: boolean;
  /** The number of the next attempt (1 for the first retry). */
  readonly attempt: number;
  /** Milliseconds until that attempt. */
  readonly delay: number;
  /** The client that raised the event. */
  readonly target: WebSocketClient;
}

/** Events of {@linkcode WebSocketClient} by type. */
export interface WebSocketClientEventMap {
  /** The connection opened (again, after a reconnection). */
  open: OpenEvent;
  /** The connection dropped or an attempt failed; another attempt follows. */
  reconnect: ReconnectEvent;
  /** A message arrived. */
  message: MessageEvent;
  /** A ping arrived (the pong is sent automatically). */
  ping: PingEvent;
  /** A pong arrived. */
  pong: PingEvent;
  /** The connection is closed for good. */
  close: CloseEvent;
  /** The connection failed; a close event follows. */
  error: ErrorEvent;
}

/** Options of `addEventListener`. */
export interface ListenerOptions {
  /** Remove the listener after its first call. */
  once?: boolean;
  /** Remove the listener when this signal fires. */
  signal?: AbortSignal;
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

/** A listener of {@linkcode WebSocketClient} events. */
export type Listener<E> = (event: E) => void;
interface ListenerEntry {
  fn: Listener<never>;
  once: boolean;
}

/** Data accepted by {@linkcode WebSocketClient.send}. */
export type SendData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/**
 * Opens a WebSocket connection and resolves once it is open.
 *
 * @example
 * ```ts
 * import { connect } from "@rom/websocket";
 * const ws = await connect("wss://echo.example/chat", { headers: { Authorization: "Bearer t" } });
 * await ws.send("hello");
 * for await (const message of ws) console.log(message);
 * ```
 *
 * @throws {ArgumentError} bad URL or options (before any I/O).
 * @throws {NetworkError} connection refused, DNS or TLS failure.
 * @throws {HandshakeError} the server refused or answered wrongly (with status and headers).
 * @throws {TimeoutError} `OPEN_TIMEOUT` when `openTimeout` passed.
 * @throws {AbortError} when `signal` fired.
 */
export async function connect(
  url: string | URL,
  options: ClientOptions = {},
): Promise<WebSocketClient> {
  const client = new WebSocketClient(url, options);
  await client.opened;
  return client;
}

/** Resolved settings (options with defaults applied and checked). */
interface Settings {
  openTimeout: number;
  closeTimeout: number;
  pingInterval: number;
  pingTimeout: number;
  fragmentSize: number;
  maxQueue: number;
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

const KEEPALIVE_TAG = 0x6b; // 'k': first byte of keepalive ping payloads

/** A ping waiting for its pong. */
interface PendingPing {
  sentAt: number;
  resolve: (rtt: number) => void;
  reject: (e: Error) => void;
}

/** Push-style reader of one session's socket; its methods call into the client's private ones. */
class SessionReader implements ReadSink {
  /** The transport has ended for this session: later deliveries are ignored. */
  done = false;
  constructor(
    readonly client: WebSocketClient,
    readonly session: Session,
    readonly socket: Socket,
  ) {}
  data(chunk: Uint8Array): boolean {
    return readerData(this, chunk);
  }
  end(): void {
    readerEnd(this, undefined);
  }
  error(error: Error): void {
    readerEnd(this, error);
  }
}

// Set in a static block of WebSocketClient, which alone may call its private methods.
let readerData: (reader: SessionReader, chunk: Uint8Array) => boolean;
let readerEnd: (reader: SessionReader, error: Error | undefined) => void;

/** The state of one connection attempt: a protocol, a socket and their timers. */
class Session {
  readonly protocol: ClientProtocol;
  /** Aborts the connection attempt (released once the socket is connected). */
  abort: AbortController | undefined = new AbortController();
  socket: Socket | undefined;
  error: WebSocketError | undefined;
  wasOpen = false;
  ended = false;
  /** terminate() closed the socket: what follows is not a network error. */
  terminated = false;
  /** The error event was emitted for `error`. */
  errorReported = false;
  openTimer: ReturnType<typeof setTimeout> | undefined;
  closeTimer: ReturnType<typeof setTimeout> | undefined;
  pingTimer: ReturnType<typeof setTimeout> | undefined;
  /** Deadline of the keepalive ping in flight. */
  pongTimer: ReturnType<typeof setTimeout> | undefined;
  /** Applies a held close or failure after the application's turn (see #process). */
  resumeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Pings waiting for their pong, by payload (insertion order = send order); made on use. */
  pings: Map<string, PendingPing> | undefined;
  // permessage-deflate: outgoing compression runs asynchronously (node:zlib), so sends queue
  // behind any compression in progress to keep message order.
  deflate: PerMessageDeflate | undefined;
  deflater: Promise<Deflater> | undefined;
  sendQueue = 0;
  sendTail: Promise<unknown> = RESOLVED;

  constructor(protocol: ClientProtocol) {
    this.protocol = protocol;
  }

  clearTimers(): void {
    clearTimeout(this.openTimer);
    clearTimeout(this.closeTimer);
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    clearTimeout(this.resumeTimer);
    this.openTimer =
      this.closeTimer =
      this.pingTimer =
      this.pongTimer =
      this.resumeTimer =
        undefined;
  }
}

/**
 * Whether a connection that ended with `info` is worth retrying (the default `shouldReconnect`).
 */
export function isTransient(info: CloseInfo): boolean {
  const error = info.error;
  if (error instanceof HandshakeError) {
    return error.status !== undefined &&
      (error.status >= 500 || error.status === 429 || error.status === 408);
  }
  if (error instanceof NetworkError) return error.code !== "TLS_ERROR";
  if (error instanceof TimeoutError) return true;
  if (
    error instanceof ArgumentError || error instanceof AbortError ||
    error instanceof InvalidStateError
  ) {
    return false;
  }
  if (info.received) {
    const code = info.received.code;
    return code === 1001 || code === 1005 || (code >= 1011 && code <= 1014);
  }
  return true; // dropped without a close frame (1006)
}

/**
 * One WebSocket connection, made by {@linkcode connect}.
 *
 * Messages are read with `for await (const message of client)` or with `message` listeners.
 * Until a `message` listener is added or an iteration starts, messages are queued (and reading
 * pauses once `maxQueue` are waiting), so none is lost between `connect()` resolving and the
 * first listener. With `reconnect`, the same object survives reconnections: iteration and
 * listeners continue, `open` fires again, and `close` fires only when it gives up or is closed.
 */
export class WebSocketClient {
  /** Readiness constant, as in the WHATWG API. */
  static readonly CONNECTING: 0 = ReadyState.CONNECTING;
  /** Readiness constant, as in the WHATWG API. */
  static readonly OPEN: 1 = ReadyState.OPEN;
  /** Readiness constant, as in the WHATWG API. */
  static readonly CLOSING: 2 = ReadyState.CLOSING;
  /** Readiness constant, as in the WHATWG API. */
  static readonly CLOSED: 3 = ReadyState.CLOSED;

  /** The URL connected to (without user and password). */
  readonly url: string;
  /** Resolves when the connection is first open; rejects if it cannot be opened. */
  readonly opened: Promise<void>;
  /** Resolves with how the connection ended, once it has for good. Never rejects. */
  readonly closed: Promise<CloseInfo>;

  readonly #target: WebSocketUrl;
  readonly #options: ClientOptions;
  readonly #settings: Settings;
  readonly #headers: Array<readonly [string, string]>;
  readonly #protocols: string[];
  readonly #reconnect: Required<ReconnectOptions> | undefined;
  readonly #proxy: ProxySettings | undefined;
  #session: Session;
  #state: ReadyState = ReadyState.CONNECTING;
  #everOpen = false;
  #closeInfo: CloseInfo | undefined;
  // Dropped once `opened` settles (a few hundred bytes per idle connection).
  #resolveOpened: (() => void) | undefined;
  #rejectOpened: ((error: Error) => void) | undefined;
  #resolveClosed!: (info: CloseInfo) => void;
  #onUserAbort: (() => void) | undefined;
  /** close()/terminate() was called: no reconnection. */
  #closing: { code: number; reason: string } | undefined;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;

  readonly #listeners: { [K in keyof WebSocketClientEventMap]?: ListenerEntry[] } = {};
  // Messages waiting for an iterator or a first listener.
  #queue: Array<string | Uint8Array> = [];
  #queueHead = 0;
  #iterators = 0;
  #takers: Array<{
    resolve: (r: IteratorResult<string | Uint8Array>) => void;
    reject: (e: Error) => void;
  }> = [];
  #readPaused: { promise: Promise<void>; resume: () => void } | undefined;
  #pingCounter = 0;
  #latency: number | undefined;

  /**
   * Starts connecting at once; prefer {@linkcode connect}, which waits for `opened`.
   *
   * @throws {ArgumentError} bad URL or options.
   */
  constructor(url: string | URL, options: ClientOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new ArgumentError("INVALID_OPTION", "options must be an object");
    }
    this.#target = parseWebSocketUrl(url);
    this.url = this.#target.href;
    this.#options = options;
    this.#settings = {
      openTimeout: nonNegative(options, "openTimeout", 10_000),
      closeTimeout: nonNegative(options, "closeTimeout", 10_000),
      pingInterval: nonNegative(options, "pingInterval", 20_000),
      pingTimeout: nonNegative(options, "pingTimeout", 20_000),
      fragmentSize: nonNegative(options, "fragmentSize", 0),
      maxQueue: Math.max(1, nonNegative(options, "maxQueue", 1024)),
    };
    const headers = normalizeHeaders(options.headers);
    if (this.#target.authorization && !headers.some(([n]) => n.toLowerCase() === "authorization")) {
      headers.push(["Authorization", this.#target.authorization]);
    }
    this.#headers = headers;
    this.#protocols = options.protocols === undefined
      ? []
      : typeof options.protocols === "string"
      ? [options.protocols]
      : [...options.protocols];
    if (options.connector !== undefined && typeof options.connector !== "function") {
      throw new ArgumentError("INVALID_OPTION", "connector must be a function");
    }
    this.#reconnect = normalizeReconnect(options.reconnect);
    this.#proxy = options.proxy === undefined ? undefined : parseProxyUrl(options.proxy);
    this.#session = new Session(this.#newProtocol()); // validates headers, protocols, limits
    this.opened = new Promise((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    this.opened.catch(() => {}); // observed through connect() or the close event
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    const signal = options.signal;
    if (signal) {
      this.#onUserAbort = () => this.#abortByUser(signal.reason);
      signal.addEventListener("abort", this.#onUserAbort, { once: true });
    }
    if (signal?.aborted) this.#abortByUser(signal.reason);
    else this.#start(this.#session);
  }

  #newProtocol(): ClientProtocol {
    const options = this.#options;
    return new ClientProtocol({
      host: this.#target.host,
      path: this.#target.path,
      headers: this.#headers,
      protocols: this.#protocols,
      extensions: [
        ...(options.extensions ?? []),
        ...(options.compression === false ? [] : [
          new PerMessageDeflateFactory(options.compression === true ? {} : options.compression),
        ]),
      ],
      maxMessageSize: options.maxMessageSize ?? DEFAULTS.maxMessageSize,
      maxFragments: options.maxFragments ?? DEFAULTS.maxFragments,
      random: options.random,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Public state.

  /** `CONNECTING` (0, also while waiting to reconnect), `OPEN` (1), `CLOSING` (2) or `CLOSED` (3). */
  get readyState(): ReadyState {
    return this.#state;
  }

  /** The subprotocol the server chose, or "". */
  get protocol(): string {
    return this.#session.protocol.protocol;
  }

  /** The extensions in effect, as the server's `Sec-WebSocket-Extensions` listed them. */
  get extensions(): string {
    return this.#session.protocol.extensions.map((e) => e.header).join(", ");
  }

  /** The server's handshake response (status and headers), once received. */
  get response(): HttpResponse | undefined {
    return this.#session.protocol.response;
  }

  /** Bytes given to `send` and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.#session.socket?.bufferedAmount ?? 0;
  }

  /** Round-trip time of the last answered ping, in milliseconds. */
  get latency(): number | undefined {
    return this.#latency;
  }

  /** How the connection ended, once it is `CLOSED`. */
  get closeInfo(): CloseInfo | undefined {
    return this.#closeInfo;
  }

  // ---------------------------------------------------------------------------------------------
  // Events.

  /** Adds a listener; see {@linkcode WebSocketClientEventMap} for the events. */
  addEventListener<K extends keyof WebSocketClientEventMap>(
    type: K,
    listener: Listener<WebSocketClientEventMap[K]>,
    options?: ListenerOptions,
  ): void {
    if (typeof listener !== "function") return;
    if (options?.signal?.aborted) return;
    const list = this.#listeners[type];
    if (list?.some((e) => e.fn === (listener as unknown))) return;
    // Copy on write (a dispatch in progress keeps its list); a literal holds exactly its entries,
    // where push() would reserve room for 17.
    const entry: ListenerEntry = { fn: listener as Listener<never>, once: options?.once ?? false };
    this.#listeners[type] = list ? [...list, entry] : [entry];
    options?.signal?.addEventListener("abort", () => this.removeEventListener(type, listener), {
      once: true,
    });
    if (type === "message" && this.#iterators === 0 && this.#queueHead < this.#queue.length) {
      // Hand the messages that arrived before any listener to this one, in order.
      queueMicrotask(() => this.#drainQueueToListeners());
    }
  }

  /** Removes a listener added with `addEventListener`. */
  removeEventListener<K extends keyof WebSocketClientEventMap>(
    type: K,
    listener: Listener<WebSocketClientEventMap[K]>,
  ): void {
    const list = this.#listeners[type];
    if (!list) return;
    const index = list.findIndex((e) => e.fn === (listener as unknown));
    if (index >= 0) this.#listeners[type] = list.filter((_, i) => i !== index);
  }

  #emit<K extends keyof WebSocketClientEventMap>(type: K, event: WebSocketClientEventMap[K]): void {
    const list = this.#listeners[type];
    if (!list || list.length === 0) return;
    if (list.length === 1) {
      const entry = list[0];
      if (entry.once) this.#listeners[type] = [];
      callListener(entry.fn as Listener<WebSocketClientEventMap[K]>, event);
      return;
    }
    if (list.some((e) => e.once)) this.#listeners[type] = list.filter((e) => !e.once);
    for (const entry of list) callListener(entry.fn as Listener<WebSocketClientEventMap[K]>, event);
  }

  #hasListeners(type: keyof WebSocketClientEventMap): boolean {
    return (this.#listeners[type]?.length ?? 0) > 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Commands.

  /**
   * Sends a message: a string as text, bytes as binary (see `options.binary`). Resolves when the
   * frame has been handed to the socket and its write queue is under the high-water mark (the
   * backpressure point); rejects if the message cannot be sent. Bytes must not be modified until
   * the promise settles.
   *
   * @throws {InvalidStateError} `NOT_OPEN` (as a rejection) unless the connection is open.
   * @throws {ArgumentError} `INVALID_DATA` (as a rejection) for an unsupported data type.
   */
  send(data: SendData, options?: MessageOptions): Promise<void> {
    let payload: string | Uint8Array;
    try {
      payload = typeof data === "string" ? data : toBytes(data);
    } catch (error) {
      return Promise.reject(error);
    }
    const binary = options?.binary ?? typeof data !== "string";
    const session = this.#session;
    const deflate = session.deflate;
    const compress = deflate !== undefined && options?.compress !== false && deflate.canCompress &&
      payload.length >= deflate.parameters.threshold;
    if (!compress && session.sendQueue === 0) {
      try {
        this.#sendNow(session, payload, binary, false);
      } catch (error) {
        return Promise.reject(this.#stateError(error));
      }
      return this.#flush(session);
    }
    return this.#sendLater(session, payload, binary, compress);
  }

  #sendNow(
    session: Session,
    payload: string | Uint8Array,
    binary: boolean,
    compressed: boolean,
  ): void {
    const fragmentSize = this.#settings.fragmentSize;
    if (binary) {
      const bytes = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
      session.protocol.sendBinary(bytes, { fragmentSize, compressed });
    } else {
      session.protocol.sendText(payload, { fragmentSize, compressed });
    }
  }

  /** Sends after the compressions queued before it, compressing this message if asked. */
  #sendLater(
    session: Session,
    payload: string | Uint8Array,
    binary: boolean,
    compress: boolean,
  ): Promise<void> {
    if (this.#state !== ReadyState.OPEN) {
      return Promise.reject(
        this.#stateError(new InvalidStateError("NOT_OPEN", "connection is not open")),
      );
    }
    session.sendQueue++;
    // Compression starts now: the deflater keeps message order itself, so several messages can
    // be in zlib at once; only the framing waits for the messages queued before this one.
    const compressed = compress
      ? this.#getDeflater(session).then((deflater) =>
        deflater.deflate(typeof payload === "string" ? new TextEncoder().encode(payload) : payload)
      )
      : undefined;
    compressed?.catch(() => {}); // reported through `job`
    const job = session.sendTail.then(async () => {
      try {
        const bytes = compressed ? await compressed : payload;
        try {
          this.#sendNow(session, bytes, binary, compress);
        } catch (error) {
          throw this.#stateError(error);
        }
        await this.#flush(session);
      } finally {
        session.sendQueue--;
      }
    });
    session.sendTail = job.catch(() => {});
    return job;
  }

  #getDeflater(session: Session): Promise<Deflater> {
    const settings = session.deflate!.deflaterSettings;
    // node:zlib is loaded only when a message is actually compressed.
    return session.deflater ??= import("./zlib_deflater.ts").then((m) =>
      m.createNodeDeflater(settings)
    );
  }

  /**
   * Sends a ping and resolves with the round-trip time in milliseconds when its pong arrives.
   * RFC 6455 §5.5.3 lets a server answer only the latest of several pings: a pong therefore also
   * settles the pings sent before the one it answers.
   *
   * @throws {ArgumentError} (as a rejection) data over 125 bytes or already awaiting its pong.
   * @throws {InvalidStateError} (as a rejection) unless the connection is open.
   * @throws {ConnectionClosedError} (as a rejection) if the connection closes first.
   */
  ping(data?: string | Uint8Array): Promise<number> {
    let payload: Uint8Array;
    if (data === undefined) {
      payload = new Uint8Array(5);
      payload[0] = 0x70; // 'p'
      new DataView(payload.buffer).setUint32(1, ++this.#pingCounter);
    } else {
      try {
        payload = typeof data === "string" ? new TextEncoder().encode(data) : toBytes(data).slice();
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#sendPing(this.#session, payload);
  }

  #sendPing(session: Session, payload: Uint8Array): Promise<number> {
    const key = latin1Decode(payload);
    if (session.pings?.has(key)) {
      return Promise.reject(
        new ArgumentError("INVALID_DATA", "a ping with the same data is already awaiting its pong"),
      );
    }
    try {
      session.protocol.sendPing(payload);
    } catch (error) {
      return Promise.reject(this.#stateError(error));
    }
    const promise = new Promise<number>((resolve, reject) => {
      (session.pings ??= new Map()).set(key, { sentAt: performance.now(), resolve, reject });
    });
    this.#flush(session).catch(() => {}); // a failed write ends the connection: the ping rejects
    return promise;
  }

  /**
   * Starts the closing handshake and resolves once the connection is closed (at most
   * `closeTimeout` later). Calling it again returns the same outcome. Stops reconnecting.
   *
   * @throws {ArgumentError} (as a rejection) a code other than 1000 or 3000–4999, or a reason
   * longer than 123 UTF-8 bytes.
   */
  close(code: number = CloseCode.NORMAL_CLOSURE, reason = ""): Promise<CloseInfo> {
    try {
      validateCloseArguments(code, reason);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closing ??= { code, reason };
    const session = this.#session;
    if (this.#state === ReadyState.CONNECTING) {
      if (this.#reconnectTimer !== undefined) this.#giveUp();
      else this.#failOpen(session, new AbortError("connection closed before it was open"));
    } else if (this.#state === ReadyState.OPEN && session.protocol.state === ReadyState.OPEN) {
      session.protocol.sendClose(code, reason);
      this.#state = ReadyState.CLOSING;
      this.#flush(session).catch(() => {});
      this.#armCloseTimer(session);
    }
    return this.closed;
  }

  /** Closes the TCP connection at once, without a closing handshake. Stops reconnecting. */
  terminate(): void {
    if (this.#state === ReadyState.CLOSED) return;
    this.#closing ??= { code: CloseCode.ABNORMAL_CLOSURE, reason: "" };
    const session = this.#session;
    if (this.#state === ReadyState.CONNECTING) {
      if (this.#reconnectTimer !== undefined) this.#giveUp();
      else this.#failOpen(session, new AbortError("connection terminated"));
      return;
    }
    this.#state = ReadyState.CLOSING;
    session.terminated = true;
    session.socket?.close();
  }

  #abortByUser(reason: unknown): void {
    const session = this.#session;
    this.#closing ??= { code: CloseCode.GOING_AWAY, reason: "aborted" };
    if (this.#state === ReadyState.CONNECTING) {
      if (this.#reconnectTimer !== undefined) this.#giveUp();
      else this.#failOpen(session, new AbortError("connect aborted", { cause: reason }));
    } else if (this.#state === ReadyState.OPEN) {
      session.protocol.fail(
        new AbortError("connection aborted", { cause: reason }),
        CloseCode.GOING_AWAY,
        "aborted",
      );
      this.#state = ReadyState.CLOSING;
      this.#process(session);
      this.#armCloseTimer(session);
    }
  }

  #stateError(error: unknown): unknown {
    if (error instanceof InvalidStateError) {
      if (this.#closeInfo) {
        return new InvalidStateError(
          "NOT_OPEN",
          `${error.message}: ${describeEnd(this.#closeInfo)}`,
          {
            cause: new ConnectionClosedError(this.#closeInfo),
          },
        );
      }
      if (
        this.#reconnectTimer !== undefined ||
        (this.#everOpen && this.#state === ReadyState.CONNECTING)
      ) {
        return new InvalidStateError("NOT_OPEN", "connection is reconnecting");
      }
    }
    return error;
  }

  /** Writes out what the protocol queued; resolves like the last write. */
  #flush(session: Session): Promise<void> {
    const writes = session.protocol.takeWrites();
    const socket = session.socket;
    if (writes.length === 0 || !socket) return RESOLVED;
    let last: Promise<void> = RESOLVED;
    for (let i = 0; i < writes.length; i++) {
      const p = socket.write(writes[i]);
      if (p !== RESOLVED) {
        if (i < writes.length - 1) p.catch(() => {});
        last = p;
      }
    }
    return last;
  }

  // ---------------------------------------------------------------------------------------------
  // Async iteration.

  /**
   * Yields messages (`string` for text, `Uint8Array` for binary) until the connection closes.
   * Ends normally after a normal close (1000, 1001 or no status) and throws a
   * {@linkcode ConnectionClosedError} otherwise.
   */
  [Symbol.asyncIterator](): AsyncIterator<string | Uint8Array> {
    this.#iterators++;
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        this.#iterators--;
      }
    };
    return {
      next: () => {
        if (done) return Promise.resolve({ done: true, value: undefined });
        return this.#next().then((result) => {
          if (result.done) finish();
          return result;
        }, (error) => {
          finish();
          throw error;
        });
      },
      return: () => {
        finish();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  #next(): Promise<IteratorResult<string | Uint8Array>> {
    if (this.#queueHead < this.#queue.length) {
      const value = this.#shift();
      return Promise.resolve({ done: false, value });
    }
    if (this.#closeInfo) return this.#endOfIteration();
    return new Promise((resolve, reject) => this.#takers.push({ resolve, reject }));
  }

  #shift(): string | Uint8Array {
    const value = this.#queue[this.#queueHead];
    this.#queue[this.#queueHead++] = "";
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    }
    if (this.#readPaused && this.#queue.length - this.#queueHead <= this.#settings.maxQueue >>> 2) {
      const paused = this.#readPaused;
      this.#readPaused = undefined;
      paused.resume();
    }
    return value;
  }

  #endOfIteration(): Promise<IteratorResult<string | Uint8Array>> {
    const info = this.#closeInfo!;
    if (isNormalClose(info)) return Promise.resolve({ done: true, value: undefined });
    return Promise.reject(new ConnectionClosedError(info));
  }

  #deliver(data: string | Uint8Array): void {
    const taker = this.#takers.shift();
    if (taker) {
      taker.resolve({ done: false, value: data });
    } else if (this.#iterators > 0 || !this.#hasListeners("message")) {
      this.#queue.push(data);
      if (!this.#readPaused && this.#queue.length - this.#queueHead >= this.#settings.maxQueue) {
        let resume!: () => void;
        const promise = new Promise<void>((r) => (resume = r));
        this.#readPaused = { promise, resume };
      }
    }
    if (this.#hasListeners("message")) {
      this.#emit("message", { type: "message", data, target: this });
    }
  }

  #drainQueueToListeners(): void {
    while (
      this.#iterators === 0 && this.#hasListeners("message") && this.#queueHead < this.#queue.length
    ) {
      this.#emit("message", { type: "message", data: this.#shift(), target: this });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Connection lifecycle: one Session per attempt.

  async #start(session: Session): Promise<void> {
    const { openTimeout } = this.#settings;
    if (openTimeout > 0) {
      session.openTimer = setTimeout(() => {
        this.#failOpen(
          session,
          new TimeoutError("OPEN_TIMEOUT", `no open connection after ${openTimeout} ms`),
        );
      }, openTimeout);
    }
    let socket: Socket;
    const target = this.#target;
    const proxy = this.#proxy;
    try {
      const connector = this.#options.connector ?? (await defaultConnector());
      socket = await connector(
        proxy
          ? {
            hostname: proxy.hostname,
            port: proxy.port,
            tls: proxy.secure ? {} : undefined,
            signal: session.abort!.signal,
          }
          : {
            hostname: target.hostname,
            port: target.port,
            tls: target.secure ? (this.#options.tls ?? {}) : undefined,
            signal: session.abort!.signal,
          },
      );
      if (proxy) {
        session.socket = socket; // so that a timeout or abort closes it during the tunnel setup
        await openTunnel(socket, target, proxy);
        if (target.secure) {
          if (!socket.startTls) {
            throw new ArgumentError(
              "INVALID_OPTION",
              "wss:// through a proxy needs a connector whose sockets support startTls",
            );
          }
          socket = await socket.startTls({
            hostname: target.hostname,
            tls: this.#options.tls ?? {},
          });
        }
      }
    } catch (error) {
      session.socket?.close();
      this.#failOpen(
        session,
        error instanceof WebSocketError
          ? error
          : new NetworkError("NETWORK_ERROR", String(error), { cause: error }),
      );
      return;
    }
    if (session.ended || session.protocol.state !== ReadyState.CONNECTING) {
      socket.close(); // timed out or aborted meanwhile
      return;
    }
    session.socket = socket;
    session.abort = undefined; // connected: from now on failOpen closes the socket itself
    session.protocol.sendRequest();
    this.#flush(session).catch(() => {});
    this.#startReading(session, socket);
  }

  /** Fails an attempt that is not open yet. */
  #failOpen(session: Session, error: WebSocketError): void {
    if (session.ended || session.wasOpen) return;
    session.error ??= error;
    session.abort?.abort(error);
    session.protocol.fail(error);
    session.socket?.close();
    this.#endSession(session);
  }

  /**
   * Reads the session's socket until the transport ends: pushed to a {@linkcode SessionReader} when
   * the socket can (no pending promise per idle connection), else by a `read()` loop.
   */
  #startReading(session: Session, socket: Socket): void {
    if (socket.listen && socket.resumeReading) {
      socket.listen(new SessionReader(this, session, socket));
    } else {
      this.#readLoop(session, socket);
    }
  }

  async #readLoop(session: Session, socket: Socket): Promise<void> {
    try {
      for (;;) {
        let chunk = await socket.read();
        if (chunk === null) {
          this.#receiveEnd(session);
          break;
        }
        const more = this.#receive(session, chunk);
        chunk = null; // not kept alive by this suspended function while the connection idles
        if (!more) break;
        if (this.#readPaused) await this.#readPaused.promise;
      }
    } catch (error) {
      this.#receiveError(session, error);
    }
    await this.#transportEnded(session, socket);
  }

  #readerData(reader: SessionReader, chunk: Uint8Array): boolean {
    if (reader.done) return false;
    try {
      if (!this.#receive(reader.session, chunk)) {
        this.#readerDone(reader);
        return false;
      }
    } catch (error) {
      this.#receiveError(reader.session, error);
      this.#readerDone(reader);
      return false;
    }
    const paused = this.#readPaused;
    if (paused === undefined) return true;
    // The application does not keep up: hold the socket's deliveries until it does.
    paused.promise.then(() => reader.socket.resumeReading!());
    return false;
  }

  #readerEnd(reader: SessionReader, error: Error | undefined): void {
    if (reader.done) return;
    try {
      if (error === undefined) this.#receiveEnd(reader.session);
      else this.#receiveError(reader.session, error);
    } catch (e) {
      this.#receiveError(reader.session, e);
    }
    this.#readerDone(reader);
  }

  #readerDone(reader: SessionReader): void {
    reader.done = true;
    this.#transportEnded(reader.session, reader.socket).catch(() => {});
  }

  static {
    readerData = (reader, chunk) => reader.client.#readerData(reader, chunk);
    readerEnd = (reader, error) => reader.client.#readerEnd(reader, error);
  }

  /** Feeds a chunk to the protocol; false once the session reads no more. */
  #receive(session: Session, chunk: Uint8Array): boolean {
    const protocol = session.protocol;
    protocol.receiveData(chunk);
    this.#process(session);
    return protocol.state !== ReadyState.CLOSED && !session.ended;
  }

  #receiveEnd(session: Session): void {
    const protocol = session.protocol;
    protocol.receiveEof(); // applies a close frame held for the messages before it, first
    if (session.wasOpen && !protocol.closeReceived && !session.error && !session.terminated) {
      session.error = new NetworkError(
        "UNEXPECTED_EOF",
        "the server closed the TCP connection without a close frame",
      );
    }
    this.#process(session);
  }

  /** The socket failed (reset, TLS error...): the connection is lost. */
  #receiveError(session: Session, error: unknown): void {
    const protocol = session.protocol;
    if (!session.error && !session.terminated && !(protocol.closeReceived && protocol.closeSent)) {
      session.error = error instanceof WebSocketError
        ? error
        : new NetworkError("NETWORK_ERROR", String(error), { cause: error });
    }
    protocol.receiveEof();
    this.#process(session);
  }

  /** The transport is ending: no more sends or close handshakes on this session. */
  async #transportEnded(session: Session, socket: Socket): Promise<void> {
    if (this.#state === ReadyState.OPEN && session === this.#session) {
      this.#state = ReadyState.CLOSING;
    }
    socket.close();
    await socket.closed;
    if (!session.wasOpen && !session.error) {
      session.error = session.protocol.failure ??
        new HandshakeError("HANDSHAKE_INTERRUPTED", "connection closed during the handshake");
    }
    this.#endSession(session);
  }

  /** Handles what the protocol produced: writes first, then events. */
  #process(session: Session): void {
    const protocol = session.protocol;
    const events = protocol.takeEvents();
    for (let i = 0; i < events.length; i++) this.#handle(session, events[i]);
    // A close frame or a bad frame that followed messages in the same read takes effect once
    // the application has had its turn with those messages: after the microtasks that deliver
    // them to iterators (or to listeners added right after connect() resolved, when the frames
    // came with the handshake response), so that its answers leave before the close frame.
    if (protocol.held && session.resumeTimer === undefined) {
      session.resumeTimer = setTimeout(() => {
        session.resumeTimer = undefined;
        if (!session.ended && protocol.resume()) this.#process(session);
      }, 0);
    }
    if (protocol.hasWrites) this.#flush(session).catch(() => {});
    if (protocol.closeExpected() && !session.ended) {
      if (this.#state === ReadyState.OPEN) this.#state = ReadyState.CLOSING;
      this.#armCloseTimer(session);
    }
  }

  #handle(session: Session, event: ProtocolEvent): void {
    switch (event.type) {
      case "message":
        this.#deliver(event.data);
        return;
      case "open":
        session.wasOpen = true;
        clearTimeout(session.openTimer);
        session.openTimer = undefined;
        session.deflate = session.protocol.extensions.find((e) => e instanceof PerMessageDeflate) as
          | PerMessageDeflate
          | undefined;
        this.#state = ReadyState.OPEN;
        this.#attempt = 0;
        if (!this.#everOpen) {
          this.#everOpen = true;
          this.#resolveOpened!();
          this.#resolveOpened = this.#rejectOpened = undefined;
        }
        this.#emit("open", { type: "open", target: this });
        this.#scheduleKeepalive(session);
        return;
      case "ping":
        this.#emit("ping", { type: "ping", data: event.data, target: this });
        return;
      case "pong":
        this.#settlePings(session, event.data);
        this.#emit("pong", { type: "pong", data: event.data, target: this });
        return;
      case "close":
        if (this.#state === ReadyState.OPEN) this.#state = ReadyState.CLOSING;
        return;
      case "error":
        session.error ??= event.error;
        // Before open, failures are reported by connect()'s rejection (or a reconnect event).
        if (session.wasOpen && !session.errorReported) {
          session.errorReported = true;
          this.#emit("error", { type: "error", error: event.error, target: this });
        }
        return;
    }
  }

  #settlePings(session: Session, data: Uint8Array): void {
    const key = latin1Decode(data);
    const pings = session.pings;
    if (!pings?.has(key)) return;
    const now = performance.now();
    for (const [k, ping] of pings) {
      pings.delete(k);
      const rtt = now - ping.sentAt;
      if (k === key) this.#latency = rtt;
      ping.resolve(rtt);
      if (k === key) break;
    }
  }

  #armCloseTimer(session: Session): void {
    if (session.closeTimer !== undefined || session.ended) return;
    clearTimeout(session.pingTimer);
    session.pingTimer = undefined;
    const { closeTimeout } = this.#settings;
    if (closeTimeout === 0) return;
    session.closeTimer = setTimeout(() => {
      // RFC 6455 §7.1.1: the server should close TCP first; past the deadline, the client does.
      const protocol = session.protocol;
      if (!(protocol.closeReceived && protocol.closeSent)) {
        session.error ??= new TimeoutError(
          "CLOSE_TIMEOUT",
          `closing handshake not completed within ${closeTimeout} ms`,
        );
      }
      session.socket?.close();
    }, closeTimeout);
  }

  #scheduleKeepalive(session: Session): void {
    const { pingInterval, pingTimeout } = this.#settings;
    if (pingInterval === 0) return;
    session.pingTimer = setTimeout(() => {
      session.pingTimer = undefined;
      if (session.ended || this.#state !== ReadyState.OPEN) return;
      const payload = new Uint8Array(5);
      payload[0] = KEEPALIVE_TAG;
      new DataView(payload.buffer).setUint32(1, ++this.#pingCounter);
      let answered = false;
      const expire = () => {
        if (answered || session.ended || this.#state !== ReadyState.OPEN) return;
        if (this.#readPaused) {
          // Reading is paused because the application does not consume messages: the pong may
          // be waiting unread behind them. That is not a dead peer; check again later.
          session.pongTimer = setTimeout(expire, pingTimeout);
          return;
        }
        const error = new TimeoutError(
          "PING_TIMEOUT",
          `no pong within ${pingTimeout} ms: the server or the network is not responding`,
        );
        session.protocol.fail(error, CloseCode.INTERNAL_ERROR, "keepalive ping timeout");
        this.#state = ReadyState.CLOSING;
        this.#process(session); // writes the 1011 close frame, reports the error, arms the timer
      };
      if (pingTimeout > 0) session.pongTimer = setTimeout(expire, pingTimeout);
      this.#sendPing(session, payload).then(() => {
        answered = true;
        clearTimeout(session.pongTimer);
        session.pongTimer = undefined;
        this.#scheduleKeepalive(session);
      }, () => clearTimeout(session.pongTimer));
    }, pingInterval);
  }

  /** How a session ended. */
  #sessionInfo(session: Session): CloseInfo {
    const protocol = session.protocol;
    const received: CloseFrame | undefined = protocol.closeReceived;
    const sent: CloseFrame | undefined = protocol.closeSent;
    return {
      code: received?.code ?? CloseCode.ABNORMAL_CLOSURE,
      reason: received?.reason ?? "",
      wasClean: received !== undefined && sent !== undefined,
      received,
      sent,
      error: session.error ?? protocol.failure,
    };
  }

  /** A session's transport is gone: reconnect, or settle everything. Runs once per session. */
  #endSession(session: Session): void {
    if (session.ended) return;
    session.ended = true;
    session.clearTimers();
    const info = this.#sessionInfo(session);
    if (session.wasOpen && info.error && !session.errorReported) {
      // A drop, reset or close timeout: report it like the protocol errors, before close.
      session.errorReported = true;
      this.#emit("error", { type: "error", error: info.error, target: this });
    }
    const closedError = new ConnectionClosedError(info);
    for (const ping of session.pings?.values() ?? []) ping.reject(closedError);
    session.pings = undefined;
    session.deflater?.then((d) => d.close(), () => {});
    if (session !== this.#session) return;

    const policy = this.#reconnect;
    if (
      policy && !this.#closing && this.#attempt < policy.maxAttempts && policy.shouldReconnect(info)
    ) {
      const attempt = ++this.#attempt;
      const bound = Math.min(policy.maxDelay, policy.initialDelay * policy.factor ** (attempt - 1));
      const delay = Math.round(Math.random() * bound); // RFC 6455 §7.2.3, "full jitter"
      this.#state = ReadyState.CONNECTING;
      this.#emit("reconnect", {
        type: "reconnect",
        info,
        wasOpen: session.wasOpen,
        attempt,
        delay,
        target: this,
      });
      this.#reconnectTimer = setTimeout(() => {
        this.#reconnectTimer = undefined;
        if (this.#closing) return;
        this.#session = new Session(this.#newProtocol());
        this.#start(this.#session);
      }, delay);
      return;
    }
    this.#finish(info, session.wasOpen);
  }

  /** Stops waiting to reconnect (close(), terminate() or abort during the wait). */
  #giveUp(): void {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const closing = this.#closing ?? { code: CloseCode.NORMAL_CLOSURE, reason: "" };
    this.#finish({ code: closing.code, reason: closing.reason, wasClean: true }, this.#everOpen);
  }

  /** Everything is over: settle promises, iterators and listeners, once. */
  #finish(info: CloseInfo, wasOpen: boolean): void {
    if (this.#closeInfo) return;
    this.#state = ReadyState.CLOSED;
    this.#closeInfo = info;
    if (this.#onUserAbort) this.#options.signal?.removeEventListener("abort", this.#onUserAbort);
    if (!this.#everOpen) {
      this.#rejectOpened?.(
        info.error ?? new ConnectionClosedError(info, "connection closed before it was open"),
      );
      this.#resolveOpened = this.#rejectOpened = undefined;
    }
    const closedError = new ConnectionClosedError(info);
    const takers = this.#takers;
    this.#takers = [];
    for (const taker of takers) {
      if (isNormalClose(info)) taker.resolve({ done: true, value: undefined });
      else taker.reject(closedError);
    }
    if (this.#readPaused) this.#readPaused.resume();
    this.#resolveClosed(info);
    // A connection that never opened is reported by the rejection of `opened` / connect().
    if (wasOpen || this.#everOpen) this.#emit("close", { type: "close", ...info, target: this });
  }
}

function normalizeReconnect(
  option: ClientOptions["reconnect"],
): Required<ReconnectOptions> | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== true && (typeof option !== "object" || option === null)) {
    throw new ArgumentError("INVALID_OPTION", "reconnect must be a boolean or an object");
  }
  const o = option === true ? {} : option;
  const number = (name: keyof ReconnectOptions, fallback: number, min: number): number => {
    const value = o[name] ?? fallback;
    if (typeof value !== "number" || Number.isNaN(value) || value < min) {
      throw new ArgumentError("INVALID_OPTION", `reconnect.${name} must be a number >= ${min}`);
    }
    return value;
  };
  const shouldReconnect = o.shouldReconnect ?? isTransient;
  if (typeof shouldReconnect !== "function") {
    throw new ArgumentError("INVALID_OPTION", "reconnect.shouldReconnect must be a function");
  }
  return {
    maxAttempts: number("maxAttempts", Infinity, 0),
    initialDelay: number("initialDelay", 1000, 0),
    maxDelay: number("maxDelay", 30_000, 0),
    factor: number("factor", 2, 1),
    shouldReconnect,
  };
}

function isNormalClose(info: CloseInfo): boolean {
  return info.wasClean && info.error === undefined &&
    (info.code === 1000 || info.code === 1001 || info.code === 1005);
}

function describeEnd(info: CloseInfo): string {
  return new ConnectionClosedError(info).message;
}

function callListener<E>(fn: Listener<E>, event: E): void {
  try {
    fn(event);
  } catch (error) {
    reportListenerError(error);
  }
}

/**
 * A listener threw: the connection goes on and the error is printed with `console.error`, the
 * same on every runtime (`reportError` would end the process on Deno but not on Node.js 20).
 */
export function reportListenerError(error: unknown): void {
  console.error("rom-websocket: an event listener threw:", error);
}

function toBytes(data: Exclude<SendData, string>): Uint8Array {
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
