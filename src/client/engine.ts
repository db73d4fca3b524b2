/**
 * What the runtime's engine does best, told to the runtime-agnostic core once, when the client is
 * loaded: the core itself names no runtime.
 *
 * - `isUtf8` of `node:buffer` (simdutf on all three runtimes) validates the pieces of text that
 *   spans reads (the protocol's `isUtf8` option).
 * - On Bun, strings of 64 Ki characters or more are encoded with `TextEncoder.encode`, which walks
 *   a concatenated string where `encodeInto` first flattens it (see `setLargeTextEncoder`).
 *
 * @module
 */

import { isUtf8 as nodeIsUtf8 } from "node:buffer";
import { detectRuntime } from "../adapters/detect.ts";
import { setLargeTextEncoder } from "../core/frame.ts";
import type { WholeUtf8Validator } from "../core/utf8.ts";

/** The validator given to every connection's protocol. */
export const isUtf8: WholeUtf8Validator = nodeIsUtf8;

if (detectRuntime() === "bun") {
  const encoder = new TextEncoder();
  setLargeTextEncoder((text) => encoder.encode(text));
}
