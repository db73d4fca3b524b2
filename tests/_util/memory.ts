/**
 * Heap figures with the garbage collected first, so that a test bounds what a connection keeps,
 * not what the collector has not yet reclaimed (reading 36 MiB of pings leaves tens of MiB of
 * young garbage: a sample without a collection once saw +22.6 MiB on Node.js 24 for a client that
 * kept nothing).
 */
import v8 from "node:v8";
import vm from "node:vm";

type Gc = () => void;

function findGc(): Gc {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun) return () => bun.gc(true);
  const exposed = (globalThis as { gc?: Gc }).gc;
  if (typeof exposed === "function") return exposed;
  // Node.js and Deno (V8): the flag can be set at run time; a fresh context then has `gc`.
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as unknown;
  if (typeof gc !== "function") throw new Error("this runtime cannot collect garbage on demand");
  return gc as Gc;
}

let cached: Gc | undefined;

/** Runs a full collection (twice: finalizers of the first can free more). */
export function collectGarbage(): void {
  cached ??= findGc();
  cached();
  cached();
}

/** MiB of heap in use after a full collection. */
export function heapAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed / 1048576;
}
