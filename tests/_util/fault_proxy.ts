/**
 * A fault-injecting TCP proxy for the tests, on raw TCP (`node:net`, so it runs on Deno, Bun and
 * Node alike). It sits between the client and a real server, forwards bytes both ways, and lets a
 * test break the network at any moment:
 *
 * - {@linkcode FaultProxy.drop}: FIN to both sides; {@linkcode FaultProxy.reset}: RST to both
 *   sides; {@linkcode FaultProxy.resetAfter}: RST once N more bytes came from the server (the
 *   client sees a partial frame, then the reset);
 * - {@linkcode FaultProxy.silence}: TCP stays open but nothing passes either way, FIN included (a
 *   dead network; what was held is delivered after {@linkcode FaultProxy.unsilence}, as TCP
 *   retransmission would). A reset of either side is still passed on at once;
 * - {@linkcode FaultProxy.delay} (latency, order kept), {@linkcode FaultProxy.chop} (writes of at
 *   most N bytes, with optional random pauses), {@linkcode FaultProxy.bandwidth} (throughput);
 * - {@linkcode FaultProxy.refuse}: new connections are refused (by not listening, so the client
 *   sees ECONNREFUSED; or accepted and closed or reset at once) for a while or until
 *   {@linkcode FaultProxy.accept}.
 *
 * The shaping faults (silence, delay, chop, bandwidth) apply to the current connections and to
 * new ones unless `scope` says otherwise. Reading from a side pauses while more than 64 KiB wait
 * in the proxy, so a sender feels the limits as TCP backpressure.
 *
 * Every timer the proxy makes is cleared by {@linkcode FaultProxy.close}, which also destroys
 * every socket and stops listening: nothing of it keeps a test process alive afterwards.
 *
 * @module
 */

import * as net from "node:net";
import { type Deferred, deferred, withTimeout } from "./async.ts";

/** Where the proxy forwards connections. */
export interface FaultTarget {
  readonly host: string;
  readonly port: number;
}

/** Options of {@linkcode startFaultProxy}. */
export interface FaultProxyOptions {
  /** The real server. */
  target: FaultTarget;
  /** Address to listen on. Default "127.0.0.1". */
  hostname?: string;
}

/** Which connections a fault applies to: the current ones, new ones, or both (the default). */
export type FaultScope = "all" | "current" | "new";

/** Options naming the connections a fault applies to. */
export interface ScopeOptions {
  /** Default "all". */
  scope?: FaultScope;
}

/** How {@linkcode FaultProxy.chop} pauses between pieces. */
export interface ChopPause {
  /** Pause a random 0..`jitter` ms between pieces (default 0: no pause). */
  jitter?: number;
  /** Pause only after every `pauseEvery`-th piece (default 1: after each). */
  pauseEvery?: number;
}

/** Options of {@linkcode FaultProxy.chop}. */
export interface ChopOptions extends ChopPause, ScopeOptions {}

/** How {@linkcode FaultProxy.refuse} refuses. */
export type RefuseMode =
  /** Stop listening: the client's connect fails with ECONNREFUSED (the default). */
  | "unlisten"
  /** Accept, then end at once (FIN before any byte). */
  | "close"
  /** Accept, then reset at once (RST). */
  | "reset";

/** Options of {@linkcode FaultProxy.refuse}. */
export interface RefuseOptions {
  /** Default "unlisten". */
  mode?: RefuseMode;
}

/** One proxied connection (client ⇄ proxy ⇄ server). */
export interface ProxyConnection {
  /** Its index in accept order (from 0). */
  readonly index: number;
  /** Whether either of its two sockets is still open. */
  readonly open: boolean;
  /** Bytes forwarded from the client to the server. */
  readonly bytesUp: number;
  /** Bytes forwarded from the server to the client. */
  readonly bytesDown: number;
  /** Settles once both sockets are closed. */
  readonly closed: Promise<void>;
  /** Closes both sides with FIN; what waits in the proxy is discarded. */
  drop(): void;
  /** Resets both sides (RST where the runtime can, else destroys). */
  reset(): void;
  /** Resets both sides once `bytes` more bytes were forwarded from the server. */
  resetAfter(bytes: number): void;
  /** Forwards nothing either way until {@linkcode ProxyConnection.unsilence}. */
  silence(): void;
  /** Forwards again, starting with what was held. */
  unsilence(): void;
  /** Latency added to every chunk, both ways (0: none). */
  delay(ms: number): void;
  /** Forwards in writes of at most `size` bytes (`Infinity`: no chopping). */
  chop(size: number, options?: ChopPause): void;
  /** Limits throughput to `bytesPerSecond` each way (`Infinity`: no limit). */
  bandwidth(bytesPerSecond: number): void;
  /** Removes every shaping fault and a pending `resetAfter`. */
  heal(): void;
}

/** A running fault proxy. */
export interface FaultProxy {
  readonly hostname: string;
  readonly port: number;
  /** `ws://host:port` + path. */
  url(path?: string): string;
  /** Connections accepted and forwarded (refused ones not counted). */
  readonly accepted: number;
  /** Connections refused by `refuse` in mode "close" or "reset". */
  readonly refused: number;
  /** Connections currently open. */
  readonly open: number;
  /** Bytes forwarded from clients to the server, over all connections. */
  readonly bytesUp: number;
  /** Bytes forwarded from the server to clients, over all connections. */
  readonly bytesDown: number;
  /** Whether new connections are being refused. */
  readonly refusing: boolean;
  /** Timers the proxy holds right now (0 after `close()`). */
  readonly timers: number;
  /** The error of a failed automatic `accept()` (after `refuse(ms)`), if any. */
  readonly failure: unknown;
  /** Every connection accepted so far, in order (closed ones included). */
  connections(): readonly ProxyConnection[];
  /** Waits for the connection with this index (default: the next one), bounded by `ms`. */
  connection(index?: number, ms?: number): Promise<ProxyConnection>;
  /** Closes every current connection with FIN both ways. */
  drop(): void;
  /** Resets every current connection, both sides. */
  reset(): void;
  /** Resets each connection once `bytes` more bytes came from the server (new ones: from start). */
  resetAfter(bytes: number, options?: ScopeOptions): void;
  /** Forwards nothing either way, TCP kept open. */
  silence(options?: ScopeOptions): void;
  /** Ends a silence; what was held is delivered. */
  unsilence(options?: ScopeOptions): void;
  /** Adds `ms` of latency to every chunk, both ways, order kept (0: none). */
  delay(ms: number, options?: ScopeOptions): void;
  /** Forwards in writes of at most `size` bytes (`Infinity`: no chopping). */
  chop(size: number, options?: ChopOptions): void;
  /** Limits throughput to `bytesPerSecond` in each direction (`Infinity`: no limit). */
  bandwidth(bytesPerSecond: number, options?: ScopeOptions): void;
  /** Removes every shaping fault (silence, delay, chop, bandwidth, pending resetAfter). */
  heal(options?: ScopeOptions): void;
  /** Refuses new connections for `ms` (default: until `accept()`). */
  refuse(ms?: number, options?: RefuseOptions): void;
  /** Accepts new connections again (resolves once listening). */
  accept(): Promise<void>;
  /** Stops listening, destroys every connection, clears every timer. Idempotent. */
  close(): Promise<void>;
}

/** Bytes waiting in the proxy, per direction, above which it stops reading the sender. */
const PAUSE_ABOVE = 64 * 1024;
/** ... and below which it reads again. */
const RESUME_BELOW = 16 * 1024;
/** Pieces under a bandwidth limit carry at most this many ms of throughput. */
const BANDWIDTH_SLICE_MS = 20;
/** After `resetAfter`'s last byte, the pause that lets the client read it before the RST. */
const RESET_SETTLE_MS = 20;
/** How long a dropped connection may take to answer our FIN before it is destroyed. */
const DROP_LINGER_MS = 2000;

interface Shaping {
  silent: boolean;
  delay: number;
  chop: number;
  jitter: number;
  pauseEvery: number;
  bandwidth: number;
}

function noShaping(): Shaping {
  return {
    silent: false,
    delay: 0,
    chop: Infinity,
    jitter: 0,
    pauseEvery: 1,
    bandwidth: Infinity,
  };
}

function chopShaping(size: number, options: ChopPause): Partial<Shaping> {
  checkNumber("chop size", size, 1);
  const jitter = options.jitter ?? 0;
  const pauseEvery = options.pauseEvery ?? 1;
  checkNumber("chop jitter", jitter, 0);
  checkNumber("chop pauseEvery", pauseEvery, 1);
  return { chop: size, jitter, pauseEvery };
}

function checkNumber(name: string, value: number, min: number): void {
  if (typeof value !== "number" || Number.isNaN(value) || value < min) {
    throw new RangeError(`fault proxy: ${name} must be a number >= ${min}, got ${value}`);
  }
}

/** The timers of one proxy, so that `close()` can clear them all. */
class Timers {
  readonly #live = new Map<ReturnType<typeof setTimeout>, () => void>();
  #closed = false;

  get size(): number {
    return this.#live.size;
  }

  /** Runs `fn` after `ms` unless cleared (by `cancel` or `clearAll`). */
  set(fn: () => void, ms: number): ReturnType<typeof setTimeout> | undefined {
    if (this.#closed) return undefined;
    const timer = setTimeout(() => {
      this.#live.delete(timer);
      fn();
    }, ms);
    this.#live.set(timer, () => {});
    return timer;
  }

  /** Resolves after `ms`, or at once when cleared (callers re-check their state). */
  sleep(ms: number, wake?: Promise<void>): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#live.delete(timer);
        resolve();
      }, Math.max(0, ms));
      this.#live.set(timer, resolve);
      wake?.then(() => {
        if (this.#live.delete(timer)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  cancel(timer: ReturnType<typeof setTimeout> | undefined): void {
    if (timer === undefined) return;
    const settle = this.#live.get(timer);
    if (!settle) return;
    this.#live.delete(timer);
    clearTimeout(timer);
    settle();
  }

  clearAll(): void {
    this.#closed = true;
    for (const [timer, settle] of this.#live) {
      clearTimeout(timer);
      settle();
    }
    this.#live.clear();
  }
}

interface Chunk {
  readonly bytes: Uint8Array;
  /** When it arrived (ms, `performance.now()`). */
  readonly at: number;
  offset: number;
}

/** One direction of a connection: what `from` sent, waiting to be written to `to`. */
class Pipe {
  readonly queue: Chunk[] = [];
  queued = 0;
  /** `from` sent FIN (or closed): end `to` once the queue is written. */
  ended = false;
  /** FIN written to `to`. */
  finished = false;
  forwarded = 0;
  /** Pieces written (for `pauseEvery`). */
  pieces = 0;
  /** Next moment a byte may leave under the bandwidth limit. */
  nextFree = 0;
  /** `to` asked us to wait for its `drain`. */
  blocked = false;
  #wake: Deferred<void> = deferred<void>();

  constructor(
    readonly name: "up" | "down",
    readonly from: net.Socket,
    readonly to: net.Socket,
  ) {}

  /** Settles at the next state change (data, a fault, the end). */
  get woken(): Promise<void> {
    return this.#wake.promise;
  }

  kick(): void {
    const wake = this.#wake;
    this.#wake = deferred<void>();
    wake.resolve();
  }

  discard(): void {
    this.queue.length = 0;
    this.queued = 0;
  }
}

type Socket = net.Socket & { resetAndDestroy?: () => net.Socket };

function hardReset(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
    else socket.destroy();
  } catch {
    socket.destroy();
  }
}

function endSocket(socket: net.Socket): void {
  if (socket.destroyed || socket.writableEnded) return;
  try {
    socket.end();
  } catch {
    socket.destroy();
  }
}

class Connection implements ProxyConnection {
  readonly closed: Promise<void>;
  readonly #up: Pipe;
  readonly #down: Pipe;
  readonly #timers: Timers;
  readonly #counters: { up: number; down: number };
  #shaping: Shaping;
  #connected = false;
  /** A fault ended it: nothing more is forwarded. */
  #frozen = false;
  #resetBudget: number | undefined;
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  #clientClosed = false;
  #serverClosed = false;
  readonly #settle: () => void;

  constructor(
    readonly index: number,
    readonly client: Socket,
    readonly server: Socket,
    shaping: Shaping,
    resetBudget: number | undefined,
    timers: Timers,
    counters: { up: number; down: number },
    onClosed: () => void,
  ) {
    this.#shaping = { ...shaping };
    this.#resetBudget = resetBudget;
    this.#timers = timers;
    this.#counters = counters;
    this.#up = new Pipe("up", client, server);
    this.#down = new Pipe("down", server, client);
    const done = deferred<void>();
    this.closed = done.promise;
    this.#settle = () => {
      if (done.settled) return;
      timers.cancel(this.#lingerTimer);
      done.resolve();
      onClosed();
    };
    client.setNoDelay(true);
    server.setNoDelay(true);
    this.#wire(this.#up);
    this.#wire(this.#down);
    client.on("close", () => {
      this.#clientClosed = true;
      this.#sideClosed(this.#up, this.#down);
    });
    server.on("close", () => {
      this.#serverClosed = true;
      this.#sideClosed(this.#down, this.#up);
    });
    server.on("connect", () => {
      this.#connected = true;
      this.#kick();
    });
    this.#pump(this.#up).catch(() => this.reset());
    this.#pump(this.#down).catch(() => this.reset());
  }

  get open(): boolean {
    return !(this.#clientClosed && this.#serverClosed);
  }

  get bytesUp(): number {
    return this.#up.forwarded;
  }

  get bytesDown(): number {
    return this.#down.forwarded;
  }

  // -- Faults.

  drop(): void {
    if (this.#frozen) return;
    this.#freeze();
    endSocket(this.client);
    endSocket(this.server);
    this.#lingerTimer = this.#timers.set(() => this.#destroy(), DROP_LINGER_MS);
  }

  reset(): void {
    this.#freeze();
    hardReset(this.client);
    hardReset(this.server);
  }

  resetAfter(bytes: number): void {
    checkNumber("resetAfter bytes", bytes, 0);
    if (this.#frozen) return;
    if (bytes === 0) return this.reset();
    this.#resetBudget = bytes;
    this.#kick();
  }

  silence(): void {
    this.#shape({ silent: true });
  }

  unsilence(): void {
    this.#shape({ silent: false });
  }

  delay(ms: number): void {
    checkNumber("delay", ms, 0);
    this.#shape({ delay: ms });
  }

  chop(size: number, options: ChopPause = {}): void {
    this.#shape(chopShaping(size, options));
  }

  bandwidth(bytesPerSecond: number): void {
    checkNumber("bandwidth", bytesPerSecond, 1);
    this.#shape({ bandwidth: bytesPerSecond });
  }

  /** Removes every shaping fault and a pending resetAfter. */
  heal(): void {
    this.#resetBudget = undefined;
    this.#shape(noShaping());
  }

  /** Destroys both sockets at once (the proxy is closing). */
  destroyNow(): Promise<void> {
    this.#destroy();
    return this.closed;
  }

  // -- Plumbing.

  #shape(change: Partial<Shaping>): void {
    this.#shaping = { ...this.#shaping, ...change };
    this.#kick();
  }

  #kick(): void {
    this.#up.kick();
    this.#down.kick();
  }

  #freeze(): void {
    this.#frozen = true;
    this.#up.discard();
    this.#down.discard();
    this.#kick();
  }

  #destroy(): void {
    this.#freeze();
    this.client.destroy();
    this.server.destroy();
  }

  #wire(pipe: Pipe): void {
    const { from } = pipe;
    from.on("data", (data: Uint8Array) => {
      if (this.#frozen) return;
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      pipe.queue.push({ bytes, at: performance.now(), offset: 0 });
      pipe.queued += bytes.length;
      if (pipe.queued > PAUSE_ABOVE) from.pause();
      pipe.kick();
    });
    pipe.to.on("drain", () => {
      pipe.blocked = false;
      pipe.kick();
    });
    from.on("end", () => {
      pipe.ended = true;
      pipe.kick();
    });
    from.on("error", (error: Error & { code?: string }) => {
      // A reset (or a failed connect to the target) is passed on as a reset.
      if (error.code !== "EPIPE") this.reset();
    });
  }

  #sideClosed(from: Pipe, toward: Pipe): void {
    // Nothing more can come from the closed side, nor be written to it.
    from.ended = true;
    toward.discard();
    toward.finished = true;
    if (this.#clientClosed && this.#serverClosed) {
      this.#frozen = true;
      this.#settle();
    } else if (!this.#connected && from === this.#down) {
      // The target could not be reached: the client is reset, as by a refusing server.
      this.reset();
    }
    this.#kick();
  }

  /** Writes what `pipe` holds, applying the faults; one loop per direction. */
  async #pump(pipe: Pipe): Promise<void> {
    const { to } = pipe;
    for (;;) {
      if (this.#clientClosed && this.#serverClosed) return;
      const woken = pipe.woken;
      const shaping = this.#shaping;
      if (this.#frozen || pipe.finished) {
        await woken;
        continue;
      }
      if (!this.#connected || shaping.silent || pipe.blocked) {
        // A silence holds the FIN too.
        await woken;
        continue;
      }
      if (pipe.queue.length === 0) {
        if (pipe.ended) {
          pipe.finished = true;
          endSocket(to);
        } else await woken;
        continue;
      }
      const head = pipe.queue[0];
      const now = performance.now();
      const due = head.at + shaping.delay;
      if (now < due) {
        await this.#timers.sleep(due - now, woken);
        continue;
      }
      let size = head.bytes.length - head.offset;
      size = Math.min(size, shaping.chop);
      if (shaping.bandwidth !== Infinity) {
        if (now < pipe.nextFree) {
          await this.#timers.sleep(pipe.nextFree - now, woken);
          continue;
        }
        size = Math.min(
          size,
          Math.max(1, Math.floor(shaping.bandwidth * BANDWIDTH_SLICE_MS / 1000)),
        );
      }
      const budget = pipe.name === "down" ? this.#resetBudget : undefined;
      if (budget !== undefined) size = Math.min(size, budget);
      const piece = head.bytes.subarray(head.offset, head.offset + size);
      head.offset += size;
      if (head.offset === head.bytes.length) pipe.queue.shift();
      pipe.queued -= size;
      if (pipe.queued < RESUME_BELOW && pipe.from.isPaused()) pipe.from.resume();
      const written = budget === undefined ? undefined : deferred<void>();
      const flowing = written ? to.write(piece, () => written.resolve()) : to.write(piece);
      pipe.pieces++;
      pipe.forwarded += size;
      this.#counters[pipe.name] += size;
      if (shaping.bandwidth !== Infinity) {
        pipe.nextFree = Math.max(now, pipe.nextFree) + size * 1000 / shaping.bandwidth;
      }
      if (budget !== undefined) {
        this.#resetBudget = budget - size;
        if (this.#resetBudget === 0) {
          this.#resetBudget = undefined;
          this.#frozen = true;
          this.#up.discard();
          this.#down.discard();
          await Promise.race([written!.promise, this.closed]);
          await this.#timers.sleep(RESET_SETTLE_MS);
          this.reset();
          return;
        }
      }
      if (!flowing) pipe.blocked = true; // cleared by `drain`; `close` kicks the pipe too
      if (shaping.jitter > 0 && pipe.pieces % shaping.pauseEvery === 0) {
        await this.#timers.sleep(Math.random() * shaping.jitter);
      }
    }
  }
}

/** Starts a fault proxy on a free port, forwarding to `options.target`. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const hostname = options.hostname ?? "127.0.0.1";
  const target = options.target;
  const timers = new Timers();
  const connections: Connection[] = [];
  const waiters = new Map<number, Deferred<ProxyConnection>>();
  const counters = { up: 0, down: 0 };
  const sockets = new Set<net.Socket>();
  const servers = new Set<net.Server>();
  let defaults = noShaping();
  let newResetBudget: number | undefined;
  let listening: net.Server | undefined;
  let refuseMode: RefuseMode | undefined;
  let refuseTimer: ReturnType<typeof setTimeout> | undefined;
  let refused = 0;
  let openCount = 0;
  let closing: Promise<void> | undefined;
  let port = 0;
  let lastError: unknown;

  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };

  const onAccept = (client: Socket) => {
    track(client);
    client.on("error", () => {});
    if (closing) return client.destroy();
    if (refuseMode === "close" || refuseMode === "reset") {
      refused++;
      if (refuseMode === "close") {
        client.on("data", () => {});
        // FIN first, then the socket is released (the client need not answer it).
        client.end(() => client.destroy());
      } else hardReset(client);
      return;
    }
    const server: Socket = net.connect({
      host: target.host,
      port: target.port,
      allowHalfOpen: true,
    });
    track(server);
    openCount++;
    const connection = new Connection(
      connections.length,
      client,
      server,
      defaults,
      newResetBudget,
      timers,
      counters,
      () => openCount--,
    );
    connections.push(connection);
    waiters.get(connection.index)?.resolve(connection);
    waiters.delete(connection.index);
  };

  const listen = (at: number): Promise<net.Server> =>
    new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer({ allowHalfOpen: true }, (s) => onAccept(s as Socket));
      server.once("error", reject);
      server.listen(at, hostname, () => {
        server.off("error", reject);
        server.on("error", (error) => (lastError = error));
        servers.add(server);
        resolve(server);
      });
    });

  const unlisten = (server: net.Server) =>
    new Promise<void>((resolve) => {
      // Resolves when the listening socket is gone; accepted connections go on.
      server.close(() => {
        servers.delete(server);
        resolve();
      });
    });

  listening = await listen(0);
  port = (listening.address() as net.AddressInfo).port;

  const current = (scope: FaultScope | undefined) => scope !== "new";
  const future = (scope: FaultScope | undefined) => scope !== "current";
  const eachCurrent = (fn: (c: Connection) => void) => {
    for (const c of connections) if (c.open) fn(c);
  };
  const shape = (
    scope: FaultScope | undefined,
    change: Partial<Shaping>,
    fn: (c: Connection) => void,
  ) => {
    if (future(scope)) defaults = { ...defaults, ...change };
    if (current(scope)) eachCurrent(fn);
  };

  const accept = async (): Promise<void> => {
    timers.cancel(refuseTimer);
    refuseTimer = undefined;
    const mode = refuseMode;
    refuseMode = undefined;
    if (closing || mode !== "unlisten" || listening) return;
    try {
      listening = await listen(port);
    } catch (error) {
      lastError = error;
      throw error;
    }
  };

  return {
    hostname,
    get port() {
      return port;
    },
    url(path = "/") {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      return `ws://${host}:${port}${path}`;
    },
    get accepted() {
      return connections.length;
    },
    get refused() {
      return refused;
    },
    get open() {
      return openCount;
    },
    get bytesUp() {
      return counters.up;
    },
    get bytesDown() {
      return counters.down;
    },
    get refusing() {
      return refuseMode !== undefined;
    },
    get timers() {
      return timers.size;
    },
    get failure() {
      return lastError;
    },
    connections: () => connections,
    connection(index = connections.length, ms = 5000) {
      if (index < connections.length) return Promise.resolve(connections[index]);
      let waiter = waiters.get(index);
      if (!waiter) {
        waiter = deferred<ProxyConnection>();
        waiters.set(index, waiter);
      }
      return withTimeout(waiter.promise, ms, `fault proxy: connection #${index}`);
    },
    drop: () => eachCurrent((c) => c.drop()),
    reset: () => eachCurrent((c) => c.reset()),
    resetAfter(bytes, o = {}) {
      checkNumber("resetAfter bytes", bytes, 0);
      if (future(o.scope)) newResetBudget = bytes === 0 ? undefined : bytes;
      if (current(o.scope)) eachCurrent((c) => c.resetAfter(bytes));
    },
    silence: (o = {}) => shape(o.scope, { silent: true }, (c) => c.silence()),
    unsilence: (o = {}) => shape(o.scope, { silent: false }, (c) => c.unsilence()),
    delay(ms, o = {}) {
      checkNumber("delay", ms, 0);
      shape(o.scope, { delay: ms }, (c) => c.delay(ms));
    },
    chop(size, o = {}) {
      const change = chopShaping(size, o);
      shape(o.scope, change, (c) => c.chop(size, o));
    },
    bandwidth(bytesPerSecond, o = {}) {
      checkNumber("bandwidth", bytesPerSecond, 1);
      shape(o.scope, { bandwidth: bytesPerSecond }, (c) => c.bandwidth(bytesPerSecond));
    },
    heal(o = {}) {
      if (future(o.scope)) newResetBudget = undefined;
      shape(o.scope, noShaping(), (c) => c.heal());
    },
    refuse(ms, o = {}) {
      if (ms !== undefined) checkNumber("refuse ms", ms, 0);
      if (closing) return;
      const mode = o.mode ?? "unlisten";
      if (refuseMode === "unlisten" && mode !== "unlisten") {
        throw new Error("fault proxy: already refusing by not listening; accept() first");
      }
      refuseMode = mode;
      if (mode === "unlisten" && listening) {
        const server = listening;
        listening = undefined;
        // The listening socket closes at once; its `close` callback waits for the connections.
        unlisten(server);
      }
      timers.cancel(refuseTimer);
      refuseTimer = ms === undefined ? undefined : timers.set(() => {
        refuseTimer = undefined;
        accept().catch(() => {});
      }, ms);
    },
    accept,
    close() {
      closing ??= (async () => {
        timers.clearAll();
        refuseMode = undefined;
        for (const waiter of waiters.values()) {
          waiter.reject(new Error("fault proxy closed"));
        }
        waiters.clear();
        const stopped = [...servers].map((s) => unlisten(s));
        listening = undefined;
        const gone = [...sockets].map((s) =>
          new Promise<void>((resolve) => {
            if (s.destroyed) return resolve();
            s.once("close", () => resolve());
            s.destroy();
          })
        );
        for (const c of connections) c.destroyNow();
        await withTimeout(Promise.all([...gone, ...stopped]), 3000, "fault proxy: close");
        timers.clearAll();
      })();
      return closing;
    },
  };
}
