/**
 * Socket adapter over `Deno.connect` and `Deno.connectTls` (and `Deno.startTls` through a proxy).
 * The TLS options Deno's own TLS cannot express go to the `node:tls` adapter instead, loaded on
 * first need, so that every {@linkcode TlsOptions} member works with this connector.
 *
 * The Deno types are declared locally (only what is used), so this file type-checks with `tsc`
 * as well as with `deno check`.
 *
 * @module
 */

import { joinBytes } from "../core/bytes.ts";
import { NetworkError } from "../core/errors.ts";
import { type DrainWaiters, settleDrain, waitForDrain } from "./drain.ts";
import { throwIfAborted, toNetworkError } from "./net_errors.ts";
import {
  type ConnectOptions,
  type Connector,
  RESOLVED,
  type Socket,
  type StartTlsOptions,
  type TlsOptions,
  WRITE_BATCH_BYTES,
  WRITE_BATCH_FRAMES,
  WRITE_HIGH_WATER_MARK,
} from "./socket.ts";
import { alpnProtocols, caList } from "./tls_options.ts";

// The contract this file implements, so that this subpath documents itself.
export type {
  ConnectOptions,
  Connector,
  ReadSink,
  Socket,
  StartTlsOptions,
  TlsOptions,
} from "./socket.ts";

interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
}

interface DenoApi {
  startTls(
    conn: DenoConn,
    options: { hostname: string; caCerts?: string[]; alpnProtocols?: string[] },
  ): Promise<DenoConn & { handshake?: () => Promise<unknown> }>;
  connect(
    options:
      | { hostname: string; port: number; transport: "tcp"; signal?: AbortSignal }
      | { path: string; transport: "unix" },
  ): Promise<DenoConn>;
  connectTls(options: {
    hostname: string;
    port: number;
    caCerts?: string[];
    cert?: string;
    key?: string;
    alpnProtocols?: string[];
  }): Promise<DenoConn>;
}

function deno(): DenoApi {
  return (globalThis as unknown as { Deno: DenoApi }).Deno;
}

/**
 * The first {@linkcode TlsOptions} member that Deno's own TLS cannot express for a connection to
 * `hostname`, or undefined when it can express them all. `Deno.connectTls` and `Deno.startTls`
 * always verify the certificate chain (`unsafelyDisableHostnameVerification` skips only the name
 * check, which is not what `rejectUnauthorized: false` means) and check it against, and send as
 * SNI, the host they connect to (there is no separate server name). `Deno.connectTls` takes a
 * client certificate (tested on Deno 2.9: it is presented, and a server that requires one accepts
 * it); `Deno.startTls` (`upgrade`) takes none. A `cert` without a `key` (or the reverse) is
 * dropped, as `node:tls` and Bun drop it.
 */
function nativeTlsGap(
  options: TlsOptions,
  hostname: string,
  upgrade: boolean,
): "rejectUnauthorized" | "serverName" | "cert" | "key" | undefined {
  if (options.rejectUnauthorized === false) return "rejectUnauthorized";
  if (options.serverName !== undefined && options.serverName !== hostname) return "serverName";
  if (upgrade && options.cert !== undefined) return "cert";
  if (upgrade && options.key !== undefined) return "key";
  return undefined;
}

/**
 * Opens a TCP or TLS connection with Deno's native API.
 *
 * TLS that `Deno.connectTls` cannot express (`tls.rejectUnauthorized: false`, a `tls.serverName`
 * other than the host) goes to the `node:tls` adapter (`connectNode`, imported on first need),
 * which honours both on Deno (tested on Deno 2.9). Everything else, plain TCP included, stays on
 * `Deno.connect`/`Deno.connectTls`: the fast path, with no `node:stream` layer in between.
 *
 * The choice is made here rather than in `detect.ts` because the proxy case needs it here anyway
 * (`startTls` is this socket's own method, and makes the same choice between `Deno.startTls` and
 * `node:tls`), so one rule in one file serves both; and so that choosing this connector by hand
 * honours every option as the default connector does.
 */
export const connectDeno: Connector = async (options: ConnectOptions): Promise<Socket> => {
  const context = options.path === undefined
    ? `connect to ${options.hostname}:${options.port}`
    : `connect to ${options.path}`;
  throwIfAborted(options.signal, context);
  const t = options.tls;
  if (options.path !== undefined && t) {
    // Deno.connectTls takes no Unix socket: TLS over one goes to node:tls.
    return (await import("./node.ts")).connectNode(options);
  }
  if (t && nativeTlsGap(t, options.hostname, false)) {
    return (await import("./node.ts")).connectNode(options);
  }
  let conn: DenoConn;
  try {
    conn = t
      ? await deno().connectTls({
        hostname: options.hostname,
        port: options.port,
        caCerts: caList(t.ca),
        // Deno wants both or neither.
        ...(t.cert && t.key ? { cert: t.cert, key: t.key } : {}),
        alpnProtocols: alpnProtocols(),
      })
      : options.path !== undefined
      ? await deno().connect({ path: options.path, transport: "unix" })
      : await deno().connect({
        hostname: options.hostname,
        port: options.port,
        transport: "tcp",
        signal: options.signal,
      });
  } catch (error) {
    throw toNetworkError(error, context);
  }
  if (options.signal?.aborted) {
    conn.close();
    throwIfAborted(options.signal, context);
  }
  if (options.path === undefined) conn.setNoDelay?.(true);
  const socket = new DenoSocket(conn, t !== undefined);
  if (t) {
    // Deno completes the TLS handshake lazily; surface certificate errors now, as a connect error.
    // `Deno.connectTls` takes no signal: an abort during the handshake (a server or proxy that
    // never answers it) closes the connection, which ends the handshake.
    const onAbort = () => socket.close();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await (conn as unknown as { handshake?: () => Promise<unknown> }).handshake?.();
    } catch (error) {
      socket.close();
      throwIfAborted(options.signal, context);
      throw toNetworkError(error, context);
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
    if (options.signal?.aborted) {
      socket.close();
      throwIfAborted(options.signal, context);
    }
  }
  return socket;
};

/** First read buffer of a connection: small, so that an idle connection holds little memory. */
const SLAB_START = 4 * 1024;
/** Read buffers grow (doubling) while reads fill them, up to this. */
const SLAB_MAX = 256 * 1024;
const MAX_READ = 64 * 1024;

/**
 * Wraps a `Deno.Conn` as a {@linkcode Socket}.
 *
 * Reads by pull only (`read()`, one `conn.read` each); the client gets `listen` from
 * `withPushReading`, whose wrapper runs the same `read()` loop the client ran itself before.
 * Measured on Deno 2.9 with a fake socket whose async `read()` is shaped like this one:
 * a tight loop of reads 93-95 ns per read either way; 20 000 idle loops, 1487 B per connection
 * before, 1520 B wrapped (+33 B, the wrapper). Reading natively here, with `conn.read` awaited in
 * the loop itself, would save one async frame and promise per read and ~390 B per idle
 * connection, but is a change of its own.
 */
export class DenoSocket implements Socket {
  readonly #conn: DenoConn;
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  #closed = false;
  #error: NetworkError | undefined;
  // Reads go into a slab that only moves forward, so chunks handed out are never overwritten.
  #slab = new Uint8Array(0);
  #slabOffset = 0;
  #slabSize = SLAB_START;
  // Writes are queued and flushed by one loop, in order, coalescing small chunks.
  /** Unwritten bytes in order, and after a buffer that may be reused its `written` callback. */
  #queue: Array<Uint8Array | (() => void)> = [];
  /** `written` callbacks in #queue (small frames are coalesced only while there are none). */
  #callbacks = 0;
  #queued = 0;
  #flushing = false;
  #scheduled = false;
  readonly #endOfTask = (): void => {
    this.#scheduled = false;
    if (!this.#flushing) this.#flush();
  };
  /** Made by the first write that waits for a drain. */
  #drainWaiters: DrainWaiters | undefined;
  #writeEnded = false;
  readonly #secure: boolean;

  /** Wraps `conn`, a connected `Deno.Conn` or (`secure`) `Deno.TlsConn`. */
  constructor(conn: DenoConn, secure = false) {
    this.#conn = conn;
    this.#secure = secure;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /**
   * One `conn.read` into the slab. Not an async function: an idle connection's pending read then
   * holds no suspended generator and its context, only the promise of `then` (Deno 2.9, 10,000
   * idle connections: 8,197 B of heap per connection before, 8,014 B after).
   */
  read(into?: Uint8Array): Promise<Uint8Array | null> {
    if (this.#closed) {
      return Promise.reject(
        this.#error ?? new NetworkError("CONNECTION_RESET", "socket is closed"),
      );
    }
    if (into !== undefined && into.length > 0) {
      // Straight into the caller's buffer (the rest of a large frame, in its message): no slab,
      // and no copy out of it.
      return this.#conn.read(into).then(
        (n) => n === null ? null : into.subarray(0, n),
        this.#readFailed,
      );
    }
    if (this.#slab.length - this.#slabOffset < this.#slabSize >>> 2) {
      this.#slab = new Uint8Array(this.#slabSize);
      this.#slabOffset = 0;
    }
    this.#readStart = this.#slabOffset;
    this.#readLength = Math.min(this.#slab.length - this.#readStart, MAX_READ);
    return this.#conn.read(
      this.#slab.subarray(this.#readStart, this.#readStart + this.#readLength),
    ).then(this.#readDone, this.#readFailed);
  }

  #readStart = 0;
  #readLength = 0;
  readonly #readDone = (n: number | null): Uint8Array | null => {
    if (n === null) return null;
    const start = this.#readStart;
    // A read that filled its buffer means more is coming: use larger slabs from now on.
    if (n === this.#readLength && this.#slabSize < SLAB_MAX) this.#slabSize *= 2;
    this.#slabOffset = start + n;
    return this.#slab.subarray(start, start + n);
  };
  readonly #readFailed = (error: unknown): null => {
    if (this.#closed) return null;
    this.#error ??= toNetworkError(error, "socket error") as NetworkError;
    throw this.#error;
  };

  get bufferedAmount(): number {
    return this.#queued;
  }

  /**
   * Upgrades the connection to TLS (the proxy tunnel case) with `Deno.startTls`, or, for what it
   * cannot express (a client certificate, `rejectUnauthorized: false`, a `serverName`), with
   * `node:tls` over this socket (`startTlsOver`, imported on first need). The latter also serves
   * TLS inside TLS (`wss://` through an `https://` proxy), which `Deno.startTls` cannot do, and
   * every handshake that may be aborted (`signal`, as the client always passes): a
   * `Deno.startTls` connection closed during its handshake keeps the TCP connection open until
   * the peer closes it (Deno 2.9.6), so a target that stalls the handshake would keep the tunnel;
   * over `node:tls`, closing this socket ends it.
   */
  async startTls(options: StartTlsOptions): Promise<Socket> {
    if (
      this.#secure || options.signal || nativeTlsGap(options.tls, options.hostname, true)
    ) {
      return (await import("./node.ts")).startTlsOver(this, options);
    }
    let conn;
    try {
      conn = await deno().startTls(this.#conn, {
        hostname: options.hostname,
        caCerts: caList(options.tls.ca),
        alpnProtocols: alpnProtocols(),
      });
      await conn.handshake?.();
    } catch (error) {
      this.close();
      throw toNetworkError(error, `TLS with ${options.hostname}`);
    }
    return new DenoSocket(conn, true);
  }

  write(data: Uint8Array, written?: (data: Uint8Array) => void): Promise<void> {
    if (this.#closed || this.#writeEnded) {
      return Promise.reject(
        this.#error ?? new NetworkError("CONNECTION_RESET", "socket is closed"),
      );
    }
    if (data.length === 0) return RESOLVED;
    this.#queue.push(data);
    this.#queued += data.length;
    if (written) {
      this.#queue.push(() => written(data));
      this.#callbacks++;
    }
    if (!this.#flushing) {
      if (this.#queue.length >= WRITE_BATCH_FRAMES || this.#queued >= WRITE_BATCH_BYTES) {
        // The batch is full: it leaves now, and later frames queue behind the write.
        this.#flush();
      } else if (!this.#scheduled) {
        // Start writing after this task's synchronous sends, so that they leave in one write.
        this.#scheduled = true;
        queueMicrotask(this.#endOfTask);
      }
    }
    if (this.#queued <= WRITE_HIGH_WATER_MARK) return RESOLVED;
    return waitForDrain(this.#drainWaiters ??= []);
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const next = this.#queue[0];
        if (typeof next === "function") {
          // The bytes before it are all written: their buffer may be reused.
          this.#queue.shift();
          this.#callbacks--;
          next();
          continue;
        }
        let chunk: Uint8Array;
        if (this.#queue.length > 1 && this.#queued <= MAX_READ && this.#callbacks === 0) {
          // Coalesce small queued frames into one write (one syscall).
          chunk = joinBytes(this.#queue as Uint8Array[], this.#queued);
          this.#queue = [chunk];
        } else {
          chunk = next;
        }
        const n = await this.#conn.write(chunk);
        this.#queued -= n;
        if (n < chunk.length) {
          this.#queue[0] = chunk.subarray(n);
        } else {
          this.#queue.shift();
        }
        if (this.#queued <= WRITE_HIGH_WATER_MARK) settleDrain(this.#drainWaiters);
      }
    } catch (error) {
      this.#error ??= toNetworkError(error, "socket error") as NetworkError;
      this.#queue = [];
      this.#queued = 0;
      this.#callbacks = 0;
      settleDrain(this.#drainWaiters, this.#error);
      this.close();
    } finally {
      this.#flushing = false;
    }
  }

  async closeWrite(): Promise<void> {
    if (this.#closed || this.#writeEnded) return;
    while (this.#queue.length > 0 && !this.#closed) {
      await waitForDrain(this.#drainWaiters ??= []).catch(() => {});
      if (this.#queued > 0) await new Promise((r) => setTimeout(r, 0));
    }
    this.#writeEnded = true;
    try {
      await this.#conn.closeWrite();
    } catch {
      // Already closed.
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    settleDrain(
      this.#drainWaiters,
      this.#error ?? new NetworkError("CONNECTION_RESET", "socket closed"),
    );
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.#resolveClosed();
  }
}
