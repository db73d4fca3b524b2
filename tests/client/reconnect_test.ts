/**
 * Tests of `src/client/reconnect.ts`: the delays of RFC 6455 §7.2.3 (full jitter under a bound
 * that grows by `factor` up to `maxDelay`), the attempt count and its restart after an open,
 * `maxAttempts`, `shouldReconnect`, and the option checks. Reconnection end to end is tested in
 * `close_test.ts`, `connect_test.ts` and the facade's tests.
 */

import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { ArgumentError, type CloseInfo, HandshakeError, NetworkError } from "../../mod.ts";
import { isTransient, ReconnectPolicy, reconnectPolicy } from "../../src/client/reconnect.ts";

const drop: CloseInfo = { code: 1006, reason: "", wasClean: false };
const realRandom = Math.random;

afterEach(() => {
  Math.random = realRandom;
});

describe("ReconnectPolicy", () => {
  it("bounds each delay by initialDelay * factor^(attempt - 1), capped by maxDelay", () => {
    Math.random = () => 0.999999; // the top of each jitter range
    const policy = new ReconnectPolicy({ initialDelay: 100, factor: 3, maxDelay: 2000 });
    const delays = Array.from({ length: 6 }, () => policy.next(drop)!.delay);
    assert.deepEqual(delays, [100, 300, 900, 2000, 2000, 2000]);
  });

  it("draws each delay uniformly from [0, bound] (full jitter)", () => {
    Math.random = () => 0;
    const low = new ReconnectPolicy({ initialDelay: 1000 });
    assert.equal(low.next(drop)!.delay, 0);
    Math.random = () => 0.5;
    const mid = new ReconnectPolicy({ initialDelay: 1000 });
    assert.equal(mid.next(drop)!.delay, 500);
    Math.random = realRandom;
    const policy = new ReconnectPolicy({ initialDelay: 1000, factor: 1 });
    const seen = Array.from({ length: 400 }, () => policy.next(drop)!.delay);
    assert.ok(seen.every((d) => d >= 0 && d <= 1000), "every delay inside [0, 1000]");
    assert.ok(new Set(seen).size > 100, "delays are spread, not one value");
  });

  it("numbers attempts from 1, restarts after an open, and gives up after maxAttempts", () => {
    const policy = new ReconnectPolicy({ maxAttempts: 2, initialDelay: 0 });
    assert.equal(policy.next(drop)?.attempt, 1);
    assert.equal(policy.next(drop)?.attempt, 2);
    assert.equal(policy.next(drop), undefined, "a third attempt in a row is refused");
    policy.opened();
    assert.equal(policy.next(drop)?.attempt, 1, "the count restarts once a connection opened");
  });

  it("asks shouldReconnect with the CloseInfo, only while attempts remain", () => {
    const asked: CloseInfo[] = [];
    const policy = new ReconnectPolicy({
      maxAttempts: 1,
      shouldReconnect: (info) => (asked.push(info), info.code !== 4000),
    });
    const refused: CloseInfo = { code: 4000, reason: "", wasClean: true };
    assert.equal(policy.next(refused), undefined);
    assert.equal(policy.next(drop)?.attempt, 1);
    assert.equal(policy.next(drop), undefined);
    assert.deepEqual(asked, [refused, drop], "not asked once no attempt remains");
  });

  it("refuses bad options with INVALID_OPTION", () => {
    for (
      const bad of [
        { maxAttempts: -1 },
        { initialDelay: Number.NaN },
        { maxDelay: -5 },
        { factor: 0.5 },
        { factor: "2" as unknown as number },
        { shouldReconnect: 1 as unknown as () => boolean },
      ]
    ) {
      assert.throws(
        () => new ReconnectPolicy(bad),
        (e: unknown) => e instanceof ArgumentError && e.code === "INVALID_OPTION",
        JSON.stringify(bad),
      );
    }
    assert.throws(() => reconnectPolicy(1 as unknown as boolean), ArgumentError);
    assert.equal(reconnectPolicy(undefined), undefined);
    assert.equal(reconnectPolicy(false), undefined);
    assert.ok(reconnectPolicy(true) instanceof ReconnectPolicy);
  });
});

describe("isTransient", () => {
  const info = (extra: Partial<CloseInfo>): CloseInfo => ({ ...drop, ...extra });
  it("retries drops, network errors but TLS, 5xx, 408 and 429, and 1001/1005/1011-1014", () => {
    assert.equal(isTransient(drop), true);
    assert.equal(isTransient(info({ error: new NetworkError("CONNECTION_REFUSED", "x") })), true);
    assert.equal(isTransient(info({ error: new NetworkError("TLS_ERROR", "x") })), false);
    for (
      const [status, expected] of [[503, true], [500, true], [429, true], [408, true]] as const
    ) {
      const error = new HandshakeError("UNEXPECTED_STATUS", "x", { status });
      assert.equal(isTransient(info({ error })), expected, `status ${status}`);
    }
    for (const status of [400, 401, 403, 404]) {
      const error = new HandshakeError("UNEXPECTED_STATUS", "x", { status });
      assert.equal(isTransient(info({ error })), false, `status ${status}`);
    }
    for (let code = 1000; code <= 1015; code++) {
      const received = { code, reason: "" };
      const expected = code === 1001 || code === 1005 || (code >= 1011 && code <= 1014);
      assert.equal(isTransient(info({ code, received, wasClean: true })), expected, `code ${code}`);
    }
    assert.equal(isTransient(info({ error: new ArgumentError("INVALID_OPTION", "x") })), false);
  });
});
