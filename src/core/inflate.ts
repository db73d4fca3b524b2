/**
 * A synchronous raw-DEFLATE decompressor (RFC 1951) for permessage-deflate, with the sliding
 * window kept across messages (context takeover) and the output size checked as bytes are
 * produced.
 *
 * Why not `node:zlib`: none of the three runtimes offers a synchronous *streaming* zlib (the sync
 * functions are one-shot and close their stream), and an asynchronous one would make the sans-I/O
 * core asynchronous. Decompressing here keeps the core synchronous, identical on every runtime,
 * and safe against compression bombs by construction: decoding stops at the byte that crosses the
 * limit, so memory stays near the limit whatever the compression ratio.
 *
 * Why one file of ~640 lines: the Huffman tables, the block decoder and the window are one hot
 * loop whose state lives in locals (the fast path of the literal and distance decoding is inlined
 * twice on purpose); split into modules, every symbol would cross a call boundary.
 *
 * @module
 */

/** Thrown by {@linkcode Inflater.inflate}. */
export class InflateError extends Error {
  /** `"TOO_BIG"` when the output limit was crossed, `"INVALID"` for corrupt data. */
  readonly kind: "TOO_BIG" | "INVALID";
  /** Creates the error. */
  constructor(kind: "TOO_BIG" | "INVALID", message: string) {
    super(message);
    this.name = "InflateError";
    this.kind = kind;
  }
}

const LENGTH_BASE = new Uint16Array([
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
]);
const LENGTH_EXTRA = new Uint8Array([
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
]);
const DIST_BASE = new Uint16Array([
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
]);
const DIST_EXTRA = new Uint8Array([
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
]);
/** RFC 1951 §3.2.7: order of the code length code lengths. */
const CLEN_ORDER = new Uint8Array([
  16,
  17,
  18,
  0,
  8,
  7,
  9,
  6,
  10,
  5,
  11,
  4,
  12,
  3,
  13,
  2,
  14,
  1,
  15,
]);

/** Codes up to this many bits are decoded with one table lookup; longer ones bit by bit. */
const FAST_BITS = 10;
const FAST_MASK = (1 << FAST_BITS) - 1;

/**
 * A canonical Huffman code: a lookup table for short codes (entry = symbol << 4 | length, 0 for
 * "longer than FAST_BITS") and the per-length counts and sorted symbols for the slow path.
 */
interface Huffman {
  fast: Int32Array;
  /**
   * Mask of the bits that index `fast`: as many as the longest code, at most FAST_BITS. Filling
   * only that much of the table makes a dynamic block cheap to set up (the code-length code and
   * most distance codes need 128 to 512 entries, not 1024), which is most of the work for small
   * messages: 54% of the CPU of 1 KiB compressed echoes on Bun was building tables.
   */
  mask: number;
  count: Uint16Array;
  symbol: Uint16Array;
}

/** Tables for a code of up to `n` symbols, to fill again for every block (no allocation). */
function huffmanTables(n: number): Huffman {
  return {
    fast: new Int32Array(1 << FAST_BITS),
    mask: FAST_MASK,
    count: new Uint16Array(16),
    symbol: new Uint16Array(n),
  };
}

const offsets = new Uint16Array(16);

/**
 * Builds the canonical Huffman code of `lengths[0..n)` into `h` (its tables are reused: a
 * dynamic block costs no allocation). Returns false for an over-subscribed code.
 */
function buildHuffman(lengths: Uint8Array, n: number, h: Huffman): boolean {
  const { fast, count, symbol } = h;
  count.fill(0);
  for (let s = 0; s < n; s++) count[lengths[s]]++;
  count[0] = 0;
  // Over-subscribed codes are invalid; incomplete ones are allowed (RFC 1951 permits a single
  // distance code, and an unused code is never looked up).
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left = (left << 1) - count[len];
    if (left < 0) return false;
  }
  offsets[1] = 0;
  for (let len = 1; len < 15; len++) offsets[len + 1] = offsets[len] + count[len];
  for (let s = 0; s < n; s++) if (lengths[s] !== 0) symbol[offsets[lengths[s]]++] = s;
  let longest = 15;
  while (longest > 1 && count[longest] === 0) longest--;
  const bits = Math.min(FAST_BITS, longest);
  const size = 1 << bits;
  h.mask = size - 1;
  // Canonical codes, bit-reversed because DEFLATE packs Huffman codes starting from their MSB
  // into an LSB-first bit stream.
  fast.fill(0, 0, size);
  let code = 0;
  let index = 0;
  for (let len = 1; len <= bits; len++) {
    for (let k = 0; k < count[len]; k++) {
      const s = symbol[index++];
      let rev = 0;
      for (let b = 0, c = code; b < len; b++, c >>= 1) rev = (rev << 1) | (c & 1);
      const entry = (s << 4) | len;
      for (let i = rev; i < size; i += 1 << len) fast[i] = entry;
      code++;
    }
    code <<= 1;
  }
  return true;
}

const FIXED_LITERALS = (() => {
  const l = new Uint8Array(288);
  l.fill(8, 0, 144);
  l.fill(9, 144, 256);
  l.fill(7, 256, 280);
  l.fill(8, 280, 288);
  const h = huffmanTables(288);
  buildHuffman(l, 288, h);
  return h;
})();
const FIXED_DISTANCES = (() => {
  const h = huffmanTables(30);
  buildHuffman(new Uint8Array(30).fill(5), 30, h);
  return h;
})();

const HISTORY_SLACK = 64 * 1024;

/**
 * Decompresses the messages of one permessage-deflate connection, in order.
 *
 * The output buffer starts with up to `2^windowBits` bytes of earlier output (the history that
 * back-references may reach); it is slid back when full, and shrunk again after a large message
 * so that an idle connection keeps only the window.
 */
export class Inflater {
  readonly #windowSize: number;
  readonly #takeover: boolean;
  /** Tables of dynamic blocks, reused from block to block. */
  readonly #tables = {
    codeLengths: huffmanTables(19),
    literals: huffmanTables(288),
    distances: huffmanTables(30),
    lengths: new Uint8Array(320),
  };
  #buffer: Uint8Array = new Uint8Array(0);
  /** Bytes of history at the start of #buffer for the next message. */
  #history = 0;

  // Per-call decoding state.
  #input: Uint8Array = new Uint8Array(0);
  #inPos = 0;
  #bits = 0;
  #bitCount = 0;
  #out = 0;
  #limit = 0;

  /**
   * Creates a decompressor for one connection.
   *
   * @param windowBits the peer's window (8–15): how far back references may reach.
   * @param contextTakeover false when the peer resets its compressor for every message.
   */
  constructor(windowBits = 15, contextTakeover = true) {
    this.#windowSize = 1 << Math.max(8, Math.min(15, windowBits));
    this.#takeover = contextTakeover;
  }

  /** Forgets the history (`*_no_context_takeover`). */
  reset(): void {
    this.#history = 0;
  }

  /**
   * Decompresses one message: `input` is its compressed payload with the `00 00 ff ff` tail
   * restored (RFC 7692 §7.2.2). Returns a new array.
   *
   * @throws {InflateError} `TOO_BIG` as soon as the output would exceed `maxOutput` bytes,
   * `INVALID` for corrupt data.
   */
  inflate(input: Uint8Array, maxOutput: number): Uint8Array {
    const start = this.#takeover ? this.#history : 0;
    this.#input = input;
    this.#inPos = 0;
    this.#bits = 0;
    this.#bitCount = 0;
    this.#out = start;
    this.#limit = start + maxOutput;
    if (this.#buffer.length < start + 1024) this.#grow(start + 1024, start);
    try {
      this.#run();
    } catch (error) {
      this.#history = 0; // the stream is broken: no later message may refer to it
      throw error;
    } finally {
      this.#input = new Uint8Array(0);
    }
    const end = this.#out;
    const result = this.#buffer.slice(start, end);
    this.#keepHistory(end);
    return result;
  }

  /** Keeps the last window of output at the start of the buffer for the next message. */
  #keepHistory(end: number): void {
    if (!this.#takeover) {
      this.#history = 0;
      if (this.#buffer.length > 4 * HISTORY_SLACK) this.#buffer = new Uint8Array(0);
      return;
    }
    const keep = Math.min(end, this.#windowSize);
    if (this.#buffer.length > this.#windowSize + 4 * HISTORY_SLACK) {
      // A large message grew the buffer: give the memory back, keeping the window.
      const smaller = new Uint8Array(this.#windowSize + HISTORY_SLACK);
      smaller.set(this.#buffer.subarray(end - keep, end));
      this.#buffer = smaller;
      this.#history = keep;
    } else if (end + 1024 > this.#buffer.length || end > this.#windowSize + HISTORY_SLACK) {
      this.#buffer.copyWithin(0, end - keep, end);
      this.#history = keep;
    } else {
      // Room left: the next message is written after this one; history stays in place.
      this.#history = end;
    }
  }

  /** Makes room for at least `needed` bytes in the buffer, keeping `[0, used)`. */
  #grow(needed: number, used: number): void {
    let size = Math.max(this.#buffer.length * 2, this.#windowSize + HISTORY_SLACK, needed);
    // Never more than the output limit allows (plus one maximal match), so a bomb cannot make
    // the buffer outgrow the limit.
    if (this.#limit > 0) size = Math.min(size, Math.max(needed, this.#limit + 258));
    const bigger = new Uint8Array(size);
    bigger.set(this.#buffer.subarray(0, used));
    this.#buffer = bigger;
  }

  #fail(message: string): never {
    throw new InflateError("INVALID", `invalid compressed data: ${message}`);
  }

  #tooBig(): never {
    throw new InflateError("TOO_BIG", "decompressed message exceeds the size limit");
  }

  /** Takes `n` (≤ 16) bits, LSB first. */
  #take(n: number): number {
    while (this.#bitCount < n) {
      if (this.#inPos >= this.#input.length) this.#fail("unexpected end of data");
      this.#bits |= this.#input[this.#inPos++] << this.#bitCount;
      this.#bitCount += 8;
    }
    const value = this.#bits & ((1 << n) - 1);
    this.#bits >>>= n;
    this.#bitCount -= n;
    return value;
  }

  #run(): void {
    for (;;) {
      // The message ends at a block boundary once every input byte has been used; with the
      // restored tail that is right after the empty stored block of the sync flush.
      if (this.#inPos >= this.#input.length && this.#bitCount < 8) return;
      const final = this.#take(1);
      const type = this.#take(2);
      if (type === 0) this.#stored();
      else if (type === 1) this.#codes(FIXED_LITERALS, FIXED_DISTANCES);
      else if (type === 2) this.#dynamic();
      else this.#fail("reserved block type 3");
      if (final) return; // BFINAL: the deflate stream ended; anything after it is ignored
    }
  }

  #stored(): void {
    // Skip to the byte boundary; whole bytes already in the bit buffer are given back.
    this.#bits = 0;
    this.#inPos -= this.#bitCount >>> 3;
    this.#bitCount = 0;
    const input = this.#input;
    if (this.#inPos + 4 > input.length) this.#fail("truncated stored block header");
    const len = input[this.#inPos] | (input[this.#inPos + 1] << 8);
    const nlen = input[this.#inPos + 2] | (input[this.#inPos + 3] << 8);
    if ((len ^ 0xffff) !== nlen) this.#fail("stored block length check");
    this.#inPos += 4;
    if (this.#inPos + len > input.length) this.#fail("truncated stored block");
    if (this.#out + len > this.#limit) this.#tooBig();
    if (this.#out + len > this.#buffer.length) this.#grow(this.#out + len, this.#out);
    this.#buffer.set(input.subarray(this.#inPos, this.#inPos + len), this.#out);
    this.#out += len;
    this.#inPos += len;
  }

  #dynamic(): void {
    const nlen = this.#take(5) + 257;
    const ndist = this.#take(5) + 1;
    const ncode = this.#take(4) + 4;
    if (nlen > 286 || ndist > 30) this.#fail("too many length or distance codes");
    const lengths = this.#tables.lengths;
    lengths.fill(0);
    for (let i = 0; i < ncode; i++) lengths[CLEN_ORDER[i]] = this.#take(3);
    const clen = this.#tables.codeLengths;
    if (!buildHuffman(lengths, 19, clen)) this.#fail("invalid code length code");
    lengths.fill(0);
    let index = 0;
    while (index < nlen + ndist) {
      const sym = this.#decode(clen);
      if (sym < 16) {
        lengths[index++] = sym;
        continue;
      }
      let repeat: number;
      let value = 0;
      if (sym === 16) {
        if (index === 0) this.#fail("repeat with no previous length");
        value = lengths[index - 1];
        repeat = 3 + this.#take(2);
      } else if (sym === 17) {
        repeat = 3 + this.#take(3);
      } else {
        repeat = 11 + this.#take(7);
      }
      if (index + repeat > nlen + ndist) this.#fail("too many code lengths");
      while (repeat-- > 0) lengths[index++] = value;
    }
    if (lengths[256] === 0) this.#fail("no end-of-block code");
    const { literals, distances } = this.#tables;
    if (
      !buildHuffman(lengths, nlen, literals) ||
      !buildHuffman(lengths.subarray(nlen, nlen + ndist), ndist, distances)
    ) {
      this.#fail("invalid literal/length or distance code");
    }
    this.#codes(literals, distances);
  }

  /** Decodes one symbol (used for code lengths; the hot loop in #codes inlines the fast path). */
  #decode(h: Huffman): number {
    while (this.#bitCount <= 16 && this.#inPos < this.#input.length) {
      this.#bits |= this.#input[this.#inPos++] << this.#bitCount;
      this.#bitCount += 8;
    }
    const entry = h.fast[this.#bits & h.mask];
    if (entry === 0) return this.#decodeSlow(h);
    const len = entry & 15;
    if (len > this.#bitCount) this.#fail("unexpected end of data");
    this.#bits >>>= len;
    this.#bitCount -= len;
    return entry >> 4;
  }

  /** Canonical decoding, one bit at a time, for codes longer than FAST_BITS. */
  #decodeSlow(h: Huffman): number {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      code |= this.#take(1);
      const count = h.count[len];
      if (code - count < first) return h.symbol[index + (code - first)];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    return this.#fail("invalid Huffman code");
  }

  /**
   * Decodes literals and matches until the end-of-block code. The hot loop: state lives in local
   * variables and is written back around the rare calls (slow decode, buffer growth).
   */
  #codes(literals: Huffman, distances: Huffman): void {
    // The bit buffer is refilled only up to 24 bits so that it stays a small integer (a V8 Smi);
    // a full 32-bit buffer measured 2 to 3 times slower on V8 (Node.js, Deno).
    const input = this.#input;
    const inLength = input.length;
    const literalTable = literals.fast;
    const literalMask = literals.mask;
    const distanceTable = distances.fast;
    const distanceMask = distances.mask;
    const limit = this.#limit;
    const windowSize = this.#windowSize;
    let inPos = this.#inPos;
    let bits = this.#bits;
    let bitCount = this.#bitCount;
    let buf = this.#buffer;
    let out = this.#out;
    // (No closures for saving and reloading the state: captured variables would live in a
    // context object instead of registers, which measured 3 to 5 times slower on V8.)
    for (;;) {
      while (bitCount <= 16 && inPos < inLength) {
        bits |= input[inPos++] << bitCount;
        bitCount += 8;
      }
      let sym: number;
      let entry = literalTable[bits & literalMask];
      if (entry !== 0 && (entry & 15) <= bitCount) {
        bits >>>= entry & 15;
        bitCount -= entry & 15;
        sym = entry >> 4;
      } else {
        if (entry !== 0) this.#fail("unexpected end of data");
        this.#inPos = inPos;
        this.#bits = bits;
        this.#bitCount = bitCount;
        this.#out = out;
        sym = this.#decodeSlow(literals);
        inPos = this.#inPos;
        bits = this.#bits;
        bitCount = this.#bitCount;
        buf = this.#buffer;
      }
      if (sym < 256) {
        if (out >= limit) this.#tooBig();
        if (out >= buf.length) {
          this.#grow(out + 1, out);
          buf = this.#buffer;
        }
        buf[out++] = sym;
        continue;
      }
      if (sym === 256) break;
      const li = sym - 257;
      if (li >= 29) this.#fail("invalid length code");
      let extra = LENGTH_EXTRA[li];
      let length = LENGTH_BASE[li];
      if (extra !== 0) {
        while (bitCount < extra && inPos < inLength) {
          bits |= input[inPos++] << bitCount;
          bitCount += 8;
        }
        if (bitCount < extra) this.#fail("unexpected end of data");
        length += bits & ((1 << extra) - 1);
        bits >>>= extra;
        bitCount -= extra;
      }
      while (bitCount <= 16 && inPos < inLength) {
        bits |= input[inPos++] << bitCount;
        bitCount += 8;
      }
      let di: number;
      entry = distanceTable[bits & distanceMask];
      if (entry !== 0 && (entry & 15) <= bitCount) {
        bits >>>= entry & 15;
        bitCount -= entry & 15;
        di = entry >> 4;
      } else {
        if (entry !== 0) this.#fail("unexpected end of data");
        this.#inPos = inPos;
        this.#bits = bits;
        this.#bitCount = bitCount;
        this.#out = out;
        di = this.#decodeSlow(distances);
        inPos = this.#inPos;
        bits = this.#bits;
        bitCount = this.#bitCount;
        buf = this.#buffer;
      }
      if (di >= 30) this.#fail("invalid distance code");
      extra = DIST_EXTRA[di];
      let distance = DIST_BASE[di];
      if (extra !== 0) {
        while (bitCount < extra && inPos < inLength) {
          bits |= input[inPos++] << bitCount;
          bitCount += 8;
        }
        if (bitCount < extra) this.#fail("unexpected end of data");
        distance += bits & ((1 << extra) - 1);
        bits >>>= extra;
        bitCount -= extra;
      }
      // RFC 7692 §7.1.2.1: the peer compresses within its negotiated window. Checked against the
      // window, not only against the bytes still in the buffer, so the outcome does not depend
      // on where the buffer happens to keep the previous message.
      if (distance > out || distance > windowSize) this.#fail("distance too far back");
      if (out + length > limit) this.#tooBig();
      if (out + length > buf.length) {
        this.#grow(out + length, out);
        buf = this.#buffer;
      }
      let from = out - distance;
      if (length < 32) {
        // Short matches: a byte loop beats a copyWithin call, and handles overlap as the format
        // defines it.
        for (let k = 0; k < length; k++) buf[out++] = buf[from++];
      } else if (distance >= length) {
        buf.copyWithin(out, from, from + length);
        out += length;
      } else if (distance === 1) {
        buf.fill(buf[from], out, out + length); // a run of one byte (what bombs are made of)
        out += length;
      } else {
        // A long run with a short period: copy the period, then twice as much, and so on.
        let remaining = length;
        while (remaining > 0) {
          const n = Math.min(out - from, remaining);
          buf.copyWithin(out, from, from + n);
          out += n;
          remaining -= n;
        }
      }
    }
    this.#inPos = inPos;
    this.#bits = bits;
    this.#bitCount = bitCount;
    this.#out = out;
  }
}
