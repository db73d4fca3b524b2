/**
 * The reconnect policy: whether a connection that ended is worth another attempt, and when.
 *
 * @module
 */

import {
  AbortError,
  ArgumentError,
  CallbackError,
  type CloseInfo,
  HandshakeError,
  InvalidStateError,
  NetworkError,
  TimeoutError,
} from "../core/errors.ts";

/**
 * When and how fast to reconnect. Delays follow RFC 6455 §7.2.3: the first is random in
 * `[0, initialDelay]`, the next ones grow by `factor` up to `maxDelay`, each randomized ("full
 * jitter") so that many clients do not reconnect in step. The count restarts once a connection
 * has stayed open `resetAfter` ms. The server's hints lengthen a delay (never beyond `maxDelay`):
 * `Retry-After` on a 429 or 503 answer, close code 1012 (service restart: at least
 * `initialDelay`) and 1013 (try again later: at least the full backoff bound, no jitter below it).
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
   * {@linkcode isTransient}: network failures, timeouts, a handshake cut short, 5xx and 429
   * answers, and close codes 1001, 1005, 1006, 1011–1014; not 4xx answers, TLS or argument
   * errors, nor a server's 1000, 1002, 1003, 1007–1010. With the default, once the client has
   * been open, a 404 answer is tried again too: a server that restarts may route its WebSocket
   * endpoint a moment after it accepts connections (Asterisk answers `/ari/events` with 404
   * until ARI has loaded).
   */
  shouldReconnect?: (info: CloseInfo) => boolean;
  /**
   * Milliseconds a connection must stay open before the attempt count (and so the backoff)
   * restarts, so that a server that accepts and drops at once is not hammered. Default 5,000.
   */
  resetAfter?: number;
}

/**
 * Whether a connection that ended with `info` is worth retrying (the default `shouldReconnect`).
 */
export function isTransient(info: CloseInfo): boolean {
  const error = info.error;
  if (error instanceof HandshakeError) {
    // A server that accepts TCP and closes before answering is restarting (or a proxy in front
    // of one is): worth another attempt, like a refused connection.
    if (error.code === "HANDSHAKE_INTERRUPTED") return true;
    return error.status !== undefined &&
      (error.status >= 500 || error.status === 429 || error.status === 408);
  }
  if (error instanceof NetworkError) return error.code !== "TLS_ERROR";
  if (error instanceof TimeoutError) return true;
  if (error instanceof CallbackError) return error.code !== "ON_OPEN_FAILED";
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

/** A checked {@linkcode ReconnectOptions} and the count of attempts in a row. */
export class ReconnectPolicy {
  readonly #options: Required<ReconnectOptions>;
  #attempt = 0;
  /** When the last connection opened (performance.now()), until the next loss. */
  #openedAt: number | undefined;
  /** A connection of this client has been open. */
  #everOpened = false;
  /** `shouldReconnect` is the application's, not the default. */
  readonly #custom: boolean;

  /** @throws {ArgumentError} `INVALID_OPTION` for a bad option. */
  constructor(options: ReconnectOptions) {
    const number = (name: keyof ReconnectOptions, fallback: number, min: number): number => {
      const value = options[name] ?? fallback;
      if (typeof value !== "number" || Number.isNaN(value) || value < min) {
        throw new ArgumentError("INVALID_OPTION", `reconnect.${name} must be a number >= ${min}`);
      }
      return value;
    };
    this.#custom = options.shouldReconnect !== undefined;
    const shouldReconnect = options.shouldReconnect ?? isTransient;
    if (typeof shouldReconnect !== "function") {
      throw new ArgumentError("INVALID_OPTION", "reconnect.shouldReconnect must be a function");
    }
    this.#options = {
      maxAttempts: number("maxAttempts", Infinity, 0),
      initialDelay: number("initialDelay", 1000, 0),
      maxDelay: number("maxDelay", 30_000, 0),
      factor: number("factor", 2, 1),
      resetAfter: number("resetAfter", 5000, 0),
      shouldReconnect,
    };
  }

  /** A connection opened: if it stays open `resetAfter` ms, the next loss counts from 1 again. */
  opened(): void {
    this.#openedAt = performance.now();
    this.#everOpened = true;
  }

  /**
   * The next attempt after a connection (or an attempt) that ended with `info`: its number and
   * delay in ms, or `undefined` to give up.
   */
  next(info: CloseInfo): { attempt: number; delay: number } | undefined {
    const o = this.#options;
    if (this.#openedAt !== undefined) {
      if (performance.now() - this.#openedAt >= o.resetAfter) this.#attempt = 0;
      this.#openedAt = undefined;
    }
    if (this.#attempt >= o.maxAttempts || !this.#worthRetrying(info)) return undefined;
    const attempt = ++this.#attempt;
    // 0 * factor ** 1024 would be 0 * Infinity = NaN after 1,024 attempts in a row.
    const bound = o.initialDelay === 0
      ? 0
      : Math.min(o.maxDelay, o.initialDelay * o.factor ** (attempt - 1));
    let delay = Math.round(Math.random() * bound); // RFC 6455 §7.2.3, full jitter
    const code = info.received?.code;
    if (code === 1012) delay = Math.max(delay, Math.min(o.initialDelay, o.maxDelay));
    if (code === 1013) delay = Math.max(delay, Math.round(bound));
    const retryAfter = retryAfterMs(info);
    if (retryAfter !== undefined) delay = Math.max(delay, Math.min(retryAfter, o.maxDelay));
    return { attempt, delay };
  }

  /** `shouldReconnect`, and with the default, a 404 once the client has been open. */
  #worthRetrying(info: CloseInfo): boolean {
    if (this.#options.shouldReconnect(info)) return true;
    const error = info.error;
    return !this.#custom && this.#everOpened && error instanceof HandshakeError &&
      error.status === 404;
  }
}

/**
 * The `Retry-After` of a 429 or 503 handshake answer, in ms (RFC 9110 §10.2.3: seconds, or an
 * HTTP date), or undefined.
 */
export function retryAfterMs(info: CloseInfo, now: number = Date.now()): number | undefined {
  const error = info.error;
  if (!(error instanceof HandshakeError) || (error.status !== 429 && error.status !== 503)) {
    return undefined;
  }
  const value = error.headers?.["retry-after"]?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The policy of the `reconnect` option, or `undefined` when it is off. */
export function reconnectPolicy(
  option: boolean | ReconnectOptions | undefined,
): ReconnectPolicy | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== true && (typeof option !== "object" || option === null)) {
    throw new ArgumentError("INVALID_OPTION", "reconnect must be a boolean or an object");
  }
  return new ReconnectPolicy(option === true ? {} : option);
}
