/**
 * Serves the browser example: the page (`index.html`), its script (`feed.ts`, bundled for the
 * browser with esbuild on the fly) and a feed at `/feed` that pushes an ARI-like JSON event every
 * `intervalMs` (StasisStart, ChannelStateChange, ChannelDtmfReceived, StasisEnd, in turn). The
 * test of the page (tests/browser/example_test.ts) starts it too.
 *
 * Usage: deno run -A examples/browser/serve.ts [port]   (or bun examples/browser/serve.ts)
 *
 * @module
 */

import { readFileSync } from "node:fs";
import * as http from "node:http";
import type * as net from "node:net";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { WebSocketServer } from "ws";

const here = dirname(fileURLToPath(import.meta.url));

/** The running example. */
export interface ExampleServer {
  /** `http://127.0.0.1:<port>/`: the page. */
  readonly url: string;
  /** Stops serving and closes every connection. */
  close(): Promise<void>;
}

const EVENTS = ["StasisStart", "ChannelStateChange", "ChannelDtmfReceived", "StasisEnd"];

/**
 * Starts the example on `port` (0: a free one) of 127.0.0.1. `dir` is where index.html and feed.ts
 * are (default: beside this file; a caller that bundles this module passes it).
 */
export async function startExampleServer(
  options: { port?: number; intervalMs?: number; dir?: string } = {},
): Promise<ExampleServer> {
  const dir = options.dir ?? here;
  const bundle = await esbuild.build({
    entryPoints: [join(dir, "feed.ts")],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    write: false,
    logLevel: "warning",
  });
  const files: Record<string, { type: string; body: string }> = {
    "/": { type: "text/html; charset=utf-8", body: readFileSync(join(dir, "index.html"), "utf8") },
    "/feed.js": { type: "text/javascript; charset=utf-8", body: bundle.outputFiles[0].text },
  };
  const sockets = new Set<net.Socket>();
  const server = http.createServer((request, response) => {
    const file = files[new URL(request.url ?? "/", "http://localhost").pathname];
    if (!file) return void response.writeHead(404).end();
    response.writeHead(200, { "content-type": file.type, "cache-control": "no-store" });
    response.end(file.body);
  });
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ server, path: "/feed" });
  const intervalMs = options.intervalMs ?? 1000;
  wss.on("connection", (ws) => {
    let n = 0;
    const tick = () => {
      const type = EVENTS[n % EVENTS.length];
      const channel = `PJSIP/100-${String(1 + Math.floor(n / EVENTS.length)).padStart(8, "0")}`;
      ws.send(JSON.stringify({ type, channel, n: ++n, timestamp: new Date().toISOString() }));
    };
    tick();
    const timer = setInterval(tick, intervalMs);
    ws.on("close", () => clearInterval(timer));
    ws.on("error", () => clearInterval(timer));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        for (const s of sockets) s.destroy();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.main) {
  const example = await startExampleServer({ port: Number(process.argv[2] ?? 0) });
  console.log(`open ${example.url} (Ctrl-C stops)`);
}
