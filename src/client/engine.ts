/**
 * What the runtime's engine does best, told to the runtime-agnostic core once, when the client is
 * loaded: the core itself names no runtime.
 *
 * - `isUtf8` of `node:buffer` (simdutf on all three runtimes) validates the pieces of text that
 *   spans reads (the protocol's `isUtf8` option).
 * - On Bun, strings of 64 Ki characters or more are encoded with `TextEncoder.encode`, which walks
 *   a concatenated string where `encodeInto` first flattens it (see `setLargeTextEncoder`).
 * - On Bun and Node.js, buffers of 64 KiB or more that are written whole before anyone sees them
 *   (large outgoing frames, one-frame messages received) come from `Buffer.allocUnsafeSlow`,
 *   which skips the zero-filling of a typed array and reuses memory the allocator already holds
 *   (`setUninitializedBytes`). Allocating and filling 16 MiB in 64 KiB pieces: Bun 1.4 3.3 ->
 *   1.75 ms, Node 20 4.5 -> 2.5 ms; Deno 2.9 no faster (its `node:buffer` zero-fills), so not
 *   there. Paired A/B, binary pipelined, messages/s: Node 20 1 MiB 605 -> 707, Node 24 1 MiB 548
 *   -> 631, Bun 1 MiB 794 -> 849, Bun 16 MiB 46.5 -> 50.2; 64 KiB within noise.
 *
 * @module
 */

import { Buffer, isUtf8 as nodeIsUtf8 } from "node:buffer";
import { detectRuntime } from "../adapters/detect.ts";
import { setLargeTextEncoder } from "../core/frame.ts";
import { setUninitializedBytes } from "../core/bytes.ts";
import type { WholeUtf8Validator } from "../core/utf8.ts";

/** The validator given to every connection's protocol. */
export const isUtf8: WholeUtf8Validator = nodeIsUtf8;

const runtime = detectRuntime();

if (runtime === "bun") {
  const encoder = new TextEncoder();
  setLargeTextEncoder((text) => encoder.encode(text));
}

if (runtime !== "deno") {
  setUninitializedBytes((size) => {
    const bytes = Buffer.allocUnsafeSlow(size);
    return bytes.byteOffset === 0 && bytes.buffer.byteLength === size
      ? new Uint8Array(bytes.buffer, 0, size)
      : new Uint8Array(size);
  });
}
