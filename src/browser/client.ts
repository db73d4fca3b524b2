/**
 * The browser build's `connect()` and `WebSocketClient`: the same API, events and reconnection as
 * the client of Deno, Bun and Node.js (`src/client/client.ts`), over the browser's own
 * `WebSocket`. The listeners, the inbox (queue and async iteration), the outbox, the reconnect
 * policy and the checks of the options are the server client's own modules; what differs is the
 * attempt (`attempt.ts`) and what a browser cannot do, which is refused with an `ArgumentError`
 * `UNSUPPORTED_IN_BROWSER`.
 *
 * @module
 */

import { CloseCode } from "../core/constants.ts";
import { validateCloseArguments } from "../core/close.ts";
import {
  AbortError,
  CallbackError,
  type CloseInfo,
  ConnectionClosedError,
  InvalidStateError,
} from "../core/errors.ts";
import { ReadyState } from "../core/constants.ts";
import { toBytes } from "../client/checks.ts";
import { type Listener, type ListenerOptions, Listeners } from "../client/events.ts";
import { Inbox } from "../client/inbox.ts";
import type { MessageOptions, Outage, SendData } from "../client/options.ts";
import { Outbox } from "../client/outbox.ts";
import { Attempt, type AttemptOwner } from "./attempt.ts";
import type { WebSocketClientEventMap } from "./events.ts";
import { nativeWebSocket } from "./native.ts";
import {
  type ClientOptions,
  type OpenInfo,
  resolveSettings,
  type Settings,
  unsupported,
  type UrlSource,
} from "./options.ts";

/**
 * Opens a WebSocket connection with the browser's `WebSocket` and resolves once it is open.
 *
 * @example
 * ```ts
 * import { connect } from "@rom/websocket/browser";
 * const ws = await connect("wss://feed.example/events", { reconnect: true, idleTimeout: 30_000 });
 * ws.addEventListener("outage", (e) => console.log("missed since", e.outage.lastMessageAt));
 * for await (const message of ws) console.log(message);
 * ```
 *
 * @throws {ArgumentError} bad URL or options; `UNSUPPORTED_IN_BROWSER` for what a browser cannot
 * do (before any I/O).
 * @throws {NetworkError} the browser could not open the connection (it does not say why).
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
 * One WebSocket connection over the browser's `WebSocket`, made by {@linkcode connect}. Messages
 * are read with `for await (const message of client)` or with `message` listeners; with
 * `reconnect`, the same object survives reconnections (`open` fires again, with an `outage`).
 * The `ping` and `pong` events never fire: a browser does not show control frames.
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
  /** Resolves with how the connection ended, once it has for good. Never rejects. */
  readonly closed: Promise<CloseInfo>;

  readonly #settings: Settings;
  readonly #signal: AbortSignal | undefined;
  readonly #listeners = new Listeners<WebSocketClient>();
  readonly #inbox: Inbox<WebSocketClient>;
  readonly #owner: AttemptOwner;
  /** The current attempt (the last one, once closed). */
  #attempt: Attempt;
  #everOpen = false;
  #closeInfo: CloseInfo | undefined;
  #resolveOpened: (() => void) | undefined;
  #rejectOpened: ((error: Error) => void) | undefined;
  #resolveClosed!: (info: CloseInfo) => void;
  #onUserAbort: (() => void) | undefined;
  /** close()/terminate() was called: no reconnection. */
  #closing: { code: number; reason: string } | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #outbox: Outbox | undefined;
  #lostAt: number | undefined;
  #lossCause: CloseInfo | undefined;
  #attemptsSinceLoss = 0;
  #attempts = 1;

  /**
   * Starts connecting at once; prefer {@linkcode connect}, which waits for `opened`.
   *
   * @throws {ArgumentError} bad URL or options; `UNSUPPORTED_IN_BROWSER`.
   */
  constructor(url: string | URL | UrlSource, options: ClientOptions = {}) {
    this.#settings = resolveSettings(url, options);
    nativeWebSocket(); // no WebSocket at all: refused now, not at the first attempt
    this.#inbox = new Inbox(this.#listeners, this, this.#settings.maxQueue);
    this.#owner = {
      settings: this.#settings,
      listeners: this.#listeners,
      inbox: this.#inbox,
      target: this,
      lastMessageAt: undefined,
      opened: (attempt) => this.#opened(attempt),
      ended: (attempt, info) => this.#ended(attempt, info),
      stateError: (error) => this.#stateError(error),
    };
    this.#attempt = new Attempt(this.#owner, 1);
    this.opened = new Promise((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    this.opened.catch(() => {}); // observed through connect() or the close event
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    const signal = this.#signal = options.signal;
    if (signal) {
      this.#onUserAbort = () => this.#abortByUser(signal.reason);
      signal.addEventListener("abort", this.#onUserAbort, { once: true });
    }
    if (signal?.aborted) this.#abortByUser(signal.reason);
    else this.#attempt.start();
  }

  // ---------------------------------------------------------------------------------------------
  // Public state.

  /** The URL of the current (or last) attempt; "" while a `url` function has not answered yet. */
  get url(): string {
    return this.#attempt.href;
  }

  /** `CONNECTING` (0, also while waiting to reconnect), `OPEN` (1), `CLOSING` (2) or `CLOSED` (3). */
  get readyState(): ReadyState {
    if (this.#closeInfo) return ReadyState.CLOSED;
    if (this.#reconnectTimer !== undefined) return ReadyState.CONNECTING;
    return this.#attempt.state;
  }

  /** The subprotocol the server chose, or "". */
  get protocol(): string {
    return this.#attempt.protocol;
  }

  /** The extensions in effect, as the browser reports them. */
  get extensions(): string {
    return this.#attempt.extensions;
  }

  /** Bytes given to `send` and not yet handed to the network (the browser's `bufferedAmount`). */
  get bufferedAmount(): number {
    return this.#attempt.bufferedAmount;
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
   * Sends a message: a string as text, bytes as binary (see `options.binary`). Resolves once the
   * browser's `bufferedAmount` is under the high-water mark (64 KiB, as on the server): the
   * backpressure point; rejects if the message cannot be sent or the connection ends first.
   *
   * @throws {InvalidStateError} `NOT_OPEN` (as a rejection) unless the connection is open.
   * @throws {ArgumentError} `INVALID_DATA` (as a rejection) for an unsupported data type;
   * `UNSUPPORTED_IN_BROWSER` for `compress: false` (the browser decides).
   */
  send(data: SendData, options?: MessageOptions): Promise<void> {
    let payload: string | Uint8Array;
    try {
      payload = typeof data === "string" ? data : toBytes(data);
      if (options?.compress === false) {
        throw unsupported("compress: false", "the browser decides what it compresses");
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const binary = options?.binary ?? typeof data !== "string";
    const limits = this.#settings.outbox;
    if (limits && !this.#closing && this.readyState === ReadyState.CONNECTING) {
      return (this.#outbox ??= new Outbox(limits)).hold(payload, binary, true);
    }
    return this.#attempt.send(payload, binary);
  }

  /**
   * Refused: a page cannot send pings (the browser answers the server's pings itself). For
   * liveness, use `idleTimeout` with the server's own heartbeats.
   *
   * @throws {ArgumentError} `UNSUPPORTED_IN_BROWSER` (as a rejection), always.
   */
  ping(_data?: string | Uint8Array): Promise<number> {
    return Promise.reject(
      unsupported("ping()", "a page cannot send pings; use idleTimeout with heartbeats"),
    );
  }

  /**
   * Starts the closing handshake and resolves once the connection is closed (at most
   * `closeTimeout` later). Calling it again returns the same outcome. Stops reconnecting.
   *
   * @throws {ArgumentError} (as a rejection) a code other than 1000 or 3000–4999 (the codes a
   * page may send, the same as on the server), or a reason longer than 123 UTF-8 bytes.
   */
  close(code: number = CloseCode.NORMAL_CLOSURE, reason = ""): Promise<CloseInfo> {
    try {
      validateCloseArguments(code, reason);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closing ??= { code, reason };
    const attempt = this.#attempt;
    const state = this.readyState;
    if (state === ReadyState.CONNECTING) {
      if (this.#reconnectTimer !== undefined) this.#giveUp();
      else attempt.failOpen(new AbortError("connection closed before it was open"));
    } else if (state === ReadyState.OPEN) {
      attempt.close(code, reason);
    }
    return this.closed;
  }

  /**
   * Ends the connection at once: the client settles now, without waiting for the closing handshake
   * (the browser then finishes it; a page cannot cut TCP). Stops reconnecting.
   */
  terminate(): void {
    const state = this.readyState;
    if (state === ReadyState.CLOSED) return;
    this.#closing ??= { code: CloseCode.ABNORMAL_CLOSURE, reason: "" };
    if (state === ReadyState.CONNECTING) {
      if (this.#reconnectTimer !== undefined) this.#giveUp();
      else this.#attempt.failOpen(new AbortError("connection terminated"));
      return;
    }
    this.#attempt.terminate();
  }

  #abortByUser(reason: unknown): void {
    this.#closing ??= { code: CloseCode.GOING_AWAY, reason: "aborted" };
    const state = this.readyState;
    if (state === ReadyState.CONNECTING) {
      if (this.#reconnectTimer !== undefined) this.#giveUp();
      else this.#attempt.failOpen(new AbortError("connect aborted", { cause: reason }));
    } else if (state === ReadyState.OPEN) {
      this.#attempt.fail(new AbortError("connection aborted", { cause: reason }));
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
  // The attempts' outcomes: open, reconnect, or the end (as in src/client/client.ts).

  #opened(attempt: Attempt): void {
    this.#settings.reconnect?.opened();
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
    if (!onOpen) return this.#announce(attempt, outage);
    const info: OpenInfo = { attempt: attempt.number, url: attempt.href, outage };
    let run: Promise<void>;
    try {
      run = Promise.resolve(onOpen(this, info));
    } catch (error) {
      run = Promise.reject(error);
    }
    attempt.gate(
      run.then(undefined, (error) => {
        const failure = new CallbackError("ON_OPEN_FAILED", `onOpen failed: ${error}`, {
          cause: error,
        });
        this.#listeners.emit("error", { type: "error", error: failure, target: this });
      }).then(() => {
        if (!attempt.ended && attempt === this.#attempt) this.#announce(attempt, outage);
      }),
    );
  }

  #announce(attempt: Attempt, outage: Outage | undefined): void {
    if (!this.#everOpen) {
      this.#everOpen = true;
      this.#resolveOpened!();
      this.#resolveOpened = this.#rejectOpened = undefined;
    }
    this.#listeners.emit(
      "open",
      outage ? { type: "open", outage, target: this } : { type: "open", target: this },
    );
    if (outage) this.#listeners.emit("outage", { type: "outage", outage, target: this });
    this.#outbox?.flush((payload, binary) => attempt.send(payload, binary));
  }

  #ended(attempt: Attempt, info: CloseInfo): void {
    if (attempt !== this.#attempt) return;
    const next = this.#closing ? undefined : this.#settings.reconnect?.next(info);
    if (next === undefined) {
      this.#finish(info, attempt.wasOpen);
      return;
    }
    if (attempt.wasOpen && this.#lostAt === undefined) {
      this.#lostAt = Date.now();
      this.#lossCause = info;
    }
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#closing) return;
      if (this.#lostAt !== undefined) this.#attemptsSinceLoss++;
      this.#attempt = new Attempt(this.#owner, ++this.#attempts);
      this.#attempt.start();
    }, next.delay);
    this.#listeners.emit("reconnect", {
      type: "reconnect",
      info,
      wasOpen: attempt.wasOpen,
      attempt: next.attempt,
      delay: next.delay,
      target: this,
    });
  }

  #giveUp(): void {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const closing = this.#closing ?? { code: CloseCode.NORMAL_CLOSURE, reason: "" };
    this.#finish({ code: closing.code, reason: closing.reason, wasClean: true }, this.#everOpen);
  }

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
    this.#resolveClosed(info);
    if (wasOpen || this.#everOpen) {
      this.#listeners.emit("close", { type: "close", ...info, target: this });
    }
  }
}
