/**
 * The socket adapter contract: the only thing the client needs from a runtime. One adapter per
 * runtime implements it (`deno.ts`, `bun.ts`, `node.ts`); users may pass their own `Connector`.
 *
 * @module
 */

import { AbortError, NetworkError, type NetworkErrorCode } from "../core/errors.ts";

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
  /** The next chunk, or `null` at the end of the stream. Rejects with a `NetworkError`. */
  read(): Promise<Uint8Array | null>;
  /** Queues bytes for writing. */
  write(data: Uint8Array): Promise<void>;
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
   * no pending promise. Requires `resumeReading`.
   */
  listen?(sink: ReadSink): void;
  /** Restarts the delivery to a {@linkcode ReadSink} whose `data` returned `false`. */
  resumeReading?(): void;
  /**
   * Upgrades the connection to TLS (for `wss://` through an HTTP proxy tunnel) and returns the
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
}

/** Opens a {@linkcode Socket}. Rejects with `NetworkError` or `AbortError`. */
export type Connector = (options: ConnectOptions) => Promise<Socket>;

/** Default high-water mark of adapters' write queues: above it `write` waits for a drain. */
export const WRITE_HIGH_WATER_MARK: number = 64 * 1024;

/** Default amount of unread data an adapter buffers before it stops reading from the network. */
export const READ_HIGH_WATER_MARK: number = 1024 * 1024;

/** A settled promise shared by every write that needs no waiting (no allocation per write). */
export const RESOLVED: Promise<void> = Promise.resolve();

/** Turns a runtime's connection error into a {@linkcode NetworkError} with a stable code. */
export function toNetworkError(error: unknown, context: string): NetworkError | AbortError {
  if (error instanceof NetworkError || error instanceof AbortError) return error;
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === "string" ? e.code : "";
  const name = typeof e?.name === "string" ? e.name : "";
  const message = typeof e?.message === "string" ? e.message : String(error);
  let kind: NetworkErrorCode = "NETWORK_ERROR";
  if (name === "AbortError") return new AbortError(`${context}: aborted`, { cause: error });
  // TLS first: certificate messages can contain words such as "DnsName" or "reset".
  if (
    /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_OSSL)/.test(
      code,
    ) ||
    name === "InvalidData" ||
    /certificate|\btls\b|\bssl\b|handshake failure/i.test(message)
  ) {
    kind = "TLS_ERROR";
  } else if (
    code === "ECONNREFUSED" || name === "ConnectionRefused" || /connection refused/i.test(message)
  ) {
    kind = "CONNECTION_REFUSED";
  } else if (
    code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME" ||
    code === "EAI_NODATA" ||
    /failed to lookup address|getaddrinfo|name or service not known|\bdns error\b/i.test(message)
  ) {
    kind = "HOST_NOT_FOUND";
  } else if (
    code === "ECONNRESET" || code === "EPIPE" || name === "ConnectionReset" ||
    name === "BrokenPipe" || /connection reset|broken pipe/i.test(message)
  ) {
    kind = "CONNECTION_RESET";
  }
  return new NetworkError(kind, `${context}: ${message}`, { cause: error });
}

/** Something that can stop and restart delivering data (a Node or Bun socket). */
export interface PausableSource {
  /** Stops delivering data. */
  pause?(): void;
  /** Starts delivering data again. */
  resume?(): void;
}

/**
 * Bridges a push-style socket (events or callbacks) to the `Socket` reading contract: chunks wait
 * in a queue until `read()` takes them, or go straight to a {@linkcode ReadSink} once one listens.
 * The adapter is told to pause the source above `READ_HIGH_WATER_MARK` queued bytes and to resume
 * it once the queue is drained.
 */
export class ReadQueue {
  #chunks: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;
  #ended = false;
  #error: Error | undefined;
  #waiter:
    | { resolve: (chunk: Uint8Array | null) => void; reject: (error: Error) => void }
    | undefined;
  #paused = false;
  readonly #source: PausableSource;
  #sink: ReadSink | undefined;
  /** The sink returned false from `data`. */
  #held = false;
  /** A delivery to the sink is in progress (no nested deliveries). */
  #delivering = false;
  /** The end or the error went to the sink. */
  #finished = false;

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
      if (!this.#held && !this.#delivering && this.#head === this.#chunks.length) {
        // The common case: straight to the sink, no queueing.
        this.#delivering = true;
        try {
          if (sink.data(chunk) === false) this.#held = true;
        } finally {
          this.#delivering = false;
        }
        // What arrived during that delivery (a chunk, the end, an error) goes out now.
        if (this.#head < this.#chunks.length || this.#ended || this.#error) this.#drain();
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
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (!this.#paused && this.#bytes > READ_HIGH_WATER_MARK) {
      this.#paused = true;
      this.#source.pause?.();
    }
  }

  /** The stream ended (EOF). */
  end(): void {
    this.#ended = true;
    if (this.#sink) return this.#drain();
    const waiter = this.#waiter;
    if (waiter && this.#head === this.#chunks.length) {
      this.#waiter = undefined;
      waiter.resolve(null);
    }
  }

  /** The stream failed; queued chunks are still delivered first. */
  fail(error: Error): void {
    if (this.#ended || this.#error) return;
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
    if (this.#ended) return Promise.resolve(null);
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
    this.#held = false;
    this.#drain();
  }

  #take(): Uint8Array {
    const chunk = this.#chunks[this.#head++];
    this.#bytes -= chunk.length;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
      if (this.#paused) {
        this.#paused = false;
        this.#source.resume?.();
      }
    }
    return chunk;
  }

  /** Delivers queued chunks, then the end or the error, until the sink holds. */
  #drain(): void {
    const sink = this.#sink;
    if (sink === undefined || this.#delivering) return;
    this.#delivering = true;
    try {
      while (!this.#held && this.#head < this.#chunks.length) {
        if (sink.data(this.#take()) === false) this.#held = true;
      }
      if (!this.#held && !this.#finished && this.#head === this.#chunks.length) {
        if (this.#error) {
          this.#finished = true;
          sink.error(this.#error);
        } else if (this.#ended) {
          this.#finished = true;
          sink.end();
        }
      }
    } finally {
      this.#delivering = false;
    }
  }
}

/** Throws an `AbortError` if `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, context: string): void {
  if (signal?.aborted) throw new AbortError(`${context}: aborted`, { cause: signal.reason });
}
