/**
 * `connect()` and `WebSocketClient`: the public face of a connection, and the reconnect loop
 * that keeps one client object alive across {@linkcode Connection}s (one per attempt).
 *
 * The class is ~440 lines, most of them the documented public members; the work is done in the
 * rooms beside it (connection, inbox, events, options, reconnect, outbox).
 *
 * @module
 */

import { CloseCode } from "../core/constants.ts";
import {
  AbortError,
  CallbackError,
  type CloseInfo,
  ConnectionClosedError,
  InvalidStateError,
} from "../core/errors.ts";
import type { HttpResponse } from "../core/http11.ts";
import { validateCloseArguments } from "../core/close.ts";
import { ReadyState } from "../core/protocol.ts";
import { Connection, type ConnectionOwner } from "./connection.ts";
import {
  type Listener,
  type ListenerOptions,
  Listeners,
  type WebSocketClientEventMap,
} from "./events.ts";
import { Inbox } from "./inbox.ts";
import {
  type ClientOptions,
  type MessageOptions,
  type OpenInfo,
  type Outage,
  resolveSettings,
  type SendData,
  type Settings,
  toBytes,
  type UrlSource,
} from "./options.ts";
import { Outbox } from "./outbox.ts";
import { type ClientStats, Counters } from "./stats.ts";
import { publishDiagnostics } from "./diagnostics.ts";

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
  url: string | URL | UrlSource,
  options: ClientOptions = {},
): Promise<WebSocketClient> {
  const client = new WebSocketClient(url, options);
  await client.opened;
  return client;
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

  /** Resolves when the connection is first open; rejects if it cannot be opened. */
  readonly opened: Promise<void>;

  readonly #settings: Settings;
  readonly #signal: AbortSignal | undefined;
  readonly #listeners = new Listeners(publishDiagnostics);
  readonly #inbox: Inbox;
  readonly #stats = new Counters();
  /** What the connections of this client call back (one object for all of them). */
  readonly #owner: ConnectionOwner;

  /**
   * The client as its connections see it: a small object of this nested class, which alone
   * reaches the client's private methods without public ones on the client. Its methods live on
   * the prototype: closures for each would cost ~250 B more per idle connection; and it reads
   * the client's parts through getters rather than copies of its own (32 B per connection).
   */
  static readonly #Owner = class implements ConnectionOwner {
    readonly #client: WebSocketClient;
    lastMessageAt: number | undefined;
    constructor(client: WebSocketClient) {
      this.#client = client;
    }
    get settings(): Settings {
      return this.#client.#settings;
    }
    get listeners(): Listeners {
      return this.#client.#listeners;
    }
    get inbox(): Inbox {
      return this.#client.#inbox;
    }
    get stats(): Counters {
      return this.#client.#stats;
    }
    get target(): WebSocketClient {
      return this.#client;
    }
    opened(connection: Connection): void {
      this.#client.#opened(connection);
    }
    ended(connection: Connection, info: CloseInfo): void {
      this.#client.#ended(connection, info);
    }
    measured(rtt: number): void {
      this.#client.#stats.lastRtt = rtt;
    }
    stateError(error: unknown): unknown {
      return this.#client.#stateError(error);
    }
    nextPingId(): number {
      return ++this.#client.#pingCounter;
    }
  };
  /** The current attempt (the last one, once closed). */
  #connection: Connection;
  #everOpen = false;
  #closeInfo: CloseInfo | undefined;
  // Dropped once `opened` settles (a few hundred bytes per idle connection).
  #resolveOpened: (() => void) | undefined;
  #rejectOpened: ((error: Error) => void) | undefined;
  /** `closed`, made when first read (a promise and its resolver: ~160 B per idle connection). */
  #closed: Promise<CloseInfo> | undefined;
  #resolveClosed: ((info: CloseInfo) => void) | undefined;
  #onUserAbort: (() => void) | undefined;
  /** close()/terminate() was called: no reconnection. */
  #closing: { code: number; reason: string } | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #pingCounter = 0;
  /** Made on the first message held while not open (with the `outbox` option). */
  #outbox: Outbox | undefined;
  /** When an open connection was lost (epoch ms), until a reconnection opens. */
  #lostAt: number | undefined;
  #lossCause: CloseInfo | undefined;
  #attemptsSinceLoss = 0;
  /** Attempts made so far, the first included (what `url` and `headers` functions are told). */
  #attempts = 1;

  /**
   * Starts connecting at once; prefer {@linkcode connect}, which waits for `opened`.
   *
   * @throws {ArgumentError} bad URL or options.
   */
  constructor(url: string | URL | UrlSource, options: ClientOptions = {}) {
    this.#settings = resolveSettings(url, options);
    this.#inbox = new Inbox(this.#listeners, this, this.#settings.maxQueue);
    this.#owner = new WebSocketClient.#Owner(this);
    this.#connection = new Connection(this.#owner, 1);
    this.opened = new Promise((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    this.opened.catch(() => {}); // observed through connect() or the close event
    const signal = this.#signal = options.signal;
    if (signal) {
      this.#onUserAbort = () => this.#abortByUser(signal.reason);
      signal.addEventListener("abort", this.#onUserAbort, { once: true });
    }
    if (signal?.aborted) this.#abortByUser(signal.reason);
    else this.#connection.start();
  }

  // ---------------------------------------------------------------------------------------------
  // Public state.

  /** Resolves with how the connection ended, once it has for good. Never rejects. */
  get closed(): Promise<CloseInfo> {
    if (this.#closed) return this.#closed;
    const info = this.#closeInfo;
    return this.#closed = info
      ? Promise.resolve(info)
      : new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /**
   * The URL of the current (or last) attempt, without user and password; "" while a `url`
   * function has not answered yet.
   */
  get url(): string {
    return this.#connection.target?.href ?? "";
  }

  /** `CONNECTING` (0, also while waiting to reconnect), `OPEN` (1), `CLOSING` (2) or `CLOSED` (3). */
  get readyState(): ReadyState {
    if (this.#closeInfo) return ReadyState.CLOSED;
    if (this.#reconnectTimer !== undefined) return ReadyState.CONNECTING;
    return this.#connection.state;
  }

  /** The subprotocol the server chose, or "". */
  get protocol(): string {
    return this.#connection.protocol.protocol;
  }

  /** The extensions in effect, as the server's `Sec-WebSocket-Extensions` listed them. */
  get extensions(): string {
    return this.#connection.protocol.extensions.map((e) => e.header).join(", ");
  }

  /** The server's handshake response (status and headers), once received. */
  get response(): HttpResponse | undefined {
    return this.#connection.protocol.response;
  }

  /** Bytes given to `send` and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.#connection.bufferedAmount;
  }

  /** Round-trip time of the last answered ping, in milliseconds (also `stats.lastRtt`). */
  get latency(): number | undefined {
    return this.#stats.lastRtt;
  }

  /**
   * Messages and bytes in and out (payload and wire), reconnections, the last round-trip time and
   * since when the connection is open, over all the connections of this client: a snapshot, made
   * when read (counting costs a few integer additions per message).
   */
  get stats(): ClientStats {
    return this.#stats.snapshot();
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
    if (this.#listeners.add(type, listener, options) && type === "message") {
      this.#inbox.listenerAdded();
    }
  }

  /** Removes a listener added with `addEventListener`. */
  removeEventListener<K extends keyof WebSocketClientEventMap>(
    type: K,
    listener: Listener<WebSocketClientEventMap[K]>,
  ): void {
    this.#listeners.remove(type, listener);
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
    const compressible = options?.compress !== false;
    const limits = this.#settings.outbox;
    if (limits && !this.#closing && this.readyState === ReadyState.CONNECTING) {
      return (this.#outbox ??= new Outbox(limits)).hold(payload, binary, compressible);
    }
    return this.#connection.send(payload, binary, compressible);
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
    return this.#connection.ping(payload);
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
    const connection = this.#connection;
    const state = this.readyState;
    if (state === ReadyState.CONNECTING) {
      if (this.#reconnectTimer !== undefined) this.#giveUp();
      else connection.failOpen(new AbortError("connection closed before it was open"));
    } else if (state === ReadyState.OPEN && connection.protocol.state === ReadyState.OPEN) {
      connection.close(code, reason);
    }
    return this.closed;
  }

  /** Closes the TCP connection at once, without a closing handshake. Stops reconnecting. */
  terminate(): void {
    const state = this.readyState;
    if (state === ReadyState.CLOSED) return;
    this.#closing ??= { code: CloseCode.ABNORMAL_CLOSURE, reason: "" };
    if (state === ReadyState.CONNECTING) {
      if (this.#reconnectTimer !== undefined) this.#giveUp();
      else this.#connection.failOpen(new AbortError("connection terminated"));
      return;
    }
    this.#connection.terminate();
  }

  #abortByUser(reason: unknown): void {
    this.#closing ??= { code: CloseCode.GOING_AWAY, reason: "aborted" };
    const state = this.readyState;
    if (state === ReadyState.CONNECTING) {
      if (this.#reconnectTimer !== undefined) this.#giveUp();
      else this.#connection.failOpen(new AbortError("connect aborted", { cause: reason }));
    } else if (state === ReadyState.OPEN) {
      this.#connection.fail(
        new AbortError("connection aborted", { cause: reason }),
        CloseCode.GOING_AWAY,
        "aborted",
      );
    }
  }

  /** Explains a `NOT_OPEN` by how the client ended, or by a reconnection in progress. */
  #stateError(error: unknown): unknown {
    if (error instanceof InvalidStateError) {
      const info = this.#closeInfo;
      if (info) {
        const closed = new ConnectionClosedError(info);
        return new InvalidStateError("NOT_OPEN", `${error.message}: ${closed.message}`, {
          cause: closed,
        });
      }
      if (
        this.#reconnectTimer !== undefined ||
        (this.#everOpen && this.readyState === ReadyState.CONNECTING)
      ) {
        return new InvalidStateError("NOT_OPEN", "connection is reconnecting");
      }
    }
    return error;
  }

  // ---------------------------------------------------------------------------------------------
  // Async iteration.

  /**
   * Yields messages (`string` for text, `Uint8Array` for binary) until the connection closes.
   * Ends normally after a normal close (1000, 1001 or no status) and throws a
   * {@linkcode ConnectionClosedError} otherwise.
   */
  [Symbol.asyncIterator](): AsyncIterator<string | Uint8Array> {
    return this.#inbox.iterator();
  }

  // ---------------------------------------------------------------------------------------------
  // The connections' outcomes: open, reconnect, or the end.

  /** The protocol opened: run `onOpen` (messages wait), then announce the open. */
  #opened(connection: Connection): void {
    this.#settings.reconnect?.opened();
    this.#stats.connectedSince = Date.now();
    const lostAt = this.#lostAt;
    const outage: Outage | undefined = lostAt === undefined ? undefined : {
      lostAt,
      restoredAt: Date.now(),
      attempts: this.#attemptsSinceLoss,
      lastMessageAt: this.#owner.lastMessageAt,
      cause: this.#lossCause!,
    };
    this.#lostAt = this.#lossCause = undefined;
    this.#attemptsSinceLoss = 0;
    const onOpen = this.#settings.onOpen;
    if (!onOpen) return this.#announce(connection, outage);
    const info: OpenInfo = {
      attempt: connection.attempt,
      url: connection.target!.href,
      response: connection.protocol.response!,
      outage,
    };
    let run: Promise<void>;
    try {
      run = Promise.resolve(onOpen(this, info));
    } catch (error) {
      run = Promise.reject(error);
    }
    connection.gate(
      run.then(undefined, (error) => {
        const failure = new CallbackError("ON_OPEN_FAILED", `onOpen failed: ${error}`, {
          cause: error,
        });
        this.#listeners.emit("error", { type: "error", error: failure, target: this });
      }).then(() => {
        if (!connection.ended && connection === this.#connection) {
          this.#announce(connection, outage);
        }
      }),
    );
  }

  /** The connection is open and `onOpen` is done: tell the application, send what waited. */
  #announce(connection: Connection, outage: Outage | undefined): void {
    if (!this.#everOpen) {
      this.#everOpen = true;
      this.#resolveOpened!();
      this.#resolveOpened = this.#rejectOpened = undefined;
    }
    this.#listeners.emit(
      "open",
      outage ? { type: "open", outage, target: this } : {
        type: "open",
        target: this,
      },
    );
    if (outage) this.#listeners.emit("outage", { type: "outage", outage, target: this });
    this.#outbox?.flush((payload, binary, compressible) =>
      connection.send(payload, binary, compressible)
    );
  }

  /** A connection's transport is gone: reconnect, or settle everything. */
  #ended(connection: Connection, info: CloseInfo): void {
    if (connection !== this.#connection) return;
    this.#stats.connectedSince = undefined;
    const next = this.#closing ? undefined : this.#settings.reconnect?.next(info);
    if (next === undefined) {
      this.#finish(info, connection.wasOpen);
      return;
    }
    if (connection.wasOpen && this.#lostAt === undefined) {
      this.#lostAt = Date.now();
      this.#lossCause = info;
    }
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#closing) return;
      if (this.#lostAt !== undefined) this.#attemptsSinceLoss++;
      this.#connection = new Connection(this.#owner, ++this.#attempts); // options checked already
      this.#connection.start();
    }, next.delay);
    this.#stats.reconnects++;
    this.#listeners.emit("reconnect", {
      type: "reconnect",
      info,
      wasOpen: connection.wasOpen,
      attempt: next.attempt,
      delay: next.delay,
      target: this,
    });
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
    this.#closeInfo = info;
    if (this.#onUserAbort) this.#signal?.removeEventListener("abort", this.#onUserAbort);
    if (!this.#everOpen) {
      this.#rejectOpened?.(
        info.error ?? new ConnectionClosedError(info, "connection closed before it was open"),
      );
      this.#resolveOpened = this.#rejectOpened = undefined;
    }
    this.#inbox.close(info);
    this.#outbox?.rejectAll(
      new InvalidStateError("NOT_OPEN", `not sent: ${new ConnectionClosedError(info).message}`, {
        cause: new ConnectionClosedError(info),
      }),
    );
    this.#resolveClosed?.(info);
    this.#resolveClosed = undefined;
    // A connection that never opened is reported by the rejection of `opened` / connect().
    if (wasOpen || this.#everOpen) {
      this.#listeners.emit("close", { type: "close", ...info, target: this });
    }
  }
}
