/**
 * The inbox: incoming messages on their way to the application, by async iteration or `message`
 * listeners, and the receive backpressure that pauses reading while the application falls behind.
 *
 * @module
 */

import { type CloseInfo, ConnectionClosedError, isNormalClosure } from "../core/errors.ts";
import type { WebSocketClient } from "./client.ts";
import type { Listeners } from "./events.ts";

type Message = string | Uint8Array;

interface Taker {
  resolve: (r: IteratorResult<Message>) => void;
  reject: (e: Error) => void;
}

/**
 * The empty queues every inbox starts with, never written (the first message or taker that has to
 * wait gets an array of its own): 64 B less per idle connection.
 */
const NOTHING_QUEUED: Message[] = [];
const NO_TAKERS: Taker[] = [];

/**
 * Messages wait here for an iterator or a first listener: until a `message` listener is added or
 * an iteration starts, none is lost. Once `maxQueue` are waiting, `paused` turns true and the
 * connection stops reading from the network; it resumes when the queue is down to a quarter.
 */
export class Inbox<T = WebSocketClient> {
  readonly #listeners: Listeners<T>;
  readonly #target: T;
  readonly #maxQueue: number;
  /** {@linkcode NOTHING_QUEUED} until a message has to wait (an idle connection's case). */
  #queue: Message[] = NOTHING_QUEUED;
  #head = 0;
  /** Bytes (UTF-16 units for text) of the messages in the queue. */
  #bytes = 0;
  #iterators = 0;
  /** Pending `next()` calls of iterators; {@linkcode NO_TAKERS} while there are none. */
  #takers: Taker[] = NO_TAKERS;
  #paused: { promise: Promise<void>; resume: () => void } | undefined;
  /** How the connection ended for good, once it has. */
  #end: CloseInfo | undefined;

  constructor(listeners: Listeners<T>, target: T, maxQueue: number) {
    this.#listeners = listeners;
    this.#target = target;
    this.#maxQueue = maxQueue;
  }

  /** Whether reading is paused because `maxQueue` messages wait for the application. */
  get paused(): boolean {
    return this.#paused !== undefined;
  }

  /** Bytes (UTF-16 code units for text) of the messages waiting for the application. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Resolves when reading may go on (at once when it is not paused). */
  whenResumed(): Promise<void> {
    return this.#paused?.promise ?? Promise.resolve();
  }

  /** A message arrived: to a waiting iterator, the queue, and the `message` listeners. */
  deliver(data: Message): void {
    const taker = this.#takers.shift();
    const listening = this.#listeners.has("message");
    if (taker) {
      taker.resolve({ done: false, value: data });
    } else if (this.#iterators > 0 || !listening) {
      if (this.#queue === NOTHING_QUEUED) this.#queue = [];
      this.#queue.push(data);
      this.#bytes += data.length;
      if (!this.#paused && this.#queue.length - this.#head >= this.#maxQueue) {
        let resume!: () => void;
        const promise = new Promise<void>((r) => (resume = r));
        this.#paused = { promise, resume };
      }
    }
    if (listening) this.#listeners.emit("message", { type: "message", data, target: this.#target });
  }

  /** A `message` listener was added: hand it the messages that arrived before any listener. */
  listenerAdded(): void {
    if (this.#iterators === 0 && this.#head < this.#queue.length) {
      queueMicrotask(() => this.#drainToListeners());
    }
  }

  #drainToListeners(): void {
    while (
      this.#iterators === 0 && this.#listeners.has("message") && this.#head < this.#queue.length
    ) {
      this.#listeners.emit("message", {
        type: "message",
        data: this.#shift(),
        target: this.#target,
      });
    }
  }

  /**
   * An iterator of the messages until the connection closes. It ends normally after a normal
   * close (1000, 1001 or no status) and throws a {@linkcode ConnectionClosedError} otherwise.
   */
  iterator(): AsyncIterator<Message> {
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

  #next(): Promise<IteratorResult<Message>> {
    if (this.#head < this.#queue.length) {
      return Promise.resolve({ done: false, value: this.#shift() });
    }
    const end = this.#end;
    if (end) {
      return isNormalClosure(end)
        ? Promise.resolve({ done: true, value: undefined })
        : Promise.reject(new ConnectionClosedError(end));
    }
    if (this.#takers === NO_TAKERS) this.#takers = [];
    return new Promise((resolve, reject) => this.#takers.push({ resolve, reject }));
  }

  #shift(): Message {
    const value = this.#queue[this.#head];
    this.#queue[this.#head++] = "";
    this.#bytes -= value.length;
    if (this.#head === this.#queue.length) {
      this.#queue = NOTHING_QUEUED;
      this.#head = 0;
    }
    if (this.#paused && this.#queue.length - this.#head <= this.#maxQueue >>> 2) {
      const paused = this.#paused;
      this.#paused = undefined;
      paused.resume();
    }
    return value;
  }

  /**
   * The connection is over for good: waiting iterators end (normally or with the error), reading
   * is no longer held; queued messages can still be iterated.
   */
  close(info: CloseInfo): void {
    this.#end = info;
    const takers = this.#takers;
    this.#takers = NO_TAKERS;
    const normal = isNormalClosure(info);
    const error = normal ? undefined : new ConnectionClosedError(info);
    for (const taker of takers) {
      if (error) taker.reject(error);
      else taker.resolve({ done: true, value: undefined });
    }
    this.#paused?.resume();
  }
}
