/**
 * `Attempt`: one browser `WebSocket`, from `new WebSocket()` to its close event, with the timers
 * of one attempt (open, close, idle) and the wait of `send` on `bufferedAmount`. The browser's
 * counterpart of `src/client/connection.ts`: how it ended is handed to its owner, the browser's
 * `WebSocketClient`, which reconnects or settles.
 *
 * @module
 */

import { WRITE_HIGH_WATER_MARK } from "../adapters/socket.ts";
import {
  ArgumentError,
  type CloseFrame,
  type CloseInfo,
  ConnectionClosedError,
  InvalidStateError,
  NetworkError,
  TimeoutError,
  WebSocketError,
} from "../core/errors.ts";
import { ReadyState } from "../core/constants.ts";
import type { Inbox } from "../client/inbox.ts";
import type { Listeners } from "../client/events.ts";
import type { WebSocketClient } from "./client.ts";
import { type NativeCloseEvent, type NativeWebSocket, nativeWebSocket } from "./native.ts";
import { attemptUrl, type Settings } from "./options.ts";

/** How often a `send` waiting for `bufferedAmount` to drain looks again (the browser has no event). */
const DRAIN_POLL_MS = 10;

/** What an {@linkcode Attempt} needs from the client that made it. */
export interface AttemptOwner {
  readonly settings: Settings;
  readonly listeners: Listeners<WebSocketClient>;
  readonly inbox: Inbox<WebSocketClient>;
  readonly target: WebSocketClient;
  /** When the last message arrived (epoch ms), set by the attempts. */
  lastMessageAt: number | undefined;
  /** The socket opened (the `open` event is the owner's to emit). */
  opened(attempt: Attempt): void;
  /** The attempt is over: reconnect or settle. Called once. */
  ended(attempt: Attempt, info: CloseInfo): void;
  /** A `NOT_OPEN` error, explained by the client's state (closed how, or reconnecting). */
  stateError(error: unknown): unknown;
}

interface DrainWaiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** One browser `WebSocket` and its timers. */
export class Attempt {
  /** The attempt's number, counting every attempt of the client (1 for the first). */
  readonly number: number;
  /** CONNECTING, OPEN or CLOSING; the client is CLOSED only once everything has settled. */
  state: ReadyState = ReadyState.CONNECTING;
  /** The URL of this attempt, once known. */
  href = "";
  /** Whether the socket was open at some point. */
  wasOpen = false;
  /** The attempt is over; nothing more happens on it. */
  ended = false;

  readonly #owner: AttemptOwner;
  #socket: NativeWebSocket | undefined;
  #error: WebSocketError | undefined;
  #errorReported = false;
  /** The close frame this side asked the browser to send. */
  #sent: CloseFrame | undefined;
  #openTimer: ReturnType<typeof setTimeout> | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the last message arrived (performance.now()), with `idleTimeout`. */
  #lastFrameAt = 0;
  #drainWaiters: DrainWaiter[] = [];
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  /** Messages held back while `onOpen` runs. */
  #gated: Array<string | Uint8Array> | undefined;
  #gate: Promise<void> | undefined;

  constructor(owner: AttemptOwner, number: number) {
    this.#owner = owner;
    this.number = number;
  }

  /** The socket's protocol, extensions and buffered bytes ("" and 0 before it exists). */
  get protocol(): string {
    return this.#socket?.protocol ?? "";
  }
  get extensions(): string {
    return this.#socket?.extensions ?? "";
  }
  get bufferedAmount(): number {
    return this.#socket?.bufferedAmount ?? 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Opening.

  /** Resolves the URL and opens the browser's socket. */
  async start(): Promise<void> {
    const { openTimeout, protocols } = this.#owner.settings;
    if (openTimeout > 0) {
      this.#openTimer = setTimeout(() => {
        this.failOpen(
          new TimeoutError("OPEN_TIMEOUT", `no open connection after ${openTimeout} ms`),
        );
      }, openTimeout);
    }
    let socket: NativeWebSocket;
    try {
      this.href = await attemptUrl(this.#owner.settings, this.number);
      if (this.ended) return; // timed out or aborted meanwhile
      const Native = nativeWebSocket();
      socket = protocols.length > 0 ? new Native(this.href, protocols) : new Native(this.href);
    } catch (error) {
      this.failOpen(
        error instanceof WebSocketError
          ? error
          : new ArgumentError("INVALID_URL", `the browser refused the URL: ${error}`, {
            cause: error,
          }),
      );
      return;
    }
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => this.#onOpen();
    socket.onmessage = (event) => this.#onMessage(event.data);
    socket.onerror = () => this.#onError();
    socket.onclose = (event) => this.#onClose(event);
  }

  /** Fails an attempt that is not open yet. */
  failOpen(error: WebSocketError): void {
    if (this.ended || this.wasOpen) return;
    this.#error ??= error;
    this.#abandon();
  }

  // ---------------------------------------------------------------------------------------------
  // The socket's events.

  #onOpen(): void {
    if (this.ended) return;
    this.wasOpen = true;
    clearTimeout(this.#openTimer);
    this.#openTimer = undefined;
    this.state = ReadyState.OPEN;
    const { idleTimeout } = this.#owner.settings;
    if (idleTimeout > 0) {
      this.#lastFrameAt = performance.now();
      this.#watchIdle(idleTimeout);
    }
    this.#owner.opened(this);
  }

  #onMessage(raw: unknown): void {
    if (this.ended) return;
    const data = typeof raw === "string" ? raw : new Uint8Array(raw as ArrayBuffer);
    if (this.#idleTimer !== undefined) this.#lastFrameAt = performance.now();
    this.#owner.lastMessageAt = Date.now();
    if (this.#gated) this.#gated.push(data);
    else this.#owner.inbox.deliver(data);
  }

  #onError(): void {
    // The browser says nothing more than "failed"; the close event follows with 1006.
    this.#error ??= this.wasOpen
      ? new NetworkError("NETWORK_ERROR", "the connection failed (the browser does not say why)")
      : this.#openFailure();
  }

  #openFailure(): NetworkError {
    return new NetworkError(
      "NETWORK_ERROR",
      `the browser could not open ${this.href}: refused, DNS, TLS or an HTTP answer other ` +
        "than 101 (a browser does not say which)",
    );
  }

  #onClose(event: NativeCloseEvent): void {
    if (this.ended) return;
    const { code, reason, wasClean } = event;
    // 1006: no close frame arrived (the browser reports the peer's code otherwise).
    const received = code !== 1006 ? { code, reason } : undefined;
    if (!this.wasOpen) this.#error ??= this.#openFailure();
    else if (!wasClean && received === undefined) {
      this.#error ??= new NetworkError(
        "NETWORK_ERROR",
        "the connection was lost without a closing handshake (1006; the browser does not say why)",
      );
    }
    this.#end({ code, reason, wasClean, received, sent: this.#sent, error: this.#error });
  }

  // ---------------------------------------------------------------------------------------------
  // Commands (the client checks its own state first).

  /**
   * Sends a message; resolves once `bufferedAmount` is under the high-water mark (the same 64 KiB
   * as the server's sockets), rejects if the connection ends first.
   */
  send(payload: string | Uint8Array, binary: boolean): Promise<void> {
    const socket = this.#socket;
    // A socket the server is closing discards what is sent (with only a console warning): the
    // browser's own readyState is checked too, so that such a send rejects instead.
    if (this.ended || this.state !== ReadyState.OPEN || socket?.readyState !== 1) {
      return Promise.reject(
        this.#owner.stateError(new InvalidStateError("NOT_OPEN", "connection is not open")),
      );
    }
    let data: string | Uint8Array;
    if (binary) {
      data = typeof payload === "string" ? encoder.encode(payload) : payload;
    } else if (typeof payload === "string") {
      data = payload;
    } else {
      try {
        data = strictDecoder.decode(payload);
      } catch {
        return Promise.reject(
          new ArgumentError("INVALID_DATA", "bytes sent as text must be valid UTF-8"),
        );
      }
    }
    try {
      socket!.send(data);
    } catch (error) {
      return Promise.reject(
        new InvalidStateError("NOT_OPEN", `the browser refused to send: ${error}`, {
          cause: error,
        }),
      );
    }
    if (socket!.bufferedAmount <= WRITE_HIGH_WATER_MARK) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#drainWaiters.push({ resolve, reject });
      this.#pollDrain();
    });
  }

  #pollDrain(): void {
    if (this.#drainTimer !== undefined) return;
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = undefined;
      if (this.ended) return;
      if ((this.#socket?.bufferedAmount ?? 0) > WRITE_HIGH_WATER_MARK) return this.#pollDrain();
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w.resolve();
    }, DRAIN_POLL_MS);
  }

  /** Starts the closing handshake of an open connection, bounded by `closeTimeout`. */
  close(code: number, reason: string): void {
    this.#sent = { code, reason };
    this.state = ReadyState.CLOSING;
    this.#socket?.close(code, reason);
    this.#armCloseTimer();
  }

  /**
   * Fails an open connection from this side (`signal`, `idleTimeout`). A page may send only 1000
   * or 3000–4999, so where the server client sends 1001 or 1011 this close frame has no status
   * code (the server sees 1005); `error` says why.
   */
  fail(error: WebSocketError): void {
    if (this.ended) return;
    this.#error ??= error;
    if (this.state === ReadyState.OPEN) {
      this.#sent = { code: 1005, reason: "" };
      this.state = ReadyState.CLOSING;
      this.#socket?.close();
    }
    this.#armCloseTimer();
  }

  /** Ends at once without waiting for the closing handshake (the browser then finishes it). */
  terminate(): void {
    if (this.ended) return;
    this.state = ReadyState.CLOSING;
    this.#abandon();
  }

  /**
   * Holds this attempt's messages until `done` settles: `onOpen` runs before any message of the
   * connection is delivered, and none is lost meanwhile.
   */
  gate(done: Promise<void>): void {
    this.#gated = [];
    const gate = this.#gate = done.then(() => {
      if (this.#gate !== gate) return;
      const held = this.#gated!;
      this.#gate = this.#gated = undefined;
      for (const message of held) this.#owner.inbox.deliver(message);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Timers and the end.

  /** `idleTimeout`: no message for that long means the server is dead. */
  #watchIdle(ms: number): void {
    const { idleTimeout } = this.#owner.settings;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.ended || this.state !== ReadyState.OPEN) return;
      const quiet = performance.now() - this.#lastFrameAt;
      if (quiet < idleTimeout) return this.#watchIdle(idleTimeout - quiet);
      this.fail(
        new TimeoutError("IDLE_TIMEOUT", `no message from the server for ${idleTimeout} ms`),
      );
    }, Math.max(1, Math.ceil(ms)));
  }

  #armCloseTimer(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    if (this.#closeTimer !== undefined || this.ended) return;
    const { closeTimeout } = this.#owner.settings;
    if (closeTimeout === 0) return;
    this.#closeTimer = setTimeout(() => {
      this.#error ??= new TimeoutError(
        "CLOSE_TIMEOUT",
        `closing handshake not completed within ${closeTimeout} ms`,
      );
      this.#abandon();
    }, closeTimeout);
  }

  /** Stops listening to the socket, closes it, and ends now (no close event will be waited for). */
  #abandon(): void {
    const socket = this.#socket;
    if (socket) {
      socket.onopen =
        socket.onmessage =
        socket.onerror =
        socket.onclose =
          null;
      // A socket still connecting is abandoned; an open one starts (or goes on with) its
      // closing handshake, which the browser finishes on its own.
      if (socket.readyState < 2) socket.close();
    }
    this.#end({ code: 1006, reason: "", wasClean: false, sent: this.#sent, error: this.#error });
  }

  /** The attempt is over: report, release, and hand the outcome to the owner. Runs once. */
  #end(info: CloseInfo): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.#openTimer);
    clearTimeout(this.#closeTimer);
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#drainTimer);
    this.#openTimer =
      this.#closeTimer =
      this.#idleTimer =
      this.#drainTimer =
        undefined;
    const socket = this.#socket;
    if (socket) {
      socket.onopen =
        socket.onmessage =
        socket.onerror =
        socket.onclose =
          null;
    }
    const owner = this.#owner;
    if (this.wasOpen && info.error && !this.#errorReported) {
      this.#errorReported = true;
      owner.listeners.emit("error", { type: "error", error: info.error, target: owner.target });
    }
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w.reject(new ConnectionClosedError(info));
    owner.ended(this, info);
  }
}
