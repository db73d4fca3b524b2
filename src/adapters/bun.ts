/**
 * Socket adapter over `Bun.connect` (TCP and TLS).
 *
 * The Bun types are declared locally (only what is used), so this file type-checks with `tsc`
 * and `deno check` without `bun-types`.
 *
 * @module
 */

import { joinBytes } from "../core/bytes.ts";
import { NetworkError } from "../core/errors.ts";
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
  WRITE_HIGH_WATER_MARK,
} from "./socket.ts";
import { tlsSettings } from "./tls_options.ts";

// The contract this file implements, so that this subpath documents itself.
export type {
  ConnectOptions,
  Connector,
  ReadSink,
  Socket,
  StartTlsOptions,
  TlsOptions,
} from "./socket.ts";

interface BunTlsOptions {
  ca?: string | string[];
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  serverName?: string;
}

interface BunSocket {
  upgradeTLS?(options: { data?: unknown; tls: BunTlsOptions; socket: BunSocketHandler }): [
    BunSocket,
    BunSocket,
  ];
  write(data: Uint8Array): number;
  end(): void;
  terminate(): void;
  shutdown?(halfClose?: boolean): void;
  pause?(): void;
  resume?(): void;
  setNoDelay?(noDelay?: boolean): boolean;
  data: BunAdapterSocket | undefined;
}

interface BunSocketHandler {
  open(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  end(socket: BunSocket): void;
  error(socket: BunSocket, error: Error): void;
  connectError?(socket: BunSocket, error: Error): void;
  handshake?(socket: BunSocket, success: boolean, authorizationError: Error | null): void;
}

interface BunApi {
  connect(
    options: {
      hostname: string;
      port: number;
      tls?: boolean | BunTlsOptions;
      socket: BunSocketHandler;
    } | { unix: string; tls?: boolean | BunTlsOptions; socket: BunSocketHandler },
  ): Promise<BunSocket>;
}

function bun(): BunApi {
  return (globalThis as unknown as { Bun: BunApi }).Bun;
}

/**
 * Bun's TLS options for a connection to `hostname`. Unlike `node.ts`, the server name is passed
 * even for an IP literal and no ALPN is offered: what this adapter has always sent (aligning it is
 * a change of behaviour, left for its own commit).
 */
function bunTls(options: TlsOptions, hostname: string): BunTlsOptions {
  const s = tlsSettings(options, hostname);
  return {
    ca: s.ca,
    cert: s.cert,
    key: s.key,
    rejectUnauthorized: s.rejectUnauthorized,
    serverName: s.serverName,
  };
}

// One handler object for every socket: Bun calls it with the socket, whose `data` field points to
// our adapter.
const handler: BunSocketHandler = {
  open() {},
  data(socket, data) {
    socket.data?.onData(data);
  },
  drain(socket) {
    socket.data?.onDrain();
  },
  end(socket) {
    socket.data?.onEnd();
  },
  close(socket, error) {
    socket.data?.onClose(error);
  },
  error(socket, error) {
    socket.data?.onError(error);
  },
  // TLS: Bun.connect resolves once TCP is open; the certificate verdict comes here later.
  handshake(socket, success, authorizationError) {
    const result = { success, error: authorizationError ?? undefined };
    if (socket.data) socket.data.onHandshake(result);
    else earlyHandshakes.set(socket, result);
  },
};

/** Handshake results that arrived before the adapter was attached to its socket. */
const earlyHandshakes = new WeakMap<BunSocket, { success: boolean; error?: Error }>();

/**
 * Frames below this size are batched per task, and a batch leaves once it holds this many bytes
 * or {@linkcode BATCH_FRAMES} frames (see `WRITE_BATCH_FRAMES` in socket.ts for why). Bun's
 * writes are cheap enough for smaller batches than Node's and Deno's. Bun 1.4, 100 in flight
 * against `Bun.serve`, messages/s, batch at the end of the task only -> 16 frames or 16 KiB:
 * 16 B binary 770k -> 1.7M, 1 KiB binary 372k -> 655k, 1 KiB JSON text 218k -> 275k, 1 KiB
 * compressed text 34k -> 56k. 8 frames, and 32 or 64 frames, measured lower.
 */
const BATCH_BYTES = 16 * 1024;
/** See {@linkcode BATCH_BYTES}. */
const BATCH_FRAMES = 16;

/** Opens a TCP or TLS connection with `Bun.connect`. */
export const connectBun: Connector = async (options: ConnectOptions): Promise<Socket> => {
  const context = options.path === undefined
    ? `connect to ${options.hostname}:${options.port}`
    : `connect to ${options.path}`;
  throwIfAborted(options.signal, context);
  const t = options.tls;
  let raw: BunSocket;
  const tls = t ? bunTls(t, options.hostname) : undefined;
  const attempt = options.path === undefined
    ? bun().connect({ hostname: options.hostname, port: options.port, tls, socket: handler })
    : bun().connect({ unix: options.path, tls, socket: handler });
  const signal = options.signal;
  let onAbort: (() => void) | undefined;
  try {
    raw = signal
      ? await Promise.race([
        attempt,
        new Promise<never>((_, reject) => {
          onAbort = () => reject(signal.reason);
          signal.addEventListener("abort", onAbort, { once: true });
        }),
      ])
      : await attempt;
  } catch (error) {
    attempt.then((s) => s.terminate(), () => {});
    if (signal?.aborted) throwIfAborted(signal, context);
    throw toNetworkError(error, context);
  } finally {
    if (onAbort) signal!.removeEventListener("abort", onAbort);
  }
  if (options.path === undefined) raw.setNoDelay?.(true);
  const socket = new BunAdapterSocket(raw, t?.rejectUnauthorized !== false, t !== undefined);
  raw.data = socket;
  if (t) {
    const early = earlyHandshakes.get(raw);
    if (early) socket.onHandshake(early);
    // An abort during the handshake (a server or proxy that never answers it) closes the socket,
    // which ends the handshake.
    const onAbort = () => socket.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await socket.handshake;
    } catch (error) {
      socket.close();
      throwIfAborted(signal, context);
      throw toNetworkError(error, context);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }
  return socket;
};

/** Wraps a connected Bun socket as a {@linkcode Socket}. */
export class BunAdapterSocket implements Socket {
  readonly #socket: BunSocket;
  readonly #reads: ReadQueue;
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  #closed = false;
  #error: NetworkError | undefined;
  // Bun's write() may accept only part of the data: the rest waits here for `drain`.
  /** Unwritten bytes in order, and after a buffer that may be reused its `written` callback. */
  #queue: Array<Uint8Array | (() => void)> = [];
  #queued = 0;
  /** Made by the first write that waits for a drain. */
  #drainWaiters: DrainWaiters | undefined;
  #endAfterFlush = false;
  #settleHandshake!: (error?: Error) => void;
  /** Settles when the TLS handshake is done: rejects if the certificate was refused. */
  readonly handshake: Promise<void>;

  readonly #verify: boolean;
  readonly #secure: boolean;

  /**
   * `verify`: refuse the connection when the TLS certificate check fails; `secure`: the socket is
   * TLS already.
   */
  constructor(socket: BunSocket, verify = true, secure = false) {
    this.#socket = socket;
    this.#verify = verify;
    this.#secure = secure;
    this.#reads = new ReadQueue(socket);
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.handshake = new Promise((resolve, reject) => {
      this.#settleHandshake = (error) => error ? reject(error) : resolve();
    });
    this.handshake.catch(() => {});
  }

  /** Bun's `handshake` callback: the TLS verdict (the adapter's own handler calls these). */
  onHandshake(result: { success: boolean; error?: Error }): void {
    // With rejectUnauthorized: false, Bun still reports the verification error: ignore it.
    if ((result.success && !result.error) || (!this.#verify && result.error)) {
      this.#settleHandshake();
    } else {
      const error = result.error ?? new Error("TLS handshake failed");
      this.#error ??= toNetworkError(error, "TLS handshake") as NetworkError;
      this.#settleHandshake(this.#error);
    }
  }

  /**
   * Upgrades the connection with Bun's `upgradeTLS` (the proxy tunnel case); TLS inside TLS
   * (`wss://` through an `https://` proxy) goes to `node:tls` over this socket (`startTlsOver`).
   */
  async startTls(options: StartTlsOptions): Promise<Socket> {
    if (this.#secure) return (await import("./node.ts")).startTlsOver(this, options);
    const t = options.tls;
    const raw = this.#socket;
    if (!raw.upgradeTLS) {
      throw new NetworkError("TLS_ERROR", "this Bun version cannot upgrade a socket to TLS");
    }
    const [, secure] = raw.upgradeTLS({ tls: bunTls(t, options.hostname), socket: handler });
    const socket = new BunAdapterSocket(secure, t.rejectUnauthorized !== false, true);
    secure.data = socket;
    const early = earlyHandshakes.get(secure);
    if (early) socket.onHandshake(early);
    // Closing the socket upgraded from no longer closes the connection: an abort closes the TLS one.
    const signal = options.signal;
    const onAbort = () => socket.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await socket.handshake;
    } catch (error) {
      socket.close();
      throwIfAborted(signal, `TLS with ${options.hostname}`);
      throw toNetworkError(error, `TLS with ${options.hostname}`);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    return socket;
  }

  /** Bun's `data` callback. */
  onData(data: Uint8Array): void {
    // Bun reuses nothing it hands out, but gives Buffers: expose plain Uint8Array views.
    this.#reads.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** Bun's `drain` callback: the socket takes writes again. */
  onDrain(): void {
    this.#flush();
  }

  /** Bun's `end` callback: the peer ended its side (EOF). */
  onEnd(): void {
    this.#reads.end();
  }

  /** Bun's `error` callback. */
  onError(error: Error): void {
    this.#error ??= toNetworkError(error, "socket error") as NetworkError;
    this.#reads.fail(this.#error);
  }

  /** Bun's `close` callback, with the error that closed it if any. */
  onClose(error?: Error): void {
    if (error) this.onError(error);
    this.#closed = true;
    const reason = this.#error ?? new NetworkError("CONNECTION_RESET", "socket closed");
    this.#settleHandshake(reason);
    this.#reads.fail(reason);
    this.#queue = [];
    this.#queued = 0;
    settleDrain(this.#drainWaiters, reason);
    this.#resolveClosed();
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

  get bufferedAmount(): number {
    return this.#queued;
  }

  write(data: Uint8Array, written?: (data: Uint8Array) => void): Promise<void> {
    if (this.#closed || this.#endAfterFlush) {
      return Promise.reject(
        this.#error ?? new NetworkError("CONNECTION_RESET", "socket is closed"),
      );
    }
    if (data.length === 0) return RESOLVED;
    if (data.length < BATCH_BYTES && this.#queue.length === 0) {
      // Small frames written in the same task leave in one write (one system call): they wait
      // in #batch until a microtask after this task's synchronous sends, or until the batch is
      // full (BATCH_FRAMES).
      this.#batch.push(data);
      this.#queued += data.length;
      this.#batchBytes += data.length;
      if (this.#batch.length >= BATCH_FRAMES || this.#batchBytes >= BATCH_BYTES) {
        this.#flushBatch();
      } else if (!this.#batchScheduled) {
        this.#batchScheduled = true;
        queueMicrotask(this.#endOfTask);
      }
      return this.#queued <= WRITE_HIGH_WATER_MARK
        ? RESOLVED
        : waitForDrain(this.#drainWaiters ??= []);
    }
    this.#flushBatch();
    return this.#writeNow(data, written);
  }

  #batch: Uint8Array[] = [];
  #batchScheduled = false;
  #batchBytes = 0;
  readonly #endOfTask = (): void => {
    this.#batchScheduled = false;
    this.#flushBatch();
  };
  #flushBatch(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    const size = this.#batchBytes;
    this.#batchBytes = 0;
    this.#queued -= size;
    if (this.#closed) return;
    // A failed write also closes the socket: it is reported there.
    this.#writeNow(joinBytes(batch, size)).catch(() => {});
    // Sends that waited on the batch.
    if (this.#queued <= WRITE_HIGH_WATER_MARK) settleDrain(this.#drainWaiters);
  }

  /**
   * Writes at once, or queues behind earlier unwritten bytes (for `drain`). `written` is called
   * once Bun has taken all of `data` (its `write` copies what it accepts).
   */
  #writeNow(data: Uint8Array, written?: (data: Uint8Array) => void): Promise<void> {
    const whole = data;
    if (this.#queue.length === 0) {
      const n = this.#socket.write(data);
      if (n === data.length) {
        written?.(data);
        return RESOLVED;
      }
      data = data.subarray(Math.max(0, n));
    }
    this.#queue.push(data);
    if (written) this.#queue.push(() => written(whole));
    this.#queued += data.length;
    if (this.#queued <= WRITE_HIGH_WATER_MARK) return RESOLVED;
    return waitForDrain(this.#drainWaiters ??= []);
  }

  #flush(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      const chunk = this.#queue[0];
      if (typeof chunk === "function") {
        // The bytes before it are all written: their buffer may be reused.
        this.#queue.shift();
        chunk();
        continue;
      }
      const n = this.#socket.write(chunk);
      if (n <= 0) break;
      this.#queued -= n;
      if (n < chunk.length) {
        this.#queue[0] = chunk.subarray(n);
        break;
      }
      this.#queue.shift();
    }
    if (this.#queued <= WRITE_HIGH_WATER_MARK) settleDrain(this.#drainWaiters);
    if (this.#queue.length === 0 && this.#endAfterFlush) this.#shutdown();
  }

  #shutdown(): void {
    if (this.#socket.shutdown) this.#socket.shutdown(true);
    else this.#socket.end();
  }

  closeWrite(): Promise<void> {
    if (this.#closed || this.#endAfterFlush) return RESOLVED;
    this.#flushBatch();
    this.#endAfterFlush = true;
    if (this.#queue.length === 0) this.#shutdown();
    return RESOLVED;
  }

  close(): void {
    if (this.#closed) return;
    this.#socket.terminate();
  }
}
