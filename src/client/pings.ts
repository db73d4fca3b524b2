/**
 * Pings waiting for their pong, by payload, in the order they were sent.
 *
 * @module
 */

import { latin1Decode } from "../core/bytes.ts";
import { ArgumentError } from "../core/errors.ts";

interface PendingPing {
  sentAt: number;
  resolve: (rtt: number) => void;
  reject: (e: Error) => void;
}

/** The pings of one connection that await their pong (made on the first ping). */
export class PendingPings {
  // Insertion order is send order.
  readonly #pings = new Map<string, PendingPing>();

  /**
   * Checks that no ping with `payload` is awaited already: two pings with the same data could not
   * be told apart by their pongs.
   *
   * @throws {ArgumentError} `INVALID_DATA` if one is.
   */
  check(payload: Uint8Array): string {
    const key = latin1Decode(payload);
    if (this.#pings.has(key)) {
      throw new ArgumentError(
        "INVALID_DATA",
        "a ping with the same data is already awaiting its pong",
      );
    }
    return key;
  }

  /** Awaits the pong of the ping sent now with the payload `key` (from `check`). */
  add(key: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#pings.set(key, { sentAt: performance.now(), resolve, reject });
    });
  }

  /**
   * A pong with `data` arrived. RFC 6455 §5.5.3 lets a server answer only the latest of several
   * pings: a pong therefore also settles the pings sent before the one it answers. Returns the
   * round-trip time of the ping it answers, if it answers one.
   */
  settle(data: Uint8Array): number | undefined {
    const key = latin1Decode(data);
    const pings = this.#pings;
    if (!pings.has(key)) return undefined;
    const now = performance.now();
    let answered: number | undefined;
    for (const [k, ping] of pings) {
      pings.delete(k);
      const rtt = now - ping.sentAt;
      ping.resolve(rtt);
      if (k === key) {
        answered = rtt;
        break;
      }
    }
    return answered;
  }

  /** The connection ended: every ping still waiting rejects with `error`. */
  rejectAll(error: Error): void {
    for (const ping of this.#pings.values()) ping.reject(error);
    this.#pings.clear();
  }
}
