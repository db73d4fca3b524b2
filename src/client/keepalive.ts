/**
 * Liveness of an open connection: a keepalive ping every `pingInterval` ms with a deadline of
 * `pingTimeout` ms for its pong, and the `idleTimeout` watch (no frame at all for that long), past
 * which the peer is taken for dead (1011). Neither counts silence while reading is held: the
 * application lags, not the peer.
 *
 * @module
 */

import { CloseCode } from "../core/constants.ts";
import { TimeoutError } from "../core/errors.ts";
import { ReadyState } from "../core/protocol.ts";
import type { Connection, ConnectionOwner } from "./connection.ts";

const KEEPALIVE_TAG = 0x6b; // 'k': first byte of keepalive ping payloads

/** The liveness timers of one open connection (made at open when one of them is on). */
export class Keepalive {
  readonly #connection: Connection;
  readonly #owner: ConnectionOwner;
  #pingTimer: ReturnType<typeof setTimeout> | undefined;
  /** Deadline of the keepalive ping in flight. */
  #pongTimer: ReturnType<typeof setTimeout> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether `idleTimeout` is on: the connection then sets `lastFrameAt` on every read. */
  readonly watchesIdle: boolean;
  /** When the last frame arrived (performance.now()). */
  lastFrameAt: number = performance.now();

  constructor(connection: Connection, owner: ConnectionOwner) {
    this.#connection = connection;
    this.#owner = owner;
    this.watchesIdle = owner.settings.idleTimeout > 0;
  }

  /** Starts what the settings ask for: keepalive pings, the idle watch. */
  start(): void {
    const { pingInterval, idleTimeout } = this.#owner.settings;
    if (pingInterval > 0) this.schedule();
    if (idleTimeout > 0) this.#watchIdle(idleTimeout);
  }

  /** `idleTimeout`: no frame at all for that long means the peer is dead (1011). */
  #watchIdle(ms: number): void {
    const { idleTimeout } = this.#owner.settings;
    const connection = this.#connection;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (connection.ended || connection.state !== ReadyState.OPEN) return;
      const quiet = performance.now() - this.lastFrameAt;
      const held = connection.readingHeld;
      if (held || quiet < idleTimeout) {
        return this.#watchIdle(held ? idleTimeout : idleTimeout - quiet);
      }
      connection.fail(
        new TimeoutError("IDLE_TIMEOUT", `no frame from the server for ${idleTimeout} ms`),
        CloseCode.INTERNAL_ERROR,
        "idle timeout",
      );
    }, Math.max(1, Math.ceil(ms)));
  }

  /** Schedules the next keepalive ping. */
  schedule(): void {
    const { pingInterval, pingTimeout } = this.#owner.settings;
    const connection = this.#connection;
    this.#pingTimer = setTimeout(() => {
      this.#pingTimer = undefined;
      if (connection.ended || connection.state !== ReadyState.OPEN) return;
      const payload = new Uint8Array(5);
      payload[0] = KEEPALIVE_TAG;
      new DataView(payload.buffer).setUint32(1, this.#owner.nextPingId());
      let answered = false;
      const expire = () => {
        if (answered || connection.ended || connection.state !== ReadyState.OPEN) return;
        if (this.#owner.inbox.paused) {
          // Reading is paused because the application does not consume messages: the pong may
          // be waiting unread behind them. That is not a dead peer; check again later.
          this.#pongTimer = setTimeout(expire, pingTimeout);
          return;
        }
        const error = new TimeoutError(
          "PING_TIMEOUT",
          `no pong within ${pingTimeout} ms: the server or the network is not responding`,
        );
        // Writes the 1011 close frame, reports the error, arms the close timer.
        connection.fail(error, CloseCode.INTERNAL_ERROR, "keepalive ping timeout");
      };
      if (pingTimeout > 0) this.#pongTimer = setTimeout(expire, pingTimeout);
      connection.ping(payload).then(() => {
        answered = true;
        clearTimeout(this.#pongTimer);
        this.#pongTimer = undefined;
        this.schedule();
      }, () => clearTimeout(this.#pongTimer));
    }, pingInterval);
  }

  /** No more liveness checks (the connection is closing or gone). */
  stop(): void {
    clearTimeout(this.#pingTimer);
    clearTimeout(this.#pongTimer);
    clearTimeout(this.#idleTimer);
    this.#pingTimer = this.#pongTimer = this.#idleTimer = undefined;
  }
}
