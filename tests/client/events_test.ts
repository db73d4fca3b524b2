/**
 * Tests of `src/client/events.ts` (the listener registry) and `src/client/inbox.ts` (messages on
 * their way to iterators and listeners, and the pause of reading past `maxQueue`), driven
 * directly, without a socket.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CloseInfo, ConnectionClosedError, type WebSocketClient } from "../../mod.ts";
import { Listeners } from "../../src/client/events.ts";
import { Inbox } from "../../src/client/inbox.ts";

const target = {} as WebSocketClient;
const message = (data: string) => ({ type: "message" as const, data, target });

describe("Listeners", () => {
  it("calls listeners in the order they were added, each function once", () => {
    const listeners = new Listeners();
    const calls: string[] = [];
    const a = () => calls.push("a");
    listeners.add("message", a);
    listeners.add("message", () => calls.push("b"));
    assert.equal(listeners.add("message", a), false, "a second add of the same function");
    listeners.emit("message", message("x"));
    assert.deepEqual(calls, ["a", "b"]);
    listeners.remove("message", a);
    listeners.emit("message", message("y"));
    assert.deepEqual(calls, ["a", "b", "b"]);
  });

  it("once and signal remove the listener; an aborted signal adds nothing", () => {
    const listeners = new Listeners();
    const calls: string[] = [];
    listeners.add("message", () => calls.push("once"), { once: true });
    const controller = new AbortController();
    listeners.add("message", () => calls.push("signal"), { signal: controller.signal });
    listeners.emit("message", message("1"));
    controller.abort();
    listeners.emit("message", message("2"));
    assert.deepEqual(calls, ["once", "signal"]);
    assert.equal(listeners.has("message"), false);
    assert.equal(
      listeners.add("message", () => calls.push("late"), { signal: controller.signal }),
      false,
    );
    assert.equal(listeners.add("message", 42 as unknown as () => void), false);
  });

  it("a listener added or removed during a dispatch takes effect from the next one", () => {
    const listeners = new Listeners();
    const calls: string[] = [];
    const second = () => calls.push("second");
    listeners.add("message", () => {
      calls.push("first");
      listeners.remove("message", second);
      listeners.add("message", () => calls.push("third"));
    });
    listeners.add("message", second);
    listeners.emit("message", message("1"));
    assert.deepEqual(calls, ["first", "second"]);
    listeners.emit("message", message("2"));
    assert.deepEqual(calls, ["first", "second", "first", "third"]);
  });

  it("a throwing listener is reported and does not stop the others", () => {
    const listeners = new Listeners();
    const calls: string[] = [];
    const reported: unknown[] = [];
    const error = console.error;
    console.error = (...args: unknown[]) => reported.push(args[1]);
    try {
      const boom = new Error("boom");
      listeners.add("message", () => {
        throw boom;
      });
      listeners.add("message", () => calls.push("after"));
      listeners.emit("message", message("x"));
      assert.deepEqual(calls, ["after"]);
      assert.deepEqual(reported, [boom]);
    } finally {
      console.error = error;
    }
  });
});

describe("Inbox", () => {
  const normal: CloseInfo = { code: 1000, reason: "", wasClean: true };
  const abnormal: CloseInfo = { code: 4001, reason: "bye", wasClean: true };

  it("queues messages without a reader, pauses at maxQueue and resumes at a quarter", async () => {
    const inbox = new Inbox(new Listeners(), target, 8);
    for (let i = 0; i < 7; i++) inbox.deliver(`m${i}`);
    assert.equal(inbox.paused, false);
    inbox.deliver("m7");
    assert.equal(inbox.paused, true, "8 waiting: reading pauses");
    let resumed = false;
    inbox.whenResumed().then(() => (resumed = true));
    const messages = inbox.iterator();
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await messages.next(), { done: false, value: `m${i}` });
    }
    assert.equal(inbox.paused, true, "3 waiting: still above a quarter");
    assert.deepEqual(await messages.next(), { done: false, value: "m5" });
    assert.equal(inbox.paused, false, "2 waiting: reading resumes");
    await Promise.resolve();
    assert.equal(resumed, true);
  });

  it("a message listener added later gets what arrived before it, in order", async () => {
    const listeners = new Listeners();
    const inbox = new Inbox(listeners, target, 100);
    inbox.deliver("early 1");
    inbox.deliver("early 2");
    const seen: Array<string | Uint8Array> = [];
    listeners.add("message", (e) => seen.push(e.data));
    inbox.listenerAdded();
    inbox.deliver("late");
    assert.deepEqual(seen, ["late"], "the late one goes straight to the listener");
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(seen, ["late", "early 1", "early 2"]);
  });

  it("a waiting iterator ends normally after a normal close and throws otherwise", async () => {
    const ok = new Inbox(new Listeners(), target, 8);
    const waiting = ok.iterator().next();
    ok.close(normal);
    assert.deepEqual(await waiting, { done: true, value: undefined });
    const bad = new Inbox(new Listeners(), target, 8);
    const failing = bad.iterator().next();
    bad.close(abnormal);
    await assert.rejects(
      failing,
      (e: unknown) => e instanceof ConnectionClosedError && e.info === abnormal,
    );
  });

  it("an iterator started after the end yields what was queued, then ends as the close says", async () => {
    const inbox = new Inbox(new Listeners(), target, 8);
    inbox.deliver("kept");
    inbox.close(abnormal);
    const messages = inbox.iterator();
    assert.deepEqual(await messages.next(), { done: false, value: "kept" });
    await assert.rejects(messages.next(), ConnectionClosedError);
    const normalInbox = new Inbox(new Listeners(), target, 8);
    normalInbox.close(normal);
    assert.deepEqual(await normalInbox.iterator().next(), { done: true, value: undefined });
  });

  it("return() ends one iterator without ending the inbox", async () => {
    const inbox = new Inbox(new Listeners(), target, 8);
    const first = inbox.iterator();
    await first.return!();
    assert.deepEqual(await first.next(), { done: true, value: undefined });
    inbox.deliver("for the next");
    assert.deepEqual(await inbox.iterator().next(), { done: false, value: "for the next" });
  });
});
