/**
 * Push reading for every socket: the client reads only through `listen(sink)` and
 * `resumeReading()`, and {@linkcode withPushReading} gives them to a socket that has only `read()`
 * (the Deno adapter, a user's connector) by running one `read()` loop behind them.
 *
 * @module
 */

import { toNetworkError } from "./net_errors.ts";
import type { ReadSink, Socket, StartTlsOptions } from "./socket.ts";

/** A socket that delivers by push. */
export type ListeningSocket = Socket & Required<Pick<Socket, "listen" | "resumeReading">>;

/**
 * Gives a pull-only socket the push contract: `listen(sink)` starts one `read()` loop that hands
 * each chunk to `sink.data`, stops reading while `data` returns `false` until `resumeReading()`,
 * and ends with `sink.end()` (the stream's `null`) or `sink.error()` (a rejected read; a rejection
 * that is not an `Error` becomes a `NetworkError`). Nothing is delivered while held, not even the
 * end or the error (the loop does not read meanwhile), and nothing after the end or the error.
 * The other members are the socket's own; `startTls` is there only if the socket has it, and its
 * result is the socket's (pull-only again, to be passed here again). The sink must not throw: an
 * exception from it stops the loop and rejects the loop's promise (an unhandled rejection), as an
 * exception from a `ReadQueue` sink reaches the runtime's event loop.
 *
 * Returns `socket` itself when it already has `listen` and `resumeReading`.
 *
 * A wrapper rather than new members on `socket`: the caller's object (a class instance of an
 * adapter or a user's literal) keeps its shape, `listen` and `read` cannot both be live on one
 * object by accident, and the loop's state sits in the wrapper's own fields, not in closures.
 */
export function withPushReading(socket: Socket): ListeningSocket {
  if (socket.listen && socket.resumeReading) return socket as ListeningSocket;
  return socket.startTls ? new PullTlsSocket(socket) : new PullSocket(socket);
}

/** No `listen` yet. */
const IDLE = 0;
/** The loop runs: a read is pending or a chunk is being delivered. */
const READING = 1;
/** `sink.data` returned false: no read until `resumeReading()`. */
const HELD = 2;
/** The end or the error went to the sink. */
const DONE = 3;

/** The push side over `read()`; see {@linkcode withPushReading}. */
class PullSocket implements ListeningSocket {
  protected readonly socket: Socket;
  #sink: ReadSink | undefined;
  #state = IDLE;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  listen(sink: ReadSink): void {
    if (this.#state !== IDLE) throw new Error("Socket.listen() called twice");
    this.#sink = sink;
    this.#state = READING;
    this.#pump();
  }

  resumeReading(): void {
    // Only a held loop restarts: one loop at a time, and none after the end.
    if (this.#state !== HELD) return;
    this.#state = READING;
    this.#pump();
  }

  /**
   * Reads until held, ended or failed. An async function rather than `read().then(...)`: V8
   * awaits a native promise without making another one, where each `then` would make a promise
   * per chunk. Idle, this suspended call and the pending read are all a connection holds, as
   * with the client's own loop before.
   */
  async #pump(): Promise<void> {
    const socket = this.socket;
    const sink = this.#sink!;
    for (;;) {
      let chunk: Uint8Array | null;
      try {
        chunk = await socket.read(sink.readTarget?.());
      } catch (error) {
        this.#state = DONE;
        this.#sink = undefined;
        sink.error(error instanceof Error ? error : toNetworkError(error, "socket error"));
        return;
      }
      if (chunk === null) {
        this.#state = DONE;
        this.#sink = undefined;
        sink.end();
        return;
      }
      const more = sink.data(chunk);
      chunk = null; // not kept alive by this suspended call while the connection idles
      if (!more) {
        this.#state = HELD;
        return;
      }
    }
  }

  read(into?: Uint8Array): Promise<Uint8Array | null> {
    return this.socket.read(into);
  }

  write(data: Uint8Array, written?: (data: Uint8Array) => void): Promise<void> {
    return this.socket.write(data, written);
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  closeWrite(): Promise<void> {
    return this.socket.closeWrite();
  }

  close(): void {
    this.socket.close();
  }

  // A getter, not a copy: an adapter may make its `closed` promise on first use (node.ts).
  get closed(): Promise<void> {
    return this.socket.closed;
  }
}

/** {@linkcode PullSocket} of a socket that can upgrade to TLS. */
class PullTlsSocket extends PullSocket {
  startTls(options: StartTlsOptions): Promise<Socket> {
    return this.socket.startTls!(options);
  }
}
