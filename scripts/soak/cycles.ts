/**
 * Cycle soak: `--cycles N` (default 10,000) times connect → echo one message → close, one after
 * another, against an echo server in another process (so only the client's memory is measured),
 * with the heap (after a full GC where the runtime exposes one) and RSS sampled every
 * `--every` cycles (default 500).
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc scripts/soak/cycles.ts
 * bun scripts/soak/cycles.ts
 * deno run -A scripts/soak/cycles.ts --runtime deno,bun,node     # each runtime in turn
 * node --expose-gc .build/soak/cycles.mjs --client ws            # the same loop with ws (Node.js)
 * ```
 *
 * `--client ws` runs the loop with the `ws` package instead (the reference for the RSS question
 * on Node.js); `--compress` offers permessage-deflate (default off: the echo server does not
 * negotiate it unless asked, see `--server-deflate`). Prints one line per sample and
 * `cycles <runtime>: N cycles in T s, heap A→B MiB (max C), rss D→E MiB (max F)`, then
 * `cycles: N passed, M failed` (a cycle fails when it does not echo or close normally).
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { WebSocketClient } from "../../mod.ts";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const cycles = Number(arg("cycles", "10000"));
const every = Number(arg("every", "500"));
const clientKind = arg("client", "rom");
const compress = process.argv.includes("--compress");
const serverDeflate = process.argv.includes("--server-deflate");

function runtimeName(): string {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  return g.Deno ? "deno" : g.Bun ? "bun" : "node";
}

const MiB = 1024 * 1024;
function sample(): { heap: number; rss: number; committed: number; buffers: number } {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun) g.Bun.gc(true);
  else g.gc?.();
  const m = process.memoryUsage();
  return {
    heap: m.heapUsed / MiB,
    rss: m.rss / MiB,
    committed: m.heapTotal / MiB,
    buffers: (m.arrayBuffers ?? 0) / MiB,
  };
}

/** Starts the echo server (ws, on Node.js) in a child process; resolves with its port. */
function startServer(): Promise<{ port: number; stop: () => void }> {
  const code = `
    const { WebSocketServer } = require(${JSON.stringify(path.join(root, "node_modules", "ws"))});
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: ${serverDeflate} });
    wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
    wss.on("listening", () => console.log(wss.address().port));
    process.stdin.on("end", () => process.exit(0));
    process.stdin.resume();
  `;
  const child = spawn("node", ["-e", code], { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout!.once("data", (d) => {
      resolve({ port: Number(String(d).trim()), stop: () => child.stdin!.end() });
    });
    child.once("error", reject);
  });
}

async function romCycle(url: string, payload: string): Promise<boolean> {
  const client = new WebSocketClient(url, { compression: compress });
  await client.opened;
  const iterator = client[Symbol.asyncIterator]();
  await client.send(payload);
  const reply = await iterator.next();
  const info = await client.close(1000);
  return reply.value === payload && info.wasClean && info.code === 1000;
}

// deno-lint-ignore no-explicit-any
let WsClass: any;
async function wsCycle(url: string, payload: string): Promise<boolean> {
  WsClass ??= (await import("ws")).default;
  return await new Promise<boolean>((resolve) => {
    const ws = new WsClass(url, { perMessageDeflate: compress });
    let echoed = false;
    ws.on("open", () => ws.send(payload));
    ws.on("message", (data: { toString(): string }) => {
      echoed = data.toString() === payload;
      ws.close(1000);
    });
    ws.on("close", (code: number) => resolve(echoed && code === 1000));
    ws.on("error", () => resolve(false));
  });
}

async function soak(): Promise<number> {
  const runtime = runtimeName();
  const server = await startServer();
  const url = `ws://127.0.0.1:${server.port}/`;
  const cycle = clientKind === "ws" ? wsCycle : romCycle;
  const label = clientKind === "ws" ? `${runtime}/ws` : runtime;
  const payload = "echo ".repeat(20);
  let failed = 0;
  const started = performance.now();
  // A short warm-up, so the first sample is not of a cold process.
  for (let i = 0; i < 100; i++) await cycle(url, payload);
  const first = sample();
  let max = { heap: first.heap, rss: first.rss };
  let last = first;
  const show = (i: number, m: ReturnType<typeof sample>) =>
    console.log(
      `${label}: cycle ${i} heap ${m.heap.toFixed(1)} MiB (committed ${m.committed.toFixed(1)}, ` +
        `array buffers ${m.buffers.toFixed(1)}), rss ${m.rss.toFixed(1)} MiB`,
    );
  show(0, first);
  for (let i = 1; i <= cycles; i++) {
    try {
      if (!(await cycle(url, payload))) failed++;
    } catch (error) {
      failed++;
      if (failed <= 5) console.log(`cycle ${i}: ${error}`);
    }
    if (i % every === 0 || i === cycles) {
      last = sample();
      max = { heap: Math.max(max.heap, last.heap), rss: Math.max(max.rss, last.rss) };
      show(i, last);
    }
  }
  server.stop();
  const seconds = (performance.now() - started) / 1000;
  const f = (x: number) => x.toFixed(1);
  console.log(
    `cycles ${label}: ${cycles} cycles in ${seconds.toFixed(0)} s, heap ${f(first.heap)}→${
      f(last.heap)
    } MiB (max ${f(max.heap)}), committed heap ${f(first.committed)}→${
      f(last.committed)
    } MiB, rss ${f(first.rss)}→${f(last.rss)} MiB (max ${f(max.rss)})`,
  );
  console.log(`cycles: ${cycles - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

/** `--runtime LIST`: runs the soak on each runtime in turn (Node.js from an esbuild bundle). */
async function runner(list: string): Promise<number> {
  const pass = process.argv.slice(2).filter((a, i, all) =>
    a !== "--runtime" && all[i - 1] !== "--runtime"
  );
  const entry = path.join(root, "scripts", "soak", "cycles.ts");
  const bundled = path.join(root, ".build", "soak", "cycles.mjs");
  const bin = (name: string) => path.join(root, "node_modules", ".bin", name);
  let status = 0;
  for (const runtime of list.split(",")) {
    if (runtime === "node") {
      const r = spawnSync(bin("esbuild"), [
        entry,
        "--bundle",
        "--platform=node",
        "--format=esm",
        "--target=node20",
        "--external:ws",
        `--outfile=${bundled}`,
        "--log-level=warning",
      ], { cwd: root, encoding: "utf8" });
      if (r.status !== 0) {
        console.error(`esbuild failed: ${r.stderr}`);
        return 1;
      }
    }
    const command: Record<string, [string, string[]]> = {
      deno: [bin("deno"), ["run", "-A", "--v8-flags=--expose-gc", entry, ...pass]],
      bun: [bin("bun"), [entry, ...pass]],
      node: ["node", ["--expose-gc", bundled, ...pass]],
    };
    const [cmd, args] = command[runtime];
    const code = await new Promise<number>((resolve) => {
      const child = spawn(cmd, args, { cwd: root, stdio: "inherit" });
      child.on("exit", (c) => resolve(c ?? 1));
    });
    if (code !== 0) status = 1;
  }
  return status;
}

const list = arg("runtime", "");
process.exit(list ? await runner(list) : await soak());
