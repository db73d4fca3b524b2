/**
 * A small DEFLATE (RFC 1951) writer for the inflater tests: stored, fixed-Huffman and
 * dynamic-Huffman blocks built from explicit tokens, so a test can place any literal, match,
 * code length or malformed field exactly where it wants. Also a greedy LZ77 matcher that may refer
 * to earlier messages (context takeover), and the platform's `CompressionStream("deflate-raw")` as
 * an independent real-world compressor.
 *
 * Not a good compressor, and not meant to be one: it writes what it is told.
 *
 * @module
 */

/** A literal byte, or a match `[length 3..258, distance 1..32768]`. */
export type Token = number | readonly [length: number, distance: number];

/** RFC 1951 §3.2.5: length codes 257..285, their base lengths and extra bits. */
const LENGTH_BASE = [
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
];
const LENGTH_EXTRA = [
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
];
/** RFC 1951 §3.2.5: distance codes 0..29. */
const DIST_BASE = [
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
];
const DIST_EXTRA = [
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
];
/** RFC 1951 §3.2.7: the order in which code-length-code lengths are written. */
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** The length code (257..285) and its extra bits for a match length. */
export function lengthCode(length: number): { code: number; extra: number; bits: number } {
  if (length < 3 || length > 258) throw new RangeError(`match length ${length}`);
  let i = LENGTH_BASE.length - 1;
  while (LENGTH_BASE[i] > length) i--;
  return { code: 257 + i, extra: length - LENGTH_BASE[i], bits: LENGTH_EXTRA[i] };
}

/** The distance code (0..29) and its extra bits for a match distance. */
export function distanceCode(distance: number): { code: number; extra: number; bits: number } {
  if (distance < 1 || distance > 32768) throw new RangeError(`match distance ${distance}`);
  let i = DIST_BASE.length - 1;
  while (DIST_BASE[i] > distance) i--;
  return { code: i, extra: distance - DIST_BASE[i], bits: DIST_EXTRA[i] };
}

/** Canonical Huffman codes (RFC 1951 §3.2.2) for the given code lengths (0 = unused). */
export function canonicalCodes(lengths: readonly number[]): number[] {
  const count = new Array(16).fill(0);
  for (const l of lengths) if (l) count[l]++;
  const next = new Array(16).fill(0);
  let code = 0;
  for (let bits = 1; bits < 16; bits++) {
    code = (code + count[bits - 1]) << 1;
    next[bits] = code;
  }
  return lengths.map((l) => (l ? next[l]++ : 0));
}

/** The fixed literal/length code lengths of RFC 1951 §3.2.6. */
export const FIXED_LITERAL_LENGTHS: readonly number[] = Array.from(
  { length: 288 },
  (_, s) => (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8),
);
/** The fixed distance code lengths (all 5 bits, codes 0..31). */
export const FIXED_DISTANCE_LENGTHS: readonly number[] = new Array(32).fill(5);

/** A code: lengths and canonical codes. */
interface Code {
  readonly lengths: readonly number[];
  readonly codes: readonly number[];
}

function code(lengths: readonly number[]): Code {
  return { lengths, codes: canonicalCodes(lengths) };
}

const FIXED_LITERALS = code(FIXED_LITERAL_LENGTHS);
const FIXED_DISTANCES = code(FIXED_DISTANCE_LENGTHS);

/** Options of a dynamic block header, to write malformed ones. */
export interface DynamicHeaderOverrides {
  /** HLIT as written (number of literal/length codes - 257); default from the lengths. */
  hlit?: number;
  /** HDIST as written (number of distance codes - 1); default from the lengths. */
  hdist?: number;
  /** Code-length-code lengths by symbol 0..18 (default: a complete code, 4 and 5 bits). */
  clenLengths?: readonly number[];
  /**
   * The code-length symbols to write instead of the plain lengths: each a symbol 0..18 and, for
   * 16/17/18, the value of its extra bits.
   */
  symbols?: ReadonlyArray<readonly [symbol: number, extra?: number]>;
}

/** A complete code-length code: symbols 0..12 get 4 bits, 13..18 get 5 (13/16 + 6/32 = 1). */
const DEFAULT_CLEN_LENGTHS = Array.from({ length: 19 }, (_, s) => (s <= 12 ? 4 : 5));

/** Writes DEFLATE blocks bit by bit (LSB first, Huffman codes MSB first, as RFC 1951 §3.1.1). */
export class DeflateWriter {
  #bytes: number[] = [];
  #bit = 0;
  #current = 0;

  /** Writes the low `count` bits of `value`, least significant first. */
  bits(value: number, count: number): this {
    for (let i = 0; i < count; i++) {
      this.#current |= ((value >>> i) & 1) << this.#bit;
      if (++this.#bit === 8) {
        this.#bytes.push(this.#current);
        this.#current = 0;
        this.#bit = 0;
      }
    }
    return this;
  }

  /** Writes a Huffman code of `length` bits, most significant bit first. */
  huffman(codeValue: number, length: number): this {
    for (let i = length - 1; i >= 0; i--) this.bits((codeValue >>> i) & 1, 1);
    return this;
  }

  /** Pads to a byte boundary with zero bits. */
  align(): this {
    if (this.#bit !== 0) this.bits(0, 8 - this.#bit);
    return this;
  }

  /** Appends whole bytes (after aligning). */
  raw(bytes: Uint8Array | readonly number[]): this {
    this.align();
    for (const b of bytes) this.#bytes.push(b);
    return this;
  }

  /** Block header: BFINAL then BTYPE (0 stored, 1 fixed, 2 dynamic, 3 reserved). */
  header(final: boolean, type: number): this {
    return this.bits(final ? 1 : 0, 1).bits(type, 2);
  }

  /** A stored block; `nlen` may be given wrong on purpose. */
  stored(data: Uint8Array, final = false, nlen = data.length ^ 0xffff): this {
    if (data.length > 65535) throw new RangeError("stored block larger than 65535 bytes");
    this.header(final, 0).align();
    return this.raw([
      data.length & 0xff,
      data.length >> 8,
      nlen & 0xff,
      (nlen >> 8) & 0xff,
      ...data,
    ]);
  }

  /** Stored blocks for data of any length. */
  storedAll(data: Uint8Array, final = false): this {
    if (data.length === 0) return this.stored(data, final);
    for (let at = 0; at < data.length; at += 65535) {
      const end = Math.min(data.length, at + 65535);
      this.stored(data.subarray(at, end), final && end === data.length);
    }
    return this;
  }

  /** The symbols of `tokens` (and end-of-block unless `endOfBlock` is false) in the given codes. */
  #symbols(tokens: readonly Token[], literals: Code, distances: Code, endOfBlock: boolean): void {
    const sym = (c: Code, s: number) => {
      if (!c.lengths[s]) throw new RangeError(`symbol ${s} has no code`);
      this.huffman(c.codes[s], c.lengths[s]);
    };
    for (const t of tokens) {
      if (typeof t === "number") {
        sym(literals, t);
        continue;
      }
      const l = lengthCode(t[0]);
      sym(literals, l.code);
      this.bits(l.extra, l.bits);
      const d = distanceCode(t[1]);
      sym(distances, d.code);
      this.bits(d.extra, d.bits);
    }
    if (endOfBlock) sym(literals, 256);
  }

  /** A fixed-Huffman block. */
  fixed(tokens: readonly Token[], final = false): this {
    this.header(final, 1);
    this.#symbols(tokens, FIXED_LITERALS, FIXED_DISTANCES, true);
    return this;
  }

  /** Writes one fixed-code literal/length symbol (also the invalid 286 and 287). */
  fixedSymbol(symbol: number): this {
    return this.huffman(FIXED_LITERALS.codes[symbol], FIXED_LITERALS.lengths[symbol]);
  }

  /** Writes one fixed-code distance symbol (also the invalid 30 and 31). */
  fixedDistance(symbol: number): this {
    return this.huffman(FIXED_DISTANCES.codes[symbol], 5);
  }

  /**
   * A dynamic-Huffman block with the given code lengths (literal/length lengths for 257..286
   * symbols, distance lengths for 1..30 symbols). `overrides` writes malformed headers.
   * With `endOfBlock` false the block is left open (for truncation tests).
   */
  dynamic(
    literalLengths: readonly number[],
    distanceLengths: readonly number[],
    tokens: readonly Token[],
    final = false,
    overrides: DynamicHeaderOverrides = {},
    endOfBlock = true,
  ): this {
    this.header(final, 2);
    const clen = code(overrides.clenLengths ?? DEFAULT_CLEN_LENGTHS);
    this.bits(overrides.hlit ?? literalLengths.length - 257, 5);
    this.bits(overrides.hdist ?? distanceLengths.length - 1, 5);
    this.bits(19 - 4, 4);
    for (const s of CLEN_ORDER) this.bits(clen.lengths[s], 3);
    const symbols = overrides.symbols ??
      [...literalLengths, ...distanceLengths].map((l) => [l] as const);
    for (const [s, extra] of symbols) {
      this.huffman(clen.codes[s], clen.lengths[s]);
      if (s === 16) this.bits(extra ?? 0, 2);
      else if (s === 17) this.bits(extra ?? 0, 3);
      else if (s === 18) this.bits(extra ?? 0, 7);
    }
    this.#symbols(tokens, code(literalLengths), code(distanceLengths), endOfBlock);
    return this;
  }

  /** The empty non-final stored block of a sync flush: the stream then ends in 00 00 ff ff. */
  syncFlush(): this {
    return this.stored(new Uint8Array(0));
  }

  /** The bytes written so far (a partial last byte is padded with zeros). */
  bytes(): Uint8Array {
    const out = [...this.#bytes];
    if (this.#bit !== 0) out.push(this.#current);
    return Uint8Array.from(out);
  }

  /**
   * A permessage-deflate payload (RFC 7692 §7.2.1): the blocks, a sync flush, and the trailing
   * 00 00 ff ff removed.
   */
  message(): Uint8Array {
    const bytes = this.syncFlush().bytes();
    return bytes.subarray(0, bytes.length - 4);
  }
}

/**
 * Greedy LZ77 over `data`, allowed to refer back into `history` (the end of earlier output) and
 * within `window` bytes. Deterministic; finds the most recent match of at least 3 bytes.
 */
export function lz77(
  data: Uint8Array,
  history: Uint8Array = new Uint8Array(0),
  window = 32768,
): Token[] {
  const all = new Uint8Array(history.length + data.length);
  all.set(history);
  all.set(data, history.length);
  const heads = new Map<number, number[]>();
  const key = (i: number) => (all[i] << 16) | (all[i + 1] << 8) | all[i + 2];
  const remember = (i: number) => {
    if (i + 2 >= all.length) return;
    const k = key(i);
    const list = heads.get(k);
    if (list) {
      list.push(i);
      if (list.length > 8) list.shift();
    } else {
      heads.set(k, [i]);
    }
  };
  for (let i = Math.max(0, history.length - window); i < history.length; i++) remember(i);
  const tokens: Token[] = [];
  let i = history.length;
  while (i < all.length) {
    let bestLength = 0;
    let bestDistance = 0;
    if (i + 2 < all.length) {
      for (const j of heads.get(key(i)) ?? []) {
        const distance = i - j;
        if (distance > window) continue;
        let length = 0;
        while (length < 258 && i + length < all.length && all[j + length] === all[i + length]) {
          length++;
        }
        if (length >= 3 && length >= bestLength) {
          bestLength = length;
          bestDistance = distance;
        }
      }
    }
    if (bestLength >= 3) {
      tokens.push([bestLength, bestDistance]);
      for (let k = 0; k < bestLength; k++) remember(i + k);
      i += bestLength;
    } else {
      tokens.push(all[i]);
      remember(i);
      i++;
    }
  }
  return tokens;
}

/** The output `tokens` decode to, given the earlier output `history` (a reference decoder). */
export function expand(
  tokens: readonly Token[],
  history: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const out: number[] = [...history];
  for (const t of tokens) {
    if (typeof t === "number") {
      out.push(t);
    } else {
      const from = out.length - t[1];
      if (from < 0) throw new RangeError("distance too far back");
      for (let k = 0; k < t[0]; k++) out.push(out[from + k]);
    }
  }
  return Uint8Array.from(out.slice(history.length));
}

/** A permessage-deflate payload for `data` in fixed-Huffman blocks of at most `perBlock` tokens. */
export function fixedMessage(
  data: Uint8Array,
  history?: Uint8Array,
  window?: number,
  perBlock = 5000,
): Uint8Array {
  const tokens = lz77(data, history, window);
  const w = new DeflateWriter();
  for (let at = 0; at < tokens.length; at += perBlock) w.fixed(tokens.slice(at, at + perBlock));
  return w.message();
}

/** Compresses with the platform's `CompressionStream("deflate-raw")`: a final-block stream. */
export async function webDeflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** `data` with the permessage-deflate tail 00 00 ff ff appended (RFC 7692 §7.2.2). */
export function withTail(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 4);
  out.set(data);
  out.set([0x00, 0x00, 0xff, 0xff], data.length);
  return out;
}
