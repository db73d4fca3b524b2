/**
 * The socket adapter contract: the only thing the client needs from a runtime. One adapter per
 * runtime implements it (`deno.ts`, `bun.ts`, `node.ts`); users may pass their own `Connector`.
 *
 * Types and constants only. The helpers adapters share live beside it: `read_queue.ts` (push
 * events to both reading styles), `push_reading.ts` (push reading over `read()`), `drain.ts`
 * (writes waiting for the queue to drain), `tls_options.ts` (what {@linkcode TlsOptions} means to
 * every runtime) and `net_errors.ts` (runtime errors to `NetworkError` codes).
 *
 * @module
 */

/** TLS settings for `wss://`. */
export interface TlsOptions {
  /**
   * Trusted CA certificates (PEM). Node and Bun trust only these when given; Deno adds them to its
   * default roots.
   */
  ca?: string | string[];
  /** Client certificate chain (PEM), for mutual TLS. */
  cert?: string;
  /** Client private key (PEM), for mutual TLS. */
  key?: string;
  /** Verify the server certificate and host name. Default true; false is unsafe. */
  rejectUnauthorized?: boolean;
  /** Name for SNI and certificate checks. Default: the URL's host name. */
  serverName?: string;
}

/** What a {@linkcode Connector} is asked to open. */
export interface ConnectOptions {
  /** Host name or IP address (IPv6 without brackets). */
  hostname: string;
  /** TCP port. */
  port: number;
  /**
   * A Unix domain socket's path (for `ws+unix://`): when set, the connector opens it instead of
   * `hostname:port`.
   */
  path?: string;
  /** Present for TLS connections. */
  tls?: TlsOptions;
  /** Aborts the attempt. */
  signal?: AbortSignal;
}

/**
 * A connected byte stream.
 *
 * `read` pulls one chunk at a time; a chunk handed out is never modified by the adapter again.
 * `write` queues bytes in call order and returns a promise that settles once the adapter's queue
 * is back under its high-water mark (that is the backpressure point); it rejects if the socket is
 * closed. `closed` never rejects.
 */
export interface Socket {
  /**
   * The next chunk, or `null` at the end of the stream. Rejects with a `NetworkError`. With
   * `into`, a socket that can may read into it and return a view of its start; one that cannot
   * ignores it and returns a chunk of its own, as without.
   */
  read(into?: Uint8Array): Promise<Uint8Array | null>;
  /**
   * Queues bytes for writing. `written`, when given, is called with `data` once the socket holds
   * no reference to it any more (it was handed to the operating system): the caller may then
   * reuse the buffer. A socket may never call it (then the buffer is simply not reused), and
   * must not call it while it still needs the bytes.
   */
  write(data: Uint8Array, written?: (data: Uint8Array) => void): Promise<void>;
  /** Bytes queued by `write` and not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /** Ends the writing side after queued bytes (TCP half-close). */
  closeWrite(): Promise<void>;
  /** Closes both directions at once, dropping queued bytes. Idempotent. */
  close(): void;
  /** Settles once the socket is closed. */
  readonly closed: Promise<void>;
  /**
   * Optional push-style reading: from this call on, chunks (those already queued first), then the
   * end or the error, go to `sink`, and `read` is not called again. An idle connection then holds
   * no pending promise. Requires `resumeReading`. The client reads only this way; a socket without
   * it gets it from `withPushReading` (a `read()` loop).
   */
  listen?(sink: ReadSink): void;
  /** Restarts the delivery to a {@linkcode ReadSink} whose `data` returned `false`. */
  resumeReading?(): void;
  /**
   * Upgrades the connection to TLS (for `wss://` through a proxy tunnel) and returns the
   * TLS socket; this one must not be used afterwards. Optional: without it, proxies serve only
   * `ws://`.
   */
  startTls?(options: StartTlsOptions): Promise<Socket>;
}

/** Receives what a {@linkcode Socket} reads, in push style (see {@linkcode Socket.listen}). */
export interface ReadSink {
  /**
   * A chunk arrived; the adapter never modifies it again. Returning `false` holds further
   * deliveries (chunks, end, error) until `Socket.resumeReading()`.
   */
  data(chunk: Uint8Array): boolean;
  /**
   * Where the sink wants the next bytes, for sockets that read into a given buffer (pull
   * sockets, through `withPushReading`): `read(into)` with it, then `data` with the view
   * returned. `undefined`: read as usual.
   */
  readTarget?(): Uint8Array | undefined;
  /** The stream ended (EOF), after the last chunk. */
  end(): void;
  /** The stream failed (a `NetworkError`), after the chunks read before the failure. */
  error(error: Error): void;
}

/** What {@linkcode Socket.startTls} is asked for. */
export interface StartTlsOptions {
  /** The server's host name, for SNI and the certificate check. */
  hostname: string;
  /** TLS settings. */
  tls: TlsOptions;
  /** Aborts the handshake: the connection is closed and the promise rejects. */
  signal?: AbortSignal;
}

/** Opens a {@linkcode Socket}. Rejects with `NetworkError` or `AbortError`. */
export type Connector = (options: ConnectOptions) => Promise<Socket>;

/** Default high-water mark of adapters' write queues: above it `write` waits for a drain. */
export const WRITE_HIGH_WATER_MARK: number = 64 * 1024;

/**
 * Frames written in one task are batched into one system call, but a batch leaves as soon as it
 * holds this many frames (or {@linkcode WRITE_BATCH_BYTES}), not only at the end of the task. A
 * burst (an application answering 100 echoes in one task) then reaches the peer in parts, and
 * the peer works on the first part while this side frames the rest: the two ends overlap
 * instead of taking turns. Each extra write costs a system call (and the peer an extra read), so
 * the best size depends on the runtime; this is the Node.js and Deno one, Bun's adapter uses a
 * smaller one. Measured against `Bun.serve` with 100 messages in flight, messages/s, batch at the
 * end of the task only -> 32 frames or 64 KiB:
 * - Node 20: 16 B binary 743k -> 1.47M, 1 KiB compressed text 31k -> 44k, 1 KiB JSON text
 *   154k -> 147k (16 frames or 16 KiB: 130k);
 * - Deno 2.9: 16 B binary 846k -> 1.17M, 1 KiB binary 600k -> 834k, 1 KiB JSON text 182k -> 174k.
 *
 * Where the application's own work per message is large (JSON), the peer has little to overlap
 * and the extra writes cost a few per cent.
 */
export const WRITE_BATCH_FRAMES = 32;
/** See {@linkcode WRITE_BATCH_FRAMES}. */
export const WRITE_BATCH_BYTES: number = 64 * 1024;

/** Default amount of unread data an adapter buffers before it stops reading from the network. */
export const READ_HIGH_WATER_MARK: number = 1024 * 1024;

/** A settled promise shared by every write that needs no waiting (no allocation per write). */
export const RESOLVED: Promise<void> = Promise.resolve();
