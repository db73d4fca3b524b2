/**
 * The one echo server every benchmark client talks to, in its own process. Text comes back as
 * text, binary as binary, in order, and nothing is ever dropped under backpressure.
 *
 * Two implementations, chosen by the runtime that runs this file:
 *
 * - Bun: `Bun.serve` (uWebSockets). Its `send()` drops a message past `backpressureLimit` unless
 *   told otherwise, so the limit is set to its maximum, `closeOnBackpressureLimit` is off, and a
 *   send that still reports "dropped" (status 0) is counted.
 * - Node.js: the `ws` package (run from the esbuild bundle that `run.ts` makes). `ws` never drops:
 *   it queues in the socket's write buffer.
 *
 * Two ports: one without compression, one with permessage-deflate (every echo compressed).
 * `GET /feed?size=N` (a WebSocket upgrade) is a feed instead of an echo: the server pushes
 * {@linkcode feedEvents} of N characters, cycling, as fast as the client reads them (it stops
 * when its send queue holds more than {@linkcode FEED_QUEUE} bytes and goes on once it drains).
 * `GET /stats` on either port returns the counters as JSON. When listening, the server prints one
 * JSON line: `{"ready":true,"impl":"bun","pid":123,"port":...,"deflatePort":...}`.
 *
 * ```sh
 * node_modules/.bin/bun scripts/bench/echo_server.ts [--port 0] [--deflate-port 0]
 * ```
 *
 * @module
 */

import * as http from "node:http";
import process from "node:process";
import { feedEvents } from "./data.ts";

const MAX_PAYLOAD = 64 * 1024 * 1024;

/** A feed stops pushing while more than this is queued for the client, and resumes on drain. */
const FEED_QUEUE = 1024 * 1024;
/**
 * Events a feed pushes per turn of the event loop (then `setImmediate`), so that it still reads
 * the client's close frame while the client keeps up.
 */
const FEED_BURST = 1024;

/** The feed's events by size, made once. */
const feeds = new Map<number, string[]>();

function feedOf(size: number): string[] {
  let events = feeds.get(size);
  if (!events) feeds.set(size, events = feedEvents(size));
  return events;
}

/** The `size` of a `/feed?size=N` request, or 0 for the echo. */
function feedSize(url: URL): number {
  if (url.pathname !== "/feed") return 0;
  const size = Number(url.searchParams.get("size"));
  return Number.isInteger(size) && size >= 512 && size <= MAX_PAYLOAD ? size : 1024;
}

/** Counters served at `/stats`. */
interface Stats {
  impl: string;
  connections: number;
  open: number;
  messages: number;
  bytes: number;
  dropped: number;
  backpressured: number;
}

const stats: Stats = {
  impl: "",
  connections: 0,
  open: 0,
  messages: 0,
  bytes: 0,
  dropped: 0,
  backpressured: 0,
};

function statsResponse(): string {
  return JSON.stringify(stats);
}

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

// -------------------------------------------------------------------------------------------------
// Bun.serve (uWebSockets).

interface BunServerSocket {
  send(data: string | Uint8Array, compress?: boolean): number;
  getBufferedAmount(): number;
  data: BunSocketData;
}

interface BunSocketData {
  compress: boolean;
  /** Event size of a feed connection, 0 for an echo one. */
  feed: number;
  /** The feed's next event. */
  next: number;
  open: boolean;
  scheduled: boolean;
}

interface BunServer {
  port: number;
  upgrade(request: Request, options: { data: BunSocketData }): boolean;
}

interface BunServeOptions {
  hostname: string;
  port: number;
  fetch(request: Request, server: BunServer): Response | undefined;
  websocket: {
    message(ws: BunServerSocket, message: string | Uint8Array): void;
    open(ws: BunServerSocket): void;
    drain(ws: BunServerSocket): void;
    close(ws: BunServerSocket): void;
    maxPayloadLength: number;
    backpressureLimit: number;
    closeOnBackpressureLimit: boolean;
    perMessageDeflate: boolean;
    idleTimeout: number;
    sendPings: boolean;
  };
}

/** Pushes feed events until the send queue is full (then `drain` calls again) or for a burst. */
function pumpBun(ws: BunServerSocket): void {
  const d = ws.data;
  d.scheduled = false;
  const events = feedOf(d.feed);
  for (let i = 0; i < FEED_BURST && d.open; i++) {
    if (ws.getBufferedAmount() > FEED_QUEUE) return; // drain() resumes
    const status = ws.send(events[d.next % events.length], d.compress);
    if (status === 0) {
      stats.dropped++;
      return;
    }
    d.next++;
    stats.messages++;
    stats.bytes += d.feed;
    if (status === -1) {
      stats.backpressured++;
      return; // drain() resumes
    }
  }
  if (d.open && !d.scheduled) {
    d.scheduled = true;
    setImmediate(() => pumpBun(ws));
  }
}

function serveBun(port: number, compress: boolean): number {
  const bun = (globalThis as unknown as { Bun: { serve(o: BunServeOptions): BunServer } }).Bun;
  const server = bun.serve({
    hostname: "127.0.0.1",
    port,
    fetch(request, server) {
      if (new URL(request.url).pathname === "/stats") {
        return new Response(statsResponse(), { headers: { "content-type": "application/json" } });
      }
      const feed = feedSize(new URL(request.url));
      const data = { compress, feed, next: 0, open: true, scheduled: false };
      if (server.upgrade(request, { data })) return undefined;
      return new Response("expected a WebSocket upgrade", { status: 426 });
    },
    websocket: {
      message(ws, message) {
        stats.messages++;
        stats.bytes += message.length;
        const status = ws.send(message, ws.data.compress);
        if (status === 0 && message.length > 0) stats.dropped++;
        else if (status === -1) stats.backpressured++;
      },
      open(ws) {
        stats.connections++;
        stats.open++;
        if (ws.data.feed > 0) pumpBun(ws);
      },
      drain(ws) {
        if (ws.data.feed > 0 && !ws.data.scheduled) pumpBun(ws);
      },
      close(ws) {
        ws.data.open = false;
        stats.open--;
      },
      maxPayloadLength: MAX_PAYLOAD,
      // uWebSockets drops sends past this limit: the largest value (2^32 - 1), never closing.
      backpressureLimit: 2 ** 32 - 1,
      closeOnBackpressureLimit: false,
      perMessageDeflate: compress,
      idleTimeout: 960,
      sendPings: false,
    },
  });
  return server.port;
}

// -------------------------------------------------------------------------------------------------
// ws on node:http.

async function serveWs(port: number, compress: boolean): Promise<number> {
  const { WebSocketServer } = await import("ws");
  const server = http.createServer((request, response) => {
    response.writeHead(request.url === "/stats" ? 200 : 426, {
      "content-type": "application/json",
    });
    response.end(statsResponse());
  });
  const wss = new WebSocketServer({
    server,
    maxPayload: MAX_PAYLOAD,
    perMessageDeflate: compress ? { threshold: 0 } : false,
    skipUTF8Validation: false,
  });
  wss.on("connection", (ws, request) => {
    stats.connections++;
    stats.open++;
    const feed = feedSize(new URL(request.url ?? "/", "http://localhost"));
    if (feed > 0) {
      const events = feedOf(feed);
      let next = 0;
      let open = true;
      const pump = (): void => {
        for (let i = 0; i < FEED_BURST && open; i++) {
          if (ws.bufferedAmount > FEED_QUEUE) {
            // Resumes once the socket has written its queue.
            (ws as unknown as { _socket: { once(e: string, f: () => void): void } })._socket
              .once("drain", pump);
            return;
          }
          ws.send(events[next++ % events.length], { compress });
          stats.messages++;
          stats.bytes += feed;
        }
        if (open) setImmediate(pump);
      };
      ws.on("close", () => (open = false));
      pump();
    }
    ws.on("message", (data: Uint8Array, isBinary: boolean) => {
      stats.messages++;
      stats.bytes += data.length;
      ws.send(data, { binary: isBinary, compress });
    });
    ws.on("close", () => stats.open--);
    ws.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

// -------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const isBun = typeof (globalThis as { Bun?: unknown }).Bun === "object";
  const useWs = !isBun || process.argv.includes("--ws");
  stats.impl = useWs ? "ws" : "bun";
  const serve = useWs ? serveWs : (p: number, c: boolean) => Promise.resolve(serveBun(p, c));
  const port = await serve(argument("--port", 0), false);
  const deflatePort = await serve(argument("--deflate-port", 0), true);
  const versions = process.versions as Record<string, string | undefined>;
  console.log(JSON.stringify({
    ready: true,
    impl: stats.impl,
    runtime: isBun ? `bun ${versions.bun}` : `node ${process.versions.node}`,
    pid: process.pid,
    port,
    deflatePort,
  }));
  // Exit with the parent: stdin closes when run.ts ends, even if it is killed.
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("close", () => process.exit(0));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
