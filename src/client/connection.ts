/**
 * `Connection`: one attempt to be connected, from the first byte of the socket to its end. It
 * drives a {@linkcode ClientProtocol} over a {@linkcode Socket}: it is the socket's read sink,
 * writes what the protocol queues, and owns the attempt's timers (open, close, keepalive). How it
 * ended is handed to its owner, the {@linkcode WebSocketClient}, which reconnects or settles.
 * `ARCHITECTURE.md` §4 gives the call order it follows.
 *
 * Why one class of ~680 lines: reading, writing, the open and close timers and the end all turn
 * on the same few facts of one attempt (the protocol, the socket, whether reading is held, whether
 * it ended), and each path must see the others' changes at once (a read that ends the connection,
 * a close that must resume a held read). What stands alone has its own room: the transport
 * (`transport.ts`), liveness (`keepalive.ts`), pings (`pings.ts`), ordered compressed sends
 * (`send_queue.ts`), the counters (`stats.ts`: here only their increments), the inbox, the
 * options.
 *
 * @module
 */

import { type ListeningSocket, withPushReading } from "../adapters/push_reading.ts";
import { type ReadSink, RESOLVED, type Socket } from "../adapters/socket.ts";
import {
  type CloseInfo,
  ConnectionClosedError,
  HandshakeError,
  InvalidStateError,
  NetworkError,
  TimeoutError,
  WebSocketError,
} from "../core/errors.ts";
import { POOL_FRAME_MIN, releaseFrame } from "../core/frame.ts";
import type { OutgoingCompression } from "../core/permessage_deflate.ts";
import { ClientProtocol, type ProtocolEvent, ReadyState } from "../core/protocol.ts";
import type { WebSocketUrl } from "../core/uri.ts";
import type { WebSocketClient } from "./client.ts";
import type { Listeners } from "./events.ts";
import type { Inbox } from "./inbox.ts";
import { planAttempt, protocolOptions, type Settings } from "./options.ts";
import { Keepalive } from "./keepalive.ts";
import { PendingPings } from "./pings.ts";
import { SendQueue } from "./send_queue.ts";
import type { Counters } from "./stats.ts";
import { openTransport } from "./transport.ts";

/** Frames with at least this much payload still to come are read into their message. */
const READ_TARGET_MIN = 32 * 1024;

const encoder = new TextEncoder();

/** How much unread data a closing connection queues on its way to the server's close reply. */
const CLOSING_QUEUE_BYTES = 16 * 1024 * 1024;

/** What a {@linkcode Connection} needs from the client that made it. */
export interface ConnectionOwner {
  readonly settings: Settings;
  readonly listeners: Listeners;
  readonly inbox: Inbox;
  /** The client's counters (`client.stats`), bumped by its connections. */
  readonly stats: Counters;
  readonly target: WebSocketClient;
  /** The connection opened (the `open` event is the owner's to emit). */
  opened(connection: Connection): void;
  /** The connection's transport is gone: reconnect or settle. Called once. */
  ended(connection: Connection, info: CloseInfo): void;
  /** Round-trip time of an answered ping, in ms. */
  measured(rtt: number): void;
  /** A `NOT_OPEN` error, explained by the client's state (closed how, or reconnecting). */
  stateError(error: unknown): unknown;
  /** Numbers the pings the client sends (one counter across reconnections). */
  nextPingId(): number;
  /** When the last message arrived (epoch ms), set by the connections. */
  lastMessageAt: number | undefined;
}

// Bits of `Connection.#flags`.
/** The connection was open at some point. */
const WAS_OPEN = 1;
/** The transport is gone: nothing more happens on this connection. */
const ENDED = 2;
/** terminate() closed the socket: what follows is not a network error. */
const TERMINATED = 4;
/** The error event was emitted for `#error`. */
const ERROR_REPORTED = 8;
/** The socket's deliveries have ended for this connection: later ones are ignored. */
const READ_DONE = 16;
/** `data` returned false: the socket holds its deliveries until `#resumeReading`. */
const HELD = 32;
/** A pong or close reply was queued since the last write of the protocol's bytes. */
const REPLY_QUEUED = 64;
/** A message arrived in the chunk being handled (for `lastMessageAt` and the turn). */
const MESSAGE_ARRIVED = 128;

/** One attempt: a protocol, a socket and their timers. */
export class Connection implements ReadSink {
  /** The attempt's protocol (a stand-in until a `url` or `headers` function has answered). */
  protocol: ClientProtocol;
  /** What this attempt connects to, once known. */
  target: WebSocketUrl | undefined;
  /** The attempt's number, counting every attempt of the client (1 for the first). */
  readonly attempt: number;
  /** CONNECTING, OPEN or CLOSING; the client is CLOSED only once everything has settled. */
  state: ReadyState = ReadyState.CONNECTING;
  /** The socket, once connected (the proxy's, while the tunnel is set up). */
  socket: Socket | undefined;

  /** Whether the connection was open at some point. */
  get wasOpen(): boolean {
    return (this.#flags & WAS_OPEN) !== 0;
  }
  /** The transport is gone; nothing more happens on this connection. */
  get ended(): boolean {
    return (this.#flags & ENDED) !== 0;
  }

  /**
   * The connection's yes/no facts, one bit each (the constants above the class): one field
   * instead of eight, 56 B less per idle connection on Node.js 20, whose fields take 8 bytes.
   */
  #flags = 0;
  readonly #owner: ConnectionOwner;
  /** Aborts the connection attempt (released once the socket is connected). */
  #abort: AbortController | undefined = new AbortController();
  #error: WebSocketError | undefined;
  /** The socket as this connection reads it (by push). */
  #reader: ListeningSocket | undefined;
  /** The pending write of owed replies (see `#readBlocker`), while the socket is backed up. */
  #owedWrite: Promise<void> | undefined;
  #openTimer: ReturnType<typeof setTimeout> | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Made at open when `pingInterval` or `idleTimeout` > 0. */
  #keepalive: Keepalive | undefined;
  /** Ends the application's turn with the messages delivered; applies a held close (#process). */
  #resumeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Made on the first ping. */
  #pings: PendingPings | undefined;
  /** Set at open when permessage-deflate can compress what we send. */
  #compression: OutgoingCompression | undefined;
  /** Made when a message has to wait for compression (see {@linkcode SendQueue}). */
  #sendQueue: SendQueue | undefined;

  /** Messages of this connection held back while `onOpen` runs. */
  #gated: Array<string | Uint8Array> | undefined;
  /** Settles when `onOpen` is done (reading waits for it). */
  #gate: Promise<void> | undefined;

  /** @throws {ArgumentError} invalid headers, subprotocols or limits (checked by the protocol). */
  constructor(owner: ConnectionOwner, attempt: number) {
    this.#owner = owner;
    this.attempt = attempt;
    const { plan, base } = owner.settings;
    this.target = plan?.target;
    this.protocol = new ClientProtocol(
      plan ? protocolOptions(plan, base) : { ...base, host: "localhost", path: "/" },
    );
  }

  /** Whether the socket holds its deliveries (the application lags, or `onOpen` runs). */
  get readingHeld(): boolean {
    return (this.#flags & HELD) !== 0;
  }

  /** Bytes given to the socket and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.socket?.bufferedAmount ?? 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Opening.

  /** Connects, sends the opening handshake and starts reading. */
  async start(): Promise<void> {
    const { openTimeout } = this.#owner.settings;
    if (openTimeout > 0) {
      this.#openTimer = setTimeout(() => {
        this.failOpen(
          new TimeoutError("OPEN_TIMEOUT", `no open connection after ${openTimeout} ms`),
        );
      }, openTimeout);
    }
    let socket: Socket;
    try {
      if (!this.target) {
        const plan = await planAttempt(this.#owner.settings, this.attempt);
        if (this.ended) return; // timed out or aborted meanwhile
        this.target = plan.target;
        this.protocol = new ClientProtocol(protocolOptions(plan, this.#owner.settings.base));
      }
      socket = await openTransport(
        this.#owner.settings,
        this.target,
        this.#abort!.signal,
        (s) => (this.socket = s),
      );
    } catch (error) {
      this.socket?.close();
      this.failOpen(
        error instanceof WebSocketError
          ? error
          : new NetworkError("NETWORK_ERROR", String(error), { cause: error }),
      );
      return;
    }
    if (this.ended || this.protocol.state !== ReadyState.CONNECTING) {
      socket.close(); // timed out or aborted meanwhile
      return;
    }
    this.socket = socket;
    this.#abort = undefined; // connected: from now on failOpen closes the socket itself
    this.protocol.sendRequest();
    this.flush().catch(() => {});
    // One read path: the connection is the socket's sink (pull-only sockets are given the push
    // contract by withPushReading), so an idle connection holds no pending promise of its own.
    this.#reader = withPushReading(socket);
    this.#reader.listen(this);
  }

  /** Fails an attempt that is not open yet. */
  failOpen(error: WebSocketError): void {
    if (this.ended || this.wasOpen) return;
    this.#error ??= error;
    this.#abort?.abort(error);
    this.protocol.fail(error);
    this.socket?.close();
    this.#end();
  }

  // ---------------------------------------------------------------------------------------------
  // The socket's read sink.

  /**
   * For pull sockets (Deno's): the rest of a large frame is read straight into its message
   * buffer, with no read buffer between: no slab to allocate (fresh pages), no copy out of it.
   * Deno 2.9, binary pipelined, client CPU per message (alternated bundles, 3 runs): 1 MiB
   * 1,580 -> 1,200 us (660 -> 860 msgs/s), 16 MiB 26.6 -> 18.9 ms; 64 KiB unchanged.
   */
  readTarget(): Uint8Array | undefined {
    return (this.#flags & READ_DONE) !== 0 ? undefined : this.protocol.readTarget(READ_TARGET_MIN);
  }

  /** A chunk arrived; false holds the socket until the application catches up. */
  data(chunk: Uint8Array): boolean {
    if ((this.#flags & READ_DONE) !== 0) return false;
    this.#owner.stats.wireBytesIn += chunk.length;
    const keepalive = this.#keepalive;
    if (keepalive?.watchesIdle) keepalive.lastFrameAt = performance.now();
    try {
      if (!this.#receive(chunk)) {
        this.#readingEnded();
        return false;
      }
    } catch (error) {
      this.#receiveError(error);
      this.#readingEnded();
      return false;
    }
    if ((this.#flags & MESSAGE_ARRIVED) !== 0) {
      // Once per chunk, not per message: Date.now() costs 20-40 ns.
      this.#flags &= ~MESSAGE_ARRIVED;
      this.#owner.lastMessageAt = Date.now();
    }
    const blocker = this.#readBlocker();
    if (blocker === undefined) return true;
    this.#flags |= HELD;
    this.#resumeAfter(blocker);
    return false;
  }

  /**
   * What reading must wait for, if anything:
   * - replies the protocol owes (pongs, the close reply) still waiting in the socket: a peer that
   *   sends pings and reads nothing would otherwise make them pile up without bound;
   * - the application, when `maxQueue` messages wait unread (receive backpressure). While
   *   closing, reading goes on until CLOSING_QUEUE_BYTES wait, so that the server's close
   *   reply, behind the messages already in flight, can arrive; past that the close timer ends
   *   the connection (a server that floods after our close frame costs at most that much).
   */
  #readBlocker(): Promise<unknown> | undefined {
    if (this.#gate !== undefined) return this.#gate;
    if (this.#owedWrite !== undefined) return this.#owedWrite;
    const inbox = this.#owner.inbox;
    if (!inbox.paused) return undefined;
    if (this.state === ReadyState.CLOSING && inbox.bytes < CLOSING_QUEUE_BYTES) return undefined;
    return inbox.whenResumed();
  }

  #resumeAfter(blocker: Promise<unknown>): void {
    const retry = () => this.#resumeReading();
    blocker.then(retry, retry);
  }

  /** Restarts a held socket once nothing blocks reading any more. */
  #resumeReading(): void {
    if ((this.#flags & HELD) === 0 || (this.#flags & READ_DONE) !== 0) return;
    const blocker = this.#readBlocker();
    if (blocker !== undefined) return this.#resumeAfter(blocker);
    this.#flags &= ~HELD;
    this.#reader!.resumeReading();
  }

  /** The stream ended (EOF). */
  end(): void {
    this.#deliveryEnded(undefined);
  }

  /** The stream failed. */
  error(error: Error): void {
    this.#deliveryEnded(error);
  }

  #deliveryEnded(error: Error | undefined): void {
    if ((this.#flags & READ_DONE) !== 0) return;
    try {
      if (error === undefined) this.#receiveEnd();
      else this.#receiveError(error);
    } catch (e) {
      this.#receiveError(e);
    }
    this.#readingEnded();
  }

  #readingEnded(): void {
    this.#flags |= READ_DONE;
    this.#transportEnded(this.socket!).catch(() => {});
  }

  /** Feeds a chunk to the protocol; false once the connection reads no more. */
  #receive(chunk: Uint8Array): boolean {
    const protocol = this.protocol;
    // While a close frame or a bad frame waits for the application's turn, what follows it is
    // discarded anyway; giving it to the protocol would apply the held effect at once (as
    // receiveData does first), before the application has answered the messages before it.
    if (protocol.held) return true;
    protocol.receiveData(chunk);
    this.#process();
    return protocol.state !== ReadyState.CLOSED && !this.ended;
  }

  #receiveEnd(): void {
    const protocol = this.protocol;
    protocol.receiveEof(); // applies a close frame held for the messages before it, first
    if (
      this.wasOpen && !protocol.closeReceived && !this.#error && (this.#flags & TERMINATED) === 0
    ) {
      this.#error = new NetworkError(
        "UNEXPECTED_EOF",
        "the server closed the TCP connection without a close frame",
      );
    }
    this.#process();
  }

  /** The socket failed (reset, TLS error...): the connection is lost. */
  #receiveError(error: unknown): void {
    const protocol = this.protocol;
    if (
      !this.#error && (this.#flags & TERMINATED) === 0 &&
      !(protocol.closeReceived && protocol.closeSent)
    ) {
      this.#error = error instanceof WebSocketError
        ? error
        : new NetworkError("NETWORK_ERROR", String(error), { cause: error });
    }
    protocol.receiveEof();
    this.#process();
  }

  /** The transport is ending: no more sends or close handshakes on this connection. */
  async #transportEnded(socket: Socket): Promise<void> {
    if (this.state === ReadyState.OPEN) this.state = ReadyState.CLOSING;
    socket.close();
    await socket.closed;
    if (!this.wasOpen && !this.#error) {
      this.#error = this.protocol.failure ??
        new HandshakeError("HANDSHAKE_INTERRUPTED", "connection closed during the handshake");
    }
    this.#end();
  }

  // ---------------------------------------------------------------------------------------------
  // What the protocol produced.

  /** Handles what the protocol produced: writes first, then events. */
  #process(): void {
    const protocol = this.protocol;
    const events = protocol.takeEvents();
    for (let i = 0; i < events.length; i++) this.#handle(events[i]);
    // A close frame or a bad frame that follows messages, in the same read or a later one of
    // the same task, takes effect once the application has had its turn with those messages:
    // after the microtasks that deliver them to iterators (or to listeners added right after
    // connect() resolved, when the frames came with the handshake response), so that its
    // answers leave before the close frame. The messages stay "in flight" until a timer says
    // they were handled, and that timer is set only once a frame waits behind them: a frame
    // that comes long after them waits one timer turn too, which costs nothing, while a timer per
    // task that delivered messages cost every read (16 B ping-pong, client CPU per round trip,
    // paired A/B, median of 5: Bun 1.4 44.2 -> 39.5 us, Node 20 49.0 -> 43.0, Deno 47.0 -> 42.8).
    if ((this.#flags & MESSAGE_ARRIVED) !== 0) protocol.messagesInFlight();
    if (protocol.held && this.#resumeTimer === undefined) {
      this.#resumeTimer = setTimeout(() => {
        this.#resumeTimer = undefined;
        protocol.messagesHandled();
        if (!this.ended && protocol.resume()) this.#process();
      }, 0);
    }
    if (protocol.hasWrites) {
      const written = this.flush();
      if (
        written !== RESOLVED && (this.#flags & REPLY_QUEUED) !== 0 && this.#owedWrite === undefined
      ) {
        const owed = this.#owedWrite = written.then(() => {}, () => {});
        owed.then(() => {
          if (this.#owedWrite === owed) this.#owedWrite = undefined;
        });
      } else {
        written.catch(() => {});
      }
      this.#flags &= ~REPLY_QUEUED;
    }
    if (protocol.closeExpected() && !this.ended) {
      if (this.state === ReadyState.OPEN) this.state = ReadyState.CLOSING;
      this.#armCloseTimer();
    }
  }

  #handle(event: ProtocolEvent): void {
    const owner = this.#owner;
    switch (event.type) {
      case "message": {
        const stats = this.#owner.stats;
        stats.messagesIn++;
        stats.bytesIn += event.size;
        this.#flags |= MESSAGE_ARRIVED;
        if (this.#gated) this.#gated.push(event.data);
        else owner.inbox.deliver(event.data);
        return;
      }
      case "open":
        this.#flags |= WAS_OPEN;
        clearTimeout(this.#openTimer);
        this.#openTimer = undefined;
        this.#compression = this.protocol.compression;
        this.state = ReadyState.OPEN;
        if (owner.settings.pingInterval > 0 || owner.settings.idleTimeout > 0) {
          this.#keepalive = new Keepalive(this, owner);
          this.#keepalive.start();
        }
        owner.opened(this);
        return;
      case "ping":
        this.#flags |= REPLY_QUEUED;
        owner.listeners.emit("ping", { type: "ping", data: event.data, target: owner.target });
        return;
      case "pong": {
        const rtt = this.#pings?.settle(event.data);
        if (rtt !== undefined) owner.measured(rtt);
        owner.listeners.emit("pong", { type: "pong", data: event.data, target: owner.target });
        return;
      }
      case "close":
        this.#flags |= REPLY_QUEUED;
        if (this.state === ReadyState.OPEN) this.state = ReadyState.CLOSING;
        return;
      case "error":
        this.#error ??= event.error;
        // Before open, failures are reported by connect()'s rejection (or a reconnect event).
        if (this.wasOpen && (this.#flags & ERROR_REPORTED) === 0) {
          this.#flags |= ERROR_REPORTED;
          owner.listeners.emit("error", {
            type: "error",
            error: event.error,
            target: owner.target,
          });
        }
        return;
    }
  }

  /** Writes out what the protocol queued; resolves like the last write. */
  flush(): Promise<void> {
    const writes = this.protocol.takeWrites();
    const socket = this.socket;
    if (writes.length === 0 || !socket) return RESOLVED;
    let last: Promise<void> = RESOLVED;
    const stats = this.#owner.stats;
    for (let i = 0; i < writes.length; i++) {
      const frame = writes[i];
      stats.wireBytesOut += frame.length;
      const p = frame.length >= POOL_FRAME_MIN
        ? socket.write(frame, releaseFrame)
        : socket.write(frame);
      if (p !== RESOLVED) {
        if (i < writes.length - 1) p.catch(() => {});
        last = p;
      }
    }
    return last;
  }

  // ---------------------------------------------------------------------------------------------
  // Commands (the client checks its own state first).

  /**
   * Sends a message; see `WebSocketClient.send`. Rejects (never throws) with the owner's
   * explanation of a `NOT_OPEN`.
   */
  send(payload: string | Uint8Array, binary: boolean, compressible: boolean): Promise<void> {
    const compression = this.#compression;
    const compress = compression !== undefined && compressible &&
      compression.shouldCompress(payload.length);
    if (!compress && !this.#sendQueue?.busy) {
      try {
        this.#frame(payload, binary, false);
      } catch (error) {
        return Promise.reject(this.#owner.stateError(error));
      }
      return this.flush();
    }
    if (this.state !== ReadyState.OPEN) {
      return Promise.reject(
        this.#owner.stateError(new InvalidStateError("NOT_OPEN", "connection is not open")),
      );
    }
    this.#sendQueue ??= new SendQueue(compression?.deflaterSettings);
    if (compress) {
      // Encoded once, here: the deflater takes bytes, and their length is what stats count.
      const raw = typeof payload === "string" ? encoder.encode(payload) : payload;
      try {
        const compressed = this.#sendQueue.compressNow(raw);
        if (compressed !== undefined) {
          this.#frame(compressed, binary, true, raw.length);
          return this.flush();
        }
      } catch (error) {
        return Promise.reject(this.#owner.stateError(error));
      }
      payload = raw;
    }
    return this.#sendQueue.enqueue(payload, compress, (bytes, compressed, size) => {
      try {
        this.#frame(bytes, binary, compressed, size);
      } catch (error) {
        throw this.#owner.stateError(error);
      }
      return this.flush();
    });
  }

  /** Frames a message; `size`: its payload bytes before compression, when it was compressed. */
  #frame(
    payload: string | Uint8Array,
    binary: boolean,
    compressed: boolean,
    size?: number,
  ): void {
    const fragmentSize = this.#owner.settings.fragmentSize;
    let framed: number;
    if (binary) {
      const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
      framed = this.protocol.sendBinary(bytes, { fragmentSize, compressed });
    } else {
      framed = this.protocol.sendText(payload, { fragmentSize, compressed });
    }
    const stats = this.#owner.stats;
    stats.messagesOut++;
    stats.bytesOut += size ?? framed;
  }

  /** Sends a ping and resolves with the round-trip time when its pong arrives. */
  ping(payload: Uint8Array): Promise<number> {
    const pings = this.#pings ??= new PendingPings();
    let key: string;
    try {
      key = pings.check(payload);
      this.protocol.sendPing(payload);
    } catch (error) {
      return Promise.reject(this.#owner.stateError(error));
    }
    const promise = pings.add(key);
    this.flush().catch(() => {}); // a failed write ends the connection: the ping rejects
    return promise;
  }

  /** Starts the closing handshake of an open connection. */
  close(code: number, reason: string): void {
    this.protocol.sendClose(code, reason);
    this.state = ReadyState.CLOSING;
    this.flush().catch(() => {});
    this.#armCloseTimer();
    this.#resumeReading(); // the close reply may wait behind messages the application left unread
  }

  /** Closes the socket at once, without a closing handshake. */
  terminate(): void {
    this.state = ReadyState.CLOSING;
    this.#flags |= TERMINATED;
    this.#closeSocket();
  }

  /**
   * Closes the socket and ends reading at once: a socket held by backpressure would not deliver
   * its end (nor the chunks before it) until the application caught up, and every way to end a
   * connection must settle within `closeTimeout` whatever the queue and the socket hold.
   */
  #closeSocket(): void {
    this.socket?.close();
    if (this.#reader !== undefined && (this.#flags & READ_DONE) === 0) {
      this.#deliveryEnded(undefined);
    }
  }

  /** Fails an open connection from our side (`signal` fired, the keepalive pong is late). */
  fail(error: WebSocketError, code: number, reason: string): void {
    this.protocol.fail(error, code, reason);
    this.state = ReadyState.CLOSING;
    this.#process(); // writes the close frame, reports the error, arms the close timer
    this.#armCloseTimer();
    this.#resumeReading();
  }

  // ---------------------------------------------------------------------------------------------
  // Timers.

  /**
   * Holds this connection's messages (and its reading) until `done` settles: `onOpen` runs
   * before any message of the connection is delivered, and none is lost meanwhile.
   */
  gate(done: Promise<void>): void {
    this.#gated = [];
    const gate = this.#gate = done.then(() => {
      if (this.#gate !== gate) return;
      const held = this.#gated!;
      this.#gate = this.#gated = undefined;
      for (const message of held) this.#owner.inbox.deliver(message);
      this.#resumeReading();
    });
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== undefined || this.ended) return;
    this.#keepalive?.stop();
    const { closeTimeout } = this.#owner.settings;
    if (closeTimeout === 0) return;
    this.#closeTimer = setTimeout(() => {
      // RFC 6455 §7.1.1: the server should close TCP first; past the deadline, the client does.
      const protocol = this.protocol;
      if (!(protocol.closeReceived && protocol.closeSent)) {
        this.#error ??= new TimeoutError(
          "CLOSE_TIMEOUT",
          `closing handshake not completed within ${closeTimeout} ms`,
        );
      }
      this.#closeSocket();
    }, closeTimeout);
  }

  #clearTimers(): void {
    clearTimeout(this.#openTimer);
    clearTimeout(this.#closeTimer);
    clearTimeout(this.#resumeTimer);
    this.#openTimer = this.#closeTimer = this.#resumeTimer = undefined;
    this.#keepalive?.stop();
  }

  // ---------------------------------------------------------------------------------------------
  // The end.

  /** The transport is gone: report, release, and hand the outcome to the owner. Runs once. */
  #end(): void {
    if (this.ended) return;
    this.#flags |= ENDED;
    this.#clearTimers();
    const info = this.protocol.closeInfo(this.#error);
    if (this.wasOpen && info.error && (this.#flags & ERROR_REPORTED) === 0) {
      // A drop, reset or close timeout: report it like the protocol errors, before close.
      this.#flags |= ERROR_REPORTED;
      const owner = this.#owner;
      owner.listeners.emit("error", { type: "error", error: info.error, target: owner.target });
    }
    this.#pings?.rejectAll(new ConnectionClosedError(info));
    this.#pings = undefined;
    this.#sendQueue?.close();
    this.#owner.ended(this, info);
  }
}
