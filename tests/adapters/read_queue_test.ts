/**
 * Tests of `ReadQueue` (src/adapters/read_queue.ts), the bridge the Node.js and Bun adapters use
 * between their push-style sockets and the `Socket` reading contract: pull (`read()`) and push
 * (`listen(sink)`, with holding and `resumeReading()`), and the pausing of the source above the
 * read high-water mark.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReadQueue } from "../../src/adapters/read_queue.ts";
import { READ_HIGH_WATER_MARK, type ReadSink } from "../../src/adapters/socket.ts";

/** A source that records pause() and resume() calls. */
function source(): { calls: string[]; pause(): void; resume(): void } {
  const calls: string[] = [];
  return { calls, pause: () => calls.push("pause"), resume: () => calls.push("resume") };
}

/** A sink that records what it gets; `hold` decides what `data` returns. */
function recorder(hold: (chunk: Uint8Array, index: number) => boolean = () => false) {
  const log: string[] = [];
  let index = 0;
  const sink: ReadSink = {
    data(chunk) {
      log.push(`data ${chunk[0]}`);
      return !hold(chunk, index++);
    },
    end() {
      log.push("end");
    },
    error(error) {
      log.push(`error ${error.message}`);
    },
  };
  return { log, sink };
}

const chunk = (n: number, size = 1) => new Uint8Array(size).fill(n);

describe("ReadQueue", () => {
  describe("pull (read)", () => {
    it("hands out queued chunks in order, then null at the end", async () => {
      const q = new ReadQueue(source());
      q.push(chunk(1));
      q.push(chunk(2));
      q.end();
      assert.equal((await q.read())![0], 1);
      assert.equal((await q.read())![0], 2);
      assert.equal(await q.read(), null);
    });

    it("resolves a pending read with the next chunk, and rejects after the chunks on failure", async () => {
      const q = new ReadQueue(source());
      const pending = q.read();
      q.push(chunk(7));
      assert.equal((await pending)![0], 7);
      q.push(chunk(8));
      q.fail(new Error("reset"));
      assert.equal((await q.read())![0], 8);
      await assert.rejects(q.read(), /reset/);
    });

    it("pauses the source above the high-water mark and resumes it once drained", async () => {
      const s = source();
      const q = new ReadQueue(s);
      q.push(chunk(1, READ_HIGH_WATER_MARK));
      assert.deepEqual(s.calls, []);
      q.push(chunk(2));
      assert.deepEqual(s.calls, ["pause"]);
      await q.read();
      assert.deepEqual(s.calls, ["pause"], "still one chunk queued");
      await q.read();
      assert.deepEqual(s.calls, ["pause", "resume"]);
    });
  });

  describe("push (listen)", () => {
    it("delivers what was queued before listen, in order, then the rest as it comes", () => {
      const q = new ReadQueue(source());
      q.push(chunk(1));
      q.push(chunk(2));
      const { log, sink } = recorder();
      q.listen(sink);
      assert.deepEqual(log, ["data 1", "data 2"]);
      q.push(chunk(3));
      q.end();
      assert.deepEqual(log, ["data 1", "data 2", "data 3", "end"]);
    });

    it("holds when data returns false: later chunks and the end wait for resumeReading", () => {
      const q = new ReadQueue(source());
      const { log, sink } = recorder((c) => c[0] === 1);
      q.listen(sink);
      q.push(chunk(1));
      q.push(chunk(2));
      q.push(chunk(3));
      q.end();
      assert.deepEqual(log, ["data 1"]);
      q.resumeReading();
      assert.deepEqual(log, ["data 1", "data 2", "data 3", "end"]);
      q.resumeReading();
      assert.deepEqual(log, ["data 1", "data 2", "data 3", "end"], "the end is delivered once");
    });

    it("delivers an error after the chunks read before it, once", () => {
      const q = new ReadQueue(source());
      const { log, sink } = recorder((_, i) => i === 0);
      q.listen(sink);
      q.push(chunk(1));
      q.push(chunk(2));
      q.fail(new Error("reset"));
      q.fail(new Error("again"));
      assert.deepEqual(log, ["data 1"]);
      q.resumeReading();
      assert.deepEqual(log, ["data 1", "data 2", "error reset"]);
    });

    it("never delivers inside a delivery: a chunk pushed from data() comes after it returns", () => {
      const q = new ReadQueue(source());
      const log: string[] = [];
      q.listen({
        data(c) {
          log.push(`start ${c[0]}`);
          if (c[0] === 1) q.push(chunk(2));
          log.push(`done ${c[0]}`);
          return true;
        },
        end() {},
        error() {},
      });
      q.push(chunk(1));
      assert.deepEqual(log, ["start 1", "done 1", "start 2", "done 2"]);
    });

    it("pauses the source while held above the high-water mark, resumes once drained", () => {
      const s = source();
      const q = new ReadQueue(s);
      const { log, sink } = recorder((_, i) => i === 0);
      q.listen(sink);
      q.push(chunk(1));
      q.push(chunk(2, READ_HIGH_WATER_MARK));
      q.push(chunk(3));
      assert.deepEqual(s.calls, ["pause"]);
      q.resumeReading();
      assert.deepEqual(log, ["data 1", "data 2", "data 3"]);
      assert.deepEqual(s.calls, ["pause", "resume"]);
    });

    it("refuses a second listen", () => {
      const q = new ReadQueue(source());
      q.listen(recorder().sink);
      assert.throws(() => q.listen(recorder().sink), /listen\(\) called twice/);
    });
  });
});
