/**
 * The fuzzer's watchdog, a worker: the fuzzing loop is synchronous, so an input that never ends
 * would hold the main thread for ever. The main thread copies each input into shared memory and
 * counts it; this worker looks at the count every second, and when it has not moved for the
 * allowed time, saves the input, reports it and ends the process.
 *
 * Shared layout: `Int32Array` [count, target index, input length], then the input bytes.
 *
 * @module
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

interface Start {
  shared: SharedArrayBuffer;
  targets: string[];
  seconds: number;
  findingsDir: string;
}

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<Start>) => void) | null;
};

scope.onmessage = (event) => {
  const { shared, targets, seconds, findingsDir } = event.data;
  const header = new Int32Array(shared, 0, 3);
  const bytes = new Uint8Array(shared, 12);
  let last = Atomics.load(header, 0);
  let still = 0;
  setInterval(() => {
    const now = Atomics.load(header, 0);
    if (now !== last) {
      last = now;
      still = 0;
      return;
    }
    if (++still < seconds) return;
    const target = targets[Atomics.load(header, 1)] ?? "?";
    const input = bytes.slice(0, Atomics.load(header, 2));
    mkdirSync(findingsDir, { recursive: true });
    const file = join(findingsDir, `${target}-hang.bin`);
    writeFileSync(file, input);
    console.log(
      `FINDING ${target}: no progress for ${seconds} s (a hang)\n  input saved to ${file}`,
    );
    console.log("fuzz: 0 passed, 1 failed");
    process.kill(process.pid, "SIGKILL");
  }, 1000);
};
