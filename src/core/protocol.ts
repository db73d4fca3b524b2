/**
 * `ClientProtocol`: the sans-I/O WebSocket client state machine.
 *
 * Bytes in (`receiveData`, `receiveEof`), commands in (`sendText`, `sendBinary`, `sendPing`,
 * `sendClose`, `fail`, ...), events and bytes out (`takeEvents`, `takeWrites`). No sockets,
 * timers or promises: the driver (in `src/client/`) owns those; `ARCHITECTURE.md` describes how it
 * calls this class. Peer errors never throw out of `receiveData`; they become a close frame with
 * the right code and a recorded `failure`. Misuse (sending while not open, a bad close code)
 * throws. When it is over, {@linkcode ClientProtocol.closeInfo} says how the connection ended.
 *
 * The work on received frames is split by job: `frame_reader.ts` parses headers and checks the
 * framing rules, `message.ts` joins the data frames, checks the limits and decodes text; this
 * module keeps the state machine (phases, handshake, control frames, closing handshake,
 * commands, held effects). Those stay together, ~820 lines, because they read and change the
 * same few fields (the phase, the close frames sent and received, the queued writes and events):
 * split, each piece would reach into the others' state.
 *
 * Call order for a driver:
 * 1. `sendRequest()`, then write out `takeWrites()`;
 * 2. for each chunk read: `receiveData(chunk)`, handle `takeEvents()` (the application may send
 *    in response), call `resume()` and if it returns true handle `takeEvents()` again, then write
 *    out `takeWrites()`; at end of stream `receiveEof()` likewise; a driver that hands messages
 *    to the application in later microtasks, so that its next read may come first, calls
 *    `messagesInFlight()` after taking them and `messagesHandled()` once the application has
 *    had its turn (then `resume()`);
 * 3. after each command, write out `takeWrites()`;
 * 4. when `closeExpected()` turns true, wait (bounded by a timeout) for the server to end TCP;
 *    when `state` is `CLOSED`, close the socket.
 *
 * Chunks given to `receiveData` must not be modified afterwards: messages that arrive whole in
 * one chunk are handed out as views of it, without a copy.
 *
 * @module
 */

import {
  encodeClosePayload,
  parseClosePayload,
  truncateReason,
  validateCloseArguments,
} from "./close.ts";
import { CloseCode, DEFAULTS, MAX_CONTROL_PAYLOAD, Opcode, ReadyState } from "./constants.ts";
import {
  ArgumentError,
  type CloseFrame,
  type CloseInfo,
  HandshakeError,
  InvalidStateError,
  type ProtocolError,
  type WebSocketError,
} from "./errors.ts";
import type { ClientExtensionFactory, Extension } from "./extensions.ts";
import { encodeFragments, encodeFrame, encodeTextFrame } from "./frame.ts";
import { type ControlFrameHandler, FrameReader } from "./frame_reader.ts";
import {
  buildRequest,
  checkResponse,
  generateKey,
  RefusedResponse,
  validateHeader,
  validateOffer,
  validateProtocols,
  validateRequestTarget,
} from "./handshake.ts";
import { type HttpLimits, type HttpResponse, HttpResponseParser } from "./http11.ts";
import { MaskKeyPool, type RandomSource, sharedMaskKeyPool, webCryptoRandom } from "./mask.ts";
import { MessageAssembler, type MessageSink } from "./message.ts";
import { type OutgoingCompression, PerMessageDeflate } from "./permessage_deflate.ts";
import type { WholeUtf8Validator } from "./utf8.ts";

// Defined with the constants (the browser build uses them without this state machine).
export { ReadyState } from "./constants.ts";

/** Events produced by {@linkcode ClientProtocol}. */
export type ProtocolEvent =
  /** The handshake succeeded. */
  | { type: "open"; response: HttpResponse; protocol: string; extensions: string }
  /** A complete message: text as a string, binary as bytes; `size`: payload bytes, decompressed. */
  | { type: "message"; data: string | Uint8Array; size: number }
  /** A ping arrived (the pong reply is already queued). */
  | { type: "ping"; data: Uint8Array }
  /** A pong arrived. */
  | { type: "pong"; data: Uint8Array }
  /** The server's close frame arrived (the reply, if owed, is already queued). */
  | { type: "close"; code: number; reason: string }
  /** The connection failed: a handshake or protocol error, or `fail()` was called. */
  | { type: "error"; error: WebSocketError };

/** Options of {@linkcode ClientProtocol}. */
export interface ClientProtocolOptions extends HttpLimits {
  /** Host header value (host plus ":port" when not the default port). */
  host: string;
  /** Resource name: path and query, starting with "/". */
  path: string;
  /** Extra request headers. */
  headers?: Iterable<readonly [string, string]>;
  /** Subprotocols to offer. */
  protocols?: readonly string[];
  /** Extensions to offer, e.g. permessage-deflate. */
  extensions?: readonly ClientExtensionFactory[];
  /** Largest message accepted, after decompression. Default 64 MiB. */
  maxMessageSize?: number;
  /** Most frames one message may have. Default 131,072. */
  maxFragments?: number;
  /** Random source for the key and mask keys. Default `crypto.getRandomValues`. */
  random?: RandomSource;
  /**
   * A native validator of whole UTF-8 inputs (`isUtf8` of `node:buffer`), used on the pieces of
   * text that spans reads. Default: the core's own, in JavaScript (64 KiB of ASCII: 40 us on Deno
   * 2.9, 62 us on Node 20, 446 us on Bun 1.4, against 1.0-3.3 us for `isUtf8`).
   */
  isUtf8?: WholeUtf8Validator;
}

/** Options of one outgoing message. */
export interface SendOptions {
  /** False to leave the message open and continue it with `sendContinuation`. Default true. */
  fin?: boolean;
  /** Split the payload into frames of at most this many bytes (0: one frame). Default 0. */
  fragmentSize?: number;
  /** The payload is already compressed by the negotiated extension: set RSV1. */
  compressed?: boolean;
}

const EMPTY = new Uint8Array(0);

/**
 * Shared empty lists, never written: what a protocol holds when it has no request headers, no
 * offers (both dropped once the request is built) or no extensions in effect (~100 B less per
 * idle connection than an empty array each).
 */
const NO_HEADERS: Array<readonly [string, string]> = [];
const NO_OFFERS: string[] = [];
const NO_EXTENSIONS: Extension[] = [];
/** The event and write queues between batches (never written; the next push makes a list). */
const NO_EVENTS: ProtocolEvent[] = [];
const NO_WRITES: Uint8Array[] = [];

/** Most pongs queued in one batch of writes before only the latest ping is answered. */
const MAX_QUEUED_PONGS = 16;

/** Bits of `ClientProtocol#messageState`. */
const MESSAGES_PENDING = 1;
const MESSAGES_IN_FLIGHT = 2;

/** What `ClientProtocol` needs only until the handshake ends. */
interface HandshakeState {
  readonly options: ClientProtocolOptions;
  readonly maxMessageSize: number;
  readonly maxFragments: number;
  /** Validated request headers, until the request is built. */
  headers: Array<readonly [string, string]>;
  /** The extension offers, checked, until the request is built. */
  offers: string[];
  /**
   * Reads the response head, from the request's queuing (`sendRequest`) until the head is
   * complete; then, for a refusal, `refused` reads its body. One of the two is set from the
   * request on, for as long as this state is kept.
   */
  http: HttpResponseParser | undefined;
  /** The body of a refused handshake, being read for the error report. */
  refused: RefusedResponse | undefined;
}

const enum Phase {
  /** Reading the HTTP response head. */
  HEAD,
  /** Reading the body of a refused handshake (bounded). */
  ERROR_BODY,
  /** Reading frames. */
  FRAMES,
  /** Ignoring input: after a close frame or a failure (RFC 6455 §7.1.7). */
  DISCARD,
}

/** The sans-I/O client protocol. See the module documentation for the call order. */
export class ClientProtocol {
  /** Current state, WHATWG-compatible. */
  state: ReadyState = ReadyState.CONNECTING;
  /** The first error that failed the connection, if any. */
  failure: WebSocketError | undefined;
  /** The server's response head, once received. */
  response: HttpResponse | undefined;
  /** The subprotocol chosen by the server ("" for none). */
  protocol = "";
  /** Extensions in effect. */
  extensions: Extension[] = NO_EXTENSIONS;
  /** The close frame sent, if any. */
  closeSent: CloseFrame | undefined;
  /** The close frame received, if any. */
  closeReceived: CloseFrame | undefined;
  /** Whether the server's close frame came before ours. */
  closeReceivedFirst = false;
  /** Whether the server ended the TCP stream. */
  eofReceived = false;

  /**
   * What only the handshake needs, in one object dropped when it ends (opened, refused or
   * failed): eight fields of their own would cost 56 B more for every open connection.
   */
  #handshake: HandshakeState | undefined;
  readonly #key: string;
  readonly #keys: MaskKeyPool;

  /** {@linkcode NO_EVENTS} when empty: push with `#event`. */
  #events: ProtocolEvent[] = NO_EVENTS;
  /** {@linkcode NO_WRITES} when empty: push with `#write`. */
  #writes: Uint8Array[] = NO_WRITES;
  /** Pongs in `#writes` (not yet taken), and the index of the last one. */
  #pongsQueued = 0;
  #lastPong = -1;
  #phase = Phase.HEAD;

  /** Reads frames once the handshake succeeded: data frames to `#messages`, the rest here. */
  #reader: FrameReader | undefined;
  /** Joins data frames into messages once the handshake succeeded. */
  #messages: MessageAssembler | undefined;
  /**
   * Where the reader and the assembler send control frames, complete messages and refusals: a
   * small object of the nested class below, which alone reaches the private state without a
   * public handler on this class. One object with one field per connection, made with the
   * reader: three arrow functions and their object cost ~170 B more per idle connection.
   */
  static readonly #Handlers = class implements ControlFrameHandler, MessageSink {
    readonly #protocol: ClientProtocol;
    constructor(protocol: ClientProtocol) {
      this.#protocol = protocol;
    }
    controlFrame(opcode: number, payload: Uint8Array): boolean {
      return this.#protocol.#controlFrame(opcode, payload);
    }
    message(data: string | Uint8Array, size: number): void {
      const protocol = this.#protocol;
      protocol.#event({ type: "message", data, size });
      protocol.#messageState |= MESSAGES_PENDING;
    }
    error(error: ProtocolError): void {
      this.#protocol.#failPeer(error);
    }
  };

  /** The negotiated permessage-deflate, when it can compress. */
  #compression: PerMessageDeflate | undefined;

  // Outgoing fragmented message in progress (0 when none).
  #sendingOpcode = 0;

  /**
   * {@linkcode MESSAGES_PENDING}: message events produced and not yet taken by `takeEvents`;
   * {@linkcode MESSAGES_IN_FLIGHT}: taken but, the driver says, not yet handled
   * (`messagesInFlight`). Bits of one field, not two booleans: 8 B less per connection.
   */
  #messageState = 0;
  /** The effect of a close frame or a peer error, waiting until earlier messages are handled. */
  #held: (() => void) | undefined;

  /**
   * A blank instance kept for the life of the process, made with the first one. V8 sizes a
   * class's objects once, at its 7th construction, from the shapes of the objects then alive
   * ("in-object slack tracking"); when none is (a few connections opened and closed, then a GC),
   * every later object gets no in-object fields, and past 12 class fields an object falls into
   * dictionary mode: measured on Node 20, a 1.6 KiB property dictionary per idle connection
   * instead of 272 B of in-object fields, and slower field access on every frame.
   */
  static #shapeKeeper: ClientProtocol | null | undefined;

  /** Checks the options. @throws {ArgumentError} for invalid headers, subprotocols or limits. */
  constructor(options: ClientProtocolOptions) {
    if (ClientProtocol.#shapeKeeper === undefined) {
      ClientProtocol.#shapeKeeper = null; // the keeper itself makes none
      ClientProtocol.#shapeKeeper = new ClientProtocol({ host: "localhost", path: "/" });
    }
    const random = options.random ?? webCryptoRandom;
    this.#key = generateKey(random);
    // A random source given for tests gets its own pool; the default one is shared.
    this.#keys = options.random ? new MaskKeyPool(random) : sharedMaskKeyPool();
    const maxMessageSize = positiveInteger(
      options.maxMessageSize ?? DEFAULTS.maxMessageSize,
      "maxMessageSize",
    );
    const maxFragments = positiveInteger(
      options.maxFragments ?? DEFAULTS.maxFragments,
      "maxFragments",
    );
    let headers: Array<readonly [string, string]> = NO_HEADERS;
    for (const [name, value] of options.headers ?? []) {
      validateHeader(name, value);
      if (headers === NO_HEADERS) headers = [];
      headers.push([name, value]);
    }
    validateProtocols(options.protocols ?? []);
    validateRequestTarget(options.host, options.path);
    // Asked for here, not in sendRequest, so that a bad offer throws where misuse is reported.
    const offers = (options.extensions ?? []).map((f) => {
      const offer = f.offer();
      validateOffer(offer);
      return offer;
    });
    this.#handshake = {
      options,
      maxMessageSize,
      maxFragments,
      headers,
      offers,
      http: undefined,
      refused: undefined,
    };
  }

  /** The `Sec-WebSocket-Key` sent in the request. */
  get key(): string {
    return this.#key;
  }

  /**
   * How outgoing messages are compressed: the negotiated permessage-deflate when it can compress
   * (its client window is at least 9 bits), else undefined. The driver deflates the messages
   * `shouldCompress` picks and sends them with `compressed: true`.
   */
  get compression(): OutgoingCompression | undefined {
    return this.#compression;
  }

  /**
   * How the connection ended (or stands): the close frame received (1006 when none came), whether
   * both close frames were exchanged, and the error that failed it (`error`, else `failure`).
   */
  closeInfo(error?: WebSocketError): CloseInfo {
    const received = this.closeReceived;
    const sent = this.closeSent;
    return {
      code: received?.code ?? CloseCode.ABNORMAL_CLOSURE,
      reason: received?.reason ?? "",
      wasClean: received !== undefined && sent !== undefined,
      received,
      sent,
      error: error ?? this.failure,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Outputs.

  /** Returns and forgets the events produced since the last call. */
  takeEvents(): ProtocolEvent[] {
    const events = this.#events;
    this.#messageState &= ~MESSAGES_PENDING;
    if (events.length === 0) return events;
    this.#events = NO_EVENTS;
    return events;
  }

  /** Whether `resume()` has something to apply. */
  get held(): boolean {
    return this.#held !== undefined;
  }

  /**
   * Applies what a close frame or a bad frame called for, once the messages that arrived before
   * it have been taken and handled (returns true if there was something to apply; call
   * `takeEvents` and `takeWrites` again then).
   *
   * Why: when one read holds a message and then a close frame or a protocol violation, the
   * application must see the message, and may answer it, before the connection starts closing,
   * as if the frames had arrived one by one (Autobahn 3.2, 4.1.3, 5.15 and others check that the
   * echo of the message precedes the close). `receiveData` and `receiveEof` call it first, so a
   * driver that never calls it still applies everything in order.
   */
  resume(): boolean {
    const held = this.#held;
    if (!held) return false;
    this.#held = undefined;
    held();
    return true;
  }

  /**
   * Says that the message events taken so far are still on their way to the application, until
   * `messagesHandled()`: a close frame or a bad frame that comes meanwhile, even in a later
   * chunk, waits for `resume()` as it does behind messages of its own chunk.
   *
   * Why: a driver that delivers messages to iterators resolves promises, and the application
   * runs in later microtasks; a socket whose next read is already done (Deno over TLS, a byte
   * at a time) can hand over the next chunk first. Autobahn 3.3 through a TLS terminator saw
   * the close frame leave before the echo of the message before it.
   */
  messagesInFlight(): void {
    this.#messageState |= MESSAGES_IN_FLIGHT;
  }

  /** The application has had its turn with the messages taken (see `messagesInFlight`). */
  messagesHandled(): void {
    this.#messageState &= ~MESSAGES_IN_FLIGHT;
  }

  /** Applies `effect` now, or after the pending message events have been handled. */
  #afterMessages(effect: () => void): void {
    if (this.#messageState !== 0) {
      this.#held = effect;
      this.#phase = Phase.DISCARD; // nothing after this frame is processed anyway
    } else {
      effect();
    }
  }

  /** Returns and forgets the bytes to write to the socket, in order. */
  takeWrites(): Uint8Array[] {
    const writes = this.#writes;
    if (writes.length === 0) return writes;
    this.#writes = NO_WRITES;
    this.#pongsQueued = 0;
    this.#lastPong = -1;
    return writes;
  }

  #event(event: ProtocolEvent): void {
    if (this.#events === NO_EVENTS) this.#events = [event];
    else this.#events.push(event);
  }

  #write(bytes: Uint8Array): void {
    if (this.#writes === NO_WRITES) this.#writes = [bytes];
    else this.#writes.push(bytes);
  }

  /** Whether the bytes queued by `takeWrites` are not yet taken. */
  get hasWrites(): boolean {
    return this.#writes.length > 0;
  }

  /**
   * Whether the driver should now wait for the server to end the TCP connection: both close
   * frames were exchanged, or the connection was failed. RFC 6455 §7.1.1: the server closes TCP
   * first; the client waits, then closes it itself after a timeout.
   */
  closeExpected(): boolean {
    return this.state === ReadyState.CLOSING &&
      (this.#phase === Phase.DISCARD || this.closeReceived !== undefined);
  }

  // ---------------------------------------------------------------------------------------------
  // Handshake.

  /** Queues the opening request. Call once, first. */
  sendRequest(): void {
    const handshake = this.#handshake;
    if (!handshake) throw new InvalidStateError("NOT_CONNECTING", "the handshake is over");
    if (handshake.http !== undefined || handshake.refused !== undefined) {
      throw new InvalidStateError("NOT_CONNECTING", "request already sent");
    }
    const options = handshake.options;
    this.#write(buildRequest({
      host: options.host,
      path: options.path,
      key: this.#key,
      headers: handshake.headers,
      protocols: options.protocols,
      extensions: handshake.offers,
    }));
    handshake.headers = NO_HEADERS;
    handshake.offers = NO_OFFERS;
    handshake.http = new HttpResponseParser(options);
  }

  #receiveHead(handshake: HandshakeState, chunk: Uint8Array): Uint8Array | undefined {
    let response: HttpResponse | undefined;
    try {
      response = handshake.http!.push(chunk);
    } catch (error) {
      this.#failHandshake(error as HandshakeError);
      return undefined;
    }
    if (!response) return undefined;
    const rest = handshake.http!.rest;
    handshake.http = undefined;
    this.response = response;
    if (response.status !== 101) {
      handshake.refused = new RefusedResponse(response, this.#key);
      this.#phase = Phase.ERROR_BODY;
      this.#receiveErrorBody(rest);
      return undefined;
    }
    try {
      const result = checkResponse(response, {
        key: this.#key,
        protocols: handshake.options.protocols,
        extensionFactories: handshake.options.extensions,
      });
      this.#handshake = undefined;
      this.protocol = result.protocol;
      if (result.extensions.length > 0) this.extensions = result.extensions;
      const extension = result.extensions.find((e) => e.rsvBits !== 0);
      const handlers = new ClientProtocol.#Handlers(this);
      this.#messages = new MessageAssembler(handlers, {
        maxMessageSize: handshake.maxMessageSize,
        maxFragments: handshake.maxFragments,
        extension,
        isUtf8: handshake.options.isUtf8,
      });
      this.#reader = new FrameReader(this.#messages, handlers, {
        rsvBits: extension?.rsvBits ?? 0,
      });
      const deflate = result.extensions.find((e) => e instanceof PerMessageDeflate);
      if (deflate?.canCompress) this.#compression = deflate;
    } catch (error) {
      this.#failHandshake(error as HandshakeError);
      return undefined;
    }
    this.state = ReadyState.OPEN;
    this.#phase = Phase.FRAMES;
    this.#event({
      type: "open",
      response,
      protocol: this.protocol,
      extensions: this.extensions.map((e) => e.header).join(", "),
    });
    return rest;
  }

  #receiveErrorBody(chunk: Uint8Array): void {
    const refused = this.#handshake!.refused!;
    refused.push(chunk);
    if (refused.complete) this.#refuse();
  }

  #refuse(): void {
    const error = this.#handshake!.refused!.error();
    this.#handshake = undefined;
    if (error !== undefined) this.#failHandshake(error);
  }

  #failHandshake(error: HandshakeError): void {
    if (!(error instanceof HandshakeError)) throw error; // a bug, not peer input
    this.failure ??= error;
    this.state = ReadyState.CLOSED;
    this.#phase = Phase.DISCARD;
    this.#handshake = undefined;
    this.#event({ type: "error", error });
  }

  // ---------------------------------------------------------------------------------------------
  // Input.

  /**
   * A buffer the next bytes from the server may be read into, for sockets that can read into a
   * given buffer: the place in the message being assembled where the rest of the current large
   * frame goes, when at least `min` bytes of it are still to come. Give what was read to
   * {@linkcode ClientProtocol.receiveData} as a view of that buffer (no more than its length):
   * those bytes are then not copied again. `undefined` when there is no such place.
   */
  readTarget(min: number): Uint8Array | undefined {
    if (this.#phase !== Phase.FRAMES) return undefined;
    const remaining = this.#reader!.dataRemaining;
    if (remaining < min) return undefined;
    return this.#messages!.readTarget(remaining);
  }

  /** Processes bytes received from the server. Never throws on bad input from the peer. */
  receiveData(chunk: Uint8Array): void {
    this.resume();
    if (chunk.length === 0) return;
    switch (this.#phase) {
      case Phase.HEAD: {
        const handshake = this.#handshake;
        if (!handshake?.http) {
          throw new InvalidStateError("NOT_CONNECTING", "sendRequest() not called");
        }
        const rest = this.#receiveHead(handshake, chunk);
        if (rest !== undefined && rest.length > 0) this.#reader!.read(rest);
        return;
      }
      case Phase.ERROR_BODY:
        this.#receiveErrorBody(chunk);
        return;
      case Phase.FRAMES:
        this.#reader!.read(chunk);
        return;
      case Phase.DISCARD:
        return;
    }
  }

  /** Processes the end of the server's byte stream. Idempotent. */
  receiveEof(): void {
    this.resume();
    if (this.eofReceived) return;
    this.eofReceived = true;
    if (this.#phase === Phase.HEAD && this.state === ReadyState.CONNECTING) {
      this.#failHandshake(
        new HandshakeError(
          "HANDSHAKE_INTERRUPTED",
          "connection closed before the handshake response was complete",
        ),
      );
    } else if (this.#phase === Phase.ERROR_BODY) {
      this.#refuse();
    }
    this.#phase = Phase.DISCARD;
    this.state = ReadyState.CLOSED;
  }

  #controlFrame(opcode: number, payload: Uint8Array): boolean {
    if (opcode === Opcode.PING) {
      // RFC 6455 §5.5.2: answer with a pong carrying the same data, unless closing.
      if (this.closeSent === undefined) {
        const pong = encodeFrame(Opcode.PONG, payload, { fin: true, rsv1: false }, this.#keys);
        // RFC 6455 §5.5.3: an endpoint that has not yet sent the pongs of earlier pings MAY
        // answer only the most recent one. Past MAX_QUEUED_PONGS untaken pongs, the newest
        // replaces the last, so a ping flood costs at most that many pongs per read (the Autobahn
        // cases 2.x send up to 10 pings at once and expect every pong).
        if (this.#pongsQueued >= MAX_QUEUED_PONGS) {
          this.#writes[this.#lastPong] = pong;
        } else {
          this.#write(pong);
          this.#lastPong = this.#writes.length - 1;
          this.#pongsQueued++;
        }
      }
      this.#event({ type: "ping", data: payload });
      return true;
    }
    if (opcode === Opcode.PONG) {
      this.#event({ type: "pong", data: payload });
      return true;
    }
    // Close frame.
    let frame: { code: number; reason: string };
    try {
      frame = parseClosePayload(payload);
    } catch (error) {
      this.#failPeer(error as ProtocolError);
      return false;
    }
    // Nothing may follow a close frame; ignore whatever does.
    this.#phase = Phase.DISCARD;
    this.#afterMessages(() => {
      this.closeReceived = frame;
      this.#event({ type: "close", code: frame.code, reason: frame.reason });
      if (this.closeSent === undefined) {
        // RFC 6455 §5.5.1: reply with a close frame, echoing the status code ("an endpoint MAY
        // delay sending a Close frame until its current message is sent").
        this.closeReceivedFirst = true;
        this.#queueClose(frame.code, "");
      }
      if (this.state === ReadyState.OPEN) this.state = ReadyState.CLOSING;
    });
    return false;
  }

  /** Fails the connection for the peer's bad input, after earlier messages are handled. */
  #failPeer(error: ProtocolError): void {
    this.#afterMessages(() => this.#fail(error));
  }

  /**
   * RFC 6455 §7.1.7 "Fail the WebSocket Connection": send a close frame with the error's code
   * (if none was sent yet), then process no more input. The client then waits for the server to
   * close TCP (`closeExpected()`).
   */
  #fail(error: ProtocolError | WebSocketError, closeCode?: number, reason?: string): void {
    this.failure ??= error;
    this.#event({ type: "error", error });
    if (this.state === ReadyState.CONNECTING) {
      this.state = ReadyState.CLOSED;
    } else if (this.state !== ReadyState.CLOSED) {
      if (this.closeSent === undefined) {
        const code = closeCode ?? (error as ProtocolError).closeCode ?? CloseCode.INTERNAL_ERROR;
        this.#queueClose(code, reason ?? truncateReason(error.message));
      }
      this.state = ReadyState.CLOSING;
    }
    this.#phase = Phase.DISCARD;
    this.#messages?.reset();
  }

  // ---------------------------------------------------------------------------------------------
  // Commands.

  /**
   * Sends a text message (or its first fragment with `fin: false`). A `Uint8Array` must already
   * hold UTF-8 text. Returns the payload's size in bytes (as framed: compressed, if it was).
   *
   * @throws {InvalidStateError} `NOT_OPEN` unless the connection is open.
   */
  sendText(data: string | Uint8Array, options?: SendOptions): number {
    return this.#sendMessage(Opcode.TEXT, data, options);
  }

  /**
   * Sends a binary message (or its first fragment with `fin: false`). Returns the payload's size
   * in bytes.
   *
   * @throws {InvalidStateError} `NOT_OPEN` unless the connection is open.
   */
  sendBinary(data: Uint8Array, options?: SendOptions): number {
    return this.#sendMessage(Opcode.BINARY, data, options);
  }

  /**
   * Sends the next fragment of a message started with `fin: false`.
   *
   * @throws {InvalidStateError} `NOT_OPEN` unless the connection is open and a message is open.
   */
  sendContinuation(data: Uint8Array, options?: { fin?: boolean }): void {
    this.#checkOpen();
    if (this.#sendingOpcode === 0) {
      throw new InvalidStateError("NOT_OPEN", "no fragmented message to continue");
    }
    const fin = options?.fin ?? true;
    this.#write(encodeFrame(Opcode.CONTINUATION, data, { fin, rsv1: false }, this.#keys));
    if (fin) this.#sendingOpcode = 0;
  }

  #sendMessage(opcode: number, data: string | Uint8Array, options?: SendOptions): number {
    this.#checkOpen();
    if (this.#sendingOpcode !== 0) {
      throw new InvalidStateError("NOT_OPEN", "a fragmented message is unfinished");
    }
    const fin = options?.fin ?? true;
    const rsv1 = options?.compressed ?? false;
    const fragmentSize = options?.fragmentSize ?? 0;
    if (typeof data === "string") {
      if (fragmentSize <= 0 || data.length * 3 <= fragmentSize) {
        const frame = encodeTextFrame(data, { fin, rsv1 }, this.#keys);
        this.#write(frame);
        if (!fin) this.#sendingOpcode = opcode;
        // The UTF-8 length, read back from the header (RFC 6455 §5.2: 7-bit, 16-bit or 64-bit).
        const length7 = frame[1] & 0x7f;
        return frame.length - (length7 < 126 ? 6 : length7 === 126 ? 8 : 14);
      }
      data = new TextEncoder().encode(data);
    }
    if (fragmentSize > 0 && data.length > fragmentSize) {
      for (const frame of encodeFragments(opcode, data, { fin, rsv1, fragmentSize }, this.#keys)) {
        this.#write(frame);
      }
    } else {
      this.#write(encodeFrame(opcode, data, { fin, rsv1 }, this.#keys));
    }
    if (!fin) this.#sendingOpcode = opcode;
    return data.length;
  }

  /**
   * Sends a ping.
   *
   * @throws {ArgumentError} `CONTROL_PAYLOAD_TOO_BIG` above 125 bytes.
   * @throws {InvalidStateError} `NOT_OPEN` unless the connection is open.
   */
  sendPing(data: Uint8Array = EMPTY): void {
    this.#sendControl(Opcode.PING, data);
  }

  /**
   * Sends an unsolicited pong (a unidirectional heartbeat, RFC 6455 §5.5.3).
   *
   * @throws {ArgumentError} `CONTROL_PAYLOAD_TOO_BIG` above 125 bytes.
   * @throws {InvalidStateError} `NOT_OPEN` unless the connection is open.
   */
  sendPong(data: Uint8Array = EMPTY): void {
    this.#sendControl(Opcode.PONG, data);
  }

  #sendControl(opcode: number, data: Uint8Array): void {
    if (data.length > MAX_CONTROL_PAYLOAD) {
      throw new ArgumentError(
        "CONTROL_PAYLOAD_TOO_BIG",
        `control frame payload of ${data.length} bytes exceeds 125`,
      );
    }
    this.#checkOpen();
    this.#write(encodeFrame(opcode, data, { fin: true, rsv1: false }, this.#keys));
  }

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2). Without a code the close frame is empty
   * (the server sees 1005).
   *
   * @throws {ArgumentError} `INVALID_CLOSE_CODE` unless 1000 or 3000–4999; `INVALID_CLOSE_REASON`
   * when the reason is longer than 123 UTF-8 bytes.
   * @throws {InvalidStateError} `NOT_OPEN` unless the connection is open.
   */
  sendClose(code?: number, reason = ""): void {
    validateCloseArguments(code, reason);
    this.#checkOpen();
    this.#queueClose(code ?? CloseCode.NO_STATUS_RECEIVED, reason);
    this.state = ReadyState.CLOSING;
  }

  /**
   * Fails the connection from the driver's side (e.g. a keepalive timeout): sends a close frame
   * with `code` (if none was sent yet), records `error` as the failure and ignores further input.
   */
  fail(error: WebSocketError, code: number = CloseCode.INTERNAL_ERROR, reason?: string): void {
    if (this.state === ReadyState.CLOSED) return;
    this.#fail(error, code, reason ?? truncateReason(error.message));
  }

  #queueClose(code: number, reason: string): void {
    this.closeSent = { code, reason };
    this.#write(
      encodeFrame(
        Opcode.CLOSE,
        encodeClosePayload(code, reason),
        { fin: true, rsv1: false },
        this.#keys,
      ),
    );
  }

  #checkOpen(): void {
    if (this.state !== ReadyState.OPEN) {
      throw new InvalidStateError(
        "NOT_OPEN",
        `connection is ${["connecting", "open", "closing", "closed"][this.state]}`,
      );
    }
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ArgumentError("INVALID_OPTION", `${name} must be a positive integer, got ${value}`);
  }
  return value;
}
