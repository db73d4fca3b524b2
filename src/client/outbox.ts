/**
 * The outbox: messages sent while the client is not open wait here, bounded in count, bytes and
 * time, and leave in order once it is. Each `send` settles: written, or rejected with a typed
 * reason. Never a silent drop.
 *
 * @module
 */

import { InvalidStateError } from "../core/errors.ts";
import type { OutboxLimits } from "./options.ts";

interface Held {
  payload: string | Uint8Array;
  binary: boolean;
  compressible: boolean;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Sends one held message; settles like `WebSocketClient.send`. */
export type OutboxSend = (
  payload: string | Uint8Array,
  binary: boolean,
  compressible: boolean,
) => Promise<void>;

/** Messages waiting for the connection (made on the first message held). */
export class Outbox {
  readonly #limits: OutboxLimits;
  #held: Held[] = [];
  #bytes = 0;

  constructor(limits: OutboxLimits) {
    this.#limits = limits;
  }

  /** Messages waiting. */
  get size(): number {
    return this.#held.length;
  }

  /**
   * Holds a message until `flush`.
   *
   * @throws {InvalidStateError} (as a rejection) `OUTBOX_FULL` when it would exceed `maxMessages`
   * or `maxBytes`; `OUTBOX_EXPIRED` once it waited `ttl` ms.
   */
  hold(payload: string | Uint8Array, binary: boolean, compressible: boolean): Promise<void> {
    const { maxMessages, maxBytes, ttl } = this.#limits;
    if (this.#held.length >= maxMessages || this.#bytes + payload.length > maxBytes) {
      return Promise.reject(
        new InvalidStateError(
          "OUTBOX_FULL",
          `the outbox is full (${this.#held.length} messages, ${this.#bytes} bytes held; ` +
            `limits ${maxMessages} and ${maxBytes})`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const held: Held = { payload, binary, compressible, resolve, reject, timer: undefined };
      if (ttl > 0) {
        held.timer = setTimeout(() => {
          const i = this.#held.indexOf(held);
          if (i < 0) return;
          this.#held.splice(i, 1);
          this.#bytes -= payload.length;
          reject(
            new InvalidStateError(
              "OUTBOX_EXPIRED",
              `not sent within the outbox ttl (${ttl} ms): the connection was not open`,
            ),
          );
        }, ttl);
      }
      this.#held.push(held);
      this.#bytes += payload.length;
    });
  }

  /** Sends every held message, in order; each promise settles like its `send`. */
  flush(send: OutboxSend): void {
    const held = this.#held;
    this.#held = [];
    this.#bytes = 0;
    for (const h of held) {
      clearTimeout(h.timer);
      send(h.payload, h.binary, h.compressible).then(h.resolve, h.reject);
    }
  }

  /** The client gave up: every held message rejects with `error`. */
  rejectAll(error: Error): void {
    const held = this.#held;
    this.#held = [];
    this.#bytes = 0;
    for (const h of held) {
      clearTimeout(h.timer);
      h.reject(error);
    }
  }
}
