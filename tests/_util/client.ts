/**
 * Shared helpers of the integration tests: opening clients that are always released, recording
 * their events, checking typed rejections, and deterministic payloads.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type ClientOptions,
  type CloseEvent,
  type ErrorEvent,
  type PingEvent,
  WebSocketClient,
  type WebSocketError,
} from "../../mod.ts";
import { deferred, type Scope, withTimeout } from "./async.ts";

/** Safety-net deadline for one step (open, a round trip, a close). */
export const STEP = 4000;

/** `it` options for the few tests allowed more than the default deadline (16 MiB messages). */
export const LONG = { timeout: 30_000 } as const;

/** Guard deadline matching {@linkcode LONG}. */
export const LONG_DEADLINE = 25_000;

/**
 * Opens a client with `new WebSocketClient` (so the test always holds it), registers its
 * termination in `scope`, and waits for it to open.
 */
export async function open(
  scope: Scope,
  url: string,
  options?: ClientOptions,
): Promise<WebSocketClient> {
  const client = track(scope, new WebSocketClient(url, options));
  await withTimeout(client.opened, STEP, `open ${url}`);
  return client;
}

/** Registers `client` for termination when the test ends; returns it. */
export function track(scope: Scope, client: WebSocketClient): WebSocketClient {
  scope.defer(async () => {
    client.terminate();
    await withTimeout(client.closed, STEP, "client closed after terminate()");
  });
  return client;
}

/** Everything a client reported through its events. */
export interface Recorder {
  readonly types: string[];
  readonly errors: ErrorEvent[];
  readonly pings: PingEvent[];
  readonly pongs: PingEvent[];
  readonly messages: Array<string | Uint8Array>;
  /** Settles with the `close` event. */
  readonly close: Promise<CloseEvent>;
}

/** Listens to every event of `client` (add it before the events can happen). */
export function record(client: WebSocketClient, options: { messages?: boolean } = {}): Recorder {
  const closed = deferred<CloseEvent>();
  const rec = {
    types: [] as string[],
    errors: [] as ErrorEvent[],
    pings: [] as PingEvent[],
    pongs: [] as PingEvent[],
    messages: [] as Array<string | Uint8Array>,
    close: closed.promise,
  };
  client.addEventListener("open", () => rec.types.push("open"));
  client.addEventListener("error", (e) => {
    rec.types.push("error");
    rec.errors.push(e);
  });
  client.addEventListener("ping", (e) => {
    rec.types.push("ping");
    rec.pings.push(e);
  });
  client.addEventListener("pong", (e) => {
    rec.types.push("pong");
    rec.pongs.push(e);
  });
  client.addEventListener("close", (e) => {
    rec.types.push("close");
    closed.resolve(e);
  });
  if (options.messages) {
    client.addEventListener("message", (e) => {
      rec.types.push("message");
      rec.messages.push(e.data);
    });
  }
  return rec;
}

/** The error class constructors the tests check against. */
// deno-lint-ignore no-explicit-any
type ErrorClass<E> = abstract new (...args: any[]) => E;

/**
 * Awaits `promise` (bounded), asserts it rejects with an instance of `cls` whose `code` is
 * `code`, and returns the error.
 */
export async function rejectsWith<E extends WebSocketError>(
  promise: PromiseLike<unknown>,
  cls: ErrorClass<E>,
  code: string,
  label: string,
): Promise<E> {
  let error: unknown;
  try {
    await withTimeout(promise, STEP, label);
  } catch (e) {
    error = e;
  }
  assert.ok(error !== undefined, `${label}: expected a rejection with ${cls.name} ${code}`);
  assert.ok(
    error instanceof cls,
    `${label}: expected ${cls.name}, got ${(error as Error)?.name}: ${(error as Error)?.message}`,
  );
  assert.equal((error as E).code, code, `${label}: ${(error as Error).message}`);
  return error as E;
}

/** `n` bytes of a deterministic, non-constant pattern. */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Byte-wise equality (fast and message-friendly for large arrays). */
export function assertBytes(actual: unknown, expected: Uint8Array, label: string): void {
  assert.ok(actual instanceof Uint8Array, `${label}: expected a Uint8Array, got ${typeof actual}`);
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${label}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

const PIECES = ["a", "é", "€", "😀", "ж", "z"];

/** A string of exactly `bytes` UTF-8 bytes, mostly non-ASCII (1- to 4-byte characters). */
export function textOfBytes(bytes: number): string {
  let s = "";
  let used = 0;
  let i = 0;
  const encoder = new TextEncoder();
  while (used < bytes) {
    let piece = PIECES[i++ % PIECES.length];
    let size = encoder.encode(piece).length;
    if (used + size > bytes) {
      piece = "x";
      size = 1;
    }
    s += piece;
    used += size;
  }
  return s;
}

/** Builds a long string quickly (for multi-megabyte text messages). */
export function largeText(bytes: number): string {
  const unit = textOfBytes(1024);
  const whole = Math.floor(bytes / 1024);
  return unit.repeat(whole) + textOfBytes(bytes - whole * 1024);
}

/** Reads the next message from an iterator, bounded. */
export async function nextMessage(
  iterator: AsyncIterator<string | Uint8Array>,
  label: string,
  ms = STEP,
): Promise<string | Uint8Array> {
  const result = await withTimeout(iterator.next(), ms, label);
  assert.equal(result.done, false, `${label}: iteration ended early`);
  return result.value as string | Uint8Array;
}
