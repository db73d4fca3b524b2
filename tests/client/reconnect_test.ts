/**
 * Tests of `src/client/reconnect.ts`: the delays of RFC 6455 §7.2.3 (full jitter under a bound
 * that grows by `factor` up to `maxDelay`), the attempt count and its restart after an open,
 * `maxAttempts`, `shouldReconnect`, and the option checks. Reconnection end to end is tested in
 * `close_test.ts`, `connect_test.ts` and the facade's tests.
 */

import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  ArgumentError,
  CallbackError,
  type CloseInfo,
  HandshakeError,
  NetworkError,
} from "../../mod.ts";
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
    const policy = new ReconnectPolicy({ maxAttempts: 2, initialDelay: 0, resetAfter: 0 });
    assert.equal(policy.next(drop)?.attempt, 1);
    assert.equal(policy.next(drop)?.attempt, 2);
    assert.equal(policy.next(drop), undefined, "a third attempt in a row is refused");
    policy.opened();
    assert.equal(policy.next(drop)?.attempt, 1, "the count restarts once a connection opened");
  });

  it("a 404 is tried again once the client has been open (a server restarting), not before", () => {
    const answer = (status: number): CloseInfo => ({
      code: 1006,
      reason: "",
      wasClean: false,
      error: new HandshakeError("UNEXPECTED_STATUS", `${status}`, { status }),
    });
    const policy = new ReconnectPolicy({ initialDelay: 0 });
    assert.equal(policy.next(answer(404)), undefined, "never open: a wrong URL");
    const restarted = new ReconnectPolicy({ initialDelay: 0 });
    restarted.opened();
    assert.equal(restarted.next(drop)?.attempt, 1, "the drop of the restart");
    assert.equal(restarted.next(answer(404))?.attempt, 2, "Asterisk before ARI has loaded");
    assert.equal(restarted.next(answer(401)), undefined, "other 4xx answers still end it");
    const custom = new ReconnectPolicy({ initialDelay: 0, shouldReconnect: isTransient });
    custom.opened();
    assert.equal(custom.next(answer(404)), undefined, "an application's rule is followed as is");
  });

  it("restarts the count only after a connection stayed open resetAfter ms", async () => {
    const flapping = new ReconnectPolicy({ initialDelay: 0, resetAfter: 60_000 });
    assert.equal(flapping.next(drop)?.attempt, 1);
    flapping.opened(); // dropped at once: a flapping server
    assert.equal(flapping.next(drop)?.attempt, 2, "not restarted: open for less than resetAfter");
    flapping.opened();
    assert.equal(flapping.next(drop)?.attempt, 3);
    const steady = new ReconnectPolicy({ initialDelay: 0, resetAfter: 20 });
    assert.equal(steady.next(drop)?.attempt, 1);
    steady.opened();
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(steady.next(drop)?.attempt, 1, "restarted: open for longer than resetAfter");
  });

  it("server hints lengthen the delay: 1012, 1013, Retry-After on 429/503 (capped by maxDelay)", () => {
    Math.random = () => 0; // without hints every delay would be 0
    const options = { initialDelay: 300, factor: 2, maxDelay: 5000, resetAfter: 0 };
    const closed = (code: number): CloseInfo => ({
      code,
      reason: "",
      wasClean: true,
      received: { code, reason: "" },
    });
    assert.equal(new ReconnectPolicy(options).next(drop)!.delay, 0);
    assert.equal(new ReconnectPolicy(options).next(closed(1012))!.delay, 300, "1012: initialDelay");
    const tryLater = new ReconnectPolicy(options);
    assert.equal(tryLater.next(closed(1013))!.delay, 300, "1013: the full bound, attempt 1");
    assert.equal(tryLater.next(closed(1013))!.delay, 600, "1013: the full bound, attempt 2");
    const refused = (status: number, retryAfter: string): CloseInfo => ({
      ...drop,
      error: new HandshakeError("UNEXPECTED_STATUS", "x", {
        status,
        headers: { "retry-after": retryAfter },
      }),
    });
    assert.equal(new ReconnectPolicy(options).next(refused(503, "2"))!.delay, 2000);
    assert.equal(new ReconnectPolicy(options).next(refused(429, "120"))!.delay, 5000, "capped");
    const date = new Date(Date.now() + 3000).toUTCString();
    const byDate = new ReconnectPolicy(options).next(refused(503, date))!.delay;
    assert.ok(byDate > 1000 && byDate <= 3000, `an HTTP date: ${byDate} ms`);
    assert.equal(new ReconnectPolicy(options).next(refused(500, "2"))!.delay, 0, "only 429/503");
    assert.equal(new ReconnectPolicy(options).next(refused(503, "soon"))!.delay, 0, "malformed");
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

  it("keeps delays finite with initialDelay 0, however many attempts in a row", () => {
    const policy = new ReconnectPolicy({ initialDelay: 0 });
    for (let i = 0; i < 1100; i++) {
      const { delay } = policy.next(drop)!;
      assert.equal(delay, 0, `attempt ${i + 1}`);
    }
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
        { resetAfter: -1 },
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
    // A server that accepts TCP and closes before its 101 (restarting, behind a TCP proxy).
    const cut = new HandshakeError("HANDSHAKE_INTERRUPTED", "closed before the response");
    assert.equal(isTransient(info({ error: cut })), true);
    // A url or headers function that failed (e.g. the HTTPS call for a Slack URL) is retried.
    assert.equal(isTransient(info({ error: new CallbackError("URL_CALLBACK_FAILED", "x") })), true);
    assert.equal(isTransient(info({ error: new CallbackError("ON_OPEN_FAILED", "x") })), false);
  });
});
