/**
 * Encoding client frames (RFC 6455 §5.2): masked, header and payload in one buffer, small frames
 * carved out of shared slabs. Server frames are read by `frame_reader.ts`; close payloads are
 * encoded and parsed in `close.ts`.
 *
 * @module
 */

import { uninitializedBytes } from "./bytes.ts";
import { Opcode } from "./constants.ts";
import {
  applyMask,
  applyMaskWords,
  copyMasked,
  type MaskKeyPool,
  WORD_MASK_THRESHOLD,
} from "./mask.ts";

/** Size of a masked frame header for a payload of `length` bytes: 2 + 0/2/8 + 4. */
export function maskedHeaderSize(length: number): number {
  return length < 126 ? 6 : length < 65536 ? 8 : 14;
}

/**
 * Writes a masked frame header into `dst` at `at` and returns the offset of the mask key.
 * The payload must follow at `at + maskedHeaderSize(length)`.
 */
function writeHeader(
  dst: Uint8Array,
  at: number,
  opcode: number,
  length: number,
  fin: boolean,
  rsv1: boolean,
): number {
  dst[at] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  if (length < 126) {
    dst[at + 1] = 0x80 | length;
    return at + 2;
  }
  if (length < 65536) {
    dst[at + 1] = 0x80 | 126;
    dst[at + 2] = length >>> 8;
    dst[at + 3] = length & 0xff;
    return at + 4;
  }
  dst[at + 1] = 0x80 | 127;
  // 64-bit big-endian length; JavaScript lengths stay below 2^53.
  const high = Math.floor(length / 0x100000000);
  dst[at + 2] = 0;
  dst[at + 3] = 0;
  dst[at + 4] = (high >>> 8) & 0xff;
  dst[at + 5] = high & 0xff;
  dst[at + 6] = (length >>> 24) & 0xff;
  dst[at + 7] = (length >>> 16) & 0xff;
  dst[at + 8] = (length >>> 8) & 0xff;
  dst[at + 9] = length & 0xff;
  return at + 10;
}

/** Frames up to this size are carved out of shared slabs instead of allocated one by one. */
const SLAB_FRAME_MAX = 4096;
const SLAB_SIZE = 64 * 1024;
let slab = new Uint8Array(0);
/** The same slab as 32-bit words, for masking in place without a view per frame. */
let slabWords = new Uint32Array(0);
let slabOffset = 0;

/** Starts a new slab. */
function newSlab(): void {
  slab = new Uint8Array(SLAB_SIZE);
  slabWords = new Uint32Array(slab.buffer);
  slabOffset = 0;
}

/** `frameBuffer` without an alignment asked for. */
const NO_ALIGN = -1;

/**
 * A buffer of `size` bytes for an outgoing frame, starting at an address that is `align` modulo
 * 4 when `align` is given (0-3). Small frames share 64 KiB slabs: one
 * allocation (and zero-filling) per slab instead of one per frame, which measured 0.4–0.9 µs per
 * 16-byte frame on V8. Slab memory is never written twice, so a frame stays valid until the
 * socket has sent it; `release` gives back the unused end of the last buffer.
 */
function frameBuffer(size: number, align = NO_ALIGN): Uint8Array {
  if (size >= POOL_FRAME_MIN) return pooledBuffer(size, align === NO_ALIGN ? 0 : align);
  if (size > SLAB_FRAME_MAX) {
    return align === NO_ALIGN ? new Uint8Array(size) : new Uint8Array(size + align).subarray(align);
  }
  const pad = align === NO_ALIGN ? 0 : (align - slabOffset) & 3;
  if (slab.length - slabOffset < pad + size) {
    newSlab();
    if (align !== NO_ALIGN) slabOffset = align;
  } else {
    slabOffset += pad;
  }
  const buffer = slab.subarray(slabOffset, slabOffset + size);
  slabOffset += size;
  return buffer;
}

/**
 * Frames of at least this size come from a small pool of buffers that sockets give back once
 * written ({@linkcode releaseFrame}). A fresh large typed array costs its pages on first touch:
 * allocating and filling a new 1 MiB buffer measured 265-350 us on Bun 1.4, Node 20 and Deno
 * 2.9, refilling a used one 33 us. Bun's socket takes bytes synchronously, so a frame comes back
 * at once and the next large send reuses it. Client CPU per message, binary pipelined: Bun 64 KiB
 * 82 -> 70 us, 1 MiB 1,820 -> 1,460 us, 16 MiB 27.8 -> 23.6 ms; Deno 64 KiB 94 -> 72 us, 16 MiB
 * 28.2 -> 24.5 ms. On Node.js a write completes long after more frames were made (100 in flight:
 * 80 of 500 frames reused), so the gain there is small.
 *
 * The pool holds its buffers weakly: one the garbage collector finds unused is freed as before,
 * so a burst of large sends leaves no memory reserved behind it.
 */
export const POOL_FRAME_MIN: number = 64 * 1024;
/**
 * Buffers kept for reuse at most, and bytes. With 100 frames of 1 MiB in flight, 8 buffers ran
 * out a third of the time on Deno (Deno 2.9: 1,005 of 3,075 frames fresh; 16 buffers: 206 of
 * 3,198, and 6% more messages/s; Bun 1.4: 276 of 2,232 -> 142 of 2,522). The byte bound keeps a
 * burst of 16 MiB frames from leaving more than 4 behind.
 */
const POOL_MAX_BUFFERS = 16;
const POOL_MAX_BYTES = 64 * 1024 * 1024 + 1024; // four 16 MiB frames with their headers
const pool: Array<WeakRef<ArrayBuffer>> = [];
/**
 * Backing buffers this module made for the pool, with the offset of the frame last handed out in
 * each (0-3, see `encodeFrame`), so that only that frame gives its buffer back.
 */
const pooled = new WeakMap<ArrayBufferLike, number>();

function pooledBuffer(size: number, align: number): Uint8Array {
  // The smallest free buffer that fits without wasting more than a quarter of it.
  size += align;
  let best: ArrayBuffer | undefined;
  let at = -1;
  for (let i = 0; i < pool.length; i++) {
    const buffer = pool[i].deref();
    if (buffer === undefined) {
      pool.splice(i--, 1);
      continue;
    }
    const n = buffer.byteLength;
    if (n >= size && n - size <= n >>> 2 && (best === undefined || n < best.byteLength)) {
      best = buffer;
      at = i;
    }
  }
  if (best !== undefined) {
    pool.splice(at, 1);
    pooled.set(best, align);
    return new Uint8Array(best, align, size - align);
  }
  // Every byte of a frame is written before it is sent. The 0-3 bytes of alignment in front of it
  // are never sent, but a socket sees them through `.buffer`: zeroed.
  const buffer = uninitializedBytes(size);
  if (align > 0) buffer.fill(0, 0, align);
  pooled.set(buffer.buffer, align);
  return align === 0 ? buffer : buffer.subarray(align);
}

/**
 * Gives a written frame back to the pool: sockets call it (as `write`'s `written` callback)
 * once they hold no reference to the frame. Frames not from the pool are ignored, and so is a
 * frame given back twice.
 */
export function releaseFrame(frame: Uint8Array): void {
  const buffer = frame.buffer as ArrayBuffer;
  if (pooled.get(buffer) !== frame.byteOffset || buffer.byteLength > POOL_MAX_BYTES) return;
  let bytes = buffer.byteLength;
  for (const ref of pool) {
    const held = ref.deref();
    if (held === buffer) return;
    bytes += held?.byteLength ?? 0;
  }
  while (pool.length > 0 && (pool.length >= POOL_MAX_BUFFERS || bytes > POOL_MAX_BYTES)) {
    bytes -= pool.shift()!.deref()?.byteLength ?? 0;
  }
  pool.push(new WeakRef(buffer));
}

/** Gives back the end of the last `frameBuffer` that was not used (it had `unused` spare bytes). */
function release(buffer: Uint8Array, unused: number): void {
  if (buffer.buffer === slab.buffer && buffer.byteOffset + buffer.length === slabOffset) {
    slabOffset -= unused;
  }
}

/** Options of one outgoing frame. */
export interface FrameFlags {
  /** Last frame of the message. */
  fin: boolean;
  /** RSV1 (set by permessage-deflate on the first frame of a compressed message). */
  rsv1: boolean;
}

/**
 * Encodes one masked frame: header, key and masked copy of `payload` in a single allocation.
 *
 * A client must mask (RFC 6455 §5.3), and the caller's bytes must not be modified, so one copy of
 * the payload is unavoidable; writing the header into the same buffer costs nothing more and
 * lets the frame go to the socket as one write.
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  flags: FrameFlags,
  keys: MaskKeyPool,
): Uint8Array {
  const length = payload.length;
  const headerSize = maskedHeaderSize(length);
  // The payload lands at the same address modulo 4 as `payload`, so that copyMasked can copy
  // and mask 32 bits at a time (up to 3 bytes of padding in front of the frame).
  const align = length < WORD_MASK_THRESHOLD ? NO_ALIGN : (payload.byteOffset - headerSize) & 3;
  const frame = frameBuffer(headerSize + length, align);
  const keyAt = writeHeader(frame, 0, opcode, length, flags.fin, flags.rsv1);
  keys.writeKey(frame, keyAt);
  copyMasked(frame, keyAt + 4, payload, frame, keyAt);
  return frame;
}

/**
 * Encodes a message as frames of at most `fragmentSize` bytes: the first with `opcode` and
 * `flags.rsv1` (RSV1 only on a message's first frame, RFC 7692 §6.1), the others continuations,
 * FIN on the last one when `flags.fin`.
 */
export function encodeFragments(
  opcode: number,
  data: Uint8Array,
  flags: FrameFlags & { fragmentSize: number },
  keys: MaskKeyPool,
): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const size = flags.fragmentSize;
  for (let at = 0; at < data.length; at += size) {
    const end = Math.min(data.length, at + size);
    const first = at === 0;
    frames.push(encodeFrame(
      first ? opcode : Opcode.CONTINUATION,
      data.subarray(at, end),
      { fin: flags.fin && end === data.length, rsv1: first && flags.rsv1 },
      keys,
    ));
  }
  return frames;
}

const encoder = new TextEncoder();

/** Room for the largest masked header (2 + 8 + 4) in front of a text frame's payload. */
const TEXT_ROOM = 14;

/** Strings of at least this many characters go to the large-text encoder, when one is set. */
const LARGE_TEXT = 64 * 1024;
let largeTextEncoder: ((text: string) => Uint8Array) | undefined;

/**
 * Sets (or, with `undefined`, removes) the encoder of strings of 64 Ki characters or more: it
 * returns their UTF-8 in fresh bytes, which `encodeTextFrame` then masks into the frame, instead
 * of `encodeInto` straight into the frame. For the JavaScript engine, not a connection: on
 * JavaScriptCore (Bun 1.4), `TextEncoder.encode` walks a string made by concatenation (a rope)
 * where `encodeInto` first flattens it into a new string. Bun, text pipelined, client CPU per
 * message: 1 MiB made by concatenation 1,242 -> 832 us, 16 MiB 18.4 -> 13.4 ms, 256 KiB 234 ->
 * 220 us; 1 MiB from `JSON.stringify` 1,328 -> 1,261 us. Below 64 Ki characters it gained nothing
 * (64 KiB and 16 KiB unchanged; 4 KiB JSON 6.6 -> 7.1 us, within the noise of a rerun), hence the
 * threshold. On V8 (Deno, Node.js) the same change cost 8-20%.
 */
export function setLargeTextEncoder(encode: ((text: string) => Uint8Array) | undefined): void {
  largeTextEncoder = encode;
}

/** Strings up to this length are encoded by `encodeTextFrame`'s ASCII loop first. */
const SHORT_TEXT = 32;

/**
 * Encodes a text frame straight from a string. The UTF-8 bytes are written in place behind room
 * for the largest header; ASCII strings thus need one allocation and no extra copy. Strings that
 * do not fit one byte per character fall back to `TextEncoder.encode` plus a copy.
 */
export function encodeTextFrame(text: string, flags: FrameFlags, keys: MaskKeyPool): Uint8Array {
  if (text.length <= SHORT_TEXT) {
    // Short ASCII: a loop beats TextEncoder.encodeInto and its subarray, whose fixed cost
    // dominates here (16 chars: 123 ns against 400 ns on Deno 2.9, 24 against 84 ns on Bun 1.4,
    // 53 against 104 ns on Node 20).
    const length = text.length;
    const frame = frameBuffer(6 + length);
    let i = 0;
    for (; i < length; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) break;
      frame[6 + i] = c;
    }
    if (i === length) {
      writeHeader(frame, 0, Opcode.TEXT, length, flags.fin, flags.rsv1);
      keys.writeKey(frame, 2);
      applyMask(frame, frame, 2, 6, frame.length);
      return frame;
    }
    release(frame, frame.length);
  }
  const length = text.length;
  if (TEXT_ROOM + 3 * length <= SLAB_FRAME_MAX) {
    // Encoded straight into the slab behind room for the largest header, with space for the
    // longest UTF-8 form (3 bytes per UTF-16 code unit), so any string takes one encodeInto; the
    // unused end goes back to the slab. Two typed-array views per frame, and the mask goes
    // through the slab's own word view (on Bun a view costs ~40 ns). Per frame, before and after:
    // 1 KiB JSON 421-434 -> 389-419 ns on Bun 1.4, 447 -> 428 ns on Deno 2.9; 500 'é' 5.7-7.0 ->
    // 3.8-4.7 us on Bun, 1.8 -> 0.77 us on Deno (the old path encoded non-ASCII text twice). The
    // end below is written out here rather than shared with the path after it: as a helper it
    // cost Bun 350 -> 392 ns per 1 KiB frame (JavaScriptCore did not inline it).
    //
    // The header starts where the last frame ended, so that frames sent together lie end to end
    // and leave as one view of the slab (joinBytes) instead of a copy. Its size is guessed from
    // the string's length, which UTF-8 never undercuts; when the encoded text needs a longer
    // length field (it crossed 125 or 65,535 bytes), the text moves up by the difference.
    if (slab.length - slabOffset < TEXT_ROOM + 3 * length) newSlab();
    const start = slabOffset;
    const guess = maskedHeaderSize(length);
    let payloadAt = start + guess;
    const { written } = encoder.encodeInto(
      text,
      slab.subarray(payloadAt, payloadAt + 3 * length),
    );
    const shift = maskedHeaderSize(written) - guess;
    if (shift > 0) {
      slab.copyWithin(payloadAt + shift, payloadAt, payloadAt + written);
      payloadAt += shift;
    }
    const end = payloadAt + written;
    slabOffset = end;
    const keyAt = writeHeader(slab, start, Opcode.TEXT, written, flags.fin, flags.rsv1);
    keys.writeKey(slab, keyAt);
    applyMaskWords(slab, slabWords, slab, keyAt, payloadAt, end);
    return slab.subarray(start, end);
  }
  if (length >= LARGE_TEXT && largeTextEncoder !== undefined) {
    return encodeFrame(Opcode.TEXT, largeTextEncoder(text), flags, keys);
  }
  // Room for exactly the header of `text.length` bytes: when all of the string fits, it is ASCII
  // and `written` is that length (a longer UTF-8 form would not have fit).
  const room = maskedHeaderSize(text.length);
  const buffer = frameBuffer(room + text.length);
  const { read, written } = encoder.encodeInto(text, buffer.subarray(room));
  if (read !== text.length) {
    release(buffer, buffer.length);
    return encodeFrame(Opcode.TEXT, encoder.encode(text), flags, keys);
  }
  const keyAt = writeHeader(buffer, 0, Opcode.TEXT, written, flags.fin, flags.rsv1);
  keys.writeKey(buffer, keyAt);
  applyMask(buffer, buffer, keyAt, room, room + written);
  return buffer;
}
