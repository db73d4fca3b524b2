/**
 * `RomWebSocket`: the contract of the 1C:Enterprise component ROM-WebSocket, kept word for word,
 * on top of {@linkcode WebSocketClient}. Every member exists under its English name and its
 * Russian alias; both reach the same state.
 *
 * @module
 */

import {
  type ClientOptions,
  type ClientStats,
  reportListenerError,
  type RequestHeaders,
  WebSocketClient,
} from "../client/mod.ts";
import { base64 } from "../core/bytes.ts";
import { ArgumentError, type WebSocketError } from "../core/errors.ts";
import { ReadyState } from "../core/protocol.ts";
import { VERSION } from "../version.ts";
import {
  ROM_BINARY_MESSAGE_EVENT,
  ROM_CLOSE_DROP,
  ROM_CLOSE_NORMAL,
  ROM_FAIL,
  ROM_MESSAGE_EVENT,
  ROM_OPEN,
  ROM_SOURCE,
  type RomEvent,
} from "./contract.ts";
import { compilePcre } from "./pcre.ts";

/** The external event handler: `(source, event, data)`, as 1C receives it. */
export type ExternalEventHandler = (source: string, event: string, data: string) => void;

/** Options beyond the original component; all off or compatible by default. */
export interface RomOptions extends Omit<ClientOptions, "signal"> {
  /**
   * How binary messages are delivered: `"text"` (default: as a Message event, the bytes decoded as
   * UTF-8, like text), `"base64"` (event `{"Event": "Message","Type": "Binary"}`, data in base64)
   * or `"ignore"`.
   */
  binary?: "text" | "base64" | "ignore";
}

const decoder = new TextDecoder();

const NO_STATS: ClientStats = Object.freeze({
  messagesIn: 0,
  messagesOut: 0,
  bytesIn: 0,
  bytesOut: 0,
  wireBytesIn: 0,
  wireBytesOut: 0,
  reconnects: 0,
  lastRtt: undefined,
  connectedSince: undefined,
});

/**
 * The ROM-WebSocket component.
 *
 * @example Event mode (Timeout = 0): results arrive as external events
 * ```ts
 * const rom = new RomWebSocket();
 * rom.onExternalEvent = (source, event, data) => console.log(source, event, data);
 * rom.Regex = '"type":"StasisStart"';
 * rom.SetHeader("Authorization", "Basic " + btoa("asterisk:secret"));
 * await rom.Connect("ws://127.0.0.1:8088/ari/events?app=demo");
 * ```
 *
 * @example Waiting mode, for code that cannot receive events
 * ```ts
 * const rom = new RomWebSocket();
 * rom.Listen = false;
 * rom.Timeout = 5;
 * if (await rom.Connect("ws://127.0.0.1:8088/ws")) {
 *   await rom.Send("Привет мир!");
 *   await rom.Disconnect();
 * }
 * ```
 */
export class RomWebSocket {
  /** `source` of every external event. */
  static readonly SOURCE: string = ROM_SOURCE;

  #timeout = 0;
  #listen = true;
  #regexSource = "";
  #regex: RegExp | undefined;
  #handler: ExternalEventHandler | null = null;
  #options: RomOptions;
  #headers: Array<[string, string]> = [];
  #client: WebSocketClient | undefined;
  /** Connections closed by Disconnect(), whose Close event says "Normal". */
  #disconnected = new WeakSet<WebSocketClient>();
  #lastError: WebSocketError | undefined;

  /** `options`: client options and extensions beyond the original component. */
  constructor(options: RomOptions = {}) {
    this.#options = { ...options };
  }

  // ---------------------------------------------------------------------------------------------
  // Properties.

  /** Whether the connection is open. Read only. */
  get Connected(): boolean {
    return this.#client?.readyState === ReadyState.OPEN;
  }
  /** Alias of {@linkcode RomWebSocket.Connected}. */
  get Подключено(): boolean {
    return this.Connected;
  }

  /**
   * Seconds `Connect` waits for the outcome; 0 (default) returns at once and reports the outcome
   * as an event.
   */
  get Timeout(): number {
    return this.#timeout;
  }
  set Timeout(seconds: number) {
    const value = Number(seconds);
    if (!Number.isFinite(value) || value < 0) {
      throw new ArgumentError(
        "INVALID_OPTION",
        `Timeout must be a number of seconds >= 0, got ${seconds}`,
      );
    }
    this.#timeout = value;
  }
  /** Alias of {@linkcode RomWebSocket.Timeout}. */
  get Таймаут(): number {
    return this.Timeout;
  }
  set Таймаут(seconds: number) {
    this.Timeout = seconds;
  }

  /** Whether external events are raised (default true). Messages received while false are dropped. */
  get Listen(): boolean {
    return this.#listen;
  }
  set Listen(value: boolean) {
    this.#listen = Boolean(value);
  }
  /** Alias of {@linkcode RomWebSocket.Listen}. */
  get РежимПрослушивания(): boolean {
    return this.Listen;
  }
  set РежимПрослушивания(value: boolean) {
    this.Listen = value;
  }

  /** The library version. Read only. */
  get Version(): string {
    return VERSION;
  }
  /** Alias of {@linkcode RomWebSocket.Version}. */
  get Версия(): string {
    return this.Version;
  }

  /**
   * A PCRE pattern: only incoming messages that match are delivered ("" = all). Setting an
   * unsupported or invalid pattern throws and keeps the previous one.
   *
   * @throws {PcreError} (code `INVALID_REGEX`) naming the refused construct.
   */
  get Regex(): string {
    return this.#regexSource;
  }
  set Regex(pattern: string) {
    const source = pattern === undefined || pattern === null ? "" : String(pattern);
    const compiled = source === "" ? undefined : compilePcre(source); // throws before any change
    this.#regexSource = source;
    this.#regex = compiled;
  }
  /** Alias of {@linkcode RomWebSocket.Regex}. */
  get РегулярноеВыражение(): string {
    return this.Regex;
  }
  set РегулярноеВыражение(pattern: string) {
    this.Regex = pattern;
  }

  /** The external event handler `(source, event, data)`. */
  get onExternalEvent(): ExternalEventHandler | null {
    return this.#handler;
  }
  set onExternalEvent(handler: ExternalEventHandler | null) {
    this.#handler = typeof handler === "function" ? handler : null;
  }
  /** Alias of {@linkcode RomWebSocket.onExternalEvent}. */
  get ВнешнееСобытие(): ExternalEventHandler | null {
    return this.onExternalEvent;
  }
  set ВнешнееСобытие(handler: ExternalEventHandler | null) {
    this.onExternalEvent = handler;
  }

  /** The error behind the last Fail or Drop (an extension: the original had none). */
  get LastError(): string {
    return this.#lastError?.message ?? "";
  }
  /** Alias of {@linkcode RomWebSocket.LastError}. */
  get ПоследняяОшибка(): string {
    return this.LastError;
  }

  // ---------------------------------------------------------------------------------------------
  // Methods.

  /**
   * Adds a request header for the next `Connect` (an extension: ARI credentials belong in an
   * `Authorization` header, not in the URL). Returns false for an invalid header.
   */
  SetHeader(name: string, value: string): boolean {
    name = String(name);
    value = String(value);
    if (/[\r\n\0]/.test(name + value) || name === "") return false;
    this.#headers = this.#headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
    this.#headers.push([name, value]);
    return true;
  }
  /** Alias of {@linkcode RomWebSocket.SetHeader}. */
  УстановитьЗаголовок(name: string, value: string): boolean {
    return this.SetHeader(name, value);
  }

  /**
   * Opens a connection to `uri` (`ws://` or `wss://`).
   *
   * With `Timeout = 0`, resolves true once the attempt has started; Open or Fail follows as an
   * event. With `Timeout > 0`, waits until the connection is open (true), fails or the timeout
   * passes (the attempt is then aborted; false). Resolves false at once when already connected or
   * connecting, or when the URI is invalid (a Fail event is raised then).
   */
  async Connect(uri: string): Promise<boolean> {
    const current = this.#client;
    if (
      current &&
      (current.readyState === ReadyState.OPEN || current.readyState === ReadyState.CONNECTING)
    ) {
      return false;
    }
    const { binary: _binary, ...clientOptions } = this.#options;
    const own = [...this.#headers];
    const given = clientOptions.headers;
    // A headers function (tokens that expire) is called before every attempt, as for the client.
    const headers = typeof given === "function"
      ? async (attempt: number) => mergeHeaders(own, await given(attempt))
      : mergeHeaders(own, given);
    let client: WebSocketClient;
    try {
      client = new WebSocketClient(String(uri), {
        ...clientOptions,
        headers,
        openTimeout: this.#timeout > 0 ? this.#timeout * 1000 : clientOptions.openTimeout,
      });
    } catch (error) {
      this.#lastError = error as WebSocketError;
      this.#raise(ROM_FAIL);
      return false;
    }
    this.#client = client;
    this.#attach(client);
    const opened = client.opened.then(() => true, () => false);
    if (this.#timeout === 0) return true;
    if (!clientOptions.reconnect) return await opened; // openTimeout bounds the single attempt
    // With reconnection, bound the whole wait (all attempts), then abort.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#timeout * 1000);
    });
    const result = await Promise.race([opened, expired]);
    clearTimeout(timer);
    if (!result) client.terminate();
    return result;
  }
  /** Alias of {@linkcode RomWebSocket.Connect}. */
  Подключиться(uri: string): Promise<boolean> {
    return this.Connect(uri);
  }

  /**
   * Closes the connection (client-initiated: the Close event says `"Reason": "Normal"`). Resolves
   * true once closed; false when not connected (a connection attempt in progress is aborted).
   */
  async Disconnect(): Promise<boolean> {
    const client = this.#client;
    if (!client) return false;
    if (client.readyState === ReadyState.CONNECTING) {
      // Not connected: an attempt (or a wait to reconnect) is stopped; the result is false.
      this.#disconnected.add(client);
      client.terminate();
      return false;
    }
    if (client.readyState !== ReadyState.OPEN) return false;
    // The client is OPEN only while no close, failure or end of stream has been seen, so this
    // close() starts the closing handshake: the Close event will rightly say "Normal".
    const closing = client.close(1000);
    this.#disconnected.add(client);
    await closing;
    return true;
  }
  /** Alias of {@linkcode RomWebSocket.Disconnect}. */
  Отключиться(): Promise<boolean> {
    return this.Disconnect();
  }

  /**
   * Sends a text message. Resolves true once it is handed to the socket, false when not connected
   * or when it cannot be sent. (Extension: a `Uint8Array` is sent as a binary message.)
   */
  async Send(text: string | Uint8Array): Promise<boolean> {
    const client = this.#client;
    if (!client || client.readyState !== ReadyState.OPEN) return false;
    try {
      await client.send(text instanceof Uint8Array ? text : String(text));
      return true;
    } catch (error) {
      this.#lastError = error as WebSocketError;
      return false;
    }
  }
  /** Alias of {@linkcode RomWebSocket.Send}. */
  Отправить(text: string | Uint8Array): Promise<boolean> {
    return this.Send(text);
  }

  /**
   * The counters of the current (or last) connection's client, as `client.stats` (an extension):
   * messages and bytes in and out, reconnections, the last round-trip time, connected since. All
   * zero before the first `Connect`.
   */
  get Stats(): ClientStats {
    return this.#client?.stats ?? NO_STATS;
  }
  /** Alias of {@linkcode RomWebSocket.Stats}. */
  get Статистика(): ClientStats {
    return this.Stats;
  }

  /** The underlying client of the current connection, for features beyond the contract. */
  get client(): WebSocketClient | undefined {
    return this.#client;
  }

  // ---------------------------------------------------------------------------------------------

  #attach(client: WebSocketClient): void {
    client.addEventListener("open", () => this.#raise(ROM_OPEN));
    client.opened.catch((error: WebSocketError) => {
      this.#lastError = error;
      if (this.#client === client) this.#raise(ROM_FAIL);
    });
    client.addEventListener("message", (event) => {
      let data: string;
      let kind = ROM_MESSAGE_EVENT;
      if (typeof event.data === "string") {
        data = event.data;
      } else {
        const mode = this.#options.binary ?? "text";
        if (mode === "ignore") return;
        if (mode === "base64") {
          data = base64(event.data);
          kind = ROM_BINARY_MESSAGE_EVENT;
        } else {
          data = decoder.decode(event.data);
        }
      }
      if (!this.#listen) return; // not queued for later: the original behaved the same
      if (this.#regex && !this.#regex.test(data)) return;
      this.#raise({ event: kind, data });
    });
    // With the `reconnect` option: a drop raises Close Drop (a failed attempt, Fail), and the
    // next successful attempt raises Open again.
    client.addEventListener("reconnect", (event) => {
      if (event.info.error) this.#lastError = event.info.error;
      this.#raise(event.wasOpen ? ROM_CLOSE_DROP : ROM_FAIL);
    });
    client.addEventListener("close", (event) => {
      if (event.error) this.#lastError = event.error;
      this.#raise(this.#disconnected.has(client) ? ROM_CLOSE_NORMAL : ROM_CLOSE_DROP);
    });
  }

  #raise(event: RomEvent): void {
    if (!this.#listen) return;
    const handler = this.#handler;
    if (!handler) return;
    try {
      handler(ROM_SOURCE, event.event, event.data);
    } catch (error) {
      reportListenerError(error); // the connection goes on, as the component's did
    }
  }
}

/** `own` headers, then those of `extra` whose names `own` does not have. */
function mergeHeaders(
  own: ReadonlyArray<readonly [string, string]>,
  extra: RequestHeaders | undefined,
): Array<[string, string]> {
  const headers: Array<[string, string]> = own.map(([n, v]) => [n, v]);
  if (!extra) return headers;
  const pairs = Symbol.iterator in extra
    ? [...extra as Iterable<readonly [string, string]>]
    : Object.entries(extra);
  for (const [n, v] of pairs) {
    if (!headers.some(([h]) => h.toLowerCase() === n.toLowerCase())) headers.push([n, v]);
  }
  return headers;
}
