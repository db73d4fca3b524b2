/**
 * Feed soak: a `WebSocketClient` with `reconnect`, `onOpen`, `idleTimeout` and keepalive
 * consumes an ARI-like event feed through the fault proxy for minutes, while the proxy breaks the
 * network every few seconds. Not part of the timed test suite; CI runs it for 2 minutes per
 * runtime (`.ci/run`).
 *
 * ```sh
 * deno run -A scripts/soak/feed.ts --minutes 30        # the soak, on this runtime
 * bun scripts/soak/feed.ts --minutes 30
 * deno run -A scripts/soak/feed.ts --runtime deno,bun,node --minutes 2 --parallel   # as CI does
 * ```
 *
 * Options: `--minutes M` (default 2), `--clients N` (default 2: one reads with `for await`, one
 * with a `message` listener, alternating), `--rate R` (events per second per connection, default
 * 100), `--seed S` (the fault sequence), `--faults KIND,...` (a subset of `FAULT_KINDS`, e.g.
 * `silence`). The client reconnects with the default `shouldReconnect`. `--runtime
 * LIST` runs the soak as a subprocess on each runtime of LIST in turn (`--parallel`: at once),
 * Deno with `--v8-flags=--expose-gc`, Bun as is, Node.js from an esbuild bundle
 * (`.build/soak/feed.mjs`) with `--expose-gc`, and prints their summary lines and a total.
 *
 * Two processes per runtime. The FEED process (this script with `--serve`, spawned by the soak)
 * runs a WebSocket server on raw TCP (`node:net`, RFC 6455 framing of its own) that sends
 * numbered events (`{"type":"Event","conn":<id>,"seq":<n>,...}`, some of 1 KiB, some of 70 KiB
 * in three fragments) at a steady rate on every connection, starting at seq 0, and answers pings
 * and close frames; and one fault proxy per client (`tests/_util/fault_proxy.ts`) that, every 2-5
 * s, takes that client's connection down with one of: a drop (FIN), a reset (RST), a reset
 * mid-frame (`resetAfter`), a silence (`idleTimeout` must notice), a drop/reset after refusing
 * new connections for a moment (not listening, or accepting and closing/resetting), or a drop
 * followed by a drop of the next connection as soon as its 101 went through (while `onOpen`
 * runs). It reports each fault, and whether the connection really went down, on stdout. The
 * CLIENT process (this script) holds the clients and checks, while it runs:
 *
 * - every event in order within each connection (no gap, duplicate or reordering; a new
 *   connection starts at seq 0, after `onOpen` of that connection finished; never an event of an
 *   older connection after a newer one), and large events intact;
 * - `outage` events: per client, their count equals the faults that took its connection down (at
 *   the end, once faults have stopped and every client is back), and each is consistent: lostAt <=
 *   restoredAt, attempts >= 1 and equal to the `reconnect` events since the last open,
 *   lastMessageAt set, after the previous restoredAt and not after lostAt; the same report given
 *   to `onOpen`;
 * - heap and RSS sampled every 5 s (after a full GC where the runtime exposes one; on Node.js also
 *   the TCP handles alive);
 * - no unhandled rejection or uncaught exception, no client closing by itself, no feed stalled for
 *   20 s, `close()` settling, and a hard deadline (minutes + 2): any violation exits non-zero.
 *
 * It prints `soak <runtime>: <events> events, <connections> connections, <outages> outages
 * (<faults> faults), heap <start>→<end> MiB (max <max>), rss <start>→<end> MiB, <violations>
 * violations`, then `soak: N passed, M failed`.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type Outage, WebSocketClient } from "../../mod.ts";
import {
  type FaultProxy,
  type ProxyConnection,
  startFaultProxy,
} from "../../tests/_util/fault_proxy.ts";
import { acceptKey, closePayload, frame, Op } from "../../tests/_util/hostile.ts";

// -------------------------------------------------------------------------------------------------
// Settings shared by both processes.

/** The client's idle deadline; a silence fault lasts a little longer. */
const IDLE_TIMEOUT = 3000;
const SILENCE_MS = IDLE_TIMEOUT + 600;
const PING_INTERVAL = 4000;
const PING_TIMEOUT = 4000;
const CLOSE_TIMEOUT = 1000;
/** A fault must take its connection down within this (after the fault's own duration). */
const DOWN_WITHIN = 6000;
/** No event for this long on a client: the feed hangs. */
const STALL_MS = 20_000;
const SAMPLE_MS = 5000;
const MiB = 1024 * 1024;

type Runtime = "deno" | "bun" | "node";

function runtimeName(): Runtime {
  const g = globalThis as Record<string, unknown>;
  if (g.Deno) return "deno";
  if (g.Bun) return "bun";
  return "node";
}

interface Args {
  minutes: number;
  clients: number;
  rate: number;
  seed: number;
  runtime: string | undefined;
  parallel: boolean;
  faults: string[];
  serve: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    minutes: 2,
    clients: 2,
    rate: 100,
    seed: Date.now() % 1_000_000,
    runtime: undefined,
    parallel: false,
    faults: [...FAULT_KINDS],
    serve: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    const number = (min: number) => {
      const v = Number(value());
      if (!Number.isFinite(v) || v < min) usage(`${a} must be a number >= ${min}`);
      return v;
    };
    if (a === "--minutes") args.minutes = number(0.05);
    else if (a === "--clients") args.clients = Math.floor(number(1));
    else if (a === "--rate") args.rate = number(1);
    else if (a === "--seed") args.seed = Math.floor(number(0));
    else if (a === "--runtime" || a === "--runtimes") args.runtime = value();
    else if (a === "--parallel") args.parallel = true;
    else if (a === "--faults") {
      args.faults = value().split(",");
      const unknown = args.faults.filter((f) => !FAULT_KINDS.includes(f));
      if (unknown.length > 0) usage(`unknown faults ${unknown} (known: ${FAULT_KINDS})`);
    } else if (a === "--serve") args.serve = true;
    else usage(`unknown argument ${a}`);
  }
  return args;
}

function usage(message: string): never {
  console.error(`soak: ${message}`);
  console.error(
    "usage: feed.ts [--minutes M] [--clients N] [--rate R] [--seed S] " +
      "[--faults KIND,...] [--runtime deno,bun,node [--parallel]]",
  );
  process.exit(2);
}

/** A small seeded PRNG (mulberry32), so that a run's fault sequence can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function mib(bytes: number): string {
  return (bytes / MiB).toFixed(1);
}

// -------------------------------------------------------------------------------------------------
// The feed process: server and fault proxies.

/** Messages of the feed process, one JSON object per stdout line. */
type FeedReport =
  | { t: "ready"; urls: string[]; port: number }
  | { t: "fault"; client: number; kind: string; conn: number; detail: string }
  | { t: "down"; client: number; kind: string; conn: number; ok: boolean; ms: number }
  | { t: "harness"; message: string }
  | {
    t: "stopped";
    faults: number[];
    down: number[];
    accepted: number;
    refused: number;
    events: number;
    pings: number;
    subscribes: number;
    heapMiB: number;
    rssMiB: number;
  };

function report(message: FeedReport): void {
  process.stdout.write(JSON.stringify(message) + "\n");
}

const encoder = new TextEncoder();

/** One client connection of the feed server. */
class FeedConnection {
  readonly id: number;
  readonly #socket: net.Socket;
  readonly #stats: FeedStats;
  readonly #rate: number;
  #head = "";
  #open = false;
  #startedAt = 0;
  #seq = 0;
  #blocked = false;
  #closing = false;
  #buffer: Uint8Array = new Uint8Array(0);

  constructor(id: number, socket: net.Socket, stats: FeedStats, rate: number) {
    this.id = id;
    this.#socket = socket;
    this.#stats = stats;
    this.#rate = rate;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Uint8Array) => this.#data(chunk));
    socket.on("drain", () => (this.#blocked = false));
    socket.on("end", () => this.#end());
    socket.on("error", () => socket.destroy());
  }

  get live(): boolean {
    return this.#open && !this.#closing && !this.#socket.destroyed;
  }

  #data(chunk: Uint8Array): void {
    if (!this.#open) {
      this.#head += new TextDecoder("latin1").decode(chunk);
      const end = this.#head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (this.#head.length > 16384) this.#socket.destroy();
        return;
      }
      const lines = this.#head.slice(0, end).split("\r\n");
      const key = lines.find((l) => /^sec-websocket-key:/i.test(l))?.split(":")[1]?.trim();
      const upgrade = lines.some((l) => /^upgrade:\s*websocket\s*$/i.test(l));
      if (!key || !upgrade || !lines[0].startsWith("GET ")) {
        this.#socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      this.#socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${acceptKey(key)}\r\nX-Feed-Conn: ${this.id}\r\n\r\n`,
      );
      this.#open = true;
      this.#startedAt = performance.now();
      // One character per byte: what follows the head is the end of this chunk.
      const rest = this.#head.length - (end + 4);
      this.#head = "";
      if (rest > 0) this.#frames(chunk.subarray(chunk.length - rest));
      return;
    }
    this.#frames(chunk);
  }

  /** Client frames (masked): pings are answered, a close is echoed, text is a subscription. */
  #frames(chunk: Uint8Array): void {
    const b = this.#buffer.length === 0 ? chunk : concatBytes(this.#buffer, chunk);
    let at = 0;
    for (;;) {
      if (b.length - at < 2) break;
      let length = b[at + 1] & 0x7f;
      let header = 2;
      if (length === 126) {
        if (b.length - at < 4) break;
        length = (b[at + 2] << 8) | b[at + 3];
        header = 4;
      } else if (length === 127) {
        if (b.length - at < 10) break;
        length = 0;
        for (let i = 2; i < 10; i++) length = length * 256 + b[at + i];
        header = 10;
      }
      const masked = (b[at + 1] & 0x80) !== 0;
      const keyAt = at + header;
      const start = keyAt + (masked ? 4 : 0);
      if (b.length < start + length) break;
      const payload = b.slice(start, start + length);
      if (masked) { for (let i = 0; i < length; i++) payload[i] ^= b[keyAt + (i & 3)]; }
      const opcode = b[at] & 0x0f;
      at = start + length;
      if (opcode === Op.PING) {
        this.#stats.pings++;
        this.#write(frame(Op.PONG, payload));
      } else if (opcode === Op.CLOSE) {
        const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 1000;
        this.#closing = true;
        this.#write(frame(Op.CLOSE, closePayload(code === 1005 ? 1000 : code)));
        this.#socket.end();
        return;
      } else if (opcode === Op.TEXT) {
        this.#stats.subscribes++;
      }
    }
    this.#buffer = at === b.length ? new Uint8Array(0) : b.slice(at);
  }

  #end(): void {
    this.#closing = true;
    this.#socket.end();
  }

  #write(bytes: Uint8Array): void {
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    if (!this.#socket.write(bytes)) this.#blocked = true;
  }

  /** Sends the events due by now at the steady rate (none while the socket is backed up). */
  tick(now: number): void {
    if (!this.live || this.#blocked) return;
    const due = Math.floor((now - this.#startedAt) * this.#rate / 1000);
    for (let n = 0; this.#seq < due && n < 500 && !this.#blocked; n++) this.#send(this.#seq++);
  }

  #send(seq: number): void {
    const event: Record<string, unknown> = {
      type: "Event",
      conn: this.id,
      seq,
      application: "soak",
      timestamp: new Date().toISOString(),
      channel: {
        id: `1700000000.${this.id}.${seq}`,
        name: `PJSIP/soak-${String(this.id).padStart(8, "0")}`,
        state: "Up",
        caller: { name: "", number: "100" },
        dialplan: { context: "default", exten: "100", priority: 1 },
      },
      asterisk_id: "02:42:ac:11:00:02",
    };
    let blob = 0;
    if (seq % 250 === 249) blob = 70 * 1024;
    else if (seq % 10 === 5) blob = 1024;
    if (blob > 0) {
      event.size = blob;
      event.blob = "x".repeat(blob);
    }
    const text = encoder.encode(JSON.stringify(event));
    this.#stats.events++;
    if (blob < 70 * 1024) return this.#write(frame(Op.TEXT, text));
    // Large events in three fragments, as some servers send them.
    const third = Math.floor(text.length / 3);
    this.#write(frame(Op.TEXT, text.subarray(0, third), { fin: false }));
    this.#write(frame(Op.CONTINUATION, text.subarray(third, 2 * third), { fin: false }));
    this.#write(frame(Op.CONTINUATION, text.subarray(2 * third)));
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

interface FeedStats {
  events: number;
  pings: number;
  subscribes: number;
}

const FAULT_KINDS = [
  "drop",
  "reset",
  "reset-mid-frame",
  "silence",
  "refuse+drop",
  "refuse-reset+reset",
  "refuse-close+reset-mid-frame",
  "drop+early-drop",
];

/** The state of a proxied connection's two sockets (diagnostics; not in ProxyConnection). */
function sockets(c: ProxyConnection): string {
  const side = (name: string) => {
    const s = (c as unknown as Record<string, net.Socket | undefined>)[name];
    if (!s) return `${name} ?`;
    return `${name} ${s.readyState}${s.destroyed ? " destroyed" : ""}` +
      `${s.readableEnded ? " got-FIN" : ""}${s.writableEnded ? " sent-FIN" : ""}`;
  };
  return `${side("client")}, ${side("server")}, ${c.bytesUp} B up, ${c.bytesDown} B down`;
}

/** The feed process: runs until "exit" on stdin; "stop" ends the faults first. */
async function serve(args: Args): Promise<void> {
  const random = prng(args.seed);
  const stats: FeedStats = { events: 0, pings: 0, subscribes: 0 };
  const live = new Set<FeedConnection>();
  let nextId = 0;
  const server = net.createServer((socket) => {
    const connection = new FeedConnection(nextId++, socket, stats, args.rate);
    live.add(connection);
    socket.on("close", () => live.delete(connection));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const ticker = setInterval(() => {
    const now = performance.now();
    for (const c of live) c.tick(now);
  }, 10);

  const proxies: FaultProxy[] = [];
  for (let i = 0; i < args.clients; i++) {
    proxies.push(await startFaultProxy({ target: { host: "127.0.0.1", port } }));
  }
  const faults = proxies.map(() => 0);
  const down = proxies.map(() => 0);
  let stopping = false;
  const napping = new Set<() => void>();
  const wake = () => {
    for (const w of napping) w();
  };
  /** A sleep that "stop" cuts short. */
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        napping.delete(done);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, ms);
      napping.add(done);
    });

  /** A connection worth breaking: open, not broken yet, and carrying events for a while. */
  const firstSeen = proxies.map(() => new Map<number, number>());
  const broken = proxies.map(() => new Set<number>());
  const target = (i: number): ProxyConnection | undefined => {
    const now = performance.now();
    for (const c of proxies[i].connections()) {
      if (!c.open || broken[i].has(c.index)) continue;
      const seen = firstSeen[i].get(c.index);
      if (seen === undefined) firstSeen[i].set(c.index, now);
      else if (now - seen >= 700 && c.bytesDown >= 4096) return c;
    }
    return undefined;
  };

  const closedWithin = async (c: ProxyConnection, ms: number): Promise<boolean> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ok = await Promise.race([
      c.closed.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
    clearTimeout(timer);
    return ok;
  };

  const inject = async (i: number, c: ProxyConnection, kind: string): Promise<void> => {
    const proxy = proxies[i];
    broken[i].add(c.index);
    firstSeen[i].delete(c.index);
    const refuseMs = 500 + Math.floor(random() * 2000);
    const cut = 1 + Math.floor(random() * 700);
    let detail = "";
    const started = performance.now();
    faults[i]++;
    switch (kind) {
      case "drop":
      case "early-drop":
        c.drop();
        break;
      case "reset":
        c.reset();
        break;
      case "reset-mid-frame":
        c.resetAfter(cut);
        detail = `after ${cut} B`;
        break;
      case "silence":
        c.silence();
        detail = `${SILENCE_MS} ms`;
        break;
      case "refuse+drop":
        proxy.refuse(refuseMs);
        c.drop();
        detail = `refuse ${refuseMs} ms`;
        break;
      case "refuse-reset+reset":
        proxy.refuse(refuseMs, { mode: "reset" });
        c.reset();
        detail = `refuse ${refuseMs} ms`;
        break;
      case "refuse-close+reset-mid-frame":
        proxy.refuse(refuseMs, { mode: "close" });
        c.resetAfter(cut);
        detail = `refuse ${refuseMs} ms, after ${cut} B`;
        break;
    }
    report({ t: "fault", client: i, kind, conn: c.index, detail });
    if (kind === "silence") {
      await sleep(SILENCE_MS);
      c.unsilence();
    }
    let ok = await closedWithin(c, DOWN_WITHIN);
    report({ t: "down", client: i, kind, conn: c.index, ok, ms: performance.now() - started });
    if (ok) down[i]++;
    else {
      report({
        t: "harness",
        message: `client ${i}: connection ${c.index} still open: ${sockets(c)}`,
      });
      // The client did not notice: drop it (another fault, which must take it down).
      faults[i]++;
      report({ t: "fault", client: i, kind: "drop", conn: c.index, detail: `after ${kind}` });
      c.drop();
      ok = await closedWithin(c, DOWN_WITHIN);
      report({ t: "down", client: i, kind: "drop", conn: c.index, ok, ms: 0 });
      if (ok) down[i]++;
      else report({ t: "harness", message: `client ${i}: connection ${c.index} never closed` });
    }
    if (proxy.failure) report({ t: "harness", message: `proxy ${i}: ${proxy.failure}` });
  };

  const loops = proxies.map(async (_, i) => {
    while (!stopping) {
      await nap(2000 + random() * 3000);
      let c: ProxyConnection | undefined;
      while (!stopping && !(c = target(i))) await nap(100);
      if (stopping || !c) break;
      const kind = args.faults[Math.floor(random() * args.faults.length)];
      if (kind !== "drop+early-drop") {
        await inject(i, c, kind);
        continue;
      }
      // A drop, then a drop of the next connection as soon as its 101 went through (while the
      // client runs onOpen, or just after): an open connection lost too.
      await inject(i, c, "drop");
      const since = performance.now();
      let next: ProxyConnection | undefined;
      while (!stopping && !next && performance.now() - since < 10_000) {
        next = proxies[i].connections().find((n) =>
          n.index > c!.index && n.open && !broken[i].has(n.index) && n.bytesDown > 160
        );
        if (!next) await sleep(1);
      }
      if (next) await inject(i, next, "early-drop");
    }
  });

  report({ t: "ready", urls: proxies.map((p) => p.url("/ari/events?app=soak")), port });

  let input = "";
  const exit = new Promise<void>((resolve) => {
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", async (text: string) => {
      input += text;
      let nl: number;
      while ((nl = input.indexOf("\n")) >= 0) {
        const command = input.slice(0, nl).trim();
        input = input.slice(nl + 1);
        if (command === "stop" && !stopping) {
          stopping = true;
          wake();
          await Promise.all(loops);
          // Let a refusal in progress end, so that every client can come back.
          while (proxies.some((p) => p.refusing)) await sleep(100);
          const memory = process.memoryUsage();
          report({
            t: "stopped",
            faults,
            down,
            accepted: proxies.reduce((n, p) => n + p.accepted, 0),
            refused: proxies.reduce((n, p) => n + p.refused, 0),
            events: stats.events,
            pings: stats.pings,
            subscribes: stats.subscribes,
            heapMiB: memory.heapUsed / MiB,
            rssMiB: memory.rss / MiB,
          });
        } else if (command === "exit") resolve();
      }
    });
    process.stdin.on("end", () => resolve());
  });
  await exit;
  clearInterval(ticker);
  await Promise.all(proxies.map((p) => p.close().catch(() => {})));
  server.close();
  process.exit(0);
}

// -------------------------------------------------------------------------------------------------
// The client process: the application and its checks.

const VIOLATION_LINES = 30;

class Checks {
  violations = 0;
  readonly #printed: string[] = [];

  fail(message: string): void {
    this.violations++;
    if (this.#printed.length < VIOLATION_LINES) {
      this.#printed.push(message);
      console.log(`VIOLATION ${message}`);
    }
  }
}

/** One client and what it has seen. */
class FeedClient {
  readonly index: number;
  readonly client: WebSocketClient;
  readonly style: "for-await" | "listener";
  events = 0;
  connections = 0;
  opens = 0;
  outages = 0;
  reconnects = 0;
  lastEventAt = performance.now();
  /** Faults on this client's proxy that took its connection down (reported by the feed). */
  faultsDown = 0;
  readonly causes = new Map<string, number>();
  readonly iteration: Promise<void>;
  readonly #checks: Checks;
  readonly #random: () => number;
  #conn = -1;
  #next = 0;
  /** Connections whose `onOpen` finished; the first event of each must come after. */
  readonly #ready = new Set<number>();
  readonly #inOnOpen = new Set<number>();
  /** Sends in onOpen that failed (the connection was lost meanwhile), by error code. */
  readonly onOpenFailures = new Map<string, number>();
  #reconnectsSinceOpen = 0;
  #attemptsAtOpen = 0;
  #previousRestoredAt = 0;
  #onOpenOutage: Outage | undefined;
  #closing = false;

  constructor(
    index: number,
    url: string,
    checks: Checks,
    random: () => number,
  ) {
    this.index = index;
    this.style = index % 2 === 0 ? "for-await" : "listener";
    this.#checks = checks;
    this.#random = random;
    this.client = new WebSocketClient(url, {
      reconnect: {
        initialDelay: 300,
        maxDelay: 2000,
        resetAfter: 1000,
      },
      idleTimeout: IDLE_TIMEOUT,
      pingInterval: PING_INTERVAL,
      pingTimeout: PING_TIMEOUT,
      openTimeout: 3000,
      closeTimeout: CLOSE_TIMEOUT,
      onOpen: async (client, info) => {
        const conn = Number(info.response.headers["x-feed-conn"]);
        if (!Number.isInteger(conn)) this.#fail(`no X-Feed-Conn header in the 101 response`);
        this.#onOpenOutage = info.outage;
        // An application resubscribes (or fetches state over REST) before taking events.
        this.#inOnOpen.add(conn);
        try {
          await sleep(Math.floor(this.#random() * 30));
          await client.send(JSON.stringify({ type: "Subscribe", app: "soak" }));
        } catch (error) {
          // The connection was lost meanwhile (an early drop): the next one resubscribes.
          const code = (error as { code?: string }).code ?? String(error);
          this.onOpenFailures.set(code, (this.onOpenFailures.get(code) ?? 0) + 1);
        } finally {
          this.#inOnOpen.delete(conn);
          this.#ready.add(conn);
        }
      },
    });
    const c = this.client;
    c.addEventListener("open", (e) => {
      this.opens++;
      this.#attemptsAtOpen = this.#reconnectsSinceOpen;
      this.#reconnectsSinceOpen = 0;
      if (this.opens > 1 && !e.outage) this.#fail(`open #${this.opens} without an outage report`);
    });
    c.addEventListener("outage", (e) => this.#outage(e.outage));
    c.addEventListener("reconnect", (e) => {
      this.reconnects++;
      this.#reconnectsSinceOpen++;
      if (this.#reconnectsSinceOpen === 1 && !e.wasOpen) {
        this.#fail(`first reconnect event after an open has wasOpen false`);
      }
      if (e.wasOpen) {
        const key = e.info.error?.code ?? `close ${e.info.code}`;
        this.causes.set(key, (this.causes.get(key) ?? 0) + 1);
      }
    });
    c.addEventListener("close", (e) => {
      if (!this.#closing) this.#fail(`closed by itself: ${e.code} ${e.error?.message ?? ""}`);
    });
    if (this.style === "listener") {
      c.addEventListener("message", (e) => this.#event(e.data));
      this.iteration = Promise.resolve();
    } else {
      this.iteration = (async () => {
        let n = 0;
        for await (const message of c) {
          this.#event(message);
          // Application work: now and then, something asynchronous per event.
          if (++n % 100 === 0) await sleep(Math.floor(random() * 20));
        }
      })().catch((error) => {
        if (!this.#closing) this.#fail(`iteration threw: ${error}`);
      });
    }
  }

  #fail(message: string): void {
    this.#checks.fail(`client ${this.index} (${this.style}): ${message}`);
  }

  #event(data: string | Uint8Array): void {
    if (typeof data !== "string") return this.#fail("a binary message");
    let event: { type?: string; conn?: number; seq?: number; size?: number; blob?: string };
    try {
      event = JSON.parse(data);
    } catch {
      return this.#fail(`an event that is not JSON (${data.length} chars: ${data.slice(0, 60)})`);
    }
    const { conn, seq } = event;
    if (event.type !== "Event" || typeof conn !== "number" || typeof seq !== "number") {
      return this.#fail(`not an event: ${data.slice(0, 80)}`);
    }
    if (event.size !== undefined && event.blob?.length !== event.size) {
      this.#fail(
        `conn ${conn} seq ${seq}: blob of ${event.blob?.length} chars, ${event.size} sent`,
      );
    }
    this.events++;
    this.lastEventAt = performance.now();
    if (conn !== this.#conn) {
      if (conn < this.#conn) {
        return this.#fail(`event of connection ${conn} after connection ${this.#conn}`);
      }
      if (seq !== 0) this.#fail(`connection ${conn} starts at seq ${seq}, not 0`);
      if (this.#inOnOpen.has(conn)) this.#fail(`connection ${conn}: event before onOpen finished`);
      else if (!this.#ready.has(conn)) this.#fail(`connection ${conn}: event but no onOpen`);
      this.#ready.delete(conn);
      this.#conn = conn;
      this.#next = seq + 1;
      this.connections++;
      return;
    }
    if (seq !== this.#next) {
      const what = seq < this.#next ? "duplicate or reordered" : `gap of ${seq - this.#next}`;
      this.#fail(`connection ${conn}: seq ${seq} after ${this.#next - 1} (${what})`);
    }
    this.#next = Math.max(this.#next, seq + 1);
  }

  #outage(outage: Outage): void {
    this.outages++;
    const { lostAt, restoredAt, attempts, lastMessageAt } = outage;
    const n = `outage #${this.outages}`;
    if (!(lostAt <= restoredAt)) this.#fail(`${n}: lostAt ${lostAt} > restoredAt ${restoredAt}`);
    if (!(attempts >= 1)) this.#fail(`${n}: attempts ${attempts}`);
    if (attempts !== this.#attemptsAtOpen) {
      this.#fail(`${n}: attempts ${attempts}, but ${this.#attemptsAtOpen} reconnect events`);
    }
    if (lastMessageAt === undefined) this.#fail(`${n}: lastMessageAt not set`);
    else if (lastMessageAt > lostAt || lastMessageAt < this.#previousRestoredAt) {
      this.#fail(
        `${n}: lastMessageAt ${lastMessageAt} outside [${this.#previousRestoredAt}, ${lostAt}]`,
      );
    }
    if (lostAt < this.#previousRestoredAt) {
      this.#fail(`${n}: lostAt ${lostAt} before the previous restoredAt`);
    }
    if (this.#onOpenOutage !== outage) this.#fail(`${n}: onOpen was given another report`);
    this.#previousRestoredAt = restoredAt;
  }

  /** Open, with events flowing on the current connection. */
  get healthy(): boolean {
    return this.client.readyState === WebSocketClient.OPEN &&
      performance.now() - this.lastEventAt < 1000 && this.opens === this.outages + 1;
  }

  async close(): Promise<boolean> {
    this.#closing = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = await Promise.race([
      this.client.close().then(() => true, () => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5000))),
    ]);
    clearTimeout(timer);
    return settled;
  }
}

interface Sample {
  heap: number;
  rss: number;
  /** TCP handles alive (Node.js: process.getActiveResourcesInfo), -1 where unknown. */
  tcp: number;
}

function tcpHandles(): number {
  const info = (process as { getActiveResourcesInfo?: () => string[] }).getActiveResourcesInfo;
  if (runtimeName() !== "node" || typeof info !== "function") return -1;
  return info().filter((r) => r === "TCPSocketWrap").length;
}

function sampleMemory(): Sample {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun) g.Bun.gc(true);
  else g.gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, tcp: tcpHandles() };
}

/** The soak on this runtime; resolves with the exit code. */
async function soak(args: Args): Promise<number> {
  const runtime = runtimeName();
  const checks = new Checks();
  const random = prng(args.seed + 1);
  const started = performance.now();
  const elapsed = () => ((performance.now() - started) / 1000).toFixed(0) + " s";
  process.on("unhandledRejection", (reason: unknown) => {
    checks.fail(`unhandled rejection: ${reason instanceof Error ? reason.stack : reason}`);
  });
  process.on("uncaughtException", (error: unknown) => {
    checks.fail(`uncaught exception: ${error instanceof Error ? error.stack : error}`);
  });
  const hardDeadline = setTimeout(() => {
    checks.fail(`hard deadline (${args.minutes} min + 2 min) passed: the soak hangs`);
    console.log(`soak ${runtime}: HUNG, ${checks.violations} violations`);
    console.log("soak: 0 passed, 1 failed");
    process.exit(1);
  }, args.minutes * 60_000 + 120_000);

  // The feed process, on this runtime.
  const self = fileURLToPath(import.meta.url);
  const feedArgs = [
    self,
    "--serve",
    "--clients",
    String(args.clients),
    "--rate",
    String(args.rate),
  ];
  feedArgs.push("--seed", String(args.seed), "--faults", args.faults.join(","));
  const command = runtime === "deno"
    ? [process.execPath, ["run", "-A", ...feedArgs]] as const
    : [process.execPath, feedArgs] as const;
  const feed = spawn(command[0], [...command[1]], { stdio: ["pipe", "pipe", "inherit"] });
  const faultsLog: string[] = [];
  let ready: (r: Extract<FeedReport, { t: "ready" }>) => void;
  const readyReport = new Promise<Extract<FeedReport, { t: "ready" }>>((r) => (ready = r));
  let stopped: (r: Extract<FeedReport, { t: "stopped" }>) => void;
  const stoppedReport = new Promise<Extract<FeedReport, { t: "stopped" }>>((r) => (stopped = r));
  const feedExit = new Promise<number | null>((resolve) =>
    feed.on("exit", (code) => resolve(code))
  );
  let clients: FeedClient[] = [];
  let faultsTotal = 0;
  const kinds = new Map<string, number>();
  let pending = "";
  feed.stdout!.setEncoding("utf8");
  feed.stdout!.on("data", (text: string) => {
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      let message: FeedReport;
      try {
        message = JSON.parse(line);
      } catch {
        console.log(`[feed] ${line}`);
        continue;
      }
      if (message.t === "ready") ready(message);
      else if (message.t === "stopped") stopped(message);
      else if (message.t === "harness") checks.fail(`harness: ${message.message}`);
      else if (message.t === "fault") {
        faultsLog.push(`${elapsed()} client ${message.client} #${message.conn} ${message.kind}`);
        if (faultsLog.length > 20) faultsLog.shift();
      } else if (message.t === "down") {
        if (message.ok) {
          faultsTotal++;
          kinds.set(message.kind, (kinds.get(message.kind) ?? 0) + 1);
          if (clients[message.client]) clients[message.client].faultsDown++;
        } else {
          checks.fail(
            `client ${message.client}: fault ${message.kind} on proxy connection ` +
              `${message.conn} did not take it down within ${DOWN_WITHIN} ms`,
          );
        }
      }
    }
  });
  const { urls } = await readyReport;
  clients = urls.map((url, i) => new FeedClient(i, url, checks, random));
  console.log(
    `soak ${runtime}: ${args.minutes} min, ${clients.length} clients ` +
      `(${clients.map((c) => c.style).join(", ")}), ${args.rate} events/s each, seed ${args.seed}`,
  );

  // Memory samples: the first once every client is open and events flow.
  const samples: Sample[] = [];
  const firstOpen = Date.now();
  while (!clients.every((c) => c.opens >= 1 && c.events > 0)) {
    if (Date.now() - firstOpen > 10_000) {
      checks.fail("the clients did not open within 10 s");
      break;
    }
    await sleep(50);
  }
  samples.push(sampleMemory());
  let stalled = false;
  const sampler = setInterval(() => {
    samples.push(sampleMemory());
    const now = performance.now();
    for (const c of clients) {
      if (now - c.lastEventAt > STALL_MS && !stalled) {
        stalled = true;
        checks.fail(
          `client ${c.index}: no event for ${STALL_MS / 1000} s (readyState ` +
            `${c.client.readyState}, ${c.opens} opens, ${c.outages} outages)`,
        );
      }
    }
  }, SAMPLE_MS);
  let lastProgress = performance.now();
  const progress = setInterval(() => {
    if (performance.now() - lastProgress < 29_000) return;
    lastProgress = performance.now();
    const s = samples[samples.length - 1];
    console.log(
      `[${elapsed()}] ${sum(clients, "events")} events, ${sum(clients, "connections")} ` +
        `connections, ${sum(clients, "outages")} outages, ${faultsTotal} faults, heap ` +
        `${mib(s.heap)} MiB, rss ${mib(s.rss)} MiB, ${s.tcp >= 0 ? `${s.tcp} TCP handles, ` : ""}` +
        `${checks.violations} violations`,
    );
  }, 1000);

  const end = started + args.minutes * 60_000;
  while (performance.now() < end && !stalled) await sleep(200);

  // Stop the faults; every client must come back, with one outage per fault that took it down.
  feed.stdin!.write("stop\n");
  const stats = await Promise.race([stoppedReport, sleep(30_000).then(() => undefined)]);
  if (!stats) checks.fail("the feed process did not stop its faults within 30 s");
  const settleStart = performance.now();
  while (
    !clients.every((c) => c.healthy && c.outages === c.faultsDown) &&
    performance.now() - settleStart < 30_000
  ) await sleep(100);
  for (const c of clients) {
    if (c.outages !== c.faultsDown) {
      checks.fail(
        `client ${c.index}: ${c.outages} outages reported, ${c.faultsDown} faults took ` +
          `its connection down`,
      );
    }
    if (!c.healthy) checks.fail(`client ${c.index}: not back after the faults stopped`);
    if (c.opens !== c.outages + 1) {
      checks.fail(`client ${c.index}: ${c.opens} opens for ${c.outages} outages`);
    }
  }
  clearInterval(sampler);
  clearInterval(progress);
  samples.push(sampleMemory());

  for (const c of clients) {
    if (!(await c.close())) checks.fail(`client ${c.index}: close() did not settle within 5 s`);
  }
  await Promise.all(clients.map((c) => c.iteration));
  feed.stdin!.write("exit\n");
  const feedCode = await Promise.race([feedExit, sleep(5000).then(() => "timeout" as const)]);
  if (feedCode === "timeout") {
    checks.fail("the feed process did not exit");
    feed.kill("SIGKILL");
  }
  clearTimeout(hardDeadline);

  const heapStart = samples[0].heap;
  const heapEnd = samples[samples.length - 1].heap;
  const heapMax = Math.max(...samples.map((s) => s.heap));
  const rssStart = samples[0].rss;
  const rssEnd = samples[samples.length - 1].rss;
  const rssMax = Math.max(...samples.map((s) => s.rss));
  const causes = new Map<string, number>();
  for (const c of clients) for (const [k, n] of c.causes) causes.set(k, (causes.get(k) ?? 0) + n);
  console.log(
    `  faults: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(", ")}\n` +
      `  causes reported: ${[...causes].map(([k, n]) => `${k} ${n}`).join(", ")}\n` +
      `  onOpen sends that failed (connection lost meanwhile): ${
        clients.map((c) => [...c.onOpenFailures].map(([k, n]) => `${k} ${n}`).join(", ") || "0")
          .join("; ")
      }\n` +
      `  reconnect events: ${sum(clients, "reconnects")}; per client: ` +
      clients.map((c) => `${c.events} events/${c.outages} outages/${c.faultsDown} faults`).join(
        "; ",
      ) +
      (stats
        ? `\n  feed: ${stats.events} events sent, ${stats.accepted} connections accepted, ` +
          `${stats.refused} refused, ${stats.pings} pings answered, ${stats.subscribes} ` +
          `subscriptions; heap ${stats.heapMiB.toFixed(1)} MiB, rss ${stats.rssMiB.toFixed(1)} MiB`
        : "") +
      `\n  samples: ${samples.length} (every ${SAMPLE_MS / 1000} s), rss max ${mib(rssMax)} MiB` +
      (hasGc() ? ", after a full GC" : ", no GC exposed (heap figures include garbage)"),
  );
  if (checks.violations > 0) {
    console.log(`  last faults before the end:\n    ${faultsLog.join("\n    ")}`);
  }
  console.log(
    `soak ${runtime}: ${sum(clients, "events")} events, ${sum(clients, "opens")} connections, ` +
      `${sum(clients, "outages")} outages (${faultsTotal} faults), heap ${mib(heapStart)}→` +
      `${mib(heapEnd)} MiB (max ${mib(heapMax)}), rss ${mib(rssStart)}→${mib(rssEnd)} MiB, ` +
      `${checks.violations} violations`,
  );
  return checks.violations === 0 ? 0 : 1;
}

function hasGc(): boolean {
  const g = globalThis as { gc?: unknown; Bun?: unknown };
  return g.Bun !== undefined || typeof g.gc === "function";
}

function sum(
  clients: FeedClient[],
  key: "events" | "connections" | "outages" | "opens" | "reconnects",
) {
  return clients.reduce((n, c) => n + c[key], 0);
}

// -------------------------------------------------------------------------------------------------
// The runner: the soak as a subprocess on each runtime.

function repoRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url));; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "deno.json")) && fs.existsSync(path.join(dir, "mod.ts"))) {
      return dir;
    }
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

function binary(root: string, name: string): string {
  const local = path.join(root, "node_modules", ".bin", name);
  return fs.existsSync(local) ? local : name;
}

async function runner(args: Args): Promise<number> {
  const root = repoRoot();
  const runtimes = args.runtime!.split(",").map((r) => r.trim()).filter(Boolean);
  for (const r of runtimes) if (!["deno", "bun", "node"].includes(r)) usage(`unknown runtime ${r}`);
  const pass = ["--minutes", String(args.minutes), "--clients", String(args.clients)];
  pass.push("--rate", String(args.rate), "--seed", String(args.seed));
  pass.push("--faults", args.faults.join(","));
  const entry = path.join(root, "scripts", "soak", "feed.ts");
  let bundled: string | undefined;
  if (runtimes.includes("node")) {
    bundled = path.join(root, ".build", "soak", "feed.mjs");
    const r = spawnSync(binary(root, "esbuild"), [
      entry,
      "--bundle",
      "--platform=node",
      "--format=esm",
      "--target=node20",
      `--outfile=${bundled}`,
      "--log-level=warning",
    ], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) {
      console.error(`esbuild failed: ${r.stderr ?? r.error?.message}`);
      return 1;
    }
  }
  const commands: Record<Runtime, [string, string[]]> = {
    deno: [binary(root, "deno"), ["run", "-A", "--v8-flags=--expose-gc", entry, ...pass]],
    bun: [binary(root, "bun"), [entry, ...pass]],
    node: ["node", ["--expose-gc", bundled ?? "", ...pass]],
  };
  const one = (runtime: Runtime) =>
    new Promise<{ runtime: Runtime; ok: boolean; line: string }>((resolve) => {
      const [cmd, cmdArgs] = commands[runtime];
      const child = spawn(cmd, cmdArgs, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
      let line = "";
      let rest = "";
      const prefix = args.parallel ? `[${runtime}] ` : "";
      const relay = (text: string) => {
        rest += text;
        let nl: number;
        while ((nl = rest.indexOf("\n")) >= 0) {
          const l = rest.slice(0, nl);
          rest = rest.slice(nl + 1);
          if (l.startsWith("soak: ")) continue; // the runner prints the total
          if (l.startsWith(`soak ${runtime}: `) && /violations$|HUNG/.test(l)) line = l;
          console.log(prefix + l);
        }
      };
      child.stdout!.setEncoding("utf8");
      child.stderr!.setEncoding("utf8");
      child.stdout!.on("data", relay);
      child.stderr!.on("data", relay);
      const kill = setTimeout(() => {
        console.log(`${prefix}killed: the soak outlived its deadline`);
        if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      }, args.minutes * 60_000 + 180_000);
      child.on("error", (error) => {
        clearTimeout(kill);
        console.log(`${prefix}cannot run ${cmd}: ${error.message}`);
        resolve({ runtime, ok: false, line: "" });
      });
      child.on("exit", (code) => {
        clearTimeout(kill);
        if (rest) relay("\n");
        resolve({ runtime, ok: code === 0 && line !== "", line });
      });
    });
  const results = [];
  if (args.parallel) results.push(...await Promise.all(runtimes.map((r) => one(r as Runtime))));
  else for (const r of runtimes) results.push(await one(r as Runtime));
  console.log("");
  for (const r of results) {
    console.log(r.line || `soak ${r.runtime}: FAILED (no summary line)`);
  }
  const passed = results.filter((r) => r.ok).length;
  console.log(`soak: ${passed} passed, ${results.length - passed} failed`);
  return passed === results.length ? 0 : 1;
}

// -------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.serve) return await serve(args);
  if (args.runtime !== undefined) process.exit(await runner(args));
  let code = 1;
  try {
    code = await soak(args);
  } catch (error) {
    console.log(`soak ${runtimeName()}: crashed: ${error instanceof Error ? error.stack : error}`);
  }
  console.log(`soak: ${code === 0 ? 1 : 0} passed, ${code === 0 ? 0 : 1} failed`);
  process.exit(code);
}

await main();
