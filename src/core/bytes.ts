/**
 * Byte helpers shared by the core, the adapters and the client: large buffers that need no
 * zero-filling, concatenation, Latin-1 (the bytes of HTTP heads and of ping payloads used as map
 * keys) and base64 (RFC 4648 §4).
 *
 * @module
 */

/** Buffers from this size up may come from {@linkcode setUninitializedBytes}'s allocator. */
export const UNINITIALIZED_MIN: number = 64 * 1024;

let allocateUninitialized: ((size: number) => Uint8Array) | undefined;

/**
 * Sets (or, with `undefined`, removes) an allocator of buffers that are not zero-filled: it
 * returns `size` bytes of any content, in an `ArrayBuffer` of their own (a view that starts and
 * ends it). For the runtime, not a connection: the client sets `Buffer.allocUnsafeSlow` on Bun and
 * Node.js, where a fresh large typed array costs its zero-filling and, more, the first touch of
 * fresh pages (see `src/client/engine.ts` for the figures).
 */
export function setUninitializedBytes(allocate: ((size: number) => Uint8Array) | undefined): void {
  allocateUninitialized = allocate;
}

/**
 * `size` bytes that may hold anything (earlier contents of the process's memory), for a caller
 * that writes every byte it lets out: an outgoing frame, or a one-frame message whose length is
 * known and whose buffer is exactly that long (the application may read its `.buffer`). Zeroed
 * bytes below {@linkcode UNINITIALIZED_MIN} or without an allocator.
 */
export function uninitializedBytes(size: number): Uint8Array {
  if (size < UNINITIALIZED_MIN || allocateUninitialized === undefined) return new Uint8Array(size);
  const bytes = allocateUninitialized(size);
  unfilled.add(bytes.buffer);
  return bytes;
}

/** The buffers {@linkcode uninitializedBytes} took from the allocator. */
const unfilled = new WeakSet<ArrayBufferLike>();

/**
 * Whether `bytes` lie in a buffer that {@linkcode uninitializedBytes} took from the allocator: its
 * unwritten parts may hold stale memory, so they must not be lent to code outside the core (a
 * socket's `read(into)` of the application's own connector, say).
 */
export function mayHoldStaleBytes(bytes: Uint8Array): boolean {
  return allocateUninitialized !== undefined && unfilled.has(bytes.buffer);
}

/** The bytes of `chunks` in one array (`total`: their summed length, if already known). */
export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let length = total ?? 0;
  if (total === undefined) { for (const c of chunks) length += c.length; }
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * `chunks` as one buffer for a single write: a view spanning them when they lie end to end in
 * one `ArrayBuffer` (frames carved one after another from a slab, which is never written twice),
 * else a copy ({@linkcode concatBytes}). The result may share memory with the chunks.
 */
export function joinBytes(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const first = chunks[0];
  const buffer = first.buffer;
  let end = first.byteOffset + first.length;
  for (let i = 1; i < chunks.length; i++) {
    const c = chunks[i];
    if (c.buffer !== buffer || c.byteOffset !== end) return concatBytes(chunks, total);
    end += c.length;
  }
  return new Uint8Array(buffer, first.byteOffset, end - first.byteOffset);
}

/**
 * `text` as one byte per UTF-16 code unit (ISO-8859-1). For text known to be Latin-1 or ASCII,
 * such as an HTTP request head; higher code units are truncated to their low byte.
 */
export function latin1Encode(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** `bytes[start..end)` read as ISO-8859-1: every byte one character, never an error. */
export function latin1Decode(bytes: Uint8Array, start = 0, end: number = bytes.length): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** Standard base64 (RFC 4648 §4) of `bytes`. */
export function base64(bytes: Uint8Array): string {
  return btoa(latin1Decode(bytes));
}

/** `Basic <base64(user:password)>` (RFC 7617) from a URL's percent-encoded userinfo, if any. */
export function basicCredentials(url: URL): string | undefined {
  if (url.username === "" && url.password === "") return undefined;
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return `Basic ${base64(new TextEncoder().encode(credentials))}`;
}
