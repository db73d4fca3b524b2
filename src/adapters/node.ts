/**
 * Socket adapter over `node:net` and `node:tls` (Node.js; Deno and Bun implement them too).
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import { AbortError, NetworkError } from "../core/errors.ts";
import {
  type ConnectOptions,
  type Connector,
  ReadQueue,
  RESOLVED,
  type Socket,
  type StartTlsOptions,
  throwIfAborted,
  toNetworkError,
  WRITE_HIGH_WATER_MARK,
} from "./socket.ts";

/** Opens a TCP or TLS connection with `node:net` / `node:tls`. */
export const connectNode: Connector = (options: ConnectOptions): Promise<Socket> => {
  const context = `connect to ${options.hostname}:${options.port}`;
  throwIfAborted(options.signal, context);
  return new Promise<Socket>((resolve, reject) => {
    const t = options.tls;
    const socket: net.Socket = t
      ? tls.connect({
        host: options.hostname,
        port: options.port,
        servername: net.isIP(t.serverName ?? options.hostname)
          ? undefined
          : (t.serverName ?? options.hostname),
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        ALPNProtocols: ["http/1.1"],
      })
      : net.connect({ host: options.hostname, port: options.port });
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
      socket.setNoDelay(true);
      resolve(new NodeSocket(socket));
    };
    socket.once("error", onError);
    socket.once(t ? "secureConnect" : "connect", onConnect);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
};

/** Wraps a connected `net.Socket` (or `tls.TLSSocket`) as a {@linkcode Socket}. */
export class NodeSocket implements Socket {
  readonly #socket: net.Socket;
  readonly #reads: ReadQueue;
  readonly closed: Promise<void>;
  #error: NetworkError | undefined;
  #closed = false;
  #drainWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#reads = new ReadQueue(() => socket.pause(), () => socket.resume());
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("error", this.#onError);
    socket.on("drain", this.#onDrain);
    this.closed = new Promise((resolve) => {
      socket.once("close", () => {
        this.#closed = true;
        this.#reads.fail(this.#error ?? new NetworkError("CONNECTION_RESET", "socket closed"));
        this.#settleDrain(this.#error ?? new NetworkError("CONNECTION_RESET", "socket closed"));
        resolve();
      });
    });
  }

  #onData = (chunk: Uint8Array): void => {
    // Hand out plain Uint8Array views (not Buffers) so every runtime sees the same type.
    this.#reads.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  };
  #onEnd = (): void => this.#reads.end();
  #onError = (error: Error): void => {
    this.#error ??= toNetworkError(error, "socket error") as NetworkError;
    this.#reads.fail(this.#error);
  };
  #onDrain = (): void => this.#settleDrain();
  #corked = false;
  #uncork = (): void => {
    this.#corked = false;
    this.#socket.uncork();
  };

  read(): Promise<Uint8Array | null> {
    return this.#reads.read();
  }

  /** Wraps the TCP socket in TLS with `node:tls` (the proxy tunnel case). */
  startTls(options: StartTlsOptions): Promise<Socket> {
    const raw = this.#socket;
    raw.off("data", this.#onData);
    raw.off("end", this.#onEnd);
    raw.off("error", this.#onError);
    raw.off("drain", this.#onDrain);
    const t = options.tls;
    const name = t.serverName ?? options.hostname;
    return new Promise((resolve, reject) => {
      const secure = tls.connect({
        socket: raw,
        servername: net.isIP(name) ? undefined : name,
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        ALPNProtocols: ["http/1.1"],
      });
      const onError = (error: Error) => {
        secure.destroy();
        reject(toNetworkError(error, `TLS with ${options.hostname}`));
      };
      secure.once("error", onError);
      secure.once("secureConnect", () => {
        secure.off("error", onError);
        resolve(new NodeSocket(secure));
      });
    });
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closed || this.#socket.destroyed || this.#socket.writableEnded) {
      return Promise.reject(
        this.#error ?? new NetworkError("CONNECTION_RESET", "socket is closed"),
      );
    }
    // Frames written in the same tick leave in one writev: cork now, uncork after this task's
    // synchronous sends (a microtask). Pipelined small messages then cost one system call per
    // batch instead of one each.
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      queueMicrotask(this.#uncork);
    }
    // Node's own high-water mark (16 KiB) makes write() return false early; wait for 'drain'
    // only above ours, so pipelined small frames do not each cost a promise.
    if (this.#socket.write(data) || this.#socket.writableLength <= WRITE_HIGH_WATER_MARK) {
      return RESOLVED;
    }
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  #settleDrain(error?: Error): void {
    const waiters = this.#drainWaiters;
    if (waiters.length === 0) return;
    this.#drainWaiters = [];
    for (const w of waiters) error ? w.reject(error) : w.resolve();
  }

  closeWrite(): Promise<void> {
    if (this.#closed || this.#socket.writableEnded) return RESOLVED;
    return new Promise((resolve) => this.#socket.end(resolve));
  }

  close(): void {
    this.#socket.destroy();
  }
}
