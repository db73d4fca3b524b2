/**
 * Keepalive: a ping every `pingInterval` ms while the connection is open, and a deadline of
 * `pingTimeout` ms for its pong, past which the peer is taken for dead (1011).
 *
 * @module
 */

import { CloseCode } from "../core/constants.ts";
import { TimeoutError } from "../core/errors.ts";
import { ReadyState } from "../core/protocol.ts";
import type { Connection, ConnectionOwner } from "./connection.ts";

const KEEPALIVE_TAG = 0x6b; // 'k': first byte of keepalive ping payloads

/** The keepalive timers of one open connection (made at open when `pingInterval` > 0). */
export class Keepalive {
  readonly #connection: Connection;
  readonly #owner: ConnectionOwner;
  #pingTimer: ReturnType<typeof setTimeout> | undefined;
  /** Deadline of the keepalive ping in flight. */
  #pongTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(connection: Connection, owner: ConnectionOwner) {
    this.#connection = connection;
    this.#owner = owner;
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

  /** No more keepalive pings (the connection is closing or gone). */
  stop(): void {
    clearTimeout(this.#pingTimer);
    clearTimeout(this.#pongTimer);
    this.#pingTimer = this.#pongTimer = undefined;
  }
}
