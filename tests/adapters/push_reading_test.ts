/**
 * Tests of `withPushReading` (src/adapters/push_reading.ts), the push side the client reads
 * through, over a socket that has only `read()`: order, holding and resuming (no read while held),
 * the end and errors after held data, one delivery of the end, rejections that are not errors, a
 * socket that already listens, and the members that pass through (startTls among them).
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NetworkError } from "../../src/core/errors.ts";
import { withPushReading } from "../../src/adapters/push_reading.ts";
import type { ReadSink, Socket, StartTlsOptions } from "../../src/adapters/socket.ts";

type Result = { chunk: Uint8Array | null } | { reason: unknown };

/**
 * A pull-only socket whose reads are answered by `feed` (results given before a read wait for
 * it); `reads` counts the calls of `read()`.
 */
function pullSocket(extra: Partial<Socket> = {}) {
  const results: Result[] = [];
  let waiter: ((result: Result) => void) | undefined;
  const state = { reads: 0, writes: [] as Uint8Array[], closed: 0 };
  const answer = (
    r: Result,
  ) => ("chunk" in r ? Promise.resolve(r.chunk) : Promise.reject(r.reason));
  const socket: Socket = {
    read() {
      state.reads++;
      const next = results.shift();
      if (next) return answer(next);
      return new Promise<Result>((resolve) => (waiter = resolve)).then(answer);
    },
    write(data, written) {
      state.writes.push(data);
      written?.(data);
      return Promise.resolve();
    },
    get bufferedAmount() {
      return 42;
    },
    closeWrite: () => Promise.resolve(),
    close() {
      state.closed++;
    },
    closed: Promise.resolve(),
    ...extra,
  };
  const feed = (...items: Result[]) => {
    for (const item of items) {
      const w = waiter;
      waiter = undefined;
      if (w) w(item);
      else results.push(item);
    }
  };
  return { socket, feed, state };
}

const data = (n: number): Result => ({ chunk: new Uint8Array([n]) });
const eof: Result = { chunk: null };

/** A sink that records what it gets; `hold` decides when `data` returns false. */
function recorder(hold: (byte: number) => boolean = () => false) {
  const log: string[] = [];
  const sink: ReadSink = {
    data(chunk) {
      log.push(`data ${chunk[0]}`);
      return !hold(chunk[0]);
    },
    end() {
      log.push("end");
    },
    error(error) {
      log.push(`error ${error.constructor.name} ${error.message}`);
    },
  };
  return { log, sink };
}

/** Lets every pending promise reaction run (the fake's reads settle in a few microtasks). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("withPushReading", () => {
  it("delivers chunks in order, then the end, from one read loop", async () => {
    const { socket, feed, state } = pullSocket();
    const { log, sink } = recorder();
    withPushReading(socket).listen(sink);
    feed(data(1), data(2));
    await settle();
    feed(data(3), eof);
    await settle();
    assert.deepEqual(log, ["data 1", "data 2", "data 3", "end"]);
    assert.equal(state.reads, 4, "one read per chunk and one for the end, nothing after");
  });

  it("holds when data returns false: no read until resumeReading, then goes on", async () => {
    const { socket, feed, state } = pullSocket();
    const { log, sink } = recorder((byte) => byte === 1);
    const push = withPushReading(socket);
    feed(data(1), data(2), data(3));
    push.listen(sink);
    await settle();
    assert.deepEqual(log, ["data 1"]);
    assert.equal(state.reads, 1, "nothing is read while held");
    push.resumeReading();
    push.resumeReading(); // a second resume does not start a second loop
    await settle();
    assert.deepEqual(log, ["data 1", "data 2", "data 3"]);
    assert.equal(state.reads, 4, "one read pending, not two");
    feed(eof);
    await settle();
    assert.deepEqual(log, ["data 1", "data 2", "data 3", "end"]);
  });

  it("delivers the end and an error only after held data is resumed", async () => {
    for (const last of [eof, { reason: new NetworkError("CONNECTION_RESET", "reset") }]) {
      const { socket, feed } = pullSocket();
      const { log, sink } = recorder((byte) => byte === 1);
      const push = withPushReading(socket);
      push.listen(sink);
      feed(data(1), data(2), last);
      await settle();
      assert.deepEqual(log, ["data 1"], "neither the end nor the error while held");
      push.resumeReading();
      await settle();
      assert.deepEqual(log, [
        "data 1",
        "data 2",
        "chunk" in last ? "end" : "error NetworkError reset",
      ]);
    }
  });

  it("delivers nothing after the end or the error, resumed or not", async () => {
    const { socket, feed, state } = pullSocket();
    const { log, sink } = recorder();
    const push = withPushReading(socket);
    push.listen(sink);
    feed(eof);
    await settle();
    push.resumeReading();
    feed(data(9));
    await settle();
    assert.deepEqual(log, ["end"]);
    assert.equal(state.reads, 1);
  });

  it("passes an Error rejection as is and turns any other into a NetworkError", async () => {
    const reasons: [unknown, string][] = [
      [new TypeError("boom"), "error TypeError boom"],
      ["boom", "error NetworkError socket error: boom"],
      [undefined, "error NetworkError socket error: undefined"],
    ];
    for (const [reason, expected] of reasons) {
      const { socket, feed } = pullSocket();
      const errors: Error[] = [];
      const { log, sink } = recorder();
      withPushReading(socket).listen({ ...sink, error: (e) => (errors.push(e), sink.error(e)) });
      feed(data(1), { reason });
      await settle();
      assert.deepEqual(log, ["data 1", expected]);
      if (typeof reason !== "object") {
        assert.ok(errors[0] instanceof NetworkError);
        assert.equal((errors[0] as NetworkError).code, "NETWORK_ERROR");
        assert.equal((errors[0] as NetworkError).cause, reason);
      }
    }
  });

  it("refuses a second listen", () => {
    const push = withPushReading(pullSocket().socket);
    push.listen(recorder().sink);
    assert.throws(() => push.listen(recorder().sink), /listen\(\) called twice/);
  });

  it("ignores resumeReading before listen", async () => {
    const { socket, feed, state } = pullSocket();
    const push = withPushReading(socket);
    push.resumeReading();
    await settle();
    assert.equal(state.reads, 0);
    const { log, sink } = recorder();
    push.listen(sink);
    feed(data(5));
    await settle();
    assert.deepEqual(log, ["data 5"]);
  });

  it("returns a socket that already listens as it is", () => {
    const { socket } = pullSocket();
    const listening: Socket = { ...socket, listen() {}, resumeReading() {} };
    assert.equal(withPushReading(listening), listening);
    const wrapped = withPushReading(socket);
    assert.equal(withPushReading(wrapped), wrapped, "a wrapper is not wrapped again");
  });

  it("passes the other members through", async () => {
    const { socket, feed, state } = pullSocket();
    const push = withPushReading(socket);
    feed(data(3));
    assert.equal((await push.read())![0], 3, "read() before listen (the proxy's CONNECT answer)");
    const bytes = new Uint8Array([1, 2]);
    await push.write(bytes);
    assert.equal(state.writes[0], bytes);
    const given: Uint8Array[] = [];
    await push.write(bytes, (d) => given.push(d));
    assert.deepEqual(given, [bytes], "write's written callback reaches the socket");
    assert.equal(push.bufferedAmount, 42);
    assert.equal(push.closed, socket.closed);
    push.close();
    assert.equal(state.closed, 1);
    assert.equal(push.startTls, undefined, "no startTls when the socket has none");
  });

  it("passes startTls through: its result is the socket's, to be wrapped again", async () => {
    const inner = pullSocket();
    const calls: StartTlsOptions[] = [];
    const { socket } = pullSocket({
      startTls(options) {
        calls.push(options);
        return Promise.resolve(inner.socket);
      },
    });
    const push = withPushReading(socket);
    const options = { hostname: "example.com", tls: { ca: "PEM" } };
    const secure = await push.startTls!(options);
    assert.deepEqual(calls, [options]);
    assert.equal(secure, inner.socket);
    const { log, sink } = recorder();
    withPushReading(secure).listen(sink);
    inner.feed(data(7), eof);
    await settle();
    assert.deepEqual(log, ["data 7", "end"]);
  });
});
