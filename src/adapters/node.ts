/**
 * Socket adapter over `node:net` and `node:tls` (Node.js; Deno and Bun implement them too).
 *
 * @module
 */

import * as net from "node:net";
import { Duplex } from "node:stream";
import * as tls from "node:tls";
import { AbortError, NetworkError } from "../core/errors.ts";
import { type DrainWaiters, settleDrain, waitForDrain } from "./drain.ts";
import { throwIfAborted, toNetworkError } from "./net_errors.ts";
import { ReadQueue } from "./read_queue.ts";
import {
  type ConnectOptions,
  type Connector,
  type ReadSink,
  RESOLVED,
  type Socket,
  type StartTlsOptions,
  type TlsOptions,
  WRITE_BATCH_BYTES,
  WRITE_BATCH_FRAMES,
  WRITE_HIGH_WATER_MARK,
} from "./socket.ts";
import { alpnProtocols, sniName, tlsSettings } from "./tls_options.ts";

// The contract this file implements, so that this subpath documents itself.
export type {
  ConnectOptions,
  Connector,
  ReadSink,
  Socket,
  StartTlsOptions,
  TlsOptions,
} from "./socket.ts";

/** `node:tls` options for a connection to `hostname` (no SNI for IP literals). */
function nodeTls(options: TlsOptions, hostname: string): tls.ConnectionOptions {
  const s = tlsSettings(options, hostname);
  return {
    servername: sniName(s.serverName),
    ca: s.ca,
    cert: s.cert,
    key: s.key,
    rejectUnauthorized: s.rejectUnauthorized,
    ALPNProtocols: alpnProtocols(),
  };
}

/** Opens a TCP or TLS connection with `node:net` / `node:tls`. */
export const connectNode: Connector = (options: ConnectOptions): Promise<Socket> => {
  const context = options.path === undefined
    ? `connect to ${options.hostname}:${options.port}`
    : `connect to ${options.path}`;
  throwIfAborted(options.signal, context);
  return new Promise<Socket>((resolve, reject) => {
    const t = options.tls;
    const where = options.path === undefined
      ? { host: options.hostname, port: options.port }
      : { path: options.path };
    const socket: net.Socket = t
      ? tls.connect({ ...where, ...nodeTls(t, options.hostname) })
      : net.connect(where);
    const signal = options.signal;
    const onAbort = () => {
      socket.destroy();
      reject(new AbortError(`${context}: aborted`, { cause: signal?.reason }));
    };
    const cleanup = () => {
      socket.off("error", onError);
      socket.off(t ? "secureConnect" : "connect", onConnect);
      signal?.removeEventListener("abort", onAbort);
    };
    const onError = (error: Error) => {
      cleanup();
      socket.destroy();
      reject(toNetworkError(error, context));
    };
    const onConnect = () => {
      cleanup();
      if (options.path === undefined) socket.setNoDelay(true);
      resolve(new NodeSocket(socket));
    };
    socket.once("error", onError);
    socket.once(t ? "secureConnect" : "connect", onConnect);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
};

/** The adapter of a `net.Socket`, found by the shared event handlers below. */
const ADAPTER: unique symbol = Symbol("rom-websocket NodeSocket");
type Tagged = net.Socket & { [ADAPTER]?: NodeSocket };

/**
 * Wraps a connected `net.Socket` (or `tls.TLSSocket`) as a {@linkcode Socket}.
 *
 * Its event handlers are static functions shared by every connection (Node calls them with the
 * socket as `this`), and its `closed` promise is made on first use: an idle connection costs a
 * few hundred bytes less than with closures per connection.
 */
export class NodeSocket implements Socket {
  readonly #socket: net.Socket;
  readonly #reads: ReadQueue;
  #error: NetworkError | undefined;
  #closed = false;
  #closedPromise: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;
  /** Made by the first write that waits for a drain. */
  #drainWaiters: DrainWaiters | undefined;
  /** Frames in the current corked batch; -1 while not corked. */
  #batchFrames = -1;

  /** Wraps `socket`, connected (after `secureConnect` for TLS); from now on this owns it. */
  constructor(socket: net.Socket) {
    this.#socket = socket;
    (socket as Tagged)[ADAPTER] = this;
    this.#reads = new ReadQueue(socket);
    socket.on("data", NodeSocket.#onData);
    socket.on("end", NodeSocket.#onEnd);
    socket.on("error", NodeSocket.#onError);
    socket.on("drain", NodeSocket.#onDrain);
    // `on`, not `once`: a net.Socket emits "close" once, and `once` costs a wrapper, its state
    // object and bound arguments (~130 B per idle connection).
    socket.on("close", NodeSocket.#onClose);
  }

  static #onData(this: Tagged, chunk: Uint8Array): void {
    // Hand out plain Uint8Array views (not Buffers) so every runtime sees the same type.
    this[ADAPTER]!.#reads.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  static #onEnd(this: Tagged): void {
    this[ADAPTER]!.#reads.end();
  }
  static #onError(this: Tagged, error: Error): void {
    const self = this[ADAPTER]!;
    self.#error ??= toNetworkError(error, "socket error") as NetworkError;
    self.#reads.fail(self.#error);
  }
  static #onDrain(this: Tagged): void {
    settleDrain(this[ADAPTER]!.#drainWaiters);
  }
  static #onClose(this: Tagged): void {
    const self = this[ADAPTER]!;
    self.#closed = true;
    const error = self.#error ?? new NetworkError("CONNECTION_RESET", "socket closed");
    self.#reads.fail(error);
    settleDrain(self.#drainWaiters, error);
    self.#resolveClosed?.();
  }
  static #uncork(socket: NodeSocket): void {
    socket.#batchFrames = -1;
    socket.#socket.uncork();
  }

  get closed(): Promise<void> {
    if (this.#closedPromise) return this.#closedPromise;
    if (this.#closed) return this.#closedPromise = RESOLVED;
    return this.#closedPromise = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  read(): Promise<Uint8Array | null> {
    return this.#reads.read();
  }

  listen(sink: ReadSink): void {
    this.#reads.listen(sink);
  }

  resumeReading(): void {
    this.#reads.resumeReading();
  }

  /** Wraps the TCP socket in TLS with `node:tls` (the proxy tunnel case). */
  startTls(options: StartTlsOptions): Promise<Socket> {
    const raw = this.#socket;
    raw.off("data", NodeSocket.#onData);
    raw.off("end", NodeSocket.#onEnd);
    raw.off("error", NodeSocket.#onError);
    raw.off("drain", NodeSocket.#onDrain);
    raw.off("close", NodeSocket.#onClose);
    return secureOver(raw, options);
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }

  write(data: Uint8Array, written?: (data: Uint8Array) => void): Promise<void> {
    if (this.#closed || this.#socket.destroyed || this.#socket.writableEnded) {
      return Promise.reject(
        this.#error ?? new NetworkError("CONNECTION_RESET", "socket is closed"),
      );
    }
    // Frames written in the same task leave in one writev: cork now, uncork after this task's
    // synchronous sends (a microtask), or once the batch is full (WRITE_BATCH_FRAMES). Pipelined
    // small messages then cost one system call per batch instead of one each.
    const socket = this.#socket;
    if (this.#batchFrames < 0) {
      this.#batchFrames = 0;
      socket.cork();
      queueMicrotask(() => NodeSocket.#uncork(this));
    }
    // Node's own high-water mark (16 KiB) makes write() return false early; wait for 'drain'
    // only above ours, so pipelined small frames do not each cost a promise.
    // Node calls a write's callback once libuv has handed the bytes to the kernel.
    const writable = written ? socket.write(data, () => written(data)) : socket.write(data);
    const length = socket.writableLength;
    if (++this.#batchFrames >= WRITE_BATCH_FRAMES || length >= WRITE_BATCH_BYTES) {
      // The batch leaves now; the socket stays corked for the rest of the task.
      this.#batchFrames = 0;
      socket.uncork();
      socket.cork();
    }
    return writable || length <= WRITE_HIGH_WATER_MARK
      ? RESOLVED
      : waitForDrain(this.#drainWaiters ??= []);
  }

  closeWrite(): Promise<void> {
    if (this.#closed || this.#socket.writableEnded) return RESOLVED;
    return new Promise((resolve) => this.#socket.end(resolve));
  }

  close(): void {
    this.#socket.destroy();
  }
}

/**
 * Upgrades any connected {@linkcode Socket}, read by its `read()`, to TLS with `node:tls`, for
 * `wss://` through a proxy tunnel: the TLS socket is returned and `socket` must not be used
 * afterwards (closing the TLS socket closes it). The Deno adapter's `startTls` uses it when
 * `Deno.startTls` cannot express the TLS options (a client certificate, `rejectUnauthorized:
 * false`, a `serverName`); every {@linkcode TlsOptions} member is honoured as by `connectNode`.
 */
export function startTlsOver(socket: Socket, options: StartTlsOptions): Promise<Socket> {
  return secureOver(streamOf(socket), options);
}

/** TLS over `stream` (a connected `net.Socket` or any Duplex), after the handshake. */
function secureOver(stream: Duplex, options: StartTlsOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let secure: tls.TLSSocket;
    try {
      secure = tls.connect({ socket: stream, ...nodeTls(options.tls, options.hostname) });
    } catch (error) {
      // Options node:tls refuses at once (a malformed PEM): the stream below is not left open.
      stream.destroy();
      throw error;
    }
    const onError = (error: Error) => {
      secure.destroy();
      stream.destroy();
      reject(toNetworkError(error, `TLS with ${options.hostname}`));
    };
    secure.once("error", onError);
    secure.once("secureConnect", () => {
      secure.off("error", onError);
      resolve(new NodeSocket(secure));
    });
  });
}

/**
 * `socket` as a `node:stream` Duplex for `tls.connect({ socket })`: one `read()` at a time, only
 * while the stream wants more; writes complete when `socket.write` settles; `end()` is
 * `closeWrite()`, `destroy()` is `close()`.
 */
function streamOf(socket: Socket): Duplex {
  let reading = false;
  const pump = async (): Promise<void> => {
    try {
      for (;;) {
        const chunk = await socket.read();
        if (stream.destroyed) return;
        if (chunk === null) {
          stream.push(null);
          return;
        }
        // A chunk handed out by `read()` is never modified again: no copy.
        if (!stream.push(chunk)) break;
      }
      reading = false;
    } catch (error) {
      stream.destroy(error as Error);
    }
  };
  const stream: Duplex = new Duplex({
    read() {
      if (reading) return;
      reading = true;
      void pump();
    },
    write(chunk: Uint8Array, _encoding: string, callback: (error?: Error | null) => void) {
      socket.write(chunk).then(() => callback(), callback);
    },
    final(callback: (error?: Error | null) => void) {
      socket.closeWrite().then(() => callback(), callback);
    },
    destroy(error: Error | null, callback: (error?: Error | null) => void) {
      socket.close();
      callback(error);
    },
  });
  return stream;
}
