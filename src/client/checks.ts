/**
 * Checks of option values and the conversion of `send` data, shared by the options of both
 * clients: the one of Deno, Bun and Node.js (`options.ts`) and the browser's
 * (`src/browser/options.ts`). Imports nothing but the error tree, so the browser build can use it.
 *
 * @module
 */

import { ArgumentError } from "../core/errors.ts";
import type { OutboxLimits, OutboxOptions, SendData } from "./options.ts";

/** The checked limits of the `outbox` option, or `undefined` when it is off. */
export function outboxLimits(
  option: boolean | OutboxOptions | undefined,
): OutboxLimits | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== true && (typeof option !== "object" || option === null)) {
    throw new ArgumentError("INVALID_OPTION", "outbox must be a boolean or an object");
  }
  const o = option === true ? {} : option;
  const limit = (name: keyof OutboxOptions, fallback: number, min: number) => {
    const value = o[name] ?? fallback;
    if (typeof value !== "number" || Number.isNaN(value) || value < min) {
      throw new ArgumentError("INVALID_OPTION", `outbox.${name} must be a number >= ${min}`);
    }
    return value;
  };
  return {
    maxMessages: limit("maxMessages", 1024, 1),
    maxBytes: limit("maxBytes", 16 * 1024 * 1024, 1),
    ttl: limit("ttl", 60_000, 0),
  };
}

/**
 * The option `name` of `options`, a finite number >= 0, or `fallback` when it is not set.
 *
 * @throws {ArgumentError} `INVALID_OPTION` for anything else.
 */
export function nonNegative<O extends object>(
  options: O,
  name: keyof O & string,
  fallback: number,
): number {
  const value = options[name] ?? fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new ArgumentError(
      "INVALID_OPTION",
      `${name} must be a number >= 0, got ${String(value)}`,
    );
  }
  return value;
}

/** The bytes of a non-string `send` argument (a view, never a copy). */
export function toBytes(data: Exclude<SendData, string>): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw new ArgumentError(
    "INVALID_DATA",
    `cannot send ${data === null ? "null" : typeof data}: use a string, Uint8Array or ArrayBuffer`,
  );
}
