/**
 * `ClientProtocol`: the sans-I/O WebSocket client state machine.
 *
 * Bytes in (`receiveData`, `receiveEof`), commands in (`sendText`, `sendBinary`, `sendPing`,
 * `sendClose`, `fail`, ...), events and bytes out (`takeEvents`, `takeWrites`). No sockets,
 * timers or promises: the driver (see `src/client/client.ts`) owns those. Peer errors never throw out of
 * `receiveData`; they become a close frame with the right code and a recorded `failure`. Misuse
 * (sending while not open, a bad close code) throws.
 *
 * Call order for a driver:
 * 1. `sendRequest()`, then write out `takeWrites()`;
 * 2. for each chunk read: `receiveData(chunk)`, handle `takeEvents()` (the application may send
 *    in response), call `resume()` and if it returns true handle `takeEvents()` again, then write
 *    out `takeWrites()`; at end of stream `receiveEof()` likewise;
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
  CloseCode,
  DEFAULTS,
  MAX_CLOSE_REASON_BYTES,
  MAX_CONTROL_PAYLOAD,
  Opcode,
} from "./constants.ts";
import {
  ArgumentError,
  type CloseFrame,
  HandshakeError,
  InvalidStateError,
  ProtocolError,
  type WebSocketError,
} from "./errors.ts";
import type { ClientExtensionFactory, Extension } from "./extensions.ts";
import { encodeClosePayload, encodeFrame, encodeTextFrame, parseClosePayload } from "./frame.ts";
import {
  buildRequest,
  checkResponse,
  generateKey,
  validateHeader,
  validateProtocols,
} from "./handshake.ts";
import { type HttpLimits, type HttpResponse, HttpResponseParser } from "./http11.ts";
import { MaskKeyPool, type RandomSource, sharedMaskKeyPool, webCryptoRandom } from "./mask.ts";
import { decodeUtf8, Utf8StreamDecoder } from "./utf8.ts";

/** WHATWG `readyState` values. */
export const ReadyState = {
  CONNECTING: 0,
  OPEN: 1,
  CLOSING: 2,
  CLOSED: 3,
} as const;

/** One of the four {@linkcode ReadyState} values. */
export type ReadyState = typeof ReadyState[keyof typeof ReadyState];

/** Events produced by {@linkcode ClientProtocol}. */
export type ProtocolEvent =
  /** The handshake succeeded. */
  | { type: "open"; response: HttpResponse; protocol: string; extensions: string }
  /** A complete message: text as a string, binary as bytes. */
  | { type: "message"; data: string | Uint8Array }
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

/** Below this size a fragmented message's buffer is allocated at its final size up front. */
const PREALLOCATE_LIMIT = 1024 * 1024;

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
  extensions: Extension[] = [];
  /** The close frame sent, if any. */
  closeSent: CloseFrame | undefined;
  /** The close frame received, if any. */
  closeReceived: CloseFrame | undefined;
  /** Whether the server's close frame came before ours. */
  closeReceivedFirst = false;
  /** Whether the server ended the TCP stream. */
  eofReceived = false;

  /** Needed until the handshake is over, then released. */
  #options: ClientProtocolOptions | undefined;
  readonly #key: string;
  readonly #keys: MaskKeyPool;
  readonly #maxMessageSize: number;
  readonly #maxFragments: number;
  /** Validated request headers, until the request is built. */
  #headers: Array<readonly [string, string]> = [];

  #events: ProtocolEvent[] = [];
  #writes: Uint8Array[] = [];
  #phase = Phase.HEAD;
  #http: HttpResponseParser | undefined;
  #errorBody: { response: HttpResponse; body: Uint8Array; length: number } | undefined;
  #requestSent = false;

  // Frame parser state.
  /** A frame header split across reads is gathered here (allocated the first time). */
  #header: Uint8Array = EMPTY;
  #headerLength = 0;
  #inFrame = false;
  #frameFin = false;
  #frameOpcode = 0;
  #frameRemaining = 0;
  /** Payload of the control frame being read (allocated with the first control frame). */
  #control: Uint8Array = EMPTY;
  #controlLength = 0;

  // Message assembly state; #messageOpcode is 0 between messages.
  #messageOpcode = 0;
  #messageCompressed = false;
  #messageFragments = 0;
  #messageSize = 0;
  #messageBuffer: Uint8Array = EMPTY;
  /** A whole message that arrived in one piece, handed out without a copy. */
  #messageView: Uint8Array | undefined;
  /** The text message is decoded piece by piece (it did not arrive whole in one read). */
  #streamText = false;
  /** What the streaming decoder produced so far for the current text message. */
  #text = "";
  /** Validates and decodes each piece of such a message as it arrives (made on use). */
  #streamDecoder: Utf8StreamDecoder | undefined;
  #extension: Extension | undefined;

  // Outgoing fragmented message in progress (0 when none).
  #sendingOpcode = 0;

  /** Message events produced and not yet taken by `takeEvents`. */
  #messagesPending = false;
  /** The effect of a close frame or a peer error, waiting until earlier messages are handled. */
  #held: (() => void) | undefined;

  /** Checks the options. @throws {ArgumentError} for invalid headers, subprotocols or limits. */
  constructor(options: ClientProtocolOptions) {
    this.#options = options;
    const random = options.random ?? webCryptoRandom;
    this.#key = generateKey(random);
    // A random source given for tests gets its own pool; the default one is shared.
    this.#keys = options.random ? new MaskKeyPool(random) : sharedMaskKeyPool();
    this.#maxMessageSize = positiveInteger(
      options.maxMessageSize ?? DEFAULTS.maxMessageSize,
      "maxMessageSize",
    );
    this.#maxFragments = positiveInteger(
      options.maxFragments ?? DEFAULTS.maxFragments,
      "maxFragments",
    );
    for (const [name, value] of options.headers ?? []) {
      validateHeader(name, value);
      this.#headers.push([name, value]);
    }
    validateProtocols(options.protocols ?? []);
  }

  /** The `Sec-WebSocket-Key` sent in the request. */
  get key(): string {
    return this.#key;
  }

  // ---------------------------------------------------------------------------------------------
  // Outputs.

  /** Returns and forgets the events produced since the last call. */
  takeEvents(): ProtocolEvent[] {
    const events = this.#events;
    this.#messagesPending = false;
    if (events.length === 0) return events;
    this.#events = [];
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

  /** Applies `effect` now, or after the pending message events have been handled. */
  #afterMessages(effect: () => void): void {
    if (this.#messagesPending) {
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
    this.#writes = [];
    return writes;
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
    if (this.#requestSent) throw new InvalidStateError("NOT_CONNECTING", "request already sent");
    this.#requestSent = true;
    const options = this.#options!;
    const offers = (options.extensions ?? []).map((f) => f.offer());
    this.#writes.push(buildRequest({
      host: options.host,
      path: options.path,
      key: this.#key,
      headers: this.#headers,
      protocols: options.protocols,
      extensions: offers,
    }));
    this.#headers = [];
    this.#http = new HttpResponseParser(options);
  }

  #receiveHead(chunk: Uint8Array): Uint8Array | undefined {
    let response: HttpResponse | undefined;
    try {
      response = this.#http!.push(chunk);
    } catch (error) {
      this.#failHandshake(error as HandshakeError);
      return undefined;
    }
    if (!response) return undefined;
    const rest = this.#http!.rest;
    this.#http = undefined;
    this.response = response;
    if (response.status !== 101) {
      // Keep a bounded part of the body for the error report, when its length is announced.
      const announced = Number(response.headers["content-length"] ?? "0");
      const wanted = Number.isSafeInteger(announced) && announced > 0
        ? Math.min(announced, DEFAULTS.maxErrorBodySize)
        : 0;
      this.#errorBody = { response, body: new Uint8Array(wanted), length: 0 };
      this.#phase = Phase.ERROR_BODY;
      this.#receiveErrorBody(rest);
      return undefined;
    }
    try {
      const result = checkResponse(response, {
        key: this.#key,
        protocols: this.#options!.protocols,
        extensionFactories: this.#options!.extensions,
      });
      this.#options = undefined;
      this.protocol = result.protocol;
      this.extensions = result.extensions;
      this.#extension = result.extensions.find((e) => e.rsvBits !== 0);
    } catch (error) {
      this.#failHandshake(error as HandshakeError);
      return undefined;
    }
    this.state = ReadyState.OPEN;
    this.#phase = Phase.FRAMES;
    this.#events.push({
      type: "open",
      response,
      protocol: this.protocol,
      extensions: this.extensions.map((e) => e.header).join(", "),
    });
    return rest;
  }

  #receiveErrorBody(chunk: Uint8Array): void {
    const e = this.#errorBody!;
    const take = Math.min(chunk.length, e.body.length - e.length);
    e.body.set(chunk.subarray(0, take), e.length);
    e.length += take;
    if (e.length === e.body.length) this.#refuse();
  }

  #refuse(): void {
    const { response, body, length } = this.#errorBody!;
    this.#errorBody = undefined;
    try {
      checkResponse(response, { key: this.#key }, body.subarray(0, length));
    } catch (error) {
      this.#failHandshake(error as HandshakeError);
    }
  }

  #failHandshake(error: HandshakeError): void {
    if (!(error instanceof HandshakeError)) throw error; // a bug, not peer input
    this.failure ??= error;
    this.state = ReadyState.CLOSED;
    this.#phase = Phase.DISCARD;
    this.#http = undefined;
    this.#events.push({ type: "error", error });
  }

  // ---------------------------------------------------------------------------------------------
  // Input.

  /** Processes bytes received from the server. Never throws on bad input from the peer. */
  receiveData(chunk: Uint8Array): void {
    this.resume();
    if (chunk.length === 0) return;
    switch (this.#phase) {
      case Phase.HEAD: {
        if (!this.#http) throw new InvalidStateError("NOT_CONNECTING", "sendRequest() not called");
        const rest = this.#receiveHead(chunk);
        if (rest !== undefined && rest.length > 0) this.#receiveFrames(rest);
        return;
      }
      case Phase.ERROR_BODY:
        this.#receiveErrorBody(chunk);
        return;
      case Phase.FRAMES:
        this.#receiveFrames(chunk);
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

  #receiveFrames(chunk: Uint8Array): void {
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      if (!this.#inFrame) {
        let used: number;
        if (this.#headerLength === 0 && (used = this.#parseHeader(chunk, pos, n - pos)) !== 0) {
          if (used < 0) return;
          pos += used;
        } else {
          // The header spans reads: gather it in #header (at most 14 bytes).
          if (this.#header.length === 0) this.#header = new Uint8Array(14);
          const before = this.#headerLength;
          const copy = Math.min(14 - before, n - pos);
          this.#header.set(chunk.subarray(pos, pos + copy), before);
          this.#headerLength = before + copy;
          used = this.#parseHeader(this.#header, 0, this.#headerLength);
          if (used < 0) return;
          if (used === 0) {
            pos += copy;
            continue;
          }
          pos += used - before;
          this.#headerLength = 0;
        }
        if (this.#frameRemaining === 0) {
          if (!this.#endFrame()) return;
        }
        continue;
      }
      // Payload bytes of the current frame.
      const take = Math.min(this.#frameRemaining, n - pos);
      const start = pos;
      pos += take;
      this.#frameRemaining -= take;
      if (this.#frameOpcode >= Opcode.CLOSE) {
        if (this.#control.length === 0) this.#control = new Uint8Array(MAX_CONTROL_PAYLOAD);
        this.#control.set(chunk.subarray(start, pos), this.#controlLength);
        this.#controlLength += take;
      } else if (!this.#dataPiece(chunk, start, pos)) {
        return;
      }
      if (this.#frameRemaining === 0 && !this.#endFrame()) return;
    }
  }

  /**
   * Parses a frame header at `buf[at..at+available)`. Returns the header length, 0 if more bytes
   * are needed, or -1 if the frame was refused (the connection is then failed).
   */
  #parseHeader(buf: Uint8Array, at: number, available: number): number {
    if (available < 2) return 0;
    const b0 = buf[at];
    const b1 = buf[at + 1];
    const len7 = b1 & 0x7f;
    const size = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
    // RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame."
    if (b1 & 0x80) {
      return this.#failFrame("MASKED_FRAME", CloseCode.PROTOCOL_ERROR, "server frame is masked");
    }
    if (available < size) return 0;

    const fin = (b0 & 0x80) !== 0;
    const rsv = b0 & 0x70;
    const opcode = b0 & 0x0f;
    let length = len7;
    if (len7 === 126) {
      length = (buf[at + 2] << 8) | buf[at + 3];
    } else if (len7 === 127) {
      const high =
        ((buf[at + 2] << 24) | (buf[at + 3] << 16) | (buf[at + 4] << 8) | buf[at + 5]) >>> 0;
      const low = ((buf[at + 6] << 24) | (buf[at + 7] << 16) | (buf[at + 8] << 8) | buf[at + 9]) >>>
        0;
      // RFC 6455 §5.2: "the most significant bit MUST be 0".
      if (high >= 0x80000000) {
        return this.#failFrame(
          "INVALID_LENGTH",
          CloseCode.PROTOCOL_ERROR,
          "64-bit payload length has its most significant bit set",
        );
      }
      length = high * 0x100000000 + low;
    }

    if (opcode >= Opcode.CLOSE) {
      // RFC 6455 §5.5: control frames.
      if (opcode > Opcode.PONG) {
        return this.#failFrame(
          "INVALID_OPCODE",
          CloseCode.PROTOCOL_ERROR,
          `reserved opcode ${opcode}`,
        );
      }
      if (rsv !== 0) {
        return this.#failFrame(
          "RESERVED_BITS",
          CloseCode.PROTOCOL_ERROR,
          "reserved bits set on a control frame",
        );
      }
      if (!fin) {
        return this.#failFrame(
          "FRAGMENTED_CONTROL_FRAME",
          CloseCode.PROTOCOL_ERROR,
          "control frames must not be fragmented",
        );
      }
      if (length > MAX_CONTROL_PAYLOAD) {
        return this.#failFrame(
          "CONTROL_FRAME_TOO_BIG",
          CloseCode.PROTOCOL_ERROR,
          `control frame payload of ${length} bytes exceeds 125`,
        );
      }
      this.#controlLength = 0;
    } else {
      if (opcode > Opcode.BINARY) {
        return this.#failFrame(
          "INVALID_OPCODE",
          CloseCode.PROTOCOL_ERROR,
          `reserved opcode ${opcode}`,
        );
      }
      if (opcode === Opcode.CONTINUATION) {
        if (this.#messageOpcode === 0) {
          return this.#failFrame(
            "UNEXPECTED_CONTINUATION",
            CloseCode.PROTOCOL_ERROR,
            "continuation frame without a message to continue",
          );
        }
        // RFC 7692 §6.1: RSV1 only on the first frame of a message.
        if (rsv !== 0) {
          return this.#failFrame(
            "RESERVED_BITS",
            CloseCode.PROTOCOL_ERROR,
            "reserved bits set on a continuation frame",
          );
        }
      } else {
        if (this.#messageOpcode !== 0) {
          return this.#failFrame(
            "EXPECTED_CONTINUATION",
            CloseCode.PROTOCOL_ERROR,
            "new data frame while a fragmented message is unfinished",
          );
        }
        // RFC 6455 §5.2: RSV bits only with an extension that defines them.
        const allowed = this.#extension?.rsvBits ?? 0;
        if ((rsv & ~allowed) !== 0) {
          return this.#failFrame(
            "RESERVED_BITS",
            CloseCode.PROTOCOL_ERROR,
            `reserved bits 0x${rsv.toString(16)} set without an extension that uses them`,
          );
        }
        this.#messageOpcode = opcode;
        this.#messageCompressed = rsv !== 0;
        this.#messageFragments = 0;
        this.#messageSize = 0;
        this.#messageView = undefined;
        this.#messageBuffer = EMPTY;
        this.#streamText = false;
      }
      // Limits are checked here, before any payload byte is buffered.
      if (++this.#messageFragments > this.#maxFragments) {
        return this.#failFrame(
          "TOO_MANY_FRAGMENTS",
          CloseCode.POLICY_VIOLATION,
          `message has more than ${this.#maxFragments} fragments`,
        );
      }
      if (this.#messageSize + length > this.#maxMessageSize) {
        return this.#failFrame(
          "MESSAGE_TOO_BIG",
          CloseCode.MESSAGE_TOO_BIG,
          `message larger than maxMessageSize (${this.#maxMessageSize} bytes)`,
        );
      }
      this.#reserve(length, fin);
    }
    this.#inFrame = true;
    this.#frameFin = fin;
    this.#frameOpcode = opcode;
    this.#frameRemaining = length;
    return size;
  }

  /**
   * Makes room in the message buffer for a frame of `length` bytes, before its payload arrives.
   *
   * A single-frame message is left alone: it may arrive whole in one chunk and be used in place,
   * which `#dataPiece` decides. Fragmented messages grow geometrically (no quadratic copying for
   * 65,536 small fragments). Frames above 1 MiB are not reserved from their header alone: the
   * buffer grows when their bytes really arrive.
   */
  #reserve(length: number, fin: boolean): void {
    if (length === 0 || length > PREALLOCATE_LIMIT) return;
    // Uncompressed text is decoded as it arrives: its bytes are never buffered.
    if (this.#messageOpcode === Opcode.TEXT && !this.#messageCompressed) return;
    const needed = this.#messageSize + length;
    if (this.#messageBuffer.length >= needed) return;
    if (this.#messageSize === 0 && fin) return;
    this.#grow(fin ? needed : this.#nextCapacity(needed));
  }

  /** Geometric growth, capped by the message size limit. */
  #nextCapacity(needed: number): number {
    return Math.min(
      Math.max(needed, this.#messageBuffer.length * 2, 4096),
      Math.max(needed, this.#maxMessageSize),
    );
  }

  #grow(size: number): void {
    const bigger = new Uint8Array(size);
    if (this.#messageSize > 0) {
      bigger.set(
        this.#messageView ?? this.#messageBuffer.subarray(0, this.#messageSize),
      );
    }
    this.#messageView = undefined;
    this.#messageBuffer = bigger;
  }

  /** Handles payload bytes `chunk[start..end)` of a data frame. Returns false on failure. */
  #dataPiece(chunk: Uint8Array, start: number, end: number): boolean {
    const size = end - start;
    if (size === 0) return true;
    if (
      this.#messageSize === 0 && this.#frameFin && this.#frameRemaining === 0 &&
      this.#messageBuffer.length === 0
    ) {
      // The whole message is in this chunk: no copy (text is validated when it ends, now).
      this.#messageView = chunk.subarray(start, end);
      this.#messageSize = size;
      return true;
    }
    if (this.#messageOpcode === Opcode.TEXT && !this.#messageCompressed) {
      // RFC 6455 §8.1 and Autobahn 6.4.x: text that spans reads is validated as it arrives, so
      // the connection fails on the read that holds an invalid byte. The streaming decoder
      // validates and decodes in one pass; the bytes themselves are not kept.
      this.#streamText = true;
      const piece = (this.#streamDecoder ??= new Utf8StreamDecoder()).push(chunk, start, end);
      if (piece !== undefined) {
        this.#text += piece;
      } else {
        this.#failFrame(
          "INVALID_UTF8",
          CloseCode.INVALID_PAYLOAD_DATA,
          "text message is not valid UTF-8",
        );
        return false;
      }
      this.#messageSize += size;
      return true;
    }
    const needed = this.#messageSize + size;
    if (this.#messageBuffer.length < needed) {
      // The last frame's end is the message's end: allocate the final size once.
      const frameEnd = needed + this.#frameRemaining;
      this.#grow(this.#frameFin ? frameEnd : this.#nextCapacity(frameEnd));
    }
    this.#messageBuffer.set(chunk.subarray(start, end), this.#messageSize);
    this.#messageSize = needed;
    return true;
  }

  /** A frame is complete (payload all read). Returns false if processing must stop. */
  #endFrame(): boolean {
    this.#inFrame = false;
    const opcode = this.#frameOpcode;
    if (opcode >= Opcode.CLOSE) return this.#controlFrame(opcode);
    if (!this.#frameFin) return true;
    return this.#endMessage();
  }

  #endMessage(): boolean {
    const opcode = this.#messageOpcode;
    let data = this.#messageView ??
      (this.#messageSize === this.#messageBuffer.length
        ? this.#messageBuffer
        : this.#messageBuffer.subarray(0, this.#messageSize));
    this.#messageOpcode = 0;
    this.#messageView = undefined;
    this.#messageBuffer = EMPTY;
    if (this.#messageCompressed) {
      try {
        data = this.#extension!.decodeMessage(data, this.#maxMessageSize);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        this.#failPeer(error);
        return false;
      }
    }
    if (opcode === Opcode.TEXT) {
      let text: string | undefined;
      if (this.#streamText) {
        this.#streamText = false;
        const rest = this.#streamDecoder!.end(); // undefined for a truncated code point
        if (rest !== undefined) text = this.#text + rest;
        this.#text = "";
      } else {
        text = decodeUtf8(data);
      }
      if (text === undefined) {
        this.#failFrame(
          "INVALID_UTF8",
          CloseCode.INVALID_PAYLOAD_DATA,
          "text message is not valid UTF-8",
        );
        return false;
      }
      this.#events.push({ type: "message", data: text });
    } else {
      this.#events.push({ type: "message", data });
    }
    this.#messagesPending = true;
    return true;
  }

  #controlFrame(opcode: number): boolean {
    const payload = this.#control.slice(0, this.#controlLength);
    if (opcode === Opcode.PING) {
      // RFC 6455 §5.5.2: answer with a pong carrying the same data, unless closing.
      if (this.closeSent === undefined) {
        this.#writes.push(
          encodeFrame(Opcode.PONG, payload, { fin: true, rsv1: false }, this.#keys),
        );
      }
      this.#events.push({ type: "ping", data: payload });
      return true;
    }
    if (opcode === Opcode.PONG) {
      this.#events.push({ type: "pong", data: payload });
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
      this.#events.push({ type: "close", code: frame.code, reason: frame.reason });
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

  #failFrame(code: ProtocolError["code"], closeCode: number, message: string): -1 {
    this.#failPeer(new ProtocolError(code, closeCode, message));
    return -1;
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
    this.#events.push({ type: "error", error });
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
    this.#messageBuffer = EMPTY;
    this.#messageView = undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Commands.

  /**
   * Sends a text message (or its first fragment with `fin: false`). A `Uint8Array` must already
   * hold UTF-8 text.
   *
   * @throws {InvalidStateError} `NOT_OPEN` unless the connection is open.
   */
  sendText(data: string | Uint8Array, options?: SendOptions): void {
    this.#sendMessage(Opcode.TEXT, data, options);
  }

  /**
   * Sends a binary message (or its first fragment with `fin: false`).
   *
   * @throws {InvalidStateError} `NOT_OPEN` unless the connection is open.
   */
  sendBinary(data: Uint8Array, options?: SendOptions): void {
    this.#sendMessage(Opcode.BINARY, data, options);
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
    this.#writes.push(encodeFrame(Opcode.CONTINUATION, data, { fin, rsv1: false }, this.#keys));
    if (fin) this.#sendingOpcode = 0;
  }

  #sendMessage(opcode: number, data: string | Uint8Array, options?: SendOptions): void {
    this.#checkOpen();
    if (this.#sendingOpcode !== 0) {
      throw new InvalidStateError("NOT_OPEN", "a fragmented message is unfinished");
    }
    const fin = options?.fin ?? true;
    const rsv1 = options?.compressed ?? false;
    const fragmentSize = options?.fragmentSize ?? 0;
    if (typeof data === "string") {
      if (fragmentSize <= 0 || data.length * 3 <= fragmentSize) {
        this.#writes.push(encodeTextFrame(data, { fin, rsv1 }, this.#keys));
        if (!fin) this.#sendingOpcode = opcode;
        return;
      }
      data = new TextEncoder().encode(data);
    }
    if (fragmentSize > 0 && data.length > fragmentSize) {
      let first = true;
      for (let at = 0; at < data.length; at += fragmentSize) {
        const end = Math.min(data.length, at + fragmentSize);
        this.#writes.push(encodeFrame(
          first ? opcode : Opcode.CONTINUATION,
          data.subarray(at, end),
          { fin: fin && end === data.length, rsv1: first && rsv1 },
          this.#keys,
        ));
        first = false;
      }
    } else {
      this.#writes.push(encodeFrame(opcode, data, { fin, rsv1 }, this.#keys));
    }
    if (!fin) this.#sendingOpcode = opcode;
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
    this.#writes.push(encodeFrame(opcode, data, { fin: true, rsv1: false }, this.#keys));
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
    this.#writes.push(
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

/**
 * Checks a close code and reason given by the user (RFC 6455 §7.4: 1000 or 3000–4999 may be sent
 * by an application; the reason fits in 123 UTF-8 bytes).
 *
 * @throws {ArgumentError} `INVALID_CLOSE_CODE` or `INVALID_CLOSE_REASON`.
 */
export function validateCloseArguments(code: number | undefined, reason: string): void {
  if (code !== undefined) {
    if (!Number.isInteger(code) || !(code === 1000 || (code >= 3000 && code <= 4999))) {
      throw new ArgumentError(
        "INVALID_CLOSE_CODE",
        `close code must be 1000 or in 3000–4999, got ${code}`,
      );
    }
  } else if (reason !== "") {
    throw new ArgumentError("INVALID_CLOSE_REASON", "a close reason needs a close code");
  }
  if (typeof reason !== "string") {
    throw new ArgumentError("INVALID_CLOSE_REASON", "close reason must be a string");
  }
  if (new TextEncoder().encode(reason).length > MAX_CLOSE_REASON_BYTES) {
    throw new ArgumentError(
      "INVALID_CLOSE_REASON",
      `close reason longer than ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes`,
    );
  }
}

/** Cuts an error message to fit a close frame's reason (123 bytes), on a character boundary. */
function truncateReason(message: string): string {
  const encoder = new TextEncoder();
  if (encoder.encode(message).length <= MAX_CLOSE_REASON_BYTES) return message;
  let text = message.slice(0, MAX_CLOSE_REASON_BYTES);
  while (encoder.encode(text).length > MAX_CLOSE_REASON_BYTES) text = text.slice(0, -1);
  return text;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ArgumentError("INVALID_OPTION", `${name} must be a positive integer, got ${value}`);
  }
  return value;
}
