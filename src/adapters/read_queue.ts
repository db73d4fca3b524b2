/**
 * `ReadQueue`: the bridge from a runtime that pushes (Node's `data` events, Bun's `data`
 * callback) to both reading styles of the `Socket` contract, `read()` and
 * `listen(sink)`, with the source paused above {@linkcode READ_HIGH_WATER_MARK}.
 *
 * @module
 */

import { READ_HIGH_WATER_MARK, type ReadSink } from "./socket.ts";

/** Something that can stop and restart delivering data (a Node or Bun socket). */
export interface PausableSource {
  /** Stops delivering data. */
  pause?(): void;
  /** Starts delivering data again. */
  resume?(): void;
}

/**
 * The empty queue of every `ReadQueue`, never written: a queue gets an array of its own when a
 * chunk has to wait (32 B per idle connection otherwise).
 */
const NO_CHUNKS: Uint8Array[] = [];

// Bits of `ReadQueue.#flags`: one field instead of five booleans, 32 B less per connection on
// Node.js 20, whose fields take 8 bytes.
/** The stream ended (EOF). */
const ENDED = 1;
/** The source is paused (too many bytes queued). */
const PAUSED = 2;
/** The sink returned false from `data`. */
const HELD = 4;
/** A delivery to the sink is in progress (no nested deliveries). */
const DELIVERING = 8;
/** The end or the error went to the sink. */
const FINISHED = 16;

/**
 * Bridges a push-style socket (events or callbacks) to the `Socket` reading contract: chunks wait
 * in a queue until `read()` takes them, or go straight to a {@linkcode ReadSink} once one listens.
 * The adapter is told to pause the source above `READ_HIGH_WATER_MARK` queued bytes and to resume
 * it once the queue is drained.
 */
export class ReadQueue {
  /** {@linkcode NO_CHUNKS} while nothing is queued (the usual case with a listening sink). */
  #chunks: Uint8Array[] = NO_CHUNKS;
  #head = 0;
  #bytes = 0;
  /** The bits above. */
  #flags = 0;
  #error: Error | undefined;
  #waiter:
    | { resolve: (chunk: Uint8Array | null) => void; reject: (error: Error) => void }
    | undefined;
  readonly #source: PausableSource;
  #sink: ReadSink | undefined;

  /**
   * `source` is paused above the high-water mark and resumed once the queue is drained (the
   * socket object itself, usually: no closures per connection).
   */
  constructor(source: PausableSource) {
    this.#source = source;
  }

  /** A chunk arrived from the network. */
  push(chunk: Uint8Array): void {
    const sink = this.#sink;
    if (sink !== undefined) {
      if ((this.#flags & (HELD | DELIVERING)) === 0 && this.#head === this.#chunks.length) {
        // The common case: straight to the sink, no queueing.
        this.#flags |= DELIVERING;
        try {
          if (sink.data(chunk) === false) this.#flags |= HELD;
        } finally {
          this.#flags &= ~DELIVERING;
        }
        // What arrived during that delivery (a chunk, the end, an error) goes out now.
        if (this.#head < this.#chunks.length || (this.#flags & ENDED) !== 0 || this.#error) {
          this.#drain();
        }
        return;
      }
    } else {
      const waiter = this.#waiter;
      if (waiter) {
        this.#waiter = undefined;
        waiter.resolve(chunk);
        return;
      }
    }
    if (this.#chunks === NO_CHUNKS) this.#chunks = [];
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if ((this.#flags & PAUSED) === 0 && this.#bytes > READ_HIGH_WATER_MARK) {
      this.#flags |= PAUSED;
      this.#source.pause?.();
    }
  }

  /** The stream ended (EOF). */
  end(): void {
    this.#flags |= ENDED;
    if (this.#sink) return this.#drain();
    const waiter = this.#waiter;
    if (waiter && this.#head === this.#chunks.length) {
      this.#waiter = undefined;
      waiter.resolve(null);
    }
  }

  /** The stream failed; queued chunks are still delivered first. */
  fail(error: Error): void {
    if ((this.#flags & ENDED) !== 0 || this.#error) return;
    this.#error = error;
    if (this.#sink) return this.#drain();
    const waiter = this.#waiter;
    if (waiter && this.#head === this.#chunks.length) {
      this.#waiter = undefined;
      waiter.reject(error);
    }
  }

  /** The next chunk; see `Socket.read`. */
  read(): Promise<Uint8Array | null> {
    if (this.#head < this.#chunks.length) return Promise.resolve(this.#take());
    if (this.#error) return Promise.reject(this.#error);
    if ((this.#flags & ENDED) !== 0) return Promise.resolve(null);
    if (this.#waiter) throw new Error("Socket.read() called while a read is pending");
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Push-style reading; see `Socket.listen`. */
  listen(sink: ReadSink): void {
    if (this.#sink || this.#waiter) {
      throw new Error("Socket.listen() called twice or during a read");
    }
    this.#sink = sink;
    this.#drain();
  }

  /** See `Socket.resumeReading`. */
  resumeReading(): void {
    this.#flags &= ~HELD;
    this.#drain();
  }

  #take(): Uint8Array {
    const chunk = this.#chunks[this.#head++];
    this.#bytes -= chunk.length;
    if (this.#head === this.#chunks.length) {
      this.#chunks = NO_CHUNKS;
      this.#head = 0;
      if ((this.#flags & PAUSED) !== 0) {
        this.#flags &= ~PAUSED;
        this.#source.resume?.();
      }
    }
    return chunk;
  }

  /** Delivers queued chunks, then the end or the error, until the sink holds. */
  #drain(): void {
    const sink = this.#sink;
    if (sink === undefined || (this.#flags & DELIVERING) !== 0) return;
    this.#flags |= DELIVERING;
    try {
      while ((this.#flags & HELD) === 0 && this.#head < this.#chunks.length) {
        if (sink.data(this.#take()) === false) this.#flags |= HELD;
      }
      if ((this.#flags & (HELD | FINISHED)) === 0 && this.#head === this.#chunks.length) {
        if (this.#error) {
          this.#flags |= FINISHED;
          sink.error(this.#error);
        } else if ((this.#flags & ENDED) !== 0) {
          this.#flags |= FINISHED;
          sink.end();
        }
      }
    } finally {
      this.#flags &= ~DELIVERING;
    }
  }
}
