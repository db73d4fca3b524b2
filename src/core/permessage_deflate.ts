/**
 * permessage-deflate (RFC 7692), client side: the offer, the checks of the server's response, and
 * the decoding of compressed messages. Compressing outgoing messages needs a real zlib and is done
 * by the driver through an injected {@linkcode Deflater}; the core only frames the result (RSV1 on
 * the first frame).
 *
 * @module
 */

import { CloseCode } from "./constants.ts";
import { ArgumentError, HandshakeError, ProtocolError } from "./errors.ts";
import type { ClientExtensionFactory, Extension, ExtensionParams } from "./extensions.ts";
import { InflateError, Inflater } from "./inflate.ts";

/** The `compression` option: what to offer and how to compress. */
export interface DeflateOptions {
  /**
   * Offer `client_max_window_bits`: `true` (default) offers it without a value, letting the server
   * pick our window (Autobahn 13.3–13.6 need this); a number 9–15 limits our window.
   */
  clientMaxWindowBits?: boolean | number;
  /** Ask the server to use at most this window (8–15). Default: not asked. */
  serverMaxWindowBits?: number;
  /** Offer to reset our compressor after each message (saves the server memory). Default false. */
  clientNoContextTakeover?: boolean;
  /** Ask the server to reset its compressor after each message (saves us memory). Default false. */
  serverNoContextTakeover?: boolean;
  /** Messages smaller than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number;
  /**
   * zlib compression level 0–9. Default 1 (zlib's fastest): a feed's messages are small, and
   * level 6 (zlib's own default) deflates 1 KiB of JSON 2–2.5× slower on Bun and Deno for 20%
   * fewer bytes (gorilla/websocket and Centrifugo default to 1 too). Set 6 where bandwidth
   * matters more than CPU.
   */
  level?: number;
  /** zlib memLevel 1–9. Default 8 (zlib's default). */
  memLevel?: number;
}

/** Compresses outgoing messages for one connection (implemented over `node:zlib`). */
export interface Deflater {
  /**
   * Compresses one message with a sync flush and returns it without the `00 00 ff ff` tail
   * (RFC 7692 §7.2.1). Calls are made one at a time, in message order.
   */
  deflate(data: Uint8Array): Promise<Uint8Array>;
  /**
   * The same, synchronously, where the compressor can (one-shot deflate, without context
   * takeover); `undefined` where it cannot. The send path then frames a compressed message in the
   * task that sent it, so that messages sent together leave in one write, as uncompressed ones do.
   */
  deflateSync?(data: Uint8Array): Uint8Array | undefined;
  /** Releases the compressor. */
  close(): void;
}

/** Settings of a {@linkcode Deflater}. */
export interface DeflaterSettings {
  /** Window bits the server allowed us (9–15). */
  windowBits: number;
  /** Reset the compressor after each message. */
  noContextTakeover: boolean;
  /** zlib level. */
  level: number;
  /** zlib memLevel. */
  memLevel: number;
}

/** Creates a {@linkcode Deflater}. */
export type DeflaterFactory = (settings: DeflaterSettings) => Deflater;

/**
 * The compression policy of a connection, as the extension decides it: which outgoing messages
 * to compress, and with what settings. The driver asks it, compresses through its
 * {@linkcode Deflater} and sends the result with `compressed: true`.
 */
export interface OutgoingCompression {
  /** Whether a message of `size` bytes (UTF-16 units for strings) should be compressed. */
  shouldCompress(size: number): boolean;
  /** Settings for the driver's Deflater. */
  readonly deflaterSettings: DeflaterSettings;
}

const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

function windowBits(value: number | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > 15) {
    throw new ArgumentError("INVALID_OPTION", `compression.${name} must be an integer ${min}–15`);
  }
  return value;
}

/**
 * Checks the `compression` option.
 *
 * @throws {ArgumentError} `INVALID_OPTION`.
 */
export function normalizeDeflateOptions(options: DeflateOptions):
  & Required<
    Omit<DeflateOptions, "serverMaxWindowBits">
  >
  & { serverMaxWindowBits?: number } {
  if (typeof options !== "object" || options === null) {
    throw new ArgumentError("INVALID_OPTION", "compression must be a boolean or an object");
  }
  const cmwb = options.clientMaxWindowBits ?? true;
  if (typeof cmwb === "number") windowBits(cmwb, "clientMaxWindowBits", 9);
  else if (typeof cmwb !== "boolean") {
    throw new ArgumentError(
      "INVALID_OPTION",
      "compression.clientMaxWindowBits must be a boolean or 9–15",
    );
  }
  const level = options.level ?? 1;
  const memLevel = options.memLevel ?? 8;
  const threshold = options.threshold ?? 1024;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new ArgumentError("INVALID_OPTION", "compression.level must be an integer 0–9");
  }
  if (!Number.isInteger(memLevel) || memLevel < 1 || memLevel > 9) {
    throw new ArgumentError("INVALID_OPTION", "compression.memLevel must be an integer 1–9");
  }
  if (typeof threshold !== "number" || !(threshold >= 0)) {
    throw new ArgumentError("INVALID_OPTION", "compression.threshold must be a number >= 0");
  }
  return {
    clientMaxWindowBits: cmwb,
    serverMaxWindowBits: windowBits(options.serverMaxWindowBits, "serverMaxWindowBits", 8),
    clientNoContextTakeover: Boolean(options.clientNoContextTakeover),
    serverNoContextTakeover: Boolean(options.serverNoContextTakeover),
    threshold,
    level,
    memLevel,
  };
}

/** Negotiates permessage-deflate. */
export class PerMessageDeflateFactory implements ClientExtensionFactory {
  readonly name = "permessage-deflate";
  readonly #options: ReturnType<typeof normalizeDeflateOptions>;

  /** @throws {ArgumentError} for invalid options. */
  /** Checks the options. @throws {ArgumentError} for invalid options. */
  constructor(options: DeflateOptions = {}) {
    this.#options = normalizeDeflateOptions(options);
  }

  offer(): string {
    const o = this.#options;
    let offer = "permessage-deflate";
    if (o.clientNoContextTakeover) offer += "; client_no_context_takeover";
    if (o.serverNoContextTakeover) offer += "; server_no_context_takeover";
    if (o.serverMaxWindowBits !== undefined) {
      offer += `; server_max_window_bits=${o.serverMaxWindowBits}`;
    }
    if (o.clientMaxWindowBits === true) offer += "; client_max_window_bits";
    else if (typeof o.clientMaxWindowBits === "number") {
      offer += `; client_max_window_bits=${o.clientMaxWindowBits}`;
    }
    return offer;
  }

  accept(params: ExtensionParams): PerMessageDeflate {
    const o = this.#options;
    const refuse = (why: string): never => {
      throw new HandshakeError(
        "UNEXPECTED_EXTENSION",
        `permessage-deflate response refused: ${why}`,
      );
    };
    // RFC 7692 §7.1: a window-bits value is 8–15 in decimal, without leading zeros.
    const bits = (name: string, value: string | true): number => {
      if (value === true || !/^(8|9|1[0-5])$/.test(value)) {
        refuse(`invalid ${name} ${String(value)}`);
      }
      return Number(value);
    };
    let serverBits = 15;
    let clientBits = 15;
    let serverNoTakeover = false;
    let clientNoTakeover = false;
    for (const [name, value] of params) {
      switch (name) {
        case "server_no_context_takeover":
          if (value !== true) refuse("server_no_context_takeover has a value");
          serverNoTakeover = true;
          break;
        case "client_no_context_takeover":
          if (value !== true) refuse("client_no_context_takeover has a value");
          clientNoTakeover = true;
          break;
        case "server_max_window_bits":
          serverBits = bits(name, value);
          // §7.1.2.1: the server may only lower what we asked for.
          if (o.serverMaxWindowBits !== undefined && serverBits > o.serverMaxWindowBits) {
            refuse(
              `server_max_window_bits=${serverBits} exceeds the ${o.serverMaxWindowBits} requested`,
            );
          }
          break;
        case "client_max_window_bits":
          // §7.1.2.2: only if offered, and then with a value no larger than offered.
          if (o.clientMaxWindowBits === false) refuse("client_max_window_bits was not offered");
          clientBits = bits(name, value);
          if (typeof o.clientMaxWindowBits === "number" && clientBits > o.clientMaxWindowBits) {
            refuse(
              `client_max_window_bits=${clientBits} exceeds the ${o.clientMaxWindowBits} offered`,
            );
          }
          break;
        default:
          refuse(`unknown parameter ${name}`);
      }
    }
    if (o.serverNoContextTakeover && !serverNoTakeover) {
      // §7.1.1.1: a server that accepts the offer must include server_no_context_takeover.
      refuse("server_no_context_takeover was requested but not confirmed");
    }
    if (typeof o.clientMaxWindowBits === "number") {
      clientBits = Math.min(clientBits, o.clientMaxWindowBits);
    }
    return new PerMessageDeflate({
      serverMaxWindowBits: serverBits,
      clientMaxWindowBits: clientBits,
      serverNoContextTakeover: serverNoTakeover,
      clientNoContextTakeover: clientNoTakeover || o.clientNoContextTakeover,
      threshold: o.threshold,
      level: o.level,
      memLevel: o.memLevel,
    }, params);
  }
}

/** Negotiated permessage-deflate parameters. */
export interface DeflateParameters {
  /** Window bits the server compresses with (8–15). */
  serverMaxWindowBits: number;
  /** Window bits we may compress with (8–15; 8 means: send uncompressed). */
  clientMaxWindowBits: number;
  /** The server resets its compressor after each message. */
  serverNoContextTakeover: boolean;
  /** We reset our compressor after each message. */
  clientNoContextTakeover: boolean;
  /** Smaller messages are sent uncompressed. */
  threshold: number;
  /** zlib level of our compressor. */
  level: number;
  /** zlib memLevel of our compressor. */
  memLevel: number;
}

/** permessage-deflate in effect on a connection. */
export class PerMessageDeflate implements Extension, OutgoingCompression {
  readonly name = "permessage-deflate";
  readonly rsvBits = 0x40;
  readonly header: string;
  /** What was negotiated. */
  readonly parameters: DeflateParameters;
  #inflater: Inflater | undefined;

  /** `parameters`: what was negotiated; `params`: the server's response, shown by `header`. */
  constructor(parameters: DeflateParameters, params?: ExtensionParams) {
    this.parameters = parameters;
    let header = "permessage-deflate";
    for (const [k, v] of params ?? []) header += v === true ? `; ${k}` : `; ${k}=${v}`;
    this.header = header;
  }

  /**
   * Whether outgoing messages can be compressed. zlib cannot deflate with an 8-bit window (it
   * silently uses 9), so with `client_max_window_bits=8` every message is sent uncompressed,
   * which RFC 7692 allows.
   */
  get canCompress(): boolean {
    return this.parameters.clientMaxWindowBits >= 9;
  }

  /**
   * Whether a message of `size` bytes (UTF-16 units for strings) should be compressed: from the
   * `threshold` option up (default 1024).
   */
  shouldCompress(size: number): boolean {
    return size >= this.parameters.threshold;
  }

  /** Settings for the driver's {@linkcode Deflater}. */
  get deflaterSettings(): DeflaterSettings {
    const p = this.parameters;
    return {
      windowBits: p.clientMaxWindowBits,
      noContextTakeover: p.clientNoContextTakeover,
      level: p.level,
      memLevel: p.memLevel,
    };
  }

  decodeMessage(payload: Uint8Array, maxSize: number): Uint8Array {
    // RFC 7692 §7.2.3.6: an empty compressed payload is an empty message.
    if (payload.length === 0) return payload;
    const p = this.parameters;
    // The inflater (and its window) is created with the first compressed message, so that an
    // idle connection costs no window memory.
    const inflater = this.#inflater ??= new Inflater(
      p.serverMaxWindowBits,
      !p.serverNoContextTakeover,
    );
    // §7.2.2: append 00 00 ff ff before decompressing.
    const input = new Uint8Array(payload.length + 4);
    input.set(payload);
    input.set(TAIL, payload.length);
    try {
      return inflater.inflate(input, maxSize);
    } catch (error) {
      if (!(error instanceof InflateError)) throw error;
      if (error.kind === "TOO_BIG") {
        throw new ProtocolError(
          "MESSAGE_TOO_BIG",
          CloseCode.MESSAGE_TOO_BIG,
          `decompressed message larger than maxMessageSize (${maxSize} bytes)`,
        );
      }
      throw new ProtocolError(
        "INVALID_COMPRESSED_DATA",
        CloseCode.INVALID_PAYLOAD_DATA,
        error.message,
      );
    }
  }
}
