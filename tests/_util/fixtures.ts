/**
 * Byte-level fixtures for the sans-I/O core tests: a fixed random source, bytes and hex helpers,
 * a fake server that writes 101 responses and UNMASKED frames, and a decoder for the MASKED frames
 * the client queues in `takeWrites()`.
 *
 * Uses only Web APIs, so it runs under Deno, Bun and Node.js alike.
 *
 * ```ts
 * const { client } = openClient();
 * client.receiveData(serverFrame(Opcode.TEXT, "hi"));
 * client.takeEvents(); // [{ type: "message", data: "hi" }]
 * client.sendText("yo");
 * decodeClientFrames(client.takeWrites()); // [{ opcode: 1, payload: "yo" as bytes, masked: true, ... }]
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { HandshakeError } from "../../src/core/errors.ts";
import type { ClientExtensionFactory, ExtensionParams } from "../../src/core/extensions.ts";
import { acceptFor } from "../../src/core/handshake.ts";
import type { RandomSource } from "../../src/core/mask.ts";
import {
  ClientProtocol,
  type ClientProtocolOptions,
  type ProtocolEvent,
} from "../../src/core/protocol.ts";

// -------------------------------------------------------------------------------------------------
// Bytes.

const encoder = new TextEncoder();

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** One byte per character (the character codes must be below 256): HTTP heads, test patterns. */
export function latin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`latin1: character ${c} at ${i} does not fit a byte`);
    bytes[i] = c;
  }
  return bytes;
}

/** Bytes from hex digits; spaces are ignored: `hex("81 85 37 fa")`. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  if (digits.length % 2 !== 0 || /[^0-9a-f]/i.test(digits)) {
    throw new RangeError(`hex: malformed ${JSON.stringify(text)}`);
  }
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Lower-case hex with a space between bytes, for readable assertion messages. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/**
 * Asserts two byte arrays are equal, reporting the first difference with a little context. Unlike
 * `assert.deepEqual`, a failure on megabyte-sized arrays produces a short message quickly.
 */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, message = ""): void {
  const prefix = message ? `${message}: ` : "";
  let i = 0;
  const n = Math.min(actual.length, expected.length);
  while (i < n && actual[i] === expected[i]) i++;
  if (i === n && actual.length === expected.length) return;
  const around = (b: Uint8Array) => toHex(b.subarray(Math.max(0, i - 4), i + 8));
  assert.fail(
    `${prefix}byte arrays differ at index ${i} (lengths ${actual.length} and ${expected.length}):` +
      ` actual ...${around(actual)}..., expected ...${around(expected)}...`,
  );
}

/** FNV-1a (32-bit) of the code units of a string or the bytes of an array. */
function fnv1a(data: string | Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h ^= typeof data === "string" ? data.charCodeAt(i) : data[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * Message data in a form that `assert.deepEqual` compares cheaply: short data as itself (bytes
 * copied into a plain Uint8Array, so views compare like copies), long data as its length, its
 * start and a hash. A failing comparison of 64 KiB messages then prints a few lines, not a diff
 * of 65,536 elements.
 */
export function summarize(data: string | Uint8Array): unknown {
  if (data.length <= 64) return typeof data === "string" ? data : Uint8Array.from(data);
  return typeof data === "string"
    ? { text: true, length: data.length, start: data.slice(0, 16), fnv: fnv1a(data) }
    : { binary: true, length: data.length, start: toHex(data.subarray(0, 8)), fnv: fnv1a(data) };
}

/** The concatenation of `parts` in a fresh buffer. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits `bytes` at the given offsets (any order, duplicates allowed: they give empty chunks). */
export function splitAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...offsets].map((o) => Math.max(0, Math.min(bytes.length, o)));
  points.sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const p of points) {
    chunks.push(bytes.slice(start, p));
    start = p;
  }
  chunks.push(bytes.slice(start));
  return chunks;
}

/** Splits `bytes` into chunks of `size` bytes (the last one may be shorter). */
export function chunksOf(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.slice(at, at + size));
  return chunks;
}

/** `length` bytes of a deterministic pseudo-random pattern (xorshift32 seeded by `seed`). */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed | 0) || 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

// -------------------------------------------------------------------------------------------------
// Randomness.

/** A {@linkcode RandomSource} that records how often and with how many bytes it was called. */
export interface RecordingRandom extends RandomSource {
  /** Lengths of the buffers filled, one entry per call. */
  readonly calls: number[];
}

/**
 * A deterministic random source: it writes the byte sequence `start, start+1, start+2, ...`
 * (mod 256), continuing across calls. With the default start the first 16 bytes (the handshake
 * key) are 00..0f and the first mask key is 00 01 02 03.
 */
export function counterRandom(start = 0): RecordingRandom {
  let next = start;
  const calls: number[] = [];
  const fill = (buffer: Uint8Array) => {
    calls.push(buffer.length);
    for (let i = 0; i < buffer.length; i++) buffer[i] = next++ & 0xff;
  };
  return Object.assign(fill, { calls });
}

/** A random source that fills every buffer with the same byte. */
export function constantRandom(byte: number): RecordingRandom {
  const calls: number[] = [];
  return Object.assign((buffer: Uint8Array) => {
    calls.push(buffer.length);
    buffer.fill(byte);
  }, { calls });
}

// -------------------------------------------------------------------------------------------------
// The fake server: handshake responses and unmasked frames.

/** Options of {@linkcode handshakeResponse}. */
export interface HandshakeResponseOptions {
  /** Status line; default "HTTP/1.1 101 Switching Protocols". */
  statusLine?: string;
  /** `Sec-WebSocket-Accept` value; default the right one for the key, `null` to omit it. */
  accept?: string | null;
  /** `Upgrade` value; default "websocket", `null` to omit it. */
  upgrade?: string | null;
  /** `Connection` value; default "Upgrade", `null` to omit it. */
  connection?: string | null;
  /** `Sec-WebSocket-Protocol` value, if any. */
  protocol?: string;
  /** `Sec-WebSocket-Extensions` value, if any. */
  extensions?: string;
  /** More header lines, written after the others. */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Bytes appended after the blank line (a body, or the first frames). */
  after?: Uint8Array;
}

/** Header lines of a response head, CRLF-terminated, with the final blank line. */
export function responseHead(
  statusLine: string,
  headers: ReadonlyArray<readonly [string, string]>,
) {
  return latin1([statusLine, ...headers.map(([n, v]) => `${n}: ${v}`), "", ""].join("\r\n"));
}

/** The server's answer to a handshake with `key`: by default a valid 101 response. */
export function handshakeResponse(key: string, options: HandshakeResponseOptions = {}): Uint8Array {
  const headers: Array<readonly [string, string]> = [];
  const upgrade = options.upgrade === undefined ? "websocket" : options.upgrade;
  const connection = options.connection === undefined ? "Upgrade" : options.connection;
  const accept = options.accept === undefined ? acceptFor(key) : options.accept;
  if (upgrade !== null) headers.push(["Upgrade", upgrade]);
  if (connection !== null) headers.push(["Connection", connection]);
  if (accept !== null) headers.push(["Sec-WebSocket-Accept", accept]);
  if (options.protocol !== undefined) headers.push(["Sec-WebSocket-Protocol", options.protocol]);
  if (options.extensions !== undefined) {
    headers.push(["Sec-WebSocket-Extensions", options.extensions]);
  }
  headers.push(...(options.headers ?? []));
  const head = responseHead(options.statusLine ?? "HTTP/1.1 101 Switching Protocols", headers);
  return options.after ? concat(head, options.after) : head;
}

/** Options of {@linkcode serverFrame}. */
export interface ServerFrameOptions {
  /** FIN bit; default true. */
  fin?: boolean;
  /** RSV1..RSV3 as the 3-bit number 0..7 (RSV1 = 4). Default 0. */
  rsv?: number;
  /** Masks the frame with this 4-byte key (servers must not: this is for the error cases). */
  mask?: Uint8Array;
  /** Forces the length encoding: 7-bit, 16-bit or 64-bit. Default: the shortest. */
  lengthForm?: 7 | 16 | 64;
  /**
   * Writes this length in the header instead of the payload's (a bigint reaches the 64-bit range).
   * Used to announce a payload that never arrives.
   */
  declaredLength?: number | bigint;
}

/** A frame header as a server writes it (unmasked unless `mask` is given). */
export function frameHeader(
  opcode: number,
  length: number | bigint,
  options: ServerFrameOptions = {},
): Uint8Array {
  const big = BigInt(length);
  const form = options.lengthForm ?? (big < 126n ? 7 : big < 65536n ? 16 : 64);
  const header = new Uint8Array(2 + (form === 16 ? 2 : form === 64 ? 8 : 0));
  header[0] = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (opcode & 0x0f);
  const maskBit = options.mask ? 0x80 : 0;
  if (form === 7) {
    header[1] = maskBit | Number(big);
  } else if (form === 16) {
    header[1] = maskBit | 126;
    header[2] = Number(big >> 8n) & 0xff;
    header[3] = Number(big) & 0xff;
  } else {
    header[1] = maskBit | 127;
    for (let i = 0; i < 8; i++) header[2 + i] = Number((big >> BigInt(56 - 8 * i)) & 0xffn);
  }
  return options.mask ? concat(header, options.mask) : header;
}

/** A whole server frame: header then payload (masked only when `options.mask` is given). */
export function serverFrame(
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(0),
  options: ServerFrameOptions = {},
): Uint8Array {
  const bytes = typeof payload === "string" ? utf8(payload) : payload;
  const header = frameHeader(opcode, options.declaredLength ?? bytes.length, options);
  const body = bytes.slice();
  if (options.mask) { for (let i = 0; i < body.length; i++) body[i] ^= options.mask[i & 3]; }
  return concat(header, body);
}

/** A close frame payload: 2-byte big-endian code, then the UTF-8 reason (or raw bytes). */
export function closePayload(code: number, reason: string | Uint8Array = ""): Uint8Array {
  const text = typeof reason === "string" ? utf8(reason) : reason;
  return concat(new Uint8Array([code >>> 8, code & 0xff]), text);
}

// -------------------------------------------------------------------------------------------------
// The client's frames, decoded.

/** One frame the client wrote, unmasked. */
export interface ClientFrame {
  readonly fin: boolean;
  /** RSV1..RSV3 as the 3-bit number 0..7. */
  readonly rsv: number;
  readonly opcode: number;
  /** Whether the MASK bit was set (RFC 6455 §5.3 requires it for every client frame). */
  readonly masked: boolean;
  /** The masking key (4 bytes), empty when unmasked. */
  readonly key: Uint8Array;
  /** The payload, unmasked. */
  readonly payload: Uint8Array;
  /** How the length was encoded: 7, 16 or 64 bits. */
  readonly lengthForm: 7 | 16 | 64;
}

/**
 * Decodes the frames in `writes` (the output of `takeWrites()`, or one buffer). Throws when the
 * bytes do not end on a frame boundary, so a test cannot silently miss half a frame.
 */
export function decodeClientFrames(writes: Uint8Array | readonly Uint8Array[]): ClientFrame[] {
  const bytes = writes instanceof Uint8Array ? writes : concat(...writes);
  const frames: ClientFrame[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 2) throw new Error(`truncated frame header at ${at}`);
    const b0 = bytes[at], b1 = bytes[at + 1];
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let lengthForm: 7 | 16 | 64 = 7;
    at += 2;
    if (length === 126) {
      length = (bytes[at] << 8) | bytes[at + 1];
      lengthForm = 16;
      at += 2;
    } else if (length === 127) {
      let big = 0n;
      for (let i = 0; i < 8; i++) big = (big << 8n) | BigInt(bytes[at + i]);
      length = Number(big);
      lengthForm = 64;
      at += 8;
    }
    const key = masked ? bytes.slice(at, at + 4) : new Uint8Array(0);
    if (masked) at += 4;
    if (at + length > bytes.length) throw new Error(`truncated frame payload at ${at}`);
    const payload = bytes.slice(at, at + length);
    if (masked) { for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3]; }
    at += length;
    frames.push({
      fin: (b0 & 0x80) !== 0,
      rsv: (b0 >> 4) & 7,
      opcode: b0 & 0x0f,
      masked,
      key,
      payload,
      lengthForm,
    });
  }
  return frames;
}

/** Reads a close payload: `code` is undefined for an empty payload. */
export function readClosePayload(payload: Uint8Array): { code?: number; reason: string } {
  if (payload.length === 0) return { reason: "" };
  return {
    code: (payload[0] << 8) | payload[1],
    reason: new TextDecoder("utf-8", { fatal: true }).decode(payload.subarray(2)),
  };
}

// -------------------------------------------------------------------------------------------------
// A client driven to the open state.

/** What {@linkcode openClient} returns. */
export interface OpenClient {
  readonly client: ClientProtocol;
  /** The request bytes the client wrote. */
  readonly request: Uint8Array;
  /** The events of the handshake (the "open" event). */
  readonly events: ProtocolEvent[];
}

/** Options of a test client: everything optional, `host` and `path` have defaults. */
export type TestClientOptions = Partial<ClientProtocolOptions>;

/** A `ClientProtocol` with a deterministic random source that has sent its request. */
export function newClient(options: TestClientOptions = {}): ClientProtocol {
  const client = new ClientProtocol({
    host: "example.com",
    path: "/chat",
    random: counterRandom(),
    ...options,
  });
  client.sendRequest();
  return client;
}

/**
 * A client whose handshake succeeded: the request was taken and a valid 101 response (with the
 * given options) delivered. Throws if the client did not open.
 */
export function openClient(
  options: TestClientOptions = {},
  response: HandshakeResponseOptions = {},
): OpenClient {
  const client = newClient(options);
  const request = concat(...client.takeWrites());
  client.receiveData(handshakeResponse(client.key, response));
  const events = client.takeEvents();
  if (events[0]?.type !== "open") {
    throw new Error(`openClient: handshake failed: ${JSON.stringify(events)}`);
  }
  return { client, request, events };
}

/**
 * Feeds each chunk to `client` the way the documented driver loop does, and returns all events:
 * after each `receiveData`, take the events, then apply what a close frame or a bad frame held
 * back until the earlier messages were handled (`resume()`, when the core has it) and take the
 * events again.
 */
export function deliver(client: ClientProtocol, chunks: Iterable<Uint8Array>): ProtocolEvent[] {
  const events: ProtocolEvent[] = [];
  const resume = (client as { resume?: () => boolean }).resume?.bind(client);
  for (const chunk of chunks) {
    client.receiveData(chunk);
    events.push(...client.takeEvents());
    while (resume?.()) events.push(...client.takeEvents());
  }
  return events;
}

/**
 * Events in a shape that `assert.deepStrictEqual` compares the same way on every runtime, and
 * cheaply: errors become their class name, code and close code; the `open` event keeps protocol
 * and extensions; message data goes through {@linkcode summarize}.
 */
export function normalizeEvents(events: readonly ProtocolEvent[]): unknown[] {
  return events.map((e) => {
    switch (e.type) {
      case "error":
        return {
          type: "error",
          name: e.error.name,
          code: e.error.code,
          closeCode: (e.error as { closeCode?: number }).closeCode,
        };
      case "open":
        return { type: "open", protocol: e.protocol, extensions: e.extensions };
      case "message":
        return { type: "message", data: summarize(e.data) };
      case "ping":
      case "pong":
        return { type: e.type, data: Uint8Array.from(e.data) };
      default:
        return e;
    }
  });
}

// -------------------------------------------------------------------------------------------------
// A fake extension.

/** Options of {@linkcode fakeExtension}. */
export interface FakeExtensionOptions {
  /** Extension token; default "x-test". */
  name?: string;
  /** RSV bits the extension claims; default RSV1 (0x40). */
  rsvBits?: number;
  /** How a flagged message is decoded; default: its bytes reversed (visible in tests). */
  decode?: (payload: Uint8Array, maxSize: number) => Uint8Array;
}

/** What {@linkcode fakeExtension} returns: the factory and what happened to it. */
export interface FakeExtension {
  readonly factory: ClientExtensionFactory;
  /** Parameters of each accepted server response. */
  readonly accepted: ExtensionParams[];
  /** Each `decodeMessage` call: a copy of the payload and the size limit. */
  readonly decoded: Array<{ payload: Uint8Array; maxSize: number }>;
}

/**
 * A `ClientExtensionFactory` for tests. It offers "`name`; client_param", accepts any response
 * except one with a `refuse` parameter (then it throws `UNEXPECTED_EXTENSION`), and records calls.
 */
export function fakeExtension(options: FakeExtensionOptions = {}): FakeExtension {
  const name = options.name ?? "x-test";
  const decode = options.decode ?? ((payload: Uint8Array) => payload.slice().reverse());
  const accepted: ExtensionParams[] = [];
  const decoded: Array<{ payload: Uint8Array; maxSize: number }> = [];
  const factory: ClientExtensionFactory = {
    name,
    offer: () => `${name}; client_param`,
    accept(params) {
      accepted.push(params);
      if (params.has("refuse")) {
        throw new HandshakeError("UNEXPECTED_EXTENSION", `${name} refuses the response`);
      }
      return {
        name,
        header: [name, ...[...params].map(([k, v]) => v === true ? k : `${k}=${v}`)].join("; "),
        rsvBits: options.rsvBits ?? 0x40,
        decodeMessage(payload, maxSize) {
          decoded.push({ payload: payload.slice(), maxSize });
          return decode(payload, maxSize);
        },
      };
    },
  };
  return { factory, accepted, decoded };
}
