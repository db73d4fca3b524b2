/**
 * Tests of src/adapters/drain.ts: waiting writes are resolved together on a drain, rejected
 * together when the socket closes, and a settle empties the list.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type DrainWaiters, settleDrain, waitForDrain } from "../../src/adapters/drain.ts";

describe("drain", () => {
  it("resolves every waiting write, then starts over empty", async () => {
    const waiters: DrainWaiters = [];
    const a = waitForDrain(waiters);
    const b = waitForDrain(waiters);
    assert.equal(waiters.length, 2);
    settleDrain(waiters);
    assert.equal(waiters.length, 0);
    await Promise.all([a, b]);
    const c = waitForDrain(waiters);
    assert.equal(waiters.length, 1, "the same array serves the next waits");
    settleDrain(waiters);
    await c;
  });

  it("rejects every waiting write with the close error", async () => {
    const waiters: DrainWaiters = [];
    const a = waitForDrain(waiters);
    const b = waitForDrain(waiters);
    const error = new Error("closed");
    settleDrain(waiters, error);
    await assert.rejects(a, (e) => e === error);
    await assert.rejects(b, (e) => e === error);
    settleDrain(waiters, error); // nothing waits: no effect
  });
});
