/**
 * Shared helpers of the RomWebSocket tests: a recorder of external events, a RomWebSocket whose
 * connection is always released when the test ends, and the contract strings spelled out again
 * (independently of src/rom/contract.ts, so a change there fails the tests).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type RomOptions, RomWebSocket } from "../../src/rom/mod.ts";
import { type Scope, waitFor, withTimeout } from "./async.ts";

/** Safety-net deadline for one step (open, a round trip, a close). */
export const STEP = 4000;

export {
  BINARY_MESSAGE,
  CLOSE_DROP,
  CLOSE_NORMAL,
  FAIL,
  MESSAGE,
  OPEN,
  SOURCE,
} from "./rom_contract.ts";
import { MESSAGE, SOURCE } from "./rom_contract.ts";

/** One external event as the handler received it. */
export interface Raised {
  readonly source: string;
  readonly event: string;
  readonly data: string;
}

/** Records every external event of a RomWebSocket. */
export class Recorder {
  readonly list: Raised[] = [];

  /** The handler to assign to `onExternalEvent` (or `ВнешнееСобытие`). */
  readonly handler = (source: string, event: string, data: string): void => {
    this.list.push({ source, event, data });
  };

  /** Events whose `event` string is `event`. */
  of(event: string): Raised[] {
    return this.list.filter((e) => e.event === event);
  }

  /** Data of the Message events, in order. */
  get messages(): string[] {
    return this.of(MESSAGE).map((e) => e.data);
  }

  /** The `event` strings in order (for readable failures). */
  get events(): string[] {
    return this.list.map((e) => e.event);
  }

  /** Waits until `count` events with this `event` string were raised. */
  async wait(event: string, count = 1, ms = STEP): Promise<Raised> {
    await waitFor(
      () => this.of(event).length >= count,
      ms,
      `${count} × ${event}; got ${JSON.stringify(this.events)}`,
    );
    return this.of(event)[count - 1];
  }

  /** Waits until `count` events were raised in all. */
  async waitCount(count: number, ms = STEP): Promise<void> {
    await waitFor(
      () => this.list.length >= count,
      ms,
      `${count} events; got ${JSON.stringify(this.events)}`,
    );
  }
}

/** Asserts that `raised` is exactly (source, expected.event, expected.data). */
export function assertRaised(
  raised: Raised | undefined,
  expected: { event: string; data: string },
  label: string,
): void {
  assert.ok(raised !== undefined, `${label}: no event`);
  assert.deepEqual(
    { source: raised.source, event: raised.event, data: raised.data },
    { source: SOURCE, event: expected.event, data: expected.data },
    label,
  );
}

/**
 * A new RomWebSocket whose current connection is terminated when the test ends, with a recorder
 * already attached as its handler.
 */
export function newRom(scope: Scope, options?: RomOptions): { rom: RomWebSocket; rec: Recorder } {
  const rom = new RomWebSocket(options);
  const rec = new Recorder();
  rom.onExternalEvent = rec.handler;
  release(scope, rom);
  return { rom, rec };
}

/** Terminates whatever connection `rom` holds when the test ends. */
export function release(scope: Scope, rom: RomWebSocket): void {
  scope.defer(async () => {
    const client = rom.client;
    if (!client) return;
    client.terminate();
    await withTimeout(client.closed, STEP, "RomWebSocket connection closed after terminate()");
  });
}

/** Connects with `Timeout` = 5 s (safety net) and asserts that it opened. */
export async function connectOpen(rom: RomWebSocket, url: string): Promise<void> {
  const before = rom.Timeout;
  rom.Timeout = 5;
  try {
    const ok = await withTimeout(rom.Connect(url), STEP + 2000, `Connect(${url})`);
    assert.equal(ok, true, `Connect(${url}) resolved false: ${rom.LastError}`);
  } finally {
    rom.Timeout = before;
  }
  assert.equal(rom.Connected, true, "Connected after a successful Connect");
}

/** Measures how long `promise` took, in ms. */
export async function timed<T>(promise: Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await promise;
  return { value, ms: performance.now() - start };
}
